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

import hashlib
import hmac
import os
import pickle
import secrets
import subprocess
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from hepreco.executors import Backend, ChunkResult, ChunkTask, Executor, LostWorker, run_chunked, run_task, teardown

__all__ = ["BatchExecutor"]

KEY_ENV = "HEPRECO_SMEAR_BATCH_KEY"


def _write_signed(path: Path, data: bytes, key: str) -> None:
    path.write_bytes(hmac.new(key.encode(), data, hashlib.sha256).digest() + data)


def _read_signed(path: Path, key: str) -> bytes:
    raw = path.read_bytes()
    sig, data = raw[:32], raw[32:]
    if not hmac.compare_digest(sig, hmac.new(key.encode(), data, hashlib.sha256).digest()):
        raise ValueError(f"{path}: not written by this job (bad signature): refusing to load it")
    return data


class _Jobs(Backend):
    """One process per chunk; ``slots`` of them at a time. The task and its result travel as files that
    this client writes and reads itself (never a file a user hands in)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.ends: list[dict[str, Any]] = []
        # the task and result files are pickles: each is signed with a key only this client and its batch
        # jobs know, and nothing is unpickled unless its signature checks (a file changed or planted in the
        # work folder is refused, never loaded)
        self.key = secrets.token_hex(32)

    def submit(self, task: ChunkTask) -> Any:
        folder = Path(task.part_dir).parent
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"task-{task.index:05d}-{task.attempt}.pkl"
        _write_signed(path, pickle.dumps(task), self.key)
        env = {**os.environ, KEY_ENV: self.key}
        proc = subprocess.Popen([sys.executable, "-m", "hepreco_smear.batch", str(path)], env=env)
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
        result, end = pickle.loads(_read_signed(out, self.key))
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
    key = os.environ[KEY_ENV]
    task: ChunkTask = pickle.loads(_read_signed(path, key))
    result = run_task(task)
    end = teardown(task.job_id) if result.error is None else None
    tmp = path.with_suffix(".out.tmp")
    _write_signed(tmp, pickle.dumps((result, end)), key)
    tmp.replace(path.with_suffix(".out"))


if __name__ == "__main__":
    _main(sys.argv[1])
