"""The command line as a user runs it: exit codes, messages, every command."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def hep(*args, cwd=None, env=None, check=None):
    proc = subprocess.run(
        [sys.executable, "-m", "hepreco", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env
    )
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def job_file(tmp_path, toy_plugin):
    cfg = {
        "process": "cli",
        "plugins": [toy_plugin],
        "source": {"module": "EmptySource", "events": 50, "batch_size": 16},
        "services": {"Histograms": {"file": "hists.root"}},
        "modules": {
            "nums": {"module": "toy.Numbers"},
            "even": {"module": "Modulo"},
            "dbl": {"module": "Scale", "src": "nums:x"},
            "h": {"module": "HistFill", "axes": [{"fill": "dbl", "bins": 10, "start": 0, "stop": 200}]},
            "dump": {"module": "DumpProducts", "events": 2},
        },
        "paths": {"reco": ["nums", "even", "dbl"]},
        "end_paths": {"ana": ["h", "dump"]},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_version():
    assert hep("--version", check=0).stdout.strip() == f"hepreco {hepreco.__version__}"


def test_run_prints_reports_and_writes_json(job_file, tmp_path):
    p = hep("run", job_file, "-n", "20", "--seed", "2", "--report", "r.json", cwd=tmp_path, check=0)
    assert "TrigReport Events total = 20" in p.stdout
    assert "TimeReport" in p.stdout and "Outputs:" in p.stdout
    assert "nums:hits" in p.stdout  # DumpProducts
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["trig_report"]["paths"]["reco"]["passed"] == 10
    assert (tmp_path / "hists.root").exists()


def test_quiet_prints_nothing(job_file, tmp_path):
    p = hep("run", job_file, "-q", "--set", "end_paths.ana=[h]", cwd=tmp_path, check=0)
    assert p.stdout == ""


def test_config_error_exit_2_names_file_key_label(job_file, tmp_path):
    p = hep("run", job_file, "--set", "modules.dbl.factr=3", cwd=tmp_path, check=2)
    assert "key 'modules.dbl.factr', module 'dbl': unknown parameter 'factr' (did you mean 'factor'?)" in p.stderr
    assert "--set" in p.stderr
    assert not (tmp_path / "hists.root").exists()


def test_runtime_error_exit_1_names_module_and_events(job_file, tmp_path):
    p = hep(
        "run",
        job_file,
        "--set",
        "modules.boom={module: Boom, at: 40}",
        "--set",
        "paths.x=[boom]",
        cwd=tmp_path,
        check=1,
    )
    assert "module 'boom' (toy.Boom) failed in produce() on run 1 subrun 0 events 33..48 (16 events)" in p.stderr
    assert "ZeroDivisionError: boom" in p.stderr and "Traceback" in p.stderr
    assert list(tmp_path.glob("*.root")) == [] and list(tmp_path.glob(".*")) == []


def test_validate(job_file):
    assert "OK (5 modules, 1 paths, 1 end paths)" in hep("validate", job_file, check=0).stdout
    assert hep("validate", job_file, "--set", "paths.reco=[nums, dbl, even, nope]", check=2).returncode == 2


def test_config_annotate(job_file):
    out = hep("config", job_file, "--annotate", "-n", "7", check=0).stdout
    assert "events: 7  # -n/--events" in out
    assert f"process: cli  # {job_file}:1" in out
    data = json.loads(hep("config", job_file, "--json", check=0).stdout)
    assert data["source"]["events"] == 50


def test_graph(job_file):
    out = hep("graph", job_file, check=0).stdout
    assert out.startswith('digraph "cli" {')
    assert '"nums" -> "dbl" [label="nums:x"];' in out
    assert '"even" -> "dbl" [style=dashed' in out


def test_describe_and_list():
    out = hep("describe", "HistFill", check=0).stdout
    assert "hepreco.HistFill  (analyzer)" in out and "axes:" in out and "len >= 1" in out
    assert "did you mean 'HistFill'" in hep("describe", "HistFil", check=2).stderr
    assert "seed: int | None = None  [>= 0]" in hep("describe", "RandomNumbers", check=0).stdout
    out = hep("list", check=0).stdout
    assert "hepreco.EmptySource" in out and "hepreco.TimeTracker" in out


def test_no_command_is_usage_error():
    assert hep(check=2).returncode == 2


ENTRY_POINTS = """\
[hepreco]
good = goodplug
broken = brokenplug
other = otherplug
"""


def make_fake_dist(where: Path) -> None:
    """An installed distribution (a dist-info with entry points) without pip: exactly what pip leaves."""
    (where / "fakeplugs-0.3.dist-info").mkdir(parents=True)
    (where / "fakeplugs-0.3.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fakeplugs\nVersion: 0.3\n"
    )
    (where / "fakeplugs-0.3.dist-info" / "entry_points.txt").write_text(ENTRY_POINTS)
    (where / "goodplug.py").write_text(
        textwrap.dedent(
            """
            import hepreco
            class Triple(hepreco.Producer):
                produces = ("",)
                def produce(self, events):
                    events.put("", events.event * 3)
            class Scale(Triple):
                pass
            @hepreco.hookimpl
            def hepreco_modules():
                return [Triple, Scale]
            """
        )
    )
    (where / "otherplug.py").write_text(
        "import hepreco\nclass Scale(hepreco.Producer):\n    produces = ('',)\n"
        "@hepreco.hookimpl\ndef hepreco_modules():\n    return [Scale]\n"
    )
    (where / "brokenplug.py").write_text("import numpy_that_does_not_exist\n")


def test_entry_point_plugins_and_a_broken_one(tmp_path):
    site = tmp_path / "site"
    make_fake_dist(site)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = hep("list", env=env, check=0).stdout
    assert "good 0.3" in out and "good.Triple" in out
    assert "broken 0.3" in out and "FAILED TO LOAD: ModuleNotFoundError" in out
    job = tmp_path / "job.yaml"
    job.write_text(
        "source: {module: EmptySource, events: 3}\nmodules:\n  t: {module: Triple}\n"
        "  d: {module: DumpProducts}\npaths: {p: [t]}\nend_paths: {e: [d]}\n"
    )
    out = hep("run", job, env=env, check=0).stdout
    assert re.search(r"^  t +uint64 +9$", out, re.M), out
    job.write_text("source: {module: EmptySource, events: 3}\nmodules:\n  t: {module: Scale}\npaths: {p: [t]}\n")
    err = hep("validate", job, env=env, check=2).stderr
    assert "module type 'Scale' is ambiguous" in err and "good.Scale, other.Scale" in err
    job.write_text("source: {module: EmptySource, events: 3}\nmodules:\n  t: {module: broken.X}\npaths: {p: [t]}\n")
    err = hep("validate", job, env=env, check=2).stderr
    assert "plugin 'broken' failed to load: ModuleNotFoundError" in err


def test_misspelt_hook_is_reported(tmp_path, write_config):
    plugin = tmp_path / "typo.py"
    plugin.write_text("import hepreco\n@hepreco.hookimpl\ndef hepreco_modulez():\n    return []\n")
    path = write_config({"plugins": [str(plugin)], "source": {"module": "EmptySource", "events": 1}})
    err = hep("validate", path, check=2).stderr
    assert "plugin 'typo'" in err and "hepreco_modulez" in err and "hepreco_modules" in err


def test_new_plugin_skeleton_installs_and_runs(tmp_path):
    hep("new-plugin", "mydet", "--dir", tmp_path, check=0)
    root = tmp_path / "mydet"
    assert (root / "pyproject.toml").exists() and (root / "tests" / "test_mydet.py").exists()
    site = tmp_path / "site"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            site,
            root,
        ],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    assert "mydet.Scale" in hep("list", env=env, check=0).stdout
    out = hep("run", root / "job.yaml", env=env, check=0).stdout
    assert "TrigReport Events total = 100" in out
    test = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "already exists" in hep("new-plugin", "mydet", "--dir", tmp_path, check=1).stderr
