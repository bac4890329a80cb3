"""A new executor in one file: every chunk runs in a process of its own, as a batch system runs one job per
chunk (``executor: {kind: batch, workers: 4}`` or ``--executor batch``).

Written only against hepreco's public API: the executor is a :class:`hepreco.executors.Executor` dataclass
registered by the plugin's ``hepreco_executors`` hook; its pool is a :class:`hepreco.executors.Backend` that
starts ``python -m hepreco_smear.batch TASK`` per chunk. The worker side is hepreco's own
(:func:`hepreco.executors.run_task`, then :func:`hepreco.executors.teardown` for ``end_job``); the client side
(retries, ``--skip-bad-files``, the journal, merging outputs and histograms, reports) is
:func:`hepreco.executors.run_chunked`, the same as for the built-in executors. A real batch system would
replace ``subprocess.Popen`` by its submit command and the polling by its queue's status.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from hepreco.executors import Backend, ChunkResult, ChunkTask, Executor, LostWorker, run_chunked, run_task, teardown

__all__ = ["BatchExecutor"]


class _Jobs(Backend):
    """One process per chunk; ``slots`` of them at a time. The task and its result travel as files that
    this client writes and reads itself (never a file a user hands in)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.ends: list[dict[str, Any]] = []

    def submit(self, task: ChunkTask) -> Any:
        folder = Path(task.part_dir).parent
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"task-{task.index:05d}-{task.attempt}.pkl"
        path.write_bytes(pickle.dumps(task))
        proc = subprocess.Popen([sys.executable, "-m", "hepreco_smear.batch", str(path)])
        return (proc, path)

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        while True:
            done = [f for f in futures if f[0].poll() is not None]
            if done:
                return done
            time.sleep(0.05)

    def result(self, future: Any) -> ChunkResult:
        proc, path = future
        out = path.with_suffix(".out")
        if proc.returncode != 0 or not out.exists():
            raise LostWorker(f"batch job for {path.name} exited with code {proc.returncode}")
        result, end = pickle.loads(out.read_bytes())
        if end is not None:
            self.ends.append(end)
        return result  # type: ignore[no-any-return]

    def teardown(self, job_id: str) -> list[dict[str, Any]]:
        return self.ends  # each job ended its modules itself (end_job once per process)

    def close(self, *, cancel: bool = False) -> None:
        pass


@dataclass
class BatchExecutor(Executor):
    """Run every chunk in a process of its own, ``workers`` at a time (default: the number of cores)."""

    name: ClassVar[str] = "batch"
    workers: int | None = None

    @property
    def label(self) -> str:
        return f"batch ({self._slots()} at a time)"

    def _slots(self) -> int:
        return self.workers or os.cpu_count() or 1

    def run(self, plan: Any, *, report: str | Path | None = None) -> Any:
        return run_chunked(self, _Jobs(self._slots()), plan, report=report)


def _main(task_file: str) -> None:
    """The batch job: run one chunk, end the job's modules, write both for the client."""
    path = Path(task_file)
    task: ChunkTask = pickle.loads(path.read_bytes())
    result = run_task(task)
    end = teardown(task.job_id) if result.error is None else None
    tmp = path.with_suffix(".out.tmp")
    tmp.write_bytes(pickle.dumps((result, end)))
    tmp.replace(path.with_suffix(".out"))


if __name__ == "__main__":
    _main(sys.argv[1])
