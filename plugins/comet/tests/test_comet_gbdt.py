"""The GBDT baseline: per-hit features with the wire's neighbours, training, and the module in jobs."""

from __future__ import annotations

import numpy as np
import pytest
from hepreco_comet.gbdt_features import FEATURES, NO_HIT_TIME, hit_features
from hepreco_comet.geometry import CDCGeometry

import hepreco

GEO = CDCGeometry()


def test_features_with_neighbours_wrap_around_in_phi():
    n0 = int(GEO.n_cells[0])
    n5 = int(GEO.n_cells[5])
    first, last = int(GEO.wire_id(0, 0)), int(GEO.wire_id(0, n0 - 1))
    mid = int(GEO.wire_id(5, 10))
    left_mid, right_mid = int(GEO.wire_id(5, 9)), int(GEO.wire_id(5, 11))
    other_layer = int(GEO.wire_id(4, 10))  # beside nothing of layer 5
    end5 = int(GEO.wire_id(5, n5 - 1))
    # event 0: both edge cells of layer 0, a cell of layer 5 with both neighbours, one in layer 4;
    # event 1: cell 0 of layer 0 alone (event 0's hits are not its neighbours), the last cell of layer 5
    wires = np.array([first, last, mid, left_mid, right_mid, other_layer, first, end5])
    time = np.arange(8, dtype=np.float32) * 10 + 5
    edep = np.arange(8, dtype=np.float32) + 1
    f = hit_features(np.array([0, 6, 8]), wires, time, edep, GEO)
    assert f.shape == (8, len(FEATURES)) and f.dtype == np.float32
    row = dict(zip(FEATURES, f[0], strict=True))  # cell 0: left is the last cell, right empty
    assert (row["edep"], row["drift_time"], row["layer"]) == (1, 5, 0)
    assert (row["edep_left"], row["drift_time_left"]) == (2, 15)
    assert (row["edep_right"], row["drift_time_right"]) == (0, NO_HIT_TIME)
    row = dict(zip(FEATURES, f[1], strict=True))  # the last cell: right is cell 0
    assert (row["edep_right"], row["drift_time_right"]) == (1, 5)
    assert (row["edep_left"], row["drift_time_left"]) == (0, NO_HIT_TIME)
    row = dict(zip(FEATURES, f[2], strict=True))  # the middle cell of layer 5
    assert row["layer"] == 5
    assert (row["edep_left"], row["edep_right"]) == (4, 5)
    row = dict(zip(FEATURES, f[5], strict=True))  # layer 4 cell 10: layer 5's cells are not its neighbours
    assert (row["edep_left"], row["edep_right"]) == (0, 0)
    row = dict(zip(FEATURES, f[6], strict=True))  # event 1: the other event's hits are not seen
    assert (row["edep_left"], row["edep_right"]) == (0, 0)
    row = dict(zip(FEATURES, f[7], strict=True))  # layer 5's last cell: its right is layer 5's cell 0 (empty)
    assert (row["edep_left"], row["edep_right"]) == (0, 0)


def _job(weights="builtin:comet-gbdt", **gbdt):
    return {
        "process": "test",
        "seed": 3,
        "source": {"module": "comet.CDCSimSource", "events": 4, "batch_size": 2, "pileup": 0.3},
        "modules": {
            "features": {"module": "comet.HitFeatures"},
            "gbdt": {"module": "comet.GBDTHitClassifier", "weights": weights, **gbdt},
        },
        "paths": {"reco": ["features", "gbdt"]},
    }


@pytest.fixture(scope="module")
def tiny_gbdt(tmp_path_factory):
    from hepreco.ml import train

    out = tmp_path_factory.mktemp("gbdt")
    job = {
        "process": "hits",
        "seed": 2,
        "source": {"module": "comet.CDCSimSource", "events": 8, "batch_size": 4, "pileup": 0.3},
        "modules": {"features": {"module": "comet.HitFeatures"}},
        "paths": {"reco": ["features"]},
    }
    import yaml

    (out / "job.yaml").write_text(yaml.safe_dump(job))
    cfg = {
        "plugins": ["hepreco_comet.plugin"],
        "model": {"name": "comet-gbdt", "hparams": {"n_estimators": 5, "num_leaves": 7, "threads": 1}},
        "data": {
            "job": str(out / "job.yaml"),
            "inputs": {"features": "features:features"},
            "target": "source:hits.is_signal",
            "flatten": True,
            "split": {"train": 0.6, "valid": 0.4, "test": 0.0},
        },
        "training": {"seed": 1, "early_stopping": None},
    }
    return train(cfg, output=out / "train", quiet=True)


def test_trained_gbdt_scores_every_hit(tiny_gbdt):
    assert (tiny_gbdt.best / "model.txt").is_file()
    assert tiny_gbdt.metrics["auc"] > 0.8
    cfg = _job(weights=str(tiny_gbdt.best), cut=0.4)
    from pathlib import Path

    cfg["plugins"] = [str(Path(__file__).with_name("cometprobe.py"))]
    cfg["modules"]["keep"] = {"module": "cometprobe.Keep", "src": ["source:hits", "gbdt:score", "gbdt:selected"]}
    cfg["end_paths"] = {"ana": ["keep"]}
    r = hepreco.run(cfg)
    assert r.summaries["gbdt"]["model_hash"] == tiny_gbdt.weights_hash
    from hepreco_userplugin_cometprobe import KEPT

    for _, ev in KEPT["keep"]:
        score = np.asarray(ev["gbdt:score"])
        assert len(score) == len(ev["source:hits"])
        assert np.all((score >= 0) & (score <= 1))
        assert np.array_equal(np.asarray(ev["gbdt:selected"]), score >= 0.4)


def test_shipped_gbdt_in_a_job():
    r = hepreco.run(_job())
    assert r.summaries["gbdt"]["model"] == "comet-gbdt"


def test_checkpoint_of_another_model_is_refused():
    # before the first event, as a config error naming the key (Module.check)
    with pytest.raises(hepreco.ConfigError, match=r"modules\.gbdt\.weights.*comet-gbdt"):
        hepreco.run(_job(weights="builtin:comet-dncnn"))
