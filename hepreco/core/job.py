"""This module defines JobContext (what a running job knows about itself) and JobResult (what it returns)."""

from __future__ import annotations

import os
import platform
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco._version import __version__
from hepreco.core.module import temp_name

if TYPE_CHECKING:
    from hepreco.config.loader import ResolvedConfig
    from hepreco.core.reports import TimeReport, TrigReport
    from hepreco.plugins import Registry

__all__ = ["DEFAULT_EVENT_ID_NAMES", "JobContext", "JobResult"]

#: the names hepreco gives the event-id columns of the files it writes, unless the input used others
DEFAULT_EVENT_ID_NAMES = {"run": "run", "subrun": "subrun", "event": "event"}


@dataclass
class JobContext:
    """What a running job knows about itself; modules and services reach it as ``self.job``.

    Attributes:
        process: the process name from the config.
        seed: the job seed.
        config: the resolved config (after includes and overrides).
        registry: the plugin registry.
        summaries: figures modules recorded with ``Module.summary``.
        quiet: no progress bar and no printed reports.
        print_reports: print the TrigReport, TimeReport and summaries at the end (``--no-reports``: False).
        no_clobber: refuse to replace an existing output file (``--no-clobber``).
        overwritten: the output files that existed before the job (replaced when it succeeds).
        inputs: the input files the source read, in order (recorded in every output's provenance).
        skipped_inputs: input files skipped as unreadable, ``{"file": ..., "error": ...}`` each.
        history: provenance records of the jobs that wrote the input files, oldest first, each once.
        job_id: a unique id of this job, the ``id`` of its provenance record.
        executor: ``inline``, ``processes`` or ``dask``.
        chunks: the job's units of work, ``[file, start, stop]`` each, in event order.
        chunk: on a worker of a job split into chunks, the chunk being processed (its index and range).
        part_dir: on such a worker, the folder where :meth:`atomic_path` puts this chunk's files.
        part_files: ``(owner label, requested file, part file)`` for every file written into ``part_dir``.
        event_id_names: the names of the run, subrun and event columns in the input (``{"run": "run",
            "subrun": "luminosityBlock", "event": "event"}`` for CMS NanoAOD), set by file sources; outputs
            write the event ids under these names, so a skim keeps its input's conventions.
        input_counters: ``{product tag: counter branch}`` for jagged products a source read from a branch
            counted by a shared counter (NanoAOD's ``Muon_pt`` counted by ``nMuon``); RootOutput writes such
            products counted by the same counter again.
        input_tree: the name of the TTree/RNTuple a ROOT source reads (``Events`` in NanoAOD), the default
            tree name of RootOutput.
    """

    process: str
    seed: int
    config: ResolvedConfig
    registry: Registry
    quiet: bool = False
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    _atomic: list[tuple[Path, Path]] = field(default_factory=list)
    committed: list[Path] = field(default_factory=list)
    executor: str = "inline"
    inputs: list[str] = field(default_factory=list)
    skipped_inputs: list[dict[str, str]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    chunks: list[list[Any]] = field(default_factory=list)
    chunk: dict[str, Any] | None = None
    part_dir: Path | None = None
    part_files: list[tuple[str | None, Path, Path]] = field(default_factory=list)
    event_id_names: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EVENT_ID_NAMES))
    input_counters: dict[str, str] = field(default_factory=dict)
    input_tree: str | None = None
    print_reports: bool = True
    no_clobber: bool = False
    overwritten: list[Path] = field(default_factory=list)

    def atomic_path(self, path: str | os.PathLike[str], *, owner: str | None = None) -> Path:
        """A temporary path beside ``path``, renamed to ``path`` when the job succeeds, deleted when it fails.

        On a worker of a job split into chunks (``part_dir`` set) the file goes into the chunk's folder
        instead (``part_dir/OWNER/NAME``), recorded in ``part_files`` with ``path`` as the file it is a
        part of; ``owner`` is the label of the module that writes it.
        """
        final = Path(path)
        if self.part_dir is not None:
            requested = final
            folder = self.part_dir / (owner or "_job")
            final = folder / requested.name
            taken = {p for _, _, p in self.part_files}
            k = 1
            while final in taken:
                final = folder / f"{k}-{requested.name}"
                k += 1
            self.part_files.append((owner, requested, final))
        if final.parent and not final.parent.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(final)
        self._atomic.append((tmp, final))
        return tmp

    def commit(self) -> list[Path]:
        """Rename every temporary output to its final name (called once the job ended well)."""
        done: list[Path] = []
        for tmp, final in self._atomic:
            if tmp.exists():
                if tmp.is_dir() and final.is_dir():  # a file set written again
                    import shutil

                    shutil.rmtree(final)
                os.replace(tmp, final)
                done.append(final)
        self._atomic.clear()
        self.committed.extend(done)
        return done

    def abort(self) -> None:
        """Delete every temporary output (called when the job failed)."""
        for tmp, _final in self._atomic:
            try:
                if tmp.is_dir():
                    import shutil

                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
            except OSError:
                pass
        self._atomic.clear()

    def provenance(self) -> dict[str, Any]:
        """What an output file records about the job that wrote it."""
        plugins = {
            name: {"version": p.version, "origin": p.origin} for name, p in self.registry.plugins.items() if p.ok
        }
        return {
            "id": self.job_id,
            "process": self.process,
            "seed": self.seed,
            "config": self.config.data,
            "config_file": self.config.file,
            "hepreco_version": __version__,
            "plugins": plugins,
            "executor": self.executor,
            "host": platform.node(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "inputs": list(self.inputs),
            "skipped_files": [dict(s) for s in self.skipped_inputs],
            "chunks": [list(c) for c in self.chunks],
            **({"chunk": dict(self.chunk)} if self.chunk is not None else {}),
        }


@dataclass
class JobResult:
    """What ``hepreco.run`` returns.

    Attributes:
        trig_report: events visited/passed/failed per path and module.
        time_report: wall time per module.
        histograms: ``{module_label: {name: hist.Hist}}`` booked through the Histograms service.
        outputs: the files the job wrote (outputs and the histogram file).
        summaries: ``{module_label: {figure: value}}`` recorded by modules.
        services: each service's report (``Service.report()``).
        executor: the executor's report: chunks run, retried, failed, skipped (``ExecutorReport.to_dict``).
        results: ``{module_label: {name: Graph or hist.Hist}}`` put by modules (``Module.put_result``).
        path_events: events that passed each trigger path.
    """

    process: str
    events: int
    trig_report: TrigReport
    time_report: TimeReport
    histograms: dict[str, dict[str, Any]]
    outputs: list[Path]
    summaries: dict[str, dict[str, Any]]
    services: dict[str, Any]
    executor: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def path_events(self) -> dict[str, int]:
        return {n: p.passed for n, p in self.trig_report.paths.items() if not p.end_path}

    def to_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "events": self.events,
            "trig_report": self.trig_report.to_dict(),
            "time_report": self.time_report.to_dict(),
            "outputs": [str(p) for p in self.outputs],
            "summaries": self.summaries,
            "services": self.services,
            "executor": self.executor,
        }
