"""Same job, same seed: the same outputs, histograms, reports and summaries on every executor and chunk size."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


def trig(result) -> dict:
    d = result.trig_report.to_dict()
    d.pop("batches")  # depends on the chunking
    return d


def check_same(r, ref) -> None:
    assert r.events == ref.events
    assert trig(r) == trig(ref)
    assert r.histograms["h"]["h"] == ref.histograms["h"]["h"]
    assert r.histograms["hx"]["hx"] == ref.histograms["hx"]["hx"]
    n, total = r.histograms["mean"]["sums"].view()
    n_ref, total_ref = ref.histograms["mean"]["sums"].view()
    assert n == n_ref and total == pytest.approx(total_ref, rel=1e-12)  # float sums: order of additions
    assert r.summaries["mean"] == ref.summaries["mean"]
    assert Path(r.outputs[0]).read_bytes() == Path(ref.outputs[0]).read_bytes()


@pytest.fixture
def reference(make_job):
    r = hepreco.run(make_job("ref"))
    assert r.events == 30 and r.path_events == {"p1": 15}
    assert r.summaries["mean"]["entries"] > 0
    return r


@pytest.mark.parametrize(
    ("kind", "chunk_size"),
    [("inline", 1), ("processes", None), ("processes", 7), ("dask", None), ("dask", 4)],
)
def test_same_results(make_job, reference, request, kind, chunk_size):
    ex = {"kind": kind, "chunk_size": chunk_size, "workers": 2}
    if kind == "dask":
        ex["scheduler"] = request.getfixturevalue("dask_scheduler")
        del ex["workers"]
    r = hepreco.run(make_job("run"), executor=ex)
    check_same(r, reference)
    ref = reference
    assert r.executor["chunks"] == (3 if chunk_size is None else -(-10 // chunk_size) * 3)
    assert r.summaries.keys() == ref.summaries.keys()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk_size=st.integers(1, 35), events=st.integers(1, 30))
def test_any_chunk_size_and_event_limit(make_job, chunk_size, events):
    """``-n`` cuts the chunk list in event order; any chunk size gives the inline result."""
    ref = hepreco.run(make_job("ref"), events=events)
    r = hepreco.run(
        make_job("run"), events=events, executor={"kind": "processes", "workers": 2, "chunk_size": chunk_size}
    )
    check_same(r, ref)
    assert r.events == events


def test_file_set_with_index(make_job, tmp_path):
    import json

    cfg = make_job("set")
    cfg["executor"] = {"kind": "processes", "workers": 2, "merge": False}
    r = hepreco.run(cfg)
    folder = tmp_path / "set" / "events.txt.parts"
    index = json.loads((folder / "index.json").read_text())
    assert [p["file"] for p in index["parts"]] == ["part-00000.txt", "part-00001.txt", "part-00002.txt"]
    assert [(p["input"], p["start"], p["stop"]) for p in index["parts"]] == [(f"fake{i}.dat", 0, 10) for i in range(3)]
    assert index["provenance"]["executor"] == "processes"
    assert index["provenance"]["chunks"] == [[f"fake{i}.dat", 0, 10] for i in range(3)]
    text = "".join((folder / p["file"]).read_text() for p in index["parts"])
    ref = hepreco.run(make_job("ref"))
    assert text == Path(ref.outputs[0]).read_text()
    assert folder in r.outputs


def test_provenance_records_executor_and_chunks(make_job):
    r = hepreco.run(make_job("prov"), executor={"kind": "processes", "workers": 2, "chunk_size": 6})
    assert r.executor["executor"] == "processes (2 workers)"
    rows = r.executor["rows"]["processes (2 workers)"]
    assert (rows["chunks"], rows["events"], rows["retried"], rows["failed"], rows["skipped"]) == (6, 30, 0, 0, 0)
    assert 0 <= r.executor["client_share"] < 1


@pytest.mark.parametrize("kind", ["processes", "dask"])
def test_end_job_once_per_worker(make_job, request, kind):
    """Figures a module records in end_job come from each worker's end_job: integers summed, equal values kept."""
    cfg = make_job("count")
    cfg["modules"]["count"] = {"module": "CountEvents"}
    cfg["end_paths"]["e"].append("count")
    ex = {"kind": kind, "chunk_size": 5}
    if kind == "dask":
        ex["scheduler"] = request.getfixturevalue("dask_scheduler")
    else:
        ex["workers"] = 2
    r = hepreco.run(cfg, executor=ex)
    figs = r.summaries["count"]
    assert figs["events"] == 30 and figs["where"] == "end_job"
    assert figs["processes"] in (1, 2)  # one per worker that ran chunks


def test_workers_share_the_cores(make_job, monkeypatch):
    """Each worker of a pool gets cores // workers threads (HEPRECO_THREADS, read by hepreco.thread_budget and
    RootSource's read threads); inline, the one process has every core."""
    from hepreco.core.threads import cpu_cores

    monkeypatch.delenv("HEPRECO_THREADS", raising=False)
    cfg = make_job("budget")
    cfg["modules"]["budget"] = {"module": "Budget"}
    cfg["modules"]["hb"] = {"module": "HistFill", "axes": [{"fill": "budget", "bins": 64, "start": 0.5, "stop": 64.5}]}
    cfg["end_paths"]["e"].append("hb")
    cfg["paths"]["p1"].insert(0, "budget")
    for ex, want in (
        ("inline", cpu_cores()),
        ({"kind": "processes", "workers": 2, "chunk_size": 5}, max(1, cpu_cores() // 2)),
    ):
        h = hepreco.run(cfg, executor=ex).histograms["hb"]["hb"]
        assert h.sum() == 30
        assert h.values()[min(want, 64) - 1] == 30  # every event saw the same budget
