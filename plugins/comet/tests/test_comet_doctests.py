"""The examples in the plugin's docstrings run (the root test configuration collects doctests of the core only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["acceptance", "gbdt_features", "geometry", "images", "models", "simulation"]
#: the networks' examples need torch
TORCH_MODULES = ["nets.dncnn", "nets.turn1", "nets.turn1_unet"]


@pytest.mark.parametrize("name", MODULES + TORCH_MODULES)
def test_docstring_examples(name):
    if name in TORCH_MODULES:
        pytest.importorskip("torch")
    module = importlib.import_module(f"hepreco_comet.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
