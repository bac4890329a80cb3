"""This module defines what the file sources share: the file list (paths, globs, URLs), skipping bad
files, entry ranges (``first``, ``events``), chunks, run/subrun/event numbers and provenance."""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import awkward as ak
import numpy as np
from pydantic import Field, field_validator

from hepreco.core.events import EventIDs
from hepreco.core.module import Chunk, ModuleConfig, Source, SourceBatch, SourceConfig
from hepreco.io.columns import EVENT_NAMES, RUN_NAMES, SUBRUN_NAMES
from hepreco.io.provenance import add_history

__all__ = ["FileInfo", "FileSource", "FileSourceConfig", "sanitize"]

log = logging.getLogger("hepreco.io")

_GLOB_CHARS = re.compile(r"[*?\[]")
_NON_IDENT = re.compile(r"\W")


def sanitize(name: str) -> str:
    """A branch or column name as an identifier (a product instance name): ``evt/P3.Px`` -> ``evt_P3_Px``."""
    name = re.sub(r"\[\d*\]", "", name)
    out = _NON_IDENT.sub("_", name).strip("_") or "_"
    return f"_{out}" if out[0].isdigit() else out


@dataclass
class FileInfo:
    """One input file as a source knows it after opening it."""

    index: int
    path: str
    entries: int
    #: the hepreco document of a file hepreco wrote (None otherwise)
    document: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class FileSourceConfig(SourceConfig):
    files: list[str] = Field(..., min_length=1)
    """Input files: paths, glob patterns (expanded in sorted order) or URLs. Relative paths are taken from
    the working directory, else from the config file's folder. A single string is one file."""
    skip_bad_files: bool = False
    """Go on past files that cannot be opened or lack what the job reads: list them in the end-of-job
    report and the outputs' provenance (``--skip-bad-files``). The job fails only if no file is readable."""
    first: int = Field(0, ge=0)
    """Skip this many entries first (counted over all files, in order)."""
    batch_bytes: int = Field(100_000_000, gt=0)
    """Without ``batch_size``, a batch holds as many entries as fit in this many bytes of the branches
    (columns) the job reads, uncompressed (uproot's ``step_size="100 MB"``): hundreds of thousands of small
    events, hundreds of large images. Set ``batch_size`` to fix the number of entries instead."""
    chunk_entries: int | None = Field(None, gt=0)
    """Split each file into units of work of at most this many entries (default: one per file)."""
    run_branch: str | None = "auto"
    """Branch (column) with the run number. ``auto``: the first of run, Run, RunNumber present; null:
    run 1 for every event."""
    subrun_branch: str | None = "auto"
    """Branch with the subrun number. ``auto``: the first of subrun, luminosityBlock, lumi... present;
    null (or none present): the file's position in the file list when event numbers are synthesised, else 0."""
    event_branch: str | None = "auto"
    """Branch with the event number. ``auto``: the first of event, Event, EventNumber present; null (or
    none present): the entry number in its file plus one."""

    @field_validator("files", mode="before")
    @classmethod
    def _one_file(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class FileSource(Source):
    """Base class of the file sources: subclasses implement :meth:`products`, :meth:`inspect_file` and
    :meth:`read_range`; the base class expands the file list (paths, globs, URLs), skips bad files
    (``skip_bad_files``), applies ``first`` and ``events``, makes the chunks (one per file, or ``chunk_entries``),
    sizes batches by bytes (:meth:`entries_per_batch`), numbers events (:meth:`id_columns`, :meth:`make_ids`)
    and records the inputs and their provenance for the outputs. ``examples/external-plugin`` reads JSON Lines."""

    Config: ClassVar[type[ModuleConfig]] = FileSourceConfig
    #: what the files are, for messages ("ROOT", "Parquet")
    file_kind = "input"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._infos: list[FileInfo] | None = None
        self._by_path: dict[str, FileInfo] = {}
        self._skipped: list[dict[str, str]] = []
        self._read_files: list[str] = []
        self._complete: dict[str, int] = {}  # chunks of each file read to their end

    # --- the file list -----------------------------------------------------------------------------
    def _base_dirs(self) -> list[Path]:
        dirs = [Path.cwd()]
        cfg_file = getattr(self.job.config, "file", None) if self.job is not None else None
        if cfg_file:
            base = Path(cfg_file).resolve().parent
            if base != dirs[0]:
                dirs.append(base)
        return dirs

    def expand_files(self) -> list[tuple[str, str | None]]:
        """``(path, problem)`` for every input, globs expanded; ``problem`` is None or why it is unusable."""
        out: list[tuple[str, str | None]] = []
        for spec in self.config.files:
            spec = os.path.expanduser(spec)
            if "://" in spec and not spec.startswith("file://"):
                out.append((spec, None))
                continue
            local = spec.removeprefix("file://")
            if _GLOB_CHARS.search(local):
                matches: list[str] = []
                for base in self._base_dirs() if not os.path.isabs(local) else [Path("/")]:
                    pattern = local if os.path.isabs(local) else str(base / local)
                    matches = sorted(glob.glob(pattern))
                    if matches:
                        break
                if not matches:
                    out.append((spec, f"{spec}: no file matches this pattern"))
                out.extend((m, None) for m in matches)
                continue
            found = local
            if not os.path.isabs(local):
                for base in self._base_dirs():
                    cand = base / local
                    if cand.exists():
                        found = str(cand) if base != Path.cwd() else local
                        break
            out.append((found, None))
        return out

    def check(self) -> list[tuple[str, str]]:
        """``first`` past the end of the input: an empty job would be a surprise, so say so."""
        first = int(self.config.first)
        if first == 0 or self._infos is None:
            return []
        total = sum(i.entries for i in self._infos)
        if first >= total:
            files = len(self._infos)
            return [
                (
                    "first",
                    f"first = {first} skips every event: the input holds {total} entries ({files} file{'s' if files != 1 else ''})",
                )
            ]
        return []

    def entries_per_batch(self, bytes_per_entry: float) -> int:
        """Entries per batch: ``batch_size`` when the config sets it, else as many as fit in ``batch_bytes``
        for entries of ``bytes_per_entry`` bytes (at least 1000, at most 10 million)."""
        if "batch_size" in self.config.model_fields_set or bytes_per_entry <= 0:
            return int(self.config.batch_size)
        n = int(self.config.batch_bytes // max(bytes_per_entry, 1.0))
        return max(1000, min(n, 10_000_000))

    def input_files(self) -> list[tuple[str, Path]]:
        """The local input files (globs expanded), as ``("files", path)``."""
        out: list[tuple[str, Path]] = []
        for path, problem in self.expand_files():
            if problem is None and ("://" not in path or path.startswith("file://")):
                out.append(("files", Path(path.removeprefix("file://"))))
        return out

    # --- opening and checking the files --------------------------------------------------------
    def inspect_file(self, index: int, path: str, reference: FileInfo | None) -> FileInfo:
        """Open ``path``, check it has what the job reads (compared with ``reference``, the first good
        file) and count its entries. Raises OSError/KeyError/ValueError/TypeError naming file, tree, branch."""
        raise NotImplementedError

    def _skip(self, path: str, error: str) -> None:
        entry = {"file": path, "error": error}
        self._skipped.append(entry)
        if self.job is not None and entry not in self.job.skipped_inputs:
            self.job.skipped_inputs.append(entry)
        log.warning("skipping an unreadable input file: %s", error)

    def scan(self) -> list[FileInfo]:
        """Open every input once (cached): entries per file, checks, provenance of hepreco files."""
        if self._infos is not None:
            return self._infos
        infos: list[FileInfo] = []
        errors: list[str] = []
        for index, (path, problem) in enumerate(self.expand_files()):
            try:
                if problem is not None:
                    raise FileNotFoundError(problem)
                info = self.inspect_file(index, path, infos[0] if infos else None)
            except (OSError, KeyError, ValueError, TypeError) as err:
                text = _message(err)
                errors.append(text)
                if self.config.skip_bad_files:
                    self._skip(path, text)
                continue
            infos.append(info)
            log.info("%s: opened %s (%d entries)", self.label, path, info.entries)
        if errors and not self.config.skip_bad_files:
            if len(errors) == 1:
                raise OSError(errors[0])
            msg = f"{len(errors)} of the {self.file_kind} input files cannot be used:\n" + "\n".join(
                f"      {e}" for e in errors
            )
            raise OSError(msg)
        if not infos:
            msg = f"no {self.file_kind} file could be read" + (
                ":\n" + "\n".join(f"      {e}" for e in errors) if errors else ""
            )
            raise OSError(msg)
        self._infos = infos
        self._by_path = {i.path: i for i in infos}
        return infos

    # --- Source API ------------------------------------------------------------------------------
    def chunks(self) -> list[Chunk]:
        infos = self.scan()
        skip = int(self.config.first)
        left = self.config.events
        step = self.config.chunk_entries
        out: list[Chunk] = []
        for info in infos:
            start = min(skip, info.entries)
            skip -= start
            stop = info.entries
            if left is not None:
                stop = min(stop, start + left)
                left -= stop - start
            if stop > start:
                if step:
                    out.extend(Chunk(a, min(a + step, stop), info.path) for a in range(start, stop, step))
                else:
                    out.append(Chunk(start, stop, info.path))
            if left is not None and left <= 0:
                break
        return out

    def read(self, chunk: Chunk) -> Iterator[SourceBatch]:
        infos = self.scan()
        info = self._by_path.get(chunk.file or "")
        if info is None:  # a chunk made elsewhere (another process): find the file by its path
            info = next((i for i in infos if i.path == chunk.file), None)
            if info is None:
                msg = f"{chunk.file}: not among this source's files"
                raise OSError(msg)
        yielded = False
        try:
            for batch in self.read_range(info, chunk.start, chunk.stop):
                if not yielded:
                    self._record_read(info)
                    yielded = True
                yield batch
        except (OSError, KeyError, ValueError, TypeError) as err:
            if self.config.skip_bad_files and not yielded:
                self._skip(info.path, _message(err))
                return
            if yielded and not self._complete.get(info.path):
                # the chunk fails half-way and is skipped whole: its file does not count as read
                self._unrecord_read(info)
            raise
        self._complete[info.path] = self._complete.get(info.path, 0) + 1

    def _unrecord_read(self, info: FileInfo) -> None:
        if info.path in self._read_files:
            self._read_files.remove(info.path)
        if self.job is not None:
            name = info.path
            if "://" not in name or name.startswith("file://"):
                name = os.path.normpath(os.path.abspath(name.removeprefix("file://")))
            if name in self.job.inputs:
                self.job.inputs.remove(name)

    def _record_read(self, info: FileInfo) -> None:
        if info.path not in self._read_files:
            self._read_files.append(info.path)
        if self.job is not None:
            name = info.path
            if "://" not in name or name.startswith("file://"):
                name = os.path.normpath(os.path.abspath(name.removeprefix("file://")))
            if name not in self.job.inputs:
                self.job.inputs.append(name)
            add_history(self.job, info.document)

    def end_job(self) -> None:
        figures: dict[str, Any] = {"files_read": len(self._read_files)}
        if self._skipped:
            figures["files_skipped"] = len(self._skipped)
            for i, s in enumerate(self._skipped, 1):
                figures[f"skipped {i}"] = f"{s['file']}: {s['error']}"
        self.summary(**figures)

    def read_range(self, info: FileInfo, start: int, stop: int) -> Iterator[SourceBatch]:
        """The batches of entries ``start`` to ``stop`` of the file ``info`` (:meth:`inspect_file` made it)."""
        raise NotImplementedError

    # --- event ids --------------------------------------------------------------------------------
    def id_columns(self, available: Sequence[str]) -> dict[str, str | None]:
        """``{"run": column or None, "subrun": ..., "event": ...}`` for columns ``available``."""
        cfg = self.config
        out: dict[str, str | None] = {}
        for key, setting, names in (
            ("run", cfg.run_branch, RUN_NAMES),
            ("subrun", cfg.subrun_branch, SUBRUN_NAMES),
            ("event", cfg.event_branch, EVENT_NAMES),
        ):
            if setting is None:
                out[key] = None
            elif setting == "auto":
                out[key] = next((n for n in names if n in available), None)
            else:
                out[key] = setting
        return out

    def publish_ids(self, columns: dict[str, str | None]) -> None:
        """Tell the job the input's names of the event-id columns (``JobContext.event_id_names``), so that
        outputs write them under the same names (a NanoAOD skim keeps ``luminosityBlock``)."""
        if self.job is None:
            return
        names = {key: (col or key) for key, col in columns.items()}
        if len(set(names.values())) == len(names):
            self.job.event_id_names = names

    @staticmethod
    def make_ids(
        columns: dict[str, str | None], arrays: dict[str, Any], info: FileInfo, start: int, n: int
    ) -> EventIDs:
        def col(key: str, dtype: type) -> np.ndarray | None:
            name = columns.get(key)
            if name is None:
                return None
            return np.asarray(ak.to_numpy(arrays[name])).astype(dtype, copy=False)

        event = col("event", np.uint64)
        run = col("run", np.uint32)
        subrun = col("subrun", np.uint32)
        if event is None:
            event = np.arange(start + 1, start + n + 1, dtype=np.uint64)
            if subrun is None:
                subrun = np.full(n, info.index, dtype=np.uint32)
        if run is None:
            run = np.ones(n, dtype=np.uint32)
        if subrun is None:
            subrun = np.zeros(n, dtype=np.uint32)
        return EventIDs(run, subrun, event)


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    return str(err)
