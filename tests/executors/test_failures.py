"""Failures: retries, the core's message for a chunk that keeps failing, skipped files, killed workers."""

from pathlib import Path

import pytest

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


def with_flaky(cfg: dict, marker: Path, mode: str, at: int = 14) -> dict:
    cfg["modules"]["flaky"] = {"module": "Flaky", "at": at, "marker": str(marker), "mode": mode}
    cfg["paths"]["p1"].insert(1, "flaky")
    return cfg


def same_output(r, ref) -> None:
    assert r.events == ref.events
    assert r.histograms["h"]["h"] == ref.histograms["h"]["h"]
    assert r.summaries["mean"] == ref.summaries["mean"]
    assert Path(r.outputs[0]).read_bytes() == Path(ref.outputs[0]).read_bytes()


@pytest.fixture
def reference(make_job, tmp_path):
    """The clean run of the job with Flaky in it (its marker there from the start: it never fails)."""
    done = tmp_path / "done"
    done.touch()
    return hepreco.run(with_flaky(make_job("ref"), done, "once"))


def test_failed_chunk_is_retried(make_job, reference, tmp_path):
    cfg = with_flaky(make_job("run"), tmp_path / "marker", "once")
    r = hepreco.run(cfg, executor={"kind": "processes", "workers": 2})
    same_output(r, reference)
    row = r.executor["rows"]["processes (2 workers)"]
    assert (row["chunks"], row["retried"], row["failed"]) == (3, 1, 0)


def test_chunk_failing_after_retries_stops_the_job(make_job, tmp_path):
    cfg = make_job("run")
    cfg["modules"]["boom"] = {"module": "Boom", "at": 17}
    cfg["paths"]["p1"].insert(1, "boom")
    with pytest.raises(hepreco.ModuleError) as info:
        hepreco.run(cfg, executor={"kind": "processes", "workers": 2, "retries": 1})
    err = info.value
    assert err.label == "boom" and err.method == "produce"
    text = str(err)
    assert "module 'boom' (toy.Boom) failed in produce() on run 1 subrun 1 events 15..18 (4 events): " in text
    assert "ZeroDivisionError: boom" in text and "chunk 1 (fake1.dat entries 0..10), 2 attempts" in text
    assert "ZeroDivisionError: boom" in str(err.__cause__)  # the worker's traceback
    assert not (tmp_path / "run").exists() or not list((tmp_path / "run").iterdir())


def test_skip_bad_files_skips_and_reports(make_job):
    cfg = make_job("run", bad=[1], skip_bad_files=True)
    r = hepreco.run(cfg, executor={"kind": "processes", "workers": 2, "retries": 0})
    assert r.events == 20
    (skipped,) = r.executor["skipped_chunks"]
    assert (skipped["chunk"], skipped["file"]) == (1, "fake1.dat")
    assert "OSError: fake1.dat: not a valid file" in skipped["error"]
    assert r.executor["rows"]["processes (2 workers)"]["skipped"] == 1
    events = [int(line.split()[0]) for line in Path(r.outputs[0]).read_text().splitlines()]
    assert events == [e for e in range(1, 31) if e % 2 == 0 and not 11 <= e <= 20]


def test_bad_file_without_skip_stops_the_job(make_job):
    with pytest.raises(hepreco.ModuleError, match=r"module 'source' \(toy.FakeFiles\) failed in read\(\).*fake1.dat"):
        hepreco.run(make_job("run", bad=[1]), executor={"kind": "processes", "workers": 2, "retries": 0})


def test_killed_worker_process_loses_nothing(make_job, reference, tmp_path):
    cfg = with_flaky(make_job("run"), tmp_path / "killed", "kill")
    r = hepreco.run(cfg, executor={"kind": "processes", "workers": 2})
    assert (tmp_path / "killed").exists()  # a worker did die
    assert r.executor["lost_workers"] == 1
    same_output(r, reference)


def test_killed_dask_worker_loses_nothing(make_job, reference, tmp_path):
    """On a LocalCluster the job starts itself: Dask replaces the dead worker and runs its chunk elsewhere."""
    cfg = with_flaky(make_job("run"), tmp_path / "killed", "kill")
    r = hepreco.run(cfg, executor={"kind": "dask", "workers": 2, "dashboard": None, "chunk_size": 5})
    assert (tmp_path / "killed").exists()
    same_output(r, reference)


def generated(folder: Path, toy_plugin: str, **source) -> dict:
    """30 generated events, a module that raises on event 17, a TTree of every event."""
    return {
        "process": "gen",
        "seed": 3,
        "plugins": [toy_plugin],
        "source": {"module": "EmptySource", "events": 30, "batch_size": 4, **source},
        "modules": {
            "nums": {"module": "toy.Numbers"},
            "boom": {"module": "Boom", "at": 17},
            "out": {"module": "RootOutput", "file": str(folder / "gen.root")},
        },
        "paths": {"p": ["nums", "boom"]},
        "end_paths": {"e": ["out"]},
    }


def test_skip_bad_files_on_generated_events_skips_the_failed_chunk(toy_plugin, tmp_path, write_config):
    """For a source of generated events, --skip-bad-files skips a chunk that still fails after its retries
    and reports it, on every executor (inline then runs chunk by chunk); the job's output lacks only it."""
    import json

    import uproot

    from hepreco.cli import main
    from hepreco.io.provenance import read_provenance

    path = write_config(generated(tmp_path / "inline", toy_plugin))
    assert (
        main(["run", str(path), "-q", "--skip-bad-files", "--chunk-size", "5", "--report", str(tmp_path / "r.json")])
        == 0
    )
    rep = json.loads((tmp_path / "r.json").read_text())["executor"]
    assert rep["rows"]["inline"] == {"chunks": 5, "events": 25, "retried": 1, "failed": 0, "skipped": 1}
    (skipped,) = rep["skipped_chunks"]
    assert (skipped["chunk"], skipped["file"], skipped["start"], skipped["stop"]) == (3, None, 15, 20)
    assert "module 'boom' (toy.Boom) failed in produce() on run 1 subrun 0 events 16..19" in skipped["error"]
    assert "ZeroDivisionError: boom [chunk 3 (entries 15..20), 2 attempts]" in skipped["error"]

    cfg = generated(tmp_path / "proc", toy_plugin, skip_bad_files=True)
    r = hepreco.run(cfg, executor={"kind": "processes", "workers": 2, "chunk_size": 5, "retries": 0}, quiet=True)
    assert r.events == 25 and r.executor["rows"]["processes (2 workers)"]["skipped"] == 1
    assert [s["chunk"] for s in r.executor["skipped_chunks"]] == [3]
    files = [tmp_path / name / "gen.root" for name in ("inline", "proc")]
    events = [uproot.open(f)["events"]["event"].array(library="np").tolist() for f in files]
    assert events[0] == events[1] == [e for e in range(1, 31) if not 16 <= e <= 20]
    (prov_skipped,) = read_provenance(files[1])[-1]["skipped_files"]
    assert prov_skipped["file"] == "chunk 3 (events 15..20)" and "ZeroDivisionError: boom" in prov_skipped["error"]


def test_skip_bad_files_with_every_chunk_failing_fails(toy_plugin, tmp_path):
    cfg = generated(tmp_path, toy_plugin, skip_bad_files=True)
    with pytest.raises(hepreco.ModuleError, match=r"\[chunk 0 \(entries 0\.\.30\), 2 attempts; every chunk failed\]"):
        hepreco.run(cfg, quiet=True)
    assert not (tmp_path / "gen.root").exists()


def test_skip_bad_files_on_input_files_skips_only_unreadable_ones(make_job):
    """For a source of files the flag covers files that cannot be read, not a module that fails."""
    r = hepreco.run(make_job("run", bad=[1], skip_bad_files=True), quiet=True)  # inline: chunk by chunk
    assert r.events == 20 and [s["file"] for s in r.executor["skipped_chunks"]] == ["fake1.dat"]
    cfg = make_job("run", skip_bad_files=True)
    cfg["modules"]["boom"] = {"module": "Boom", "at": 17}
    cfg["paths"]["p1"].insert(1, "boom")
    with pytest.raises(hepreco.ModuleError, match=r"module 'boom' \(toy.Boom\) failed in produce\(\)"):
        hepreco.run(cfg, quiet=True)
