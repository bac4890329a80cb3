"""Failures: retries, the core's message for a chunk that keeps failing, skipped files, killed workers."""

from pathlib import Path

import pytest

import hepreco


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
