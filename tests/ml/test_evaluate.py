"""hepreco evaluate: a checkpoint on its held-out test events, directly and through a job's analyzers."""

import json

import pytest

import hepreco.ml as ml
from hepreco import ConfigError
from hepreco.ml import CheckpointError
from hepreco.ml.split import split_index

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


def test_evaluate_on_the_recorded_test_sample(trained, tmp_path, write_yaml, registry):
    result = trained[0]
    cfg = write_yaml(
        {"checkpoint": str(result.best), "output": str(tmp_path / "ev"), "signal_acceptance": 0.95}, "ev.yaml"
    )
    r = ml.evaluate(cfg, quiet=True)
    m = r.metrics
    assert r.sample == "test" and m["weights_sha256"] == result.weights_hash
    assert m["entries"] == json.loads((result.best / "metadata.json").read_text())["data"]["examples"]["test"]
    assert m["auc"] > 0.85 and m["working_point"]["signal_acceptance"] >= 0.95
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["auc"] == m["auc"]
    assert (tmp_path / "ev" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    valid = ml.evaluate(cfg, quiet=True, overrides=["sample=valid"])
    assert valid.metrics["auc"] == pytest.approx(result.metrics["auc"])  # what training measured


def test_evaluate_through_a_job_agrees(trained, tmp_path, write_yaml, make_job, registry):
    result = trained[0]
    job = make_job(events=1500, batch_size=500, clf={"module": "ToyClassifier", "weights": "nowhere"})
    job["paths"]["make"].append("clf")
    reco = write_yaml(job, "reco.yaml")
    direct = ml.evaluate(write_yaml({"checkpoint": str(result.best)}, "a.yaml"), quiet=True).metrics
    cfg = {
        "checkpoint": str(result.best),
        "job": {
            "config": str(reco),
            "score": "clf:score",
            "target": "toy:label",
            "set": {"modules.clf.weights": str(result.best)},
        },
        "output": str(tmp_path / "ej"),
    }
    via_job = ml.evaluate(write_yaml(cfg, "b.yaml"), quiet=True).metrics
    assert via_job["entries"] == direct["entries"]
    assert via_job["auc"] == pytest.approx(direct["auc"], abs=1e-6)
    assert via_job["working_point"]["threshold"] == pytest.approx(direct["working_point"]["threshold"], rel=1e-5)
    assert (tmp_path / "ej" / "roc.png").exists() and (tmp_path / "ej" / "metrics.json").exists()
    cfg["job"]["score"] = "clf:scor"
    with pytest.raises(ConfigError, match=r"key 'job.score'.*did you mean 'clf:score'"):
        ml.evaluate(write_yaml(cfg, "c.yaml"), quiet=True)


def test_held_out_events_are_never_trained_on(trained):
    result = trained[0]
    ckpt = ml.load_checkpoint(result.best)
    ex = ckpt.metadata["data"]["examples"]
    import numpy as np

    ev = np.arange(1, 1501, dtype=np.uint64)
    s = split_index(np.ones(1500), np.zeros(1500), ev)
    assert [int((s == i).sum()) for i in range(3)] == [ex["train"], ex["valid"], ex["test"]]


def test_evaluate_errors(trained, write_yaml, registry):
    result = trained[0]
    with pytest.raises(CheckpointError, match="checkpoint 'missing' does not exist"):
        ml.evaluate(write_yaml({"checkpoint": "missing"}, "a.yaml"), quiet=True)
    with pytest.raises(ConfigError, match=r"key 'sample'.*Input should be 'train', 'valid', 'test' or 'all'"):
        ml.evaluate(write_yaml({"checkpoint": str(result.best), "sample": "tests"}, "b.yaml"), quiet=True)
    with pytest.raises(ConfigError, match="give 'checkpoint'"):
        ml.evaluate(write_yaml({"sample": "test"}, "c.yaml"), quiet=True)
