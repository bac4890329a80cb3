"""This module defines InlineExecutor: the job in this process, the framework's default."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hepreco.executors._chunked import Backend, run_chunked
from hepreco.executors._worker import ChunkResult, ChunkTask, run_task, teardown
from hepreco.executors.base import Executor, skips_chunks

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult

__all__ = ["InlineExecutor"]


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
        return future.result()  # type: ignore[no-any-return]

    def teardown(self, job_id: str) -> list[dict[str, Any]]:
        end = teardown(job_id)
        return [end] if end is not None else []

    def close(self, *, cancel: bool = False) -> None:
        if cancel and self._job_id is not None:  # a failed or interrupted job: forget its modules
            from hepreco.executors import _worker

            with _worker._STATES_LOCK:
                _worker._STATES.pop(self._job_id, None)


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
        from hepreco.core.runner import execute_inline

        return execute_inline(plan, report=report, chunk_size=self.chunk_size)
