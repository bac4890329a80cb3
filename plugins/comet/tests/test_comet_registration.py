"""Registering the plugin imports nothing heavy, and every type and model it names by string resolves (issue 12:
the modules one per file under ``hepreco_comet/modules/``, the networks under ``hepreco_comet/nets/``)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

HEAVY = ("numba", "torch", "matplotlib", "mplhep", "scipy", "lightgbm")


def test_registration_imports_nothing_heavy():
    code = (
        "import sys, hepreco_comet, hepreco_comet.plugin as p, hepreco_comet.models;"
        "p.hepreco_models(); p.hepreco_modules(); p.hepreco_sources(); p.hepreco_services();"
        "from hepreco.plugins import Registry; Registry.default();"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _resolve(spec: str) -> object:
    modpath, _, name = spec.partition(":")
    return getattr(importlib.import_module(modpath), name)


def test_every_registered_name_resolves():
    from hepreco_comet import plugin

    specs = plugin.hepreco_modules() + plugin.hepreco_sources() + plugin.hepreco_services()
    for spec in specs:
        cls = _resolve(spec)
        assert cls.__name__ == spec.rpartition(":")[2], spec
        assert cls.__module__ == spec.partition(":")[0], spec  # defined in the file it is registered from


def test_every_model_builds_from_its_string():
    pytest.importorskip("torch")
    from hepreco_comet import plugin

    for name, where in plugin.hepreco_models().items():
        model = _resolve(where)  # registered by name: the spec is imported when the model is used
        assert model.name == name, where
        for spec in (model.build, model.loss):
            if isinstance(spec, str):
                assert callable(_resolve(spec)), spec


def test_the_former_service_name_is_a_deprecated_subclass():
    from hepreco.plugins import Registry

    reg = Registry.default()
    new = reg.resolve_service("comet.CDCGeometryService")
    old = reg.resolve_service("comet.CDCGeometry")
    assert issubclass(old, new) and old is not new
    assert "Deprecated" in (old.__doc__ or "")
