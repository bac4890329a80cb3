"""The executor: key and the command-line flags: validated like the rest of the config, with suggestions."""

import re

import pytest
import yaml

import hepreco
import hepreco.executors
from hepreco.cli import main

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


@pytest.fixture
def job_file(make_job, tmp_path):
    def write(**executor):
        cfg = make_job("out")
        if executor:
            cfg["executor"] = executor
        path = tmp_path / "job.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    return write


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        ({"kind": "proceses"}, "key 'executor.kind': unknown executor 'proceses' (did you mean 'processes'?)"),
        ({"wokers": 2}, "key 'executor.wokers': unknown parameter 'wokers' (did you mean 'workers'?)"),
        ({"workers": 0}, "key 'executor.workers': Input should be greater than 0"),
        ({"kind": "processes", "scheduler": "tcp://h:1"}, "'scheduler' is for the dask executor"),
    ],
)
def test_executor_key_errors(job_file, capsys, executor, message):
    assert main(["validate", str(job_file(**executor))]) == 2
    err = capsys.readouterr().err
    assert message in err and "job.yaml:" in err


def test_flag_errors_name_the_flag(job_file, capsys):
    assert main(["run", str(job_file()), "--workers", "0"]) == 2
    assert "--workers, key 'executor.workers': Input should be greater than 0" in capsys.readouterr().err
    assert main(["run", str(job_file()), "--executor", "dsak"]) == 2
    assert "--executor, key 'executor.kind': unknown executor 'dsak' (did you mean 'dask'?)" in capsys.readouterr().err


def test_flags_override_the_config_key(job_file, capsys, tmp_path):
    path = job_file(kind="inline", chunk_size=3)
    assert main(["run", str(path), "--executor", "processes", "--workers", "2", "--retries", "0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ExecReport +12 +30 +0 +0 +0  processes \(2 workers\)", out), out
    assert (tmp_path / "out" / "events.txt").exists()


def test_string_form_and_python_api(make_job):
    cfg = make_job("out")
    cfg["executor"] = "processes"
    plan = hepreco.prepare(cfg, executor={"workers": 2})
    ex = hepreco.executors.executor_config(plan)
    assert (ex.kind, ex.workers, ex.retries) == ("processes", 2, 1)


def test_a_busy_dashboard_port_does_not_stop_a_job():
    """Two Dask jobs at once: the second's default dashboard port is taken, so it takes a free one."""
    import socket

    from hepreco.executors.dask import free_dashboard

    with socket.socket() as busy:
        busy.bind(("", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert free_dashboard(f":{port}") == ":0"
        assert free_dashboard(f"127.0.0.1:{port}") == "127.0.0.1:0"
    assert free_dashboard(None) is None and free_dashboard(":0") == ":0"


def test_executor_fields_given_as_none_are_set(make_job):
    """hepreco.run(executor={"dashboard": None}) means no dashboard (it was ignored, leaving :8787)."""
    plan = hepreco.prepare(make_job("out"), executor={"kind": "dask", "dashboard": None})
    assert hepreco.executors.executor_config(plan).dashboard is None


def test_processes_start_their_forkserver_before_the_heavy_imports():
    # the forkserver imports hepreco and the array libraries on another core while the client does: prepare()
    # starts it before it imports the job's modules (awkward, pydantic, the core's module classes)
    import json
    import subprocess
    import sys

    code = """
import sys
import hepreco.executors._forkserver as fs
seen = []
fs.start_forkserver = lambda workers=None, **kw: seen.append((workers, sorted(m for m in ("awkward", "pydantic", "hepreco.core.module") if m in sys.modules))) or False
import hepreco
hepreco.prepare({"source": {"module": "EmptySource", "events": 3}, "executor": {"kind": "processes", "workers": 2}}, quiet=True)
hepreco.prepare({"source": {"module": "EmptySource", "events": 3}}, quiet=True, executor="processes")
hepreco.prepare({"source": {"module": "EmptySource", "events": 3}, "executor": {"kind": "processes", "start_method": "spawn"}}, quiet=True)
import json
print(json.dumps(seen))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert seen[0] == [2, []]  # nothing heavy imported yet when the first job starts its forkserver
    assert [workers for workers, _ in seen] == [2, None]  # processes from the argument too; not for spawn
