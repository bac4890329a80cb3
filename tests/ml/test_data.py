"""Training data: a job run on the fly, ROOT and Parquet files a job wrote, batches into examples."""

import awkward as ak
import numpy as np
import pytest
import uproot

from hepreco import ConfigError
from hepreco.core.events import EventIDs
from hepreco.ml import iter_files, iter_job
from hepreco.ml.config import DataConfig
from hepreco.ml.data import DataBatch, ExampleBuilder, MissingColumn


def test_iter_job_yields_products_batch_by_batch(registry, make_job):
    toy_job = make_job
    batches = list(iter_job(toy_job(events=1000, batch_size=300), ["toy:features", "toy:label", "hits:edep"]))
    assert [len(b) for b in batches] == [300, 300, 300, 100]
    assert batches[1].ids.event[:3].tolist() == [301, 302, 303]
    b = batches[0]
    assert str(ak.type(b.products["toy:features"])) == "300 * 4 * float32"
    assert b.products["hits:edep"].ndim == 2


def test_iter_job_is_reproducible_and_respects_events_and_seed(registry, make_job):
    toy_job = make_job
    a = next(iter(iter_job(toy_job(), ["toy:features"], events=10)))
    b = next(iter(iter_job(toy_job(), ["toy:features"], events=10)))
    c = next(iter(iter_job(toy_job(), ["toy:features"], events=10, seed=8)))
    assert len(a) == 10
    assert ak.all(a.products["toy:features"] == b.products["toy:features"])
    assert not ak.all(a.products["toy:features"] == c.products["toy:features"])


def test_iter_job_runs_unscheduled_producers_and_selects_paths(registry, make_job):
    toy_job = make_job
    job = toy_job(events=20, batch_size=20)
    job["modules"]["triple"] = {"module": "Triples"}  # on no path, made because it is asked for
    (batch,) = iter_job(job, ["triple:xyz"])
    assert batch.products["triple:xyz"][1].tolist() == [2.0, 4.0, 6.0]
    job["modules"]["half"] = {"module": "ml.SplitFilter", "sample": "test", "fractions": [0.5, 0.0, 0.5]}
    job["plugins"].append("hepreco.ml.plugin")
    job["paths"]["sel"] = ["half"]
    (sel,) = iter_job(job, ["toy:label"], select=["sel"])
    assert 0 < len(sel) < 20


def test_a_product_the_job_does_not_make_is_named(registry, make_job):
    toy_job = make_job
    with pytest.raises(ConfigError) as err:
        list(iter_job(toy_job(), ["toy:feature", "toy:label"]))
    (issue,) = err.value.issues
    assert issue.key == "products.0"
    assert "product 'toy:feature'" in issue.message and "did you mean 'toy:features'" in issue.message


def test_closing_the_stream_early_ends_the_job_cleanly(registry, make_job):
    toy_job = make_job
    job = toy_job(events=1000, batch_size=100)
    it = iter_job(job, ["toy:label"])
    assert len(next(it)) == 100
    it.close()  # training stopped early: the job's end is the failed-job path, nothing left open


def _write_root(path, n=50, rntuple=False):
    rng = np.random.default_rng(1)
    data = {
        "event": np.arange(1, n + 1, dtype=np.uint64),
        "run": np.ones(n, np.uint32),
        "feat": rng.normal(size=(n, 4)).astype(np.float32),
        "label": (rng.random(n) < 0.5).astype(np.int8),
    }
    with uproot.recreate(path) as f:
        if rntuple:
            f["events"] = data
        else:
            f.mktree("events", {k: v.dtype if v.ndim == 1 else (v.dtype, v.shape[1:]) for k, v in data.items()})
            f["events"].extend(data)
    return data


@pytest.mark.parametrize("rntuple", [False, True])
def test_iter_files_root(tmp_path, rntuple):
    data = _write_root(tmp_path / "d.root", rntuple=rntuple)
    batches = list(iter_files([str(tmp_path / "d.root")], ["feat", "label"], step_size=20))
    assert [len(b) for b in batches] == [20, 20, 10] if not rntuple else sum(len(b) for b in batches) == 50
    feat = np.concatenate([ak.to_numpy(b.products["feat"]) for b in batches])
    np.testing.assert_array_equal(feat, data["feat"])
    assert np.concatenate([b.ids.event for b in batches]).tolist() == list(range(1, 51))


def test_iter_files_parquet_and_missing_columns(tmp_path):
    arr = ak.Array({"x": np.arange(10.0), "y": np.arange(10) % 2})
    ak.to_parquet(arr, tmp_path / "d.parquet")
    (b,) = iter_files([str(tmp_path / "d.parquet")], ["x", "y"])
    assert b.products["x"].tolist() == list(range(10))
    assert b.ids.event.tolist() == list(range(1, 11)) and b.ids.run.tolist() == [1] * 10  # numbered by entry
    with pytest.raises(MissingColumn, match=r"d.parquet: no product or column 'z'; available: x, y"):
        list(iter_files([str(tmp_path / "d.parquet")], ["z"]))
    with pytest.raises(MissingColumn, match=r"did you mean 'feat'"):
        _write_root(tmp_path / "d.root")
        list(iter_files([str(tmp_path / "d.root")], ["feet"]))


def test_iter_files_finds_a_product_by_the_writing_jobs_inputtag(tmp_path):
    import json

    with uproot.recreate(tmp_path / "p.root") as f:
        f.mktree("events", {"toy_features": (np.float32, (4,)), "event": np.uint64})
        f["events"].extend({"toy_features": np.ones((3, 4), np.float32), "event": np.arange(3, dtype=np.uint64)})
        doc = {
            "hepreco_file": 1,
            "products": {"toy_features": {"kind": "branch", "fields": {"": "toy_features"}, "origin": "toy:features"}},
            "history": [],
        }
        f["hepreco_provenance"] = json.dumps(doc)
    (b,) = iter_files([str(tmp_path / "p.root")], ["toy:features"])
    assert ak.to_numpy(b.products["toy:features"]).shape == (3, 4)


def _batch(**products):
    n = len(next(iter(products.values())))
    ids = EventIDs(np.ones(n, np.uint32), np.zeros(n, np.uint32), np.arange(1, n + 1, dtype=np.uint64))
    return DataBatch(ids, {k: ak.Array(v) for k, v in products.items()})


def test_builder_flattens_hits_and_stacks_columns():
    b = ExampleBuilder({"hit": ["e", "t"]}, target="y", flatten=True)
    d = b.build(_batch(e=[[1.0, 2.0], [], [3.0]], t=[[10.0, 20.0], [], [30.0]], y=[[1, 0], [], [1]]))
    assert d.inputs["hit"].tolist() == [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]
    assert d.target.tolist() == [1, 0, 1]
    assert d.ids[:, 2].tolist() == [1, 1, 3]  # each hit keeps its event's id (the split is per event)


def test_builder_explains_jagged_and_mismatched_products():
    b = ExampleBuilder({"x": "e"}, target="y", keys={"e": "data.inputs.x"})
    with pytest.raises(
        ValueError,
        match=r"data.inputs.x: product 'e' of type var \* float64 is not a fixed-size array per example: set data.flatten: true",
    ):
        b.build(_batch(e=[[1.0], [2.0, 3.0]], y=[0, 1]))
    f = ExampleBuilder({"x": "e"}, target="y", flatten=True)
    with pytest.raises(ValueError, match="'e' and 'y' have different numbers of entries per event"):
        f.build(_batch(e=[[1.0], [2.0, 3.0]], y=[[0], [1]]))


def test_builder_drops_events_with_missing_products():
    b = ExampleBuilder({"x": "x"}, target="y")
    d = b.build(_batch(x=[1.0, None, 3.0], y=[0, 1, None]))
    assert d.inputs["x"].tolist() == [1.0] and d.ids[:, 2].tolist() == [1]


def test_data_config_needs_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one of 'job'"):
        DataConfig(inputs={"x": "a"})
    with pytest.raises(ValueError, match="exactly one of 'job'"):
        DataConfig(job="j.yaml", files=["a.root"], inputs={"x": "a"})
