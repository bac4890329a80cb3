"""Lighter installs: pyarrow, psutil and the plotting stack are extras; a job that needs a missing one stops
with an error naming the extra, and everything else runs without them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

# an import hook that makes the named top-level packages look uninstalled
BLOCK = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""


def run_without(blocked: set[str], code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = BLOCK.format(blocked=sorted(blocked)) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_core_requirements_leave_out_the_optional_stacks():
    core = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = " ".join(core["dependencies"])
    for optional in ("pyarrow", "psutil", "matplotlib", "mplhep", "torch"):
        assert optional not in deps, optional
    assert any("pyarrow" in d for d in core["optional-dependencies"]["parquet"])
    assert any("psutil" in d for d in core["optional-dependencies"]["memory"])
    comet = tomllib.loads((REPO / "plugins" / "comet" / "pyproject.toml").read_text())["project"]
    deps = " ".join(comet["dependencies"])
    for optional in ("matplotlib", "mplhep", "scipy", "torch"):
        assert optional not in deps, optional
    assert comet["optional-dependencies"]["plot"] == ["hepreco[plot]"]


def test_a_root_job_runs_without_pyarrow_psutil_or_matplotlib_and_parquet_names_its_extra(tmp_path, root_files):
    hzz = root_files / "uproot-HZZ.root"
    code = f"""
    import sys
    import hepreco
    job = {{"process": "light", "source": {{"module": "RootSource", "files": {str(hzz)!r}}},
           "services": {{"MemoryTracker": {{}}}},
           "modules": {{"out": {{"module": "RootOutput", "file": "out.root"}}}}, "end_paths": {{"e": ["out"]}}}}
    assert hepreco.run(job).events == 2421
    for name in ("pyarrow", "psutil", "matplotlib", "mplhep"):
        assert name not in sys.modules, name
    job["modules"]["out"] = {{"module": "ParquetOutput", "file": "out.parquet"}}
    try:
        hepreco.run(job)
    except Exception as err:
        print("ERROR", err)
    """
    res = run_without({"pyarrow", "psutil", "matplotlib", "mplhep", "scipy"}, code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "hepreco[parquet]" in res.stdout, res.stdout
    assert not (tmp_path / "out.parquet").exists()


def test_plots_without_the_plot_extra_name_it(tmp_path):
    code = """
    import hepreco.plotting as hp
    try:
        hp.require_plotting()
    except ImportError as err:
        print("ERROR", err)
    """
    res = run_without({"matplotlib", "mplhep"}, code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ERROR" in res.stdout and "hepreco[plot]" in res.stdout


def test_the_command_line_and_the_package_start_without_the_heavy_stacks(tmp_path):
    """``import hepreco`` and ``hepreco --help`` load neither awkward, uproot, torch, numba nor matplotlib; the
    public names load on first use."""
    code = """
    import sys
    import hepreco
    from hepreco.cli import main
    try:
        main(["--help"])
    except SystemExit:
        pass
    heavy = ("awkward", "uproot", "torch", "numba", "matplotlib")
    print("LOADED", sorted(m for m in heavy if m in sys.modules))
    assert hepreco.Producer.__name__ == "Producer" and "awkward" in sys.modules
    """
    res = run_without(set(), code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "LOADED []" in res.stdout, res.stdout
