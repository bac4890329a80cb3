"""This module defines DaskExecutor: the job's chunks on a Dask distributed cluster (a new LocalCluster,
or an existing scheduler, so dask-jobqueue and dask-gateway clusters work as they are)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hepreco.core.threads import cpu_cores
from hepreco.executors._chunked import Backend, LostWorker, run_chunked
from hepreco.executors._worker import ChunkResult, ChunkTask, run_task, teardown
from hepreco.executors.base import Executor

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult

__all__ = ["DaskExecutor", "free_dashboard"]

log = logging.getLogger("hepreco.executors")


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        msg = "the dask executor needs dask.distributed: pip install 'dask[distributed]'"
        raise ImportError(msg) from err
    return distributed


def free_dashboard(address: str | None) -> str | None:
    """``address`` (``:8787``, ``host:port``), or ``:0`` (any free port) when its port is taken — by another job's
    dashboard, say: a busy dashboard port must not stop a job (distributed refuses to start the cluster)."""
    import socket

    if not address or ":" not in address:
        return address
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return address
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host or "", int(port)))
        except OSError:
            log.warning("dashboard port %s is in use (another Dask cluster?): the dashboard takes a free port", port)
            return f"{host}:0"
    return address


class _Cluster(Backend):
    def __init__(self, workers: int | None, scheduler: str | None, dashboard: str | None) -> None:
        self.workers = workers
        self.scheduler = scheduler
        self.dashboard_address = dashboard
        self.client: Any = None
        self.cluster: Any = None
        self._config: Any = None
        self._completed: Any = None
        # every chunk is submitted at once: the scheduler queues them and hands a worker its next chunk
        # without waiting for the client (whose view of a finished chunk can lag by a second when the
        # worker's next chunk holds the GIL in compiled code)
        self.slots = 1 << 30

    def start(self) -> None:
        distributed = _import_distributed()
        if self.scheduler:
            self.client = distributed.Client(self.scheduler)
        else:
            n = self.workers or cpu_cores()
            # the workers fork from a process that has imported distributed and hepreco and built the
            # plugin registry, instead of each importing them anew (seconds per worker)
            from hepreco.executors.processes import start_forkserver

            if start_forkserver(n, preload=("distributed",)):
                import dask

                self._config = dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
            quiet = logging.getLogger("distributed.scheduler")
            level = quiet.level
            quiet.setLevel(logging.ERROR)  # we print the dashboard address ourselves
            try:
                self.cluster = distributed.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=free_dashboard(self.dashboard_address),
                    silence_logs=logging.ERROR,
                )
            finally:
                quiet.setLevel(level)
            self.client = distributed.Client(self.cluster)
        self._completed = distributed.as_completed()
        if self.dashboard_address is not None or self.scheduler:
            try:
                self.dashboard = self.client.dashboard_link
            except Exception:  # no dashboard (bokeh missing)
                self.dashboard = None

    def submit(self, task: ChunkTask) -> Any:
        self._job_id = task.job_id
        key = f"hepreco-{task.job_id[:12]}-chunk{task.index}-try{task.attempt}"
        fut = self.client.submit(run_task, task, key=key, pure=False)
        self._completed.add(fut)
        return fut

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        return self._completed.next_batch(block=True)

    def result(self, future: Any) -> ChunkResult:
        distributed = _import_distributed()
        try:
            res: ChunkResult = future.result()
        except distributed.KilledWorker as err:
            self.lost_workers += 1
            raise LostWorker(f"the Dask workers running it died: {err}") from err
        finally:
            future.release()
        return res

    def teardown(self, job_id: str) -> list[dict[str, Any]]:
        ends = self.client.run(teardown, job_id)
        return [e for e in ends.values() if e is not None]

    def close(self, *, cancel: bool = False) -> None:
        if self.client is not None:
            job_id = getattr(self, "_job_id", None)
            if self.scheduler and cancel and job_id:  # a shared cluster: drop this job's state on its workers
                try:
                    self.client.run(teardown, job_id)
                except Exception as err:  # the job failed already; say why this did not work either
                    logging.getLogger("hepreco.executors").debug("could not end the job on the workers: %s", err)
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        if self._config is not None:
            self._config.__exit__(None, None, None)
            self._config = None


@dataclass
class DaskExecutor(Executor):
    """Run the job's chunks on a Dask distributed cluster.

    Without ``scheduler`` a ``LocalCluster`` of ``workers`` single-threaded processes is started for the
    job (its dashboard address is printed); with one, the job runs on that scheduler's workers (which
    need hepreco, the job's plugins and a ``workdir`` that the client sees too). Each worker process builds
    the job's plan once; a worker that dies is replaced by Dask and its chunks run elsewhere.

    Attributes:
        workers: workers of the LocalCluster (default: the number of cores).
        scheduler: address of an existing scheduler, ``tcp://host:8786``.
        dashboard: dashboard address of the LocalCluster (``:0``: any free port; None: no dashboard).
    """

    name: ClassVar[str] = "dask"

    workers: int | None = None
    scheduler: str | None = None
    dashboard: str | None = ":8787"

    @property
    def label(self) -> str:
        if self.scheduler:
            return f"dask ({self.scheduler})"
        n = self.workers or cpu_cores()
        return f"dask (LocalCluster, {n} worker{'s' if n != 1 else ''})"

    def run(self, plan: JobPlan, *, report: str | Path | None = None) -> JobResult:
        return run_chunked(self, _Cluster(self.workers, self.scheduler, self.dashboard), plan, report=report)
