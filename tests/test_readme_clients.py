"""The README's "Using hepreco outputs with ROOT, uproot, coffea and pandas" snippets run as written, on the
files the HZZ example's two steps write."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hepreco.cli import main

#: the README's snippets run with ROOT, uproot, coffea and pandas: left out of the fast lane
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Using hepreco outputs with ROOT, uproot, coffea and pandas"


def snippets() -> list[str]:
    text = (REPO / "README.md").read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def test_the_readme_has_one_snippet_per_client():
    blocks = snippets()
    assert len(blocks) == 4
    for client in ("import ROOT", "import uproot", "coffea", "import pandas"):
        assert any(client in b for b in blocks), client


@pytest.fixture(scope="module")
def hzz_outputs(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("hzz")
    shared = str((REPO / ".." / "shared" / "data" / "root-files" / "uproot-HZZ.root").resolve())
    job = REPO / "examples" / "hzz" / "job.yaml"
    assert main(["run", str(job), "-q", "--set", f"source.files=[{shared}]", "--set", f"modules.out.file={where}/hzz_selected.root",
                 "--set", f"services.Histograms.file={where}/hzz_hists.root"]) == 0  # fmt: skip
    zpeak = REPO / "examples" / "hzz" / "zpeak.yaml"
    assert main(["run", str(zpeak), "-q", "--set", f"source.files=[{where}/hzz_selected.root]",
                 "--set", f"modules.out.file={where}/hzz_zpeak.parquet",
                 "--set", f"services.Histograms.file={where}/hzz_zpeak_hists.root"]) == 0  # fmt: skip
    return where


@pytest.mark.parametrize("index", range(4))
def test_readme_snippet_runs(hzz_outputs, index):
    code = snippets()[index]
    res = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], cwd=hzz_outputs, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip()
