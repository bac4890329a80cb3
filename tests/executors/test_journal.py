"""Resume: a journal records finished chunks; the same job run again redoes only the others."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


def with_flaky(cfg: dict, marker: Path, mode: str = "until", at: int = 14) -> dict:
    cfg["modules"]["flaky"] = {"module": "Flaky", "at": at, "marker": str(marker), "mode": mode}
    cfg["paths"]["p1"].insert(1, "flaky")
    return cfg


@pytest.fixture
def job(make_job, tmp_path):
    """The job with a module that fails in chunk 1 until ``tmp_path/marker`` exists, and its clean result."""
    marker = tmp_path / "marker"
    cfg = with_flaky(make_job("out"), marker)
    done = tmp_path / "done"
    done.touch()
    ref = hepreco.run(with_flaky(make_job("ref"), done))
    return cfg, marker, ref


def test_resume_redoes_only_unfinished_chunks(job, tmp_path):
    cfg, marker, ref = job
    journal = tmp_path / "journal"
    with pytest.raises(hepreco.ModuleError, match="failing until the marker exists"):
        hepreco.run(cfg, executor={"kind": "inline", "journal": str(journal), "retries": 0})
    assert not (tmp_path / "out" / "events.txt").exists()
    assert (journal / "chunks" / "00000" / "result.json").exists()  # chunk 0 finished before the failure
    marker.touch()
    r = hepreco.run(cfg, executor={"kind": "processes", "workers": 2, "journal": str(journal)})
    assert r.executor["resumed"] == 1
    assert r.executor["rows"]["processes (2 workers)"]["chunks"] == 2
    assert r.executor["rows"]["inline (journal)"]["chunks"] == 1
    assert r.events == ref.events and r.histograms == ref.histograms and r.summaries["mean"] == ref.summaries["mean"]
    assert (tmp_path / "out" / "events.txt").read_bytes() == Path(ref.outputs[0]).read_bytes()
    # nothing pickled: JSON and the outputs' own files
    suffixes = {p.suffix for p in journal.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".txt"}
    # a finished journal: run again, nothing runs, the same output
    r2 = hepreco.run(cfg, executor={"kind": "processes", "workers": 2, "journal": str(journal)})
    assert r2.executor["resumed"] == 3 and "processes (2 workers)" not in r2.executor["rows"]
    assert (tmp_path / "out" / "events.txt").read_bytes() == Path(ref.outputs[0]).read_bytes()


def test_changed_config_is_refused(job, tmp_path):
    cfg, marker, _ref = job
    marker.touch()
    journal = str(tmp_path / "journal")
    hepreco.run(cfg, executor={"kind": "inline", "journal": journal})
    cfg["modules"]["even"]["divisor"] = 3
    with pytest.raises(
        hepreco.ConfigError, match=r"different job config.*modules\.even\.divisor: 2 in the journal, 3 now"
    ):
        hepreco.run(cfg, executor={"kind": "processes", "journal": journal})
    cfg["modules"]["even"]["divisor"] = 2
    with pytest.raises(hepreco.ConfigError, match="another --chunk-size"):
        hepreco.run(cfg, executor={"kind": "processes", "journal": journal, "chunk_size": 5})


def test_interrupted_command_resumes(job, tmp_path, toy_plugin):
    """Ctrl-C in the middle of a job on processes; the same command again finishes it."""
    cfg, marker, ref = job
    marker.touch()
    cfg["modules"]["slow"] = {"module": "Slow", "seconds": 0.15}
    cfg["paths"]["p1"].insert(0, "slow")
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg))
    journal = tmp_path / "journal"
    cmd = [sys.executable, "-m", "hepreco", "run", str(path), "-q", "--executor", "processes", "--workers", "2",
           "--chunk-size", "5", "--journal", str(journal)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list(journal.glob("chunks/*/result.json")) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    finished = len(list(journal.glob("chunks/*/result.json")))
    assert 1 <= finished < 6
    assert not (tmp_path / "out" / "events.txt").exists()
    again = subprocess.run([*cmd, "--report", "r.json"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["executor"]["resumed"] == finished
    assert rep["executor"]["rows"]["processes (2 workers)"]["chunks"] == 6 - finished
    assert (tmp_path / "out" / "events.txt").read_bytes() == Path(ref.outputs[0]).read_bytes()
