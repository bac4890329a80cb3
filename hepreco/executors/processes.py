"""This module defines ProcessesExecutor: the job's chunks on a local pool of worker processes
(``concurrent.futures.ProcessPoolExecutor``)."""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import shutil
import tempfile
from collections.abc import Collection
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hepreco.core.threads import cpu_cores
from hepreco.executors._chunked import Backend, LostWorker, run_chunked
from hepreco.executors._forkserver import (
    _PRELOAD,
    _cap_worker_threads,
    _restore,
    default_start_method,
    sigint_ignored,
    start_forkserver,
)
from hepreco.executors._worker import ChunkResult, ChunkTask, init_process, run_task
from hepreco.executors.base import Executor

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult

__all__ = ["ProcessesExecutor", "default_start_method", "sigint_ignored", "start_forkserver"]


class _Pool(Backend):
    def __init__(self, workers: int, start_method: str) -> None:
        self.workers = workers
        self.slots = workers + 1
        self.start_method = start_method
        self._pool: cf.ProcessPoolExecutor | None = None
        self._gen = 0
        self._futures: dict[Any, int] = {}
        self._teardown_dir = ""
        self._saved_env: dict[str, str | None] | None = None

    def start(self) -> None:
        self._teardown_dir = tempfile.mkdtemp(prefix=f"hepreco-workers-{os.getpid()}-")
        self._saved_env = _cap_worker_threads(max(1, cpu_cores() // self.workers))
        with sigint_ignored():  # helpers started now ignore Ctrl-C: the client alone ends the job
            if self.start_method == "forkserver":
                from multiprocessing import forkserver

                forkserver.ensure_running()
            from multiprocessing import resource_tracker

            resource_tracker.ensure_running()
        self._new_pool()

    def _new_pool(self) -> None:
        ctx = mp.get_context(self.start_method)
        if self.start_method == "forkserver":
            ctx.set_forkserver_preload(_PRELOAD)
        self._pool = cf.ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=init_process, initargs=(self._teardown_dir, os.getpid())
        )
        self._gen += 1

    def submit(self, task: ChunkTask) -> Any:
        assert self._pool is not None
        fut = self._pool.submit(run_task, task)
        self._futures[fut] = self._gen
        return fut

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return done

    def result(self, future: Any) -> ChunkResult:
        gen = self._futures.pop(future, self._gen)
        try:
            return future.result()
        except BrokenProcessPool as err:
            if gen == self._gen:  # the first chunk to see this pool broken starts a new one
                self.lost_workers += 1
                assert self._pool is not None
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._new_pool()
            msg = "a worker process died (killed, or out of memory)"
            raise LostWorker(msg) from err

    def teardown(self, job_id: str) -> list[dict[str, Any]]:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # each worker runs end_job as it exits
            self._pool = None
        ends = []
        for path in sorted(Path(self._teardown_dir).glob("*.json")):
            try:
                ends.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        return ends

    def close(self, *, cancel: bool = False) -> None:
        if self._pool is not None:
            if cancel:
                # do not wait for chunks in flight: stop the workers
                procs = list(getattr(self._pool, "_processes", {}).values())
                self._pool.shutdown(wait=False, cancel_futures=True)
                for p in procs:
                    if p.is_alive():
                        p.terminate()
                for p in procs:
                    p.join(timeout=5)
            else:
                self._pool.shutdown(wait=True)
            self._pool = None
        if self._saved_env is not None:
            _restore(self._saved_env)
            self._saved_env = None
        if self._teardown_dir:
            shutil.rmtree(self._teardown_dir, ignore_errors=True)


@dataclass
class ProcessesExecutor(Executor):
    """Run the job's chunks on ``workers`` local processes (``concurrent.futures.ProcessPoolExecutor``).

    Each worker builds the job's plan once (``begin_job`` once per worker, networks loaded once per
    worker) and runs whole chunks; the client merges reports, histograms and output files in chunk order,
    runs a failed chunk again (``retries``), and starts a new pool when a worker process dies.

    Attributes:
        workers: worker processes (default: the number of cores).
        start_method: ``forkserver`` (default where available: workers fork from a process that has
            imported hepreco) or ``spawn``.
    """

    name: ClassVar[str] = "processes"

    workers: int | None = None
    start_method: str | None = None

    @property
    def n_workers(self) -> int:
        return self.workers or cpu_cores()

    @property
    def label(self) -> str:
        n = self.n_workers
        return f"processes ({n} worker{'s' if n != 1 else ''})"

    def run(self, plan: JobPlan, *, report: str | Path | None = None) -> JobResult:
        method = self.start_method or default_start_method()
        return run_chunked(self, _Pool(self.n_workers, method), plan, report=report)
