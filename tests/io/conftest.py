"""Fixtures of the I/O tests: the I/O test plugin, a job runner that collects what an analyzer saw."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import hepreco

IO_PLUGIN = Path(__file__).resolve().with_name("ioplugin.py")


@pytest.fixture
def io_plugin() -> Any:
    """The I/O test plugin module (its GRABBED and GIVEN tables emptied)."""
    import hepreco.plugins as plugins

    plugins.get_registry().load_spec(str(IO_PLUGIN))
    mod = sys.modules["hepreco_userplugin_ioplugin"]
    mod.GRABBED.clear()
    mod.GIVEN.clear()
    return mod


@pytest.fixture
def read_back(io_plugin: Any):
    """``read_back(source_config) -> {product: array, "_event": ...}``: run a job with that source and
    one Grab analyzer, and return what it saw."""

    def run(source: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        cfg = {
            "plugins": [str(IO_PLUGIN)],
            "source": source,
            "modules": {"grab": {"module": "Grab"}},
            "end_paths": {"e": ["grab"]},
        }
        hepreco.run(cfg, **kwargs)
        return io_plugin.grabbed("grab")

    return run
