"""This module defines InlineExecutor: the job in this process, the framework's default."""

from __future__ import annotations

import time
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hepreco.core.chunks import plan_chunks, skips_chunks
from hepreco.core.loop import JobLoop, announce, finish_job
from hepreco.core.reports import ExecutorReport
from hepreco.core.service import JobStatus
from hepreco.executors._chunked import Backend, run_chunked
from hepreco.executors._progress import Watchers
from hepreco.executors._worker import ChunkResult, ChunkTask, forget, run_task, teardown
from hepreco.executors.base import Executor

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult

__all__ = ["InlineExecutor", "run_inline"]


class _ThisProcess(Backend):
    """Chunks run one after the other in this process, through the same worker code as the pools."""

    slots = 1
    _job_id: str | None = None

    def submit(self, task: ChunkTask) -> Future[ChunkResult]:
        self._job_id = task.job_id
        fut: Future[ChunkResult] = Future()
        fut.set_result(run_task(task))
        return fut

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        return list(futures)

    def result(self, future: Any) -> ChunkResult:
        return future.result()

    def teardown(self, job_id: str) -> list[dict[str, Any]]:
        end = teardown(job_id)
        return [end] if end is not None else []

    def close(self, *, cancel: bool = False) -> None:
        if cancel and self._job_id is not None:  # a failed or interrupted job: forget its modules
            forget(self._job_id)


@dataclass
class InlineExecutor(Executor):
    """Run the job in this process: ``begin_job``, the batches of every chunk in order, ``end_job``.

    Outputs are written directly, with no per-chunk files. With a ``journal`` the job runs chunk by chunk
    instead, through the same code as the process pools (per-chunk files, merging, retries), so an
    interrupted job resumes; so does a job whose source skips failed chunks (``skip_bad_files`` on a source
    of generated events). Otherwise a failing chunk stops the job at once (``retries`` is not used).
    """

    name: ClassVar[str] = "inline"

    def run(self, plan: JobPlan, *, report: str | Path | None = None) -> JobResult:
        if self.journal is not None or skips_chunks(plan.source):
            return run_chunked(self, _ThisProcess(), plan, report=report)
        return run_inline(plan, report=report, chunk_size=self.chunk_size)


def run_inline(plan: JobPlan, *, report: str | Path | None = None, chunk_size: int | None = None) -> JobResult:
    """Run ``plan`` in this process through the job loop: ``begin_job``, every chunk's batches in order,
    ``end_job``; outputs are written directly and committed only on success."""
    from hepreco.core.allocator import tune_allocator

    tune_allocator()
    job = plan.job
    job.executor = "inline"
    loop = JobLoop(plan)
    progress = plan.services["Progress"]
    t_start = time.perf_counter()
    limit = plan.source.config.events
    exec_report = ExecutorReport(executor="inline")
    row = exec_report.row("inline")
    watchers = Watchers(plan)
    running = [1]  # the one chunk stream of this process, until the last batch
    hsvc = plan.services["Histograms"]

    def live() -> dict[str, Any]:
        sched = loop.schedule
        return {
            "events": loop.events, "trig": sched.trig, "times": sched.times, "histograms": hsvc.histograms,
            "rows": exec_report.rows, "running": running[0],
            "summaries": job.summaries,
        }  # fmt: skip

    try:
        loop.begin()
        chunks = plan_chunks(plan.source, chunk_size=chunk_size, limit=limit)
        job.chunks = [[c.file, c.start, c.stop] for c in chunks]
        exec_report.chunks = len(chunks)
        total = sum(len(c) for c in chunks) if all(c.stop >= 0 for c in chunks) else None
        if limit is not None and total is not None:
            total = min(total, limit)
        announce(plan, f"job '{job.process}': processing {_events_text(total)} in {len(chunks)} chunk(s), inline")
        progress.start(total)
        watchers.start(JobStatus("inline", total, len(chunks), live, running=lambda: running[0]))
        for chunk in chunks:
            for batch in loop.run([chunk], limit=limit):
                progress.update(len(batch.ids))
                watchers.progress(loop.store)
            row.chunks += 1
            row.events = loop.events
            watchers.progress(None)
            if limit is not None and loop.events >= limit:
                break
        row.events = loop.events
        running[0] = 0
        progress.close()
        if any(s.kind == "output" for s in plan.end_steps):
            announce(plan, "writing outputs")
        loop.end()
        loop.schedule.times.wall = time.perf_counter() - t_start
        outputs = job.commit()
    except BaseException:
        running[0] = 0
        progress.close()
        loop.abort()
        watchers.end(ok=False)
        raise
    sched = loop.schedule
    try:
        result = finish_job(
            plan, events=loop.events, trig=sched.trig, times=sched.times, outputs=outputs, executor=exec_report,
            report=report,
        )  # fmt: skip
    except BaseException:
        watchers.end(ok=False)
        raise
    watchers.end(ok=True)
    return result


def _events_text(total: int | None) -> str:
    return "the events" if total is None else f"{total} event{'s' if total != 1 else ''}"
