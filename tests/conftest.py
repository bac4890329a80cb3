"""Shared fixtures: the toy plugin, a job-config writer, and the path of the real ROOT files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TOY_PLUGIN = TESTS / "data" / "toyplugin.py"
ROOT_FILES = (REPO / ".." / "shared" / "data" / "root-files").resolve()


@pytest.fixture
def toy_plugin() -> str:
    return str(TOY_PLUGIN)


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a mapping (or YAML text) to a config file in tmp_path; returns its path."""

    def write(data: dict | str, name: str = "job.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def collected():
    """What the toy plugin's Collect analyzers saw, reset per test."""
    import hepreco.plugins as plugins

    plugins.get_registry().load_spec(str(TOY_PLUGIN))
    mod = sys.modules["hepreco_userplugin_toyplugin"]
    mod.COLLECTED.clear()
    return mod.COLLECTED


@pytest.fixture
def root_files() -> Path:
    if not ROOT_FILES.is_dir():
        pytest.skip(f"the real ROOT files are not here ({ROOT_FILES}); they ship with the project's shared/ folder")
    return ROOT_FILES
