"""The framework's own plugin, registered like any other: built-in sources, modules and services."""

from __future__ import annotations

from hepreco._version import __version__
from hepreco.hookspecs import hookimpl

PLUGIN_NAME = "hepreco"
__all__ = ["PLUGIN_NAME", "__version__"]  # the version: the registry need not search the installed distributions


@hookimpl
def hepreco_sources() -> list[type]:
    from hepreco.io.parquet import ParquetSource
    from hepreco.io.root_source import RootSource
    from hepreco.modules.empty_source import EmptySource

    return [EmptySource, RootSource, ParquetSource]


@hookimpl
def hepreco_modules() -> list[type]:
    from hepreco.io.parquet import ParquetOutput
    from hepreco.io.root_output import RootOutput
    from hepreco.modules.dump import DumpProducts
    from hepreco.modules.histfill import HistFill

    return [HistFill, DumpProducts, RootOutput, ParquetOutput]


@hookimpl
def hepreco_services() -> list[type]:
    from hepreco.services.device import Device
    from hepreco.services.histograms import Histograms
    from hepreco.services.memory import MemoryTracker
    from hepreco.services.progress import Progress
    from hepreco.services.random import RandomNumbers
    from hepreco.services.timing import TimeTracker

    return [TimeTracker, MemoryTracker, RandomNumbers, Histograms, Device, Progress]
