"""hepreco: an art-like event-processing framework on columnar batches of events.

The public API is what this module exports (``__all__``); everything else is internal.

- Events, InputTag, EventIDs: a batch of events, product names, event ids (``hepreco.core``).
- Source, GeneratorSource, Producer, Filter, Analyzer, Output, ModuleConfig: module base classes.
- Service, Services: job-wide helpers (``hepreco.services`` holds the built-in ones).
- Graph, efficiency_graph, binomial_interval, suggest_bins: results a module puts in the histogram file's ``results/``
  (``Module.put_result``), written as ROOT TGraph / TGraphAsymmErrors.
- thread_budget: the threads one process of the job may use (cores // workers in a pool's workers), for a
  module or source that parallelises inside its process.
- hookimpl: marks plugin hook implementations (the specs live in ``hepreco.hookspecs``).
- run: run a job from Python; JobResult is what it returns. prepare (check a config into a plan) and execute
  (run a plan) are its two halves.
- hepreco.executors: how a job runs (inline, local processes, Dask), chunk by chunk, with retries and resume.
- ConfigError, ModuleError, PluginError, ProductNotFound: the errors, with context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepreco._version import __version__
from hepreco.errors import ConfigError, ModuleError, PluginError, ProductNotFound
from hepreco.hookspecs import hookimpl
from hepreco.lazy import lazy_attributes

# The rest loads on first use (PEP 562), so that ``hepreco --help`` and a plugin's registration do not wait for
# awkward, numpy and pydantic: ``hepreco.Producer`` and ``from hepreco import Producer`` work as before.
_LAZY = {
    "EventIDs": "hepreco.core.events",
    "Events": "hepreco.core.events",
    "InputTag": "hepreco.core.inputtag",
    "JobContext": "hepreco.core.job",
    "JobResult": "hepreco.core.job",
    "Analyzer": "hepreco.core.module",
    "Chunk": "hepreco.core.module",
    "Filter": "hepreco.core.module",
    "GeneratorSource": "hepreco.core.module",
    "Module": "hepreco.core.module",
    "ModuleConfig": "hepreco.core.module",
    "Output": "hepreco.core.module",
    "Producer": "hepreco.core.module",
    "Source": "hepreco.core.module",
    "SourceBatch": "hepreco.core.module",
    "execute": "hepreco._api",
    "prepare": "hepreco._api",
    "run": "hepreco._api",
    "Service": "hepreco.core.service",
    "Services": "hepreco.core.service",
    "Graph": "hepreco.services.results",
    "binomial_interval": "hepreco.services.results",
    "efficiency_graph": "hepreco.services.results",
    "suggest_bins": "hepreco.services.results",
    "thread_budget": "hepreco.core.threads",
}

if TYPE_CHECKING:
    from hepreco._api import execute, prepare, run
    from hepreco.core.events import EventIDs, Events
    from hepreco.core.inputtag import InputTag
    from hepreco.core.job import JobContext, JobResult
    from hepreco.core.module import (
        Analyzer,
        Chunk,
        Filter,
        GeneratorSource,
        Module,
        ModuleConfig,
        Output,
        Producer,
        Source,
        SourceBatch,
    )
    from hepreco.core.service import Service, Services
    from hepreco.core.threads import thread_budget
    from hepreco.services.results import Graph, binomial_interval, efficiency_graph, suggest_bins


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "Analyzer",
    "Chunk",
    "ConfigError",
    "EventIDs",
    "Events",
    "Filter",
    "GeneratorSource",
    "Graph",
    "InputTag",
    "JobContext",
    "JobResult",
    "Module",
    "ModuleConfig",
    "ModuleError",
    "Output",
    "PluginError",
    "Producer",
    "ProductNotFound",
    "Service",
    "Services",
    "Source",
    "SourceBatch",
    "__version__",
    "binomial_interval",
    "efficiency_graph",
    "execute",
    "hookimpl",
    "prepare",
    "run",
    "suggest_bins",
    "thread_budget",
]
