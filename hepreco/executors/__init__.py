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
"""

from __future__ import annotations

from hepreco.executors.base import Executor, ExecutorCounts, ExecutorReport, plan_chunks
from hepreco.executors.config import ExecutorConfig, executor_config, make_executor
from hepreco.executors.dask import DaskExecutor
from hepreco.executors.inline import InlineExecutor
from hepreco.executors.processes import ProcessesExecutor

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorConfig",
    "ExecutorCounts",
    "ExecutorReport",
    "InlineExecutor",
    "ProcessesExecutor",
    "executor_config",
    "make_executor",
    "plan_chunks",
]
