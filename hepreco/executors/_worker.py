"""This module is what runs in a worker process: the job's plan, built once per process, run chunk by chunk.

A worker rebuilds the plan from the resolved config (plain data) and loads the config's plugins itself;
``begin_job`` runs once per worker, then each chunk gives a :class:`ChunkResult`: the reports, the
histograms filled by this chunk (the booked ones are reset after each chunk), the per-chunk output files
and the summaries so far. ``end_job`` runs once per worker, at :func:`teardown`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.core.module import Chunk
from hepreco.core.reports import TimeReport, TrigReport
from hepreco.errors import ConfigError, ModuleError, PluginError
from hepreco.executors._serialize import clean_json

if TYPE_CHECKING:
    from hepreco.config.loader import ResolvedConfig
    from hepreco.core.build import JobPlan, Step
    from hepreco.core.sample import EventSample, SampleRequest

__all__ = ["ChunkError", "ChunkResult", "ChunkTask", "forget", "run_task", "teardown"]

log = logging.getLogger("hepreco.executors")


@dataclass
class ChunkTask:
    """One chunk to run: the job (its id and resolved config), the chunk and where its files go."""

    job_id: str
    config: ResolvedConfig
    executor: str
    index: int
    chunk: Chunk
    part_dir: str
    attempt: int = 1
    #: the products of one event the job's watchers want back (the Monitor's displays); None: none
    sample: SampleRequest | None = None


@dataclass
class ChunkError:
    """Why a chunk failed, as plain data (exceptions with keyword-only arguments do not cross processes)."""

    message: str
    kind: str = "Exception"
    label: str | None = None
    method: str = ""
    module_type: str = ""
    events: str = ""
    traceback: str = ""
    #: the job cannot run on this worker at all (config or plugin problem): no retry
    fatal: bool = False
    #: the worker process died (killed, out of memory)
    lost: bool = False

    @classmethod
    def from_exception(cls, err: BaseException) -> ChunkError:
        cause = err.__cause__ if isinstance(err, ModuleError) and err.__cause__ is not None else err
        tb = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
        if isinstance(err, ModuleError):
            # the message without the "module 'x' (T) failed in m() on EVENTS: " that ModuleError adds
            typ = f" ({err.module_type})" if err.module_type else ""
            where = f" on {err.events}" if err.events else ""
            prefix = f"module '{err.label}'{typ} failed in {err.method}(){where}: "
            msg = str(err).removeprefix(prefix)
            return cls(msg, "ModuleError", err.label, err.method, err.module_type, err.events, tb)
        fatal = isinstance(err, ConfigError | PluginError)
        return cls(f"{type(err).__name__}: {err}", type(err).__name__, traceback=tb, fatal=fatal)


@dataclass
class ChunkResult:
    """What a worker returns for one chunk; the client merges them in chunk order.

    Attributes:
        index: the chunk's position in the job.
        chunk: the chunk.
        events: events read.
        trig, times: the chunk's TrigReport and TimeReport.
        histograms: ``{label: {name: hist}}`` filled by this chunk alone.
        parts: ``(owner label, requested file, part file)`` of every output file of this chunk.
        summaries: the worker's module summaries after this chunk (outputs excluded).
        output_summaries: the outputs' summaries for this chunk.
        inputs, skipped_inputs, history: what the source recorded while reading this chunk.
        worker: ``host:pid`` of the worker; seq: the chunk's rank among that worker's chunks.
        seconds: the chunk's wall time on the worker; started: when it started (``time.time()``).
        sample: the first event of the chunk's last batch, the products the task's ``sample`` asked for
            (None when it asked for none); not journaled.
        error: why it failed (None when it did not).
    """

    index: int
    chunk: Chunk
    events: int = 0
    trig: TrigReport = field(default_factory=TrigReport)
    times: TimeReport = field(default_factory=TimeReport)
    histograms: dict[str, dict[str, Any]] = field(default_factory=dict)
    parts: list[tuple[str | None, str, str]] = field(default_factory=list)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    skipped_inputs: list[dict[str, str]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    worker: str = ""
    seq: int = 0
    seconds: float = 0.0
    started: float = 0.0
    executor: str = ""
    attempts: int = 1
    sample: EventSample | None = None
    error: ChunkError | None = None


def worker_id() -> str:
    return f"{platform.node()}:{os.getpid()}"


class _WorkerState:
    """The plan of one job in this process, begun once."""

    def __init__(self, task: ChunkTask) -> None:
        from hepreco.core.allocator import tune_allocator
        from hepreco.core.build import build_plan
        from hepreco.core.loop import JobLoop
        from hepreco.plugins import get_registry

        tune_allocator()
        self.lock = threading.Lock()
        self.seq = 0
        self.plan: JobPlan = build_plan(task.config, get_registry(), quiet=True)
        job = self.plan.job
        job.executor = task.executor
        job.job_id = task.job_id
        self.outputs: list[Step] = [s for s in self.plan.end_steps if s.kind == "output"]
        # the outputs' lifecycle is per chunk (begin_chunk, end_chunk): one file per chunk, merged by the client
        self.loop = JobLoop(self.plan, outputs=False)
        self.loop.begin()

    def _reset_histograms(self) -> None:
        for hs in self.plan.services["Histograms"].histograms.values():
            for h in hs.values():
                h.reset()

    def run_chunk(self, task: ChunkTask) -> ChunkResult:
        from hepreco.core.schedule import Schedule, call_module

        plan = self.plan
        job = plan.job
        chunk = task.chunk
        n_inputs, n_skipped, n_history = len(job.inputs), len(job.skipped_inputs), len(job.history)
        job.part_dir = Path(task.part_dir)
        job.part_files = []
        job.chunk = {"index": task.index, "file": chunk.file, "start": chunk.start, "stop": chunk.stop}
        sched = Schedule(plan)
        started = time.time()
        t0 = time.perf_counter()
        out_summaries: dict[str, dict[str, Any]] = {}
        before = self.loop.events
        try:
            for step in self.outputs:
                job.summaries.pop(step.label, None)
                mod = step.module
                call_module(step.label, type(mod).type_name, "begin_chunk", mod.begin_chunk, None)  # type: ignore[attr-defined]
            for _batch in self.loop.run([chunk], schedule=sched):
                pass
            nread = self.loop.events - before
            for step in self.outputs:
                mod = step.module
                call_module(step.label, type(mod).type_name, "end_chunk", mod.end_chunk, None)  # type: ignore[attr-defined]
                if step.label in job.summaries:
                    out_summaries[step.label] = clean_json(job.summaries.pop(step.label))
            job.commit()
        except BaseException:
            self.loop.events = before
            self.loop.abort()
            for step in self.outputs:
                job.summaries.pop(step.label, None)
            self._reset_histograms()
            del job.inputs[n_inputs:], job.skipped_inputs[n_skipped:], job.history[n_history:]
            raise
        finally:
            job.part_dir = None
            job.chunk = None
            job.committed.clear()
        sched.times.wall = time.perf_counter() - t0
        sample = None
        if task.sample is not None and nread > 0:  # for the watchers (the Monitor's displays): one event
            from hepreco.core.sample import take_sample

            sample = take_sample(self.loop.store, task.sample, chunk=task.index)
        histograms: dict[str, dict[str, Any]] = {}
        for label, hs in plan.services["Histograms"].histograms.items():
            histograms[label] = {name: h.copy() for name, h in hs.items()}
        self._reset_histograms()
        self.seq += 1
        return ChunkResult(
            index=task.index,
            chunk=chunk,
            events=nread,
            trig=sched.trig,
            times=sched.times,
            histograms=histograms,
            parts=[(owner, str(req), str(part)) for owner, req, part in job.part_files],
            summaries=clean_json(job.summaries),
            output_summaries=out_summaries,
            inputs=list(job.inputs[n_inputs:]),
            skipped_inputs=[dict(s) for s in job.skipped_inputs[n_skipped:]],
            history=list(job.history[n_history:]),
            worker=worker_id(),
            seq=self.seq,
            seconds=sched.times.wall,
            started=started,
            executor=task.executor,
            attempts=task.attempt,
            sample=sample,
        )

    def finish(self) -> dict[str, Any]:
        """``end_job`` of the modules begun here (not those whose summary comes from histograms);
        returns this worker's summaries."""
        from hepreco.core.schedule import call_module

        errors: list[dict[str, Any]] = []
        for mod in self.loop.begun:
            if type(mod).summary_from_histograms:
                continue
            try:
                call_module(mod.label, type(mod).type_name, "end_job", mod.end_job, None)
            except ModuleError as err:
                errors.append(vars(ChunkError.from_exception(err)))
        results = self.plan.services["Histograms"].results
        for label, objs in results.items():
            log.warning(
                "module '%s' put results (%s) in end_job on a worker: they cover only this worker's chunks and "
                "are not written; keep its sums in booked histograms and set summary_from_histograms",
                label,
                ", ".join(sorted(objs)),
            )
        results.clear()
        job = self.plan.job
        return {"worker": worker_id(), "seq": self.seq, "summaries": clean_json(job.summaries), "errors": errors}


_STATES: dict[str, _WorkerState] = {}
_STATES_LOCK = threading.Lock()


def _state(task: ChunkTask) -> _WorkerState:
    with _STATES_LOCK:
        state = _STATES.get(task.job_id)
        if state is None:
            state = _STATES[task.job_id] = _WorkerState(task)
        return state


def run_task(task: ChunkTask) -> ChunkResult:
    """Run one chunk in this process (building the job's plan on first use); never raises for a failing
    module: the result's ``error`` says what failed."""
    try:
        state = _state(task)
        with state.lock:
            return state.run_chunk(task)
    except Exception as err:
        return ChunkResult(
            index=task.index, chunk=task.chunk, worker=worker_id(), executor=task.executor,
            attempts=task.attempt, error=ChunkError.from_exception(err),
        )  # fmt: skip


def forget(job_id: str) -> None:
    """Drop the job's state in this process without ``end_job`` (a job that failed or was interrupted)."""
    with _STATES_LOCK:
        _STATES.pop(job_id, None)


def teardown(job_id: str) -> dict[str, Any] | None:
    """End the job in this process (``end_job`` once) and forget it; None if it never ran here."""
    with _STATES_LOCK:
        state = _STATES.pop(job_id, None)
    if state is None:
        return None
    with state.lock:
        return state.finish()


# --- process pools: end_job at worker exit ---------------------------------------------------------
_TEARDOWN_DIR: str | None = None


def init_process(teardown_dir: str, client_pid: int | None = None) -> None:
    """Initializer of a pool worker: ignore Ctrl-C (the client stops the pool), end the job's modules when
    the process exits, writing the summaries to ``teardown_dir/PID.json``, and watch the client: a worker
    whose client is gone (killed, even with SIGKILL) exits at once instead of living on."""
    import multiprocessing.util
    import signal

    global _TEARDOWN_DIR
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _TEARDOWN_DIR = teardown_dir
    multiprocessing.util.Finalize(None, _exit_teardown, exitpriority=10)
    if client_pid is not None:
        watch_parent(client_pid)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return True


def watch_parent(pid: int, interval: float = 0.5) -> None:
    """Exit this process (without cleanup: the client that would use it is gone) once ``pid`` is gone."""
    import threading
    import time

    def watch() -> None:
        while pid_alive(pid):
            time.sleep(interval)
        os._exit(3)

    threading.Thread(target=watch, name="hepreco-watch-client", daemon=True).start()


def _exit_teardown() -> None:
    if _TEARDOWN_DIR is None:
        return
    for job_id in list(_STATES):
        try:
            out = teardown(job_id)
        except Exception as err:  # pragma: no cover - reported by the client as a missing worker
            out = {"worker": worker_id(), "errors": [{"message": repr(err)}], "summaries": {}, "seq": 0}
        if out is None:
            continue
        path = Path(_TEARDOWN_DIR) / f"{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, default=str))
        os.replace(tmp, path)
