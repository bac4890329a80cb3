"""hepreco.executors: how a job runs — in this process, on local processes, or on a Dask cluster.

- ExecutorConfig: the top-level ``executor:`` key of a job config (and ``--executor``, ``--workers``, ...).
- InlineExecutor (``inline.py``), ProcessesExecutor (``processes.py``), DaskExecutor (``dask.py``): one
  executor per file, each a dataclass whose fields are its config; ``make_executor`` picks one.
- ExecutorReport: chunks run, retried, failed and skipped per executor, the client's serial time.
- plan_chunks: the job's units of work (the source's chunks, split by ``--chunk-size``, cut by ``-n``).

The unit of work is a chunk. Each worker process builds the job's plan once (``begin_job`` once per
worker), runs whole chunks and returns mergeable results: TrigReport, TimeReport, the histograms the
chunk filled, per-chunk output files and the summaries. The client merges them in chunk order, so a job
gives the same outputs, histograms and reports on every executor and for every chunk size. Modules
whose summary comes from their histograms set ``Module.summary_from_histograms``; outputs merge their
per-chunk files with ``Output.merge_files`` (see ``hepreco.Output``).

A new executor (a batch system, a thread pool, another cluster) is a plugin's: an :class:`Executor`
dataclass registered by the ``hepreco_executors`` hook, whose ``run`` hands the job to :func:`run_chunked`
with a :class:`Backend` — the pool: ``submit`` a :class:`ChunkTask` (the worker side calls
:func:`run_task` on it and returns its :class:`ChunkResult`), ``wait``, ``result``, ``teardown`` (the
workers' ``end_job``: :func:`teardown` on each) and ``close``. The client side (retries, skipping, the
journal, merging, reports) is the same for every executor. See the README's "A new executor".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepreco.lazy import lazy_attributes

# loaded on first use, so that checking a config (which parses the executor: key) imports no pool code
_LAZY = {
    "Backend": "hepreco.executors._chunked",
    "LostWorker": "hepreco.executors._chunked",
    "run_chunked": "hepreco.executors._chunked",
    "ChunkError": "hepreco.executors._worker",
    "ChunkResult": "hepreco.executors._worker",
    "ChunkTask": "hepreco.executors._worker",
    "run_task": "hepreco.executors._worker",
    "teardown": "hepreco.executors._worker",
    "Executor": "hepreco.executors.base",
    "ExecutorCounts": "hepreco.executors.base",
    "ExecutorReport": "hepreco.executors.base",
    "plan_chunks": "hepreco.executors.base",
    "ExecutorConfig": "hepreco.executors.config",
    "executor_config": "hepreco.executors.config",
    "make_executor": "hepreco.executors.config",
    "DaskExecutor": "hepreco.executors.dask",
    "InlineExecutor": "hepreco.executors.inline",
    "ProcessesExecutor": "hepreco.executors.processes",
}

if TYPE_CHECKING:
    from hepreco.executors._chunked import Backend, LostWorker, run_chunked
    from hepreco.executors._worker import ChunkError, ChunkResult, ChunkTask, run_task, teardown
    from hepreco.executors.base import Executor, ExecutorCounts, ExecutorReport, plan_chunks
    from hepreco.executors.config import ExecutorConfig, executor_config, make_executor
    from hepreco.executors.dask import DaskExecutor
    from hepreco.executors.inline import InlineExecutor
    from hepreco.executors.processes import ProcessesExecutor


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "Backend",
    "ChunkError",
    "ChunkResult",
    "ChunkTask",
    "DaskExecutor",
    "Executor",
    "ExecutorConfig",
    "ExecutorCounts",
    "ExecutorReport",
    "InlineExecutor",
    "LostWorker",
    "ProcessesExecutor",
    "executor_config",
    "make_executor",
    "plan_chunks",
    "run_chunked",
    "run_task",
    "teardown",
]
