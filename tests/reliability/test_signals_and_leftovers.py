"""Signals and leftovers: a killed client of --executor processes leaves no process behind, Ctrl-C ends it
without tracebacks from helper processes, the next run cleans what a killed one left, a truncated journal
part is run again, and --skip-bad-files treats a file that breaks half-way alike on every executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import uproot
import yaml

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

TOY = Path(__file__).resolve().parents[1] / "data" / "toyplugin.py"


def slow_job(tmp_path: Path, events: int = 2000, seconds: float = 0.3) -> Path:
    cfg = {
        "process": "sig",
        "plugins": [str(TOY)],
        "source": {"module": "EmptySource", "events": events, "batch_size": 5},
        "modules": {
            "nums": {"module": "Numbers"},
            "slow": {"module": "Slow", "seconds": seconds},
            "out": {"module": "RootOutput", "file": str(tmp_path / "out.root")},
        },
        "paths": {"p": ["nums", "slow"]},
        "end_paths": {"e": ["out"]},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start(tmp_path: Path, job: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "hepreco", "run", str(job), "-q", *args]
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its temporary folders where the test can see them
    return subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_workers(proc: subprocess.Popen[str], n: int, timeout: float = 90) -> list[psutil.Process]:
    """The client's descendants once ``n`` workers run chunks (forkserver, resource tracker, workers)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        kids = psutil.Process(proc.pid).children(recursive=True)
        if len(kids) >= n + 2:  # the forkserver (or none: spawn), the resource tracker, the workers
            time.sleep(1.0)
            return psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.2)
    pytest.fail("the workers did not start")


def gone(procs: list[psutil.Process], timeout: float = 20) -> list[psutil.Process]:
    _gone, alive = psutil.wait_procs(procs, timeout=timeout)
    return alive


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_client_leaves_no_worker_forkserver_or_tracker(tmp_path, sig):
    proc = start(tmp_path, slow_job(tmp_path), "--executor", "processes", "--workers", "2", "--chunk-size", "10")
    kids = wait_for_workers(proc, 2)
    os.kill(proc.pid, sig)
    proc.communicate(timeout=60)
    alive = gone(kids)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert not list(tmp_path.glob("hepreco-*")), "its temporary chunk folders"
    assert not (tmp_path / "out.root").exists()


def test_ctrl_c_on_processes_ends_without_helper_tracebacks(tmp_path):
    proc = start(tmp_path, slow_job(tmp_path), "--executor", "processes", "--workers", "2", "--chunk-size", "10")
    kids = wait_for_workers(proc, 2)
    for p in [psutil.Process(proc.pid), *kids]:  # a terminal's Ctrl-C reaches the whole process group
        try:
            p.send_signal(signal.SIGINT)
        except psutil.NoSuchProcess:
            pass
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert not gone(kids)


def test_the_next_run_removes_what_a_killed_one_left(tmp_path):
    job = slow_job(tmp_path, events=400, seconds=0.2)
    proc = start(tmp_path, job, "--executor", "processes", "--workers", "1", "--chunk-size", "10")
    kids = wait_for_workers(proc, 1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    gone(kids)
    (tmp_path / ".out.root.deadbeef.hepreco-tmp").write_text("left by a killed inline run")
    assert list(tmp_path.glob("hepreco-*"))  # the killed client's chunk folders
    cfg = yaml.safe_load(job.read_text())
    cfg["source"]["events"] = 10
    cfg["modules"]["slow"]["seconds"] = 0.0
    job.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-m", "hepreco", "run", str(job), "-q", "--executor", "processes", "--workers", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "removed" in res.stderr
    assert not list(tmp_path.glob(".*.hepreco-tmp"))
    assert not list(tmp_path.glob("hepreco-*"))
    assert uproot.open(tmp_path / "out.root")["events"].num_entries == 10


def test_a_truncated_journal_part_is_run_again(tmp_path):
    cfg = yaml.safe_load(slow_job(tmp_path, events=30, seconds=0.0).read_text())
    journal = tmp_path / "journal"
    ex = {"kind": "processes", "workers": 2, "journal": str(journal), "chunk_size": 10}
    ref = hepreco.run(cfg, executor=ex)
    want = uproot.open(tmp_path / "out.root")["events"].arrays(library="np")
    part = sorted((journal / "parts").rglob("*.root"))[1]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    (tmp_path / "out.root").unlink()
    again = hepreco.run(cfg, executor=ex)
    assert again.executor["resumed"] == 2
    got = uproot.open(tmp_path / "out.root")["events"].arrays(library="np")
    assert ref.events == again.events == 30
    np.testing.assert_array_equal(got["event"], want["event"])


def corrupt_after_first_basket(path: Path, branch: str) -> None:
    """Overwrite the compressed data of the last basket of ``branch``: the file opens, its first entries read,
    the last ones do not."""
    t = uproot.open(path)["events"]
    seek = int(t[branch].member("fBasketSeek")[t[branch].num_baskets - 1])
    data = bytearray(path.read_bytes())
    data[seek + 80 : seek + 400] = os.urandom(320)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_skip_bad_files_with_a_file_broken_half_way_is_the_same_everywhere(tmp_path, executor):
    good, bad = tmp_path / "good.root", tmp_path / "bad.root"
    for path in (good, bad):
        with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
            f.mktree("events", {"x": np.float64})
            for k in range(4):  # four baskets
                f["events"].extend({"x": np.random.default_rng(k).normal(size=500)})
    corrupt_after_first_basket(bad, "x")
    cfg = {
        "source": {"module": "RootSource", "files": [str(good), str(bad)], "batch_size": 500, "skip_bad_files": True},
        "modules": {"out": {"module": "RootOutput", "file": str(tmp_path / "out.root")}},
        "end_paths": {"e": ["out"]},
    }
    res = hepreco.run(cfg, executor={"kind": executor})
    assert res.events == 2000  # the broken file's chunk is skipped whole: no half file
    assert uproot.open(tmp_path / "out.root")["events"].num_entries == 2000
    assert res.summaries["source"]["files_read"] == 1
    skipped = res.executor["skipped_chunks"]
    assert len(skipped) == 1 and skipped[0]["file"] == str(bad) and "cannot read" in skipped[0]["error"]
    assert json.dumps(res.executor)  # the report says why


def test_sigterm_ends_like_ctrl_c_and_leaves_no_temporary_file(tmp_path):
    job = slow_job(tmp_path, events=400, seconds=0.2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hepreco", "run", str(job), "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not [p for p in tmp_path.iterdir() if ".hepreco-tmp" in p.name] and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated" in err
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["job.yaml"], left


def test_a_closed_stdout_neither_crashes_nor_skips_the_report(tmp_path):
    job = slow_job(tmp_path, events=40, seconds=0.0)
    cmd = f"{sys.executable} -m hepreco run {job} --report {tmp_path / 'r.json'} | head -1"
    res = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], cwd=tmp_path, capture_output=True, text=True)
    assert "Traceback" not in res.stderr, res.stderr
    assert json.loads((tmp_path / "r.json").read_text())["events"] == 40
    assert (tmp_path / "out.root").exists()
