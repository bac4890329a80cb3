"""Imported once by the forkserver of the process pools: workers fork with hepreco, its job builder and the
array libraries every job reads with (awkward, uproot, hist) imported, and the plugin registry (built-ins and
installed plugins) built, instead of importing them anew in each worker. The forkserver does this while the
client builds the job's plan, on another core where there is one."""

from __future__ import annotations

import awkward  # noqa: F401
import hist  # noqa: F401
import uproot  # noqa: F401

import hepreco.core.build
import hepreco.io  # noqa: F401
from hepreco.executors import _worker  # noqa: F401
from hepreco.plugins import get_registry

get_registry()
