"""SIGTERM ends an inline job as Ctrl-C does, and a closed stdout neither crashes a job nor skips its report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

TOY = Path(__file__).resolve().parents[1] / "data" / "toyplugin.py"


def write_job(tmp_path: Path, *, events: int = 40, slow: float = 0.0) -> Path:
    cfg = {
        "process": "sig",
        "plugins": [str(TOY)],
        "source": {"module": "EmptySource", "events": events, "batch_size": 10},
        "modules": {
            "nums": {"module": "Numbers"},
            "slow": {"module": "Slow", "seconds": slow},
            "out": {"module": "RootOutput", "file": str(tmp_path / "out.root")},
        },
        "paths": {"p": ["nums", "slow"]},
        "end_paths": {"e": ["out"]},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_sigterm_ends_like_ctrl_c_and_leaves_no_temporary_file(tmp_path):
    job = write_job(tmp_path, events=400, slow=0.2)
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
    job = write_job(tmp_path)
    cmd = f"{sys.executable} -m hepreco run {job} --report {tmp_path / 'r.json'} | head -1"
    res = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], cwd=tmp_path, capture_output=True, text=True)
    assert "Traceback" not in res.stderr, res.stderr
    assert json.loads((tmp_path / "r.json").read_text())["events"] == 40
    assert (tmp_path / "out.root").exists()
