"""The framework's own plugin, registered like any other: built-in sources, modules and services."""

from __future__ import annotations

from hepreco._version import __version__
from hepreco.hookspecs import hookimpl

PLUGIN_NAME = "hepreco"
__all__ = ["PLUGIN_NAME", "__version__"]  # the version: the registry need not search the installed distributions


@hookimpl
def hepreco_sources() -> list[str]:
    return [
        "hepreco.modules.empty_source:EmptySource",
        "hepreco.io.root_source:RootSource",
        "hepreco.io.parquet:ParquetSource",
    ]


@hookimpl
def hepreco_modules() -> list[str]:
    return [
        "hepreco.modules.histfill:HistFill",
        "hepreco.modules.dump:DumpProducts",
        "hepreco.io.root_output:RootOutput",
        "hepreco.io.parquet:ParquetOutput",
    ]


@hookimpl
def hepreco_services() -> list[str]:
    return [
        "hepreco.services.timing:TimeTracker",
        "hepreco.services.memory:MemoryTracker",
        "hepreco.services.random:RandomNumbers",
        "hepreco.services.histograms:Histograms",
        "hepreco.services.device:Device",
        "hepreco.services.progress:Progress",
    ]
