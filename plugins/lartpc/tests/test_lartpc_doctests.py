"""The examples in the plugin's docstrings run (the root test configuration collects doctests of the core only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "geometry",
    "simulation",
    "tiles",
    "unet",
    "segmentation",
    "patches",
    "emtrkmichel",
    "emtrkmichel_modes",
    "emtrkmichel_fcn",
    "hit_patches",
    "emtrkmichel_metrics",
    "particle_imager",
    "resnet_pid",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"hepreco_lartpc.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
