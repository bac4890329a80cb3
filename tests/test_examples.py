"""The examples run as a newcomer runs them."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_minimal_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = hepreco.run(EXAMPLES / "minimal.yaml", events=3000, set={"end_paths.analysis": ["h_pt", "h_ht"]})
    assert r.events == 3000
    passed = r.path_events["selection"]
    assert 0 < passed < 3000
    h_ht = r.histograms["h_ht"]["h_ht"]
    assert h_ht.sum(flow=True) == passed  # filled only for selected events
    # HT >= the hard track's pT > 30 GeV: nothing below 30
    assert np.all(h_ht[: complex(0, 30)].values() == 0)
    assert (tmp_path / "minimal_hists.root").exists()


def test_external_plugin_package_installs_and_runs(tmp_path):
    site = tmp_path / "site"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            site,
            EXAMPLES / "external-plugin",
        ],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-m", "hepreco", "list"], capture_output=True, text=True, env=env).stdout
    assert "smear 0.1.0" in out and "smear.Smear" in out and "smear.JsonLinesOutput" in out
    assert "hepreco smear-summary" in out
    helptext = subprocess.run([sys.executable, "-m", "hepreco", "--help"], capture_output=True, text=True, env=env)
    assert "smear-summary" in helptext.stdout
    test = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            EXAMPLES / "external-plugin" / "tests",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert test.returncode == 0, test.stdout + test.stderr
