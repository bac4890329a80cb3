"""This module is the client side of a job run chunk by chunk on a pool (processes, Dask, or this process
with a journal): the chunk list, submitting, retries, skipping, the journal, merging and the reports.

A pool is a small backend (start, submit, wait, result, teardown, close); no scheduling happens here
beyond keeping a few chunks in flight per worker and putting a failed one back in the queue.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.core.chunks import plan_chunks, skip_covers, split_for_workers
from hepreco.core.loop import announce, call_services, finish_job
from hepreco.core.module import Chunk
from hepreco.core.reports import ExecutorReport
from hepreco.core.service import JobStatus
from hepreco.errors import ConfigError, ModuleError
from hepreco.executors._journal import Journal, plugin_code
from hepreco.executors._merge import JobAccumulator, combine_summaries, load_merged_histograms, merge_outputs
from hepreco.executors._progress import ChunkProgress, Watchers
from hepreco.executors._worker import ChunkError, ChunkResult, ChunkTask
from hepreco.executors.base import Executor

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult

__all__ = ["Backend", "LostWorker", "RemoteTraceback", "run_chunked"]

log = logging.getLogger("hepreco.executors")


class LostWorker(RuntimeError):
    """The worker process running a chunk died (killed, out of memory)."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return "\n" + self.tb


class Backend:
    """A pool as the client loop uses it. ``slots``: chunks kept in flight."""

    slots: int = 1
    dashboard: str | None = None
    lost_workers: int = 0

    def start(self) -> None:
        """Start the workers (or connect to them)."""

    def submit(self, task: ChunkTask) -> Any:
        raise NotImplementedError

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        """Block until at least one of ``futures`` is done; return the done ones."""
        raise NotImplementedError

    def result(self, future: Any) -> ChunkResult:
        """The chunk's result; raises LostWorker when its worker died."""
        raise NotImplementedError

    def teardown(self, job_id: str) -> list[dict[str, Any]]:
        """End the job on every worker (``end_job``); their summaries."""
        return []

    def close(self, *, cancel: bool = False) -> None:
        """Stop the workers (or disconnect)."""


def _chunk_where(index: int, chunk: Chunk) -> str:
    return f"chunk {index} ({chunk.file + ' ' if chunk.file else ''}entries {chunk.start}..{chunk.stop})"


def _chunk_exception(err: ChunkError, index: int, chunk: Chunk, attempts: int, note: str = "") -> BaseException:
    where = _chunk_where(index, chunk)
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}{note}"
    exc: BaseException
    if err.kind == "ModuleError" and err.label is not None:
        exc = ModuleError(
            f"{err.message} [{where}, {tries}]",
            label=err.label,
            method=err.method,
            module_type=err.module_type,
            events=err.events,
        )
    elif err.fatal:
        exc = ConfigError(f"a worker could not set up the job: {err.message}")
    elif err.lost:
        exc = RuntimeError(f"{where}: the worker process running it died ({tries}); {err.message}")
    else:
        exc = RuntimeError(f"{where} failed ({tries}): {err.message}")
    if err.traceback:
        exc.__cause__ = RemoteTraceback(err.traceback)
    return exc


def _final_summaries(
    plan: JobPlan,
    acc: JobAccumulator,
    ends: list[dict[str, Any]],
    client: dict[str, dict[str, Any]],
    finals: dict[str, list[str]],
) -> dict[str, dict[str, Any]]:
    tables = {w: s for w, (_seq, s) in acc.worker_summaries.items()}
    for end in ends:
        tables[end["worker"]] = end.get("summaries", {})
    combined = combine_summaries([tables[w] for w in sorted(tables)])
    mods = [plan.source, *(s.module for s in plan.steps), *(s.module for s in plan.end_steps)]
    out: dict[str, dict[str, Any]] = {}
    for mod in mods:
        label = mod.label
        if mod.kind == "output":
            if label in acc.output_summaries:  # what the output records per chunk, over the whole job
                figs = combine_summaries([{label: f} for f in acc.output_summaries[label]])[label]
                if "files" in figs:
                    figs["files"] = ", ".join(finals.get(label, []))
                out[label] = figs
        elif type(mod).summary_from_histograms:
            if label in client:
                out[label] = client[label]
        elif label in combined:
            out[label] = combined[label]
    for table in (combined, client):
        for label, figs in table.items():
            out.setdefault(label, figs)
    return out


def _summaries_from_histograms(plan: JobPlan, merged: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``begin_job`` and ``end_job`` on the client of the modules whose summary comes from their histograms,
    with the merged histograms loaded into those they book; returns their summaries."""
    from hepreco.core.schedule import call_module

    job = plan.job
    hsvc = plan.services["Histograms"]
    out: dict[str, dict[str, Any]] = {}
    mods = [plan.source, *(s.module for s in plan.steps), *(s.module for s in plan.end_steps)]
    for mod in mods:
        if mod.kind == "output" or not type(mod).summary_from_histograms:
            continue
        tname = type(mod).type_name
        call_module(mod.label, tname, "begin_job", mod.begin_job, None)
        booked = hsvc.histograms.get(mod.label, {})
        call_module(
            mod.label,
            tname,
            "end_job",
            functools.partial(load_merged_histograms, booked, merged.get(mod.label, {}), mod.label),
            None,
        )
        call_module(mod.label, tname, "end_job", mod.end_job, None)
        out[mod.label] = job.summaries.pop(mod.label, {})
    booked_all = hsvc.histograms
    hsvc.histograms = {
        label: {**hs, **booked_all.get(label, {})} if label in booked_all else hs for label, hs in merged.items()
    }
    for label, hs in booked_all.items():
        hsvc.histograms.setdefault(label, hs)
    return out


def _run_pending(
    executor: Executor,
    backend: Backend,
    plan: JobPlan,
    chunks: list[Chunk],
    pending: deque[int],
    workdir: Path,
    journal: Journal | None,
    acc: JobAccumulator,
    rep: ExecutorReport,
    progress: ChunkProgress,
    clock: dict[str, float],
    watchers: Watchers,
) -> list[dict[str, Any]]:
    """Run the ``pending`` chunks on ``backend`` (retrying, skipping), merge them into ``acc``; returns
    what each worker's ``end_job`` left (its summaries)."""
    job = plan.job
    row = rep.row(executor.label)
    skip_bad = bool(getattr(plan.source.config, "skip_bad_files", False))
    attempts: Counter[int] = Counter()
    retried: set[int] = set()
    inflight: dict[Any, int] = {}
    backend.start()
    rep.dashboard = backend.dashboard
    if backend.dashboard and not job.quiet:
        print(f"hepreco: Dask dashboard at {backend.dashboard}", file=sys.stderr)
    while pending or inflight:
        while pending and len(inflight) < backend.slots:
            i = pending.popleft()
            attempts[i] += 1
            part_dir = workdir / f"{i:05d}"
            shutil.rmtree(part_dir, ignore_errors=True)
            if journal is not None:
                journal.forget(i)
            task = ChunkTask(
                job.job_id, job.config, executor.name, i, chunks[i], str(part_dir), attempts[i], watchers.sample
            )
            inflight[backend.submit(task)] = i
            progress.running = len(inflight)
        for fut in sorted(backend.wait(list(inflight)), key=inflight.__getitem__):
            i = inflight.pop(fut)
            progress.running = len(inflight)
            try:
                res = backend.result(fut)
            except LostWorker as err:
                res = ChunkResult(i, chunks[i], error=ChunkError(str(err), "LostWorker", lost=True))
            except Exception as err:
                res = ChunkResult(i, chunks[i], error=ChunkError.from_exception(err))
            if res.error is None:
                res.executor = executor.label
                res.attempts = attempts[i]
                if journal is not None:
                    t0 = time.perf_counter()
                    journal.record(res)
                    clock["journal"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                acc.add(res)
                clock["merge"] += time.perf_counter() - t0
                row.chunks += 1
                row.events += res.events
                progress.update(res.events)
                watchers.progress(res.sample)
                log.info("%s done on %s: %d events", _chunk_where(i, chunks[i]), executor.label, res.events)
                continue
            failure = res.error
            where = _chunk_where(i, chunks[i])
            if not failure.fatal and attempts[i] <= executor.retries:
                retried.add(i)
                row.retried = len(retried)
                log.warning("%s failed (attempt %d), running it again: %s", where, attempts[i], failure.message)
                pending.appendleft(i)
                continue
            c = chunks[i]
            covered = skip_bad and skip_covers(plan.source, failed_label=failure.label, fatal=failure.fatal)
            if covered and row.skipped + 1 < len(chunks):
                row.skipped += 1
                text = _chunk_exception(failure, i, c, attempts[i])
                rep.skipped_chunks.append(
                    {"chunk": i, "file": c.file, "start": c.start, "stop": c.stop, "error": str(text)}
                )
                name = c.file or f"chunk {i} (events {c.start}..{c.stop})"
                job.skipped_inputs.append({"file": name, "error": str(text)})
                log.warning("skipping %s: %s", where, text)
                acc.skip(i)
                progress.update(0)
                continue
            row.failed += 1
            watchers.progress(None)
            # a job whose every chunk would be skipped fails, as one with no readable input file does
            note = "; every chunk failed" if covered else ""
            raise _chunk_exception(failure, i, c, attempts[i], note)
    rep.lost_workers = backend.lost_workers
    return backend.teardown(job.job_id)


def _worker_count(executor: Executor) -> int:
    return int(getattr(executor, "n_workers", None) or getattr(executor, "workers", None) or 1)


def _journal_chunks(executor: Executor, planned: list[Chunk]) -> list[Chunk] | None:
    """The chunks an existing journal recorded, when they cover exactly the entries planned now: a job resumed
    with another number of workers keeps the chunking it started with."""
    import json

    if executor.journal is None:
        return None
    meta = Path(executor.journal) / "journal.json"
    try:
        recorded = [Chunk(int(a), int(b), f) for f, a, b in json.loads(meta.read_text())["chunks"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None

    def cover(chunks: list[Chunk]) -> list[tuple[str | None, int, int]]:
        merged: list[tuple[str | None, int, int]] = []
        for c in chunks:
            if merged and merged[-1][0] == c.file and merged[-1][2] == c.start:
                merged[-1] = (c.file, merged[-1][1], c.stop)
            else:
                merged.append((c.file, c.start, c.stop))
        return merged

    return recorded if cover(recorded) == cover(planned) else None


def remove_stale_workdirs(base: Path | None = None) -> list[Path]:
    """Remove the per-chunk folders (``hepreco-PID-...``, ``hepreco-workers-PID-...``) that jobs whose client
    was killed left in ``base`` (default: the temporary folder); returns what was removed."""
    from hepreco.executors._worker import pid_alive

    removed: list[Path] = []
    folder = Path(base) if base is not None else Path(tempfile.gettempdir())
    for path in folder.glob("hepreco-*"):
        parts = path.name.split("-")
        pid_text = parts[2] if len(parts) > 2 and parts[1] == "workers" else parts[1] if len(parts) > 1 else ""
        if not path.is_dir() or not pid_text.isdigit() or pid_alive(int(pid_text)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        log.warning("removed %s, left by a job whose client (pid %s) was killed", path, pid_text)
        removed.append(path)
    return removed


def run_chunked(executor: Executor, backend: Backend, plan: JobPlan, *, report: str | Path | None = None) -> JobResult:
    """Run ``plan`` chunk by chunk on ``backend`` and merge the results on this process (the client)."""
    from hepreco.core.chunks import skips_chunks
    from hepreco.core.schedule import call_module

    job = plan.job
    job.executor = executor.name
    t_start = time.perf_counter()
    clock = {"journal": 0.0, "merge": 0.0, "outputs": 0.0}
    rep = ExecutorReport(executor=executor.label)
    journal: Journal | None = None
    own_workdir: Path | None = None
    progress: ChunkProgress | None = None
    watchers = Watchers(plan)
    started = False
    try:
        src = plan.source
        limit = src.config.events
        chunks: list[Chunk] = call_module(
            plan.source_label,
            type(src).type_name,
            "chunks",
            lambda: plan_chunks(src, chunk_size=executor.chunk_size, limit=limit),
            None,
        )
        workers = _worker_count(executor)
        # not with --skip-bad-files: its unit (a file that breaks is skipped whole) must not depend on the workers
        if executor.chunk_size is None and workers > 1 and not skips_chunks(src):
            chunks = _journal_chunks(executor, chunks) or split_for_workers(chunks, workers, src)
        job.chunks = [[c.file, c.start, c.stop] for c in chunks]
        rep.chunks = len(chunks)
        total = sum(len(c) for c in chunks) if all(c.stop >= 0 for c in chunks) else None
        what = "the events" if total is None else f"{total} event{'s' if total != 1 else ''}"
        announce(plan, f"job '{job.process}': processing {what} in {len(chunks)} chunk(s) on {executor.label}")
        if 0 < len(chunks) < workers and not job.quiet:
            print(
                f"hepreco: {len(chunks)} chunk{'s' if len(chunks) != 1 else ''} for {workers} workers: "
                f"{workers - len(chunks)} will idle (a job this small does not gain from more workers)",
                file=sys.stderr,
            )
        if executor.journal is not None:
            t0 = time.perf_counter()
            journal = Journal(executor.journal, job.config.data, chunks, code=plugin_code(plan))
            workdir = journal.parts_dir
            clock["journal"] += time.perf_counter() - t0
        else:
            if executor.workdir is not None:
                executor.workdir.mkdir(parents=True, exist_ok=True)
            remove_stale_workdirs(executor.workdir)
            own_workdir = workdir = Path(
                tempfile.mkdtemp(prefix=f"hepreco-{os.getpid()}-{job.job_id[:8]}-", dir=executor.workdir)
            ).resolve()
        workdir = workdir.resolve()
        progress = ChunkProgress(plan, sum(max(0, len(c)) for c in chunks), len(chunks))
        call_services(plan, "begin_job")

        from hepreco.core.schedule import Schedule

        acc = JobAccumulator(trig=Schedule(plan).trig)  # every path listed, even with no event
        shown = progress

        def live() -> dict[str, Any]:
            return {
                "events": acc.events, "trig": acc.trig, "times": acc.times, "histograms": acc.histograms,
                "rows": rep.rows, "running": shown.running, "summaries": job.summaries,
            }  # fmt: skip

        watchers.start(JobStatus(executor.label, total, len(chunks), live, running=lambda: shown.running))
        t0 = time.perf_counter()
        done = journal.load() if journal is not None else {}
        clock["journal"] += time.perf_counter() - t0
        for i in sorted(done):
            res = done[i]
            acc.add(res)
            rep.resumed += 1
            row = rep.row(f"{res.executor or '?'} (journal)")
            row.chunks += 1
            row.events += res.events
            row.retried += res.attempts > 1
            progress.update(res.events)
        pending = deque(i for i in range(len(chunks)) if i not in done)
        ends: list[dict[str, Any]] = []
        if pending:
            started = True
            ends = _run_pending(
                executor, backend, plan, chunks, pending, workdir, journal, acc, rep, progress, clock, watchers
            )
        for end in ends:  # a module's end_job failed on a worker: the job fails, as it would inline
            for e in end.get("errors", []):
                err = ChunkError(**e)
                exc = ModuleError(
                    f"{err.message} [worker {end.get('worker', '?')}]",
                    label=err.label or "?",
                    method=err.method or "end_job",
                    module_type=err.module_type,
                )
                if err.traceback:
                    exc.__cause__ = RemoteTraceback(err.traceback)
                raise exc

        job.inputs[:] = acc.inputs
        for s in acc.skipped_inputs:
            if s not in job.skipped_inputs:
                job.skipped_inputs.append(s)
        job.history[:] = acc.history

        client_summaries = _summaries_from_histograms(plan, acc.histograms)

        if any(s.kind == "output" for s in plan.end_steps):
            announce(plan, "merging and writing outputs")
        t0 = time.perf_counter()
        finals, merged_figures = merge_outputs(plan, acc, chunks, merge=executor.merge, keep_parts=journal is not None)
        clock["outputs"] += time.perf_counter() - t0
        job.summaries.clear()
        job.summaries.update(_final_summaries(plan, acc, ends, client_summaries, finals))
        for label, figs in merged_figures.items():  # what an output recorded while merging wins
            job.summaries.setdefault(label, {}).update(figs)
        call_services(plan, "end_job")
        progress.close()
        outputs = job.commit()
        if journal is not None:
            journal.finish()
    except BaseException:
        if progress is not None:
            progress.close()
        if started:
            backend.close(cancel=True)
            started = False
        job.abort()
        watchers.end(ok=False)
        raise
    finally:
        if started:
            backend.close()
        if own_workdir is not None:
            shutil.rmtree(own_workdir, ignore_errors=True)
    times = acc.times
    times.wall = time.perf_counter() - t_start
    rep.client_seconds = {**clock, "wall": times.wall}
    try:
        result = finish_job(
            plan, events=acc.events, trig=acc.trig, times=times, outputs=outputs, executor=rep, report=report
        )
    except BaseException:
        watchers.end(ok=False)
        raise
    watchers.end(ok=True)
    return result
