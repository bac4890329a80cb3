"""Command-line habits of art, ROOT and Unix users: -v/-q after the command, hepreco's own log messages,
separate progress/report switches, art's -s/-o/--nskip, SIGTERM like Ctrl-C, a closed stdout, completion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import uproot
import yaml

from hepreco.cli import main

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

TOY = Path(__file__).resolve().parent / "data" / "toyplugin.py"


def write_job(tmp_path: Path, *, events: int = 40, slow: float = 0.0, output: bool = True) -> Path:
    cfg = {
        "process": "habits",
        "plugins": [str(TOY)],
        "source": {"module": "EmptySource", "events": events, "batch_size": 10},
        "modules": {"nums": {"module": "Numbers"}},
        "paths": {"p": ["nums"]},
        "end_paths": {},
    }
    if slow:
        cfg["modules"]["slow"] = {"module": "Slow", "seconds": slow}
        cfg["paths"]["p"].append("slow")
    if output:
        cfg["modules"]["out"] = {"module": "RootOutput", "file": str(tmp_path / "out.root")}
        cfg["end_paths"]["e"] = ["out"]
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_verbose_after_the_command_shows_hepreco_messages_only(tmp_path):
    job = write_job(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "hepreco", "run", str(job), "-v", "--no-progress", "--no-reports"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "nums: begin_job" in res.stderr and "out: writing" in res.stderr and "1 chunk(s)" in res.stderr
    assert res.stdout == ""
    assert main(["run", str(job), "-q", "-v"]) == 0
    # third-party debug loggers stay quiet (numba, matplotlib, fsspec... log at DEBUG)
    import logging

    assert logging.getLogger("fsspec").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("hepreco").getEffectiveLevel() == logging.INFO


def test_quiet_after_the_command_and_separate_report_switch(tmp_path, capsys):
    job = write_job(tmp_path)
    assert main(["run", str(job), "-q"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert main(["run", str(job), "--no-reports"]) == 0
    out, err = capsys.readouterr()
    assert "TrigReport" not in out and "events processed" in err
    assert main(["run", str(job), "--no-progress"]) == 0
    assert "TrigReport" in capsys.readouterr().out


def test_art_shortcuts_source_output_nskip(tmp_path, root_files):
    job = write_job(tmp_path)
    other = tmp_path / "renamed.root"
    assert main(["run", str(job), "-q", "-o", str(other)]) == 0
    assert uproot.open(other)["events"].num_entries == 40 and not (tmp_path / "out.root").exists()
    # -s and --nskip on a job with no output: -o adds one of every product
    cfg = {"process": "skim", "source": {"module": "RootSource", "files": "nothing.root"}}
    (tmp_path / "read.yaml").write_text(yaml.safe_dump(cfg))
    hzz = root_files / "uproot-HZZ.root"
    target = tmp_path / "skim.root"
    rc = main(["run", str(tmp_path / "read.yaml"), "-q", "-s", str(hzz), "--nskip", "5", "-n", "7", "-o", str(target)])
    assert rc == 0
    t = uproot.open(target)["events"]
    orig = uproot.open(hzz)["events"]
    assert t.num_entries == 7
    assert t["NMuon"].array().tolist() == orig["NMuon"].array(entry_start=5, entry_stop=12).tolist()


def test_output_shortcut_refuses_when_ambiguous(tmp_path, capsys):
    job = write_job(tmp_path)
    cfg = yaml.safe_load(job.read_text())
    cfg["modules"]["out2"] = {"module": "ParquetOutput", "file": str(tmp_path / "b.parquet")}
    cfg["end_paths"]["e"].append("out2")
    job.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(job), "-q", "-o", "x.root"]) == 2
    assert "2 file outputs (out, out2)" in capsys.readouterr().err


def test_bash_completion_completes_commands_and_options(capsys):
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    probe = (
        script + '\nCOMP_WORDS=(hepreco run job.yaml --no-r); COMP_CWORD=3; _hepreco_complete; echo "${COMPREPLY[@]}"'
    )
    probe += '\nCOMP_WORDS=(hepreco val); COMP_CWORD=1; _hepreco_complete; echo "${COMPREPLY[@]}"'
    res = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    first, second = res.stdout.strip().splitlines()
    assert first.split() == ["--no-reports"]
    assert second.split() == ["validate"]
