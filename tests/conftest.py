"""Shared fixtures: the toy plugin, a job-config writer, and the path of the real ROOT files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

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


_PRELUDE = """
import json, sys, warnings
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ROOT
except Exception as err:
    print("cannot import ROOT:", err, file=sys.stderr)
    sys.exit(77)
ROOT.gROOT.SetBatch(True)
RESULT = {}
"""


def _run_root(body: str, timeout: float = 300) -> dict[str, Any]:
    """Run ``body`` (Python using ROOT, filling the dict RESULT) in a subprocess; return RESULT."""
    code = _PRELUDE + textwrap.dedent(body) + "\nprint('@@RESULT@@' + json.dumps(RESULT))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if proc.returncode == 77:
        pytest.skip(f"ROOT does not import here: {proc.stderr.strip()}")
    if proc.returncode != 0:
        pytest.fail(
            f"the ROOT subprocess failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("@@RESULT@@"))
    return json.loads(line.removeprefix("@@RESULT@@"))


@pytest.fixture(scope="session")
def run_root():
    """``run_root(body) -> RESULT``: run Python code that uses CERN ROOT (filling the dict ``RESULT``) in a
    subprocess (ROOT takes seconds to start, and a crash in it must not take the test session along)."""
    return _run_root
