"""Imported once by the forkserver of the process pools: workers fork with hepreco imported and the
plugin registry (built-ins and installed plugins) already built."""

from __future__ import annotations

from hepreco.executors import _worker  # noqa: F401
from hepreco.plugins import get_registry

get_registry()
