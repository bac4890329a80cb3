"""The COMET modules in real jobs run through hepreco.run: products, summaries, errors, batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hepreco
from hepreco import ConfigError, ModuleError

PROBE = str(Path(__file__).with_name("cometprobe.py"))
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "comet"


def job(**extra):
    cfg = {
        "process": "test",
        "seed": 5,
        "plugins": [PROBE],
        "source": {"module": "comet.CDCSimSource", "events": 6, "batch_size": 3, "pileup": 0.3},
        "modules": {},
        "paths": {},
        "end_paths": {},
    }
    for key, value in extra.items():
        cfg[key] = value
    return cfg


def kept(label):
    from hepreco_userplugin_cometprobe import KEPT  # loaded by the job's plugins list

    return KEPT[label]


def test_imager_products_and_inverse_maps():
    cfg = job(
        modules={
            "imager": {"module": "comet.HitImager", "layout": "wire", "targets": True, "mask": True},
            "keep": {
                "module": "cometprobe.Keep",
                "src": [
                    "source:hits",
                    "imager:image",
                    "imager:hit_pixel",
                    "imager:pixel_hit",
                    "imager:target",
                    "imager:mask",
                ],
            },
        },
        paths={"reco": ["imager"]},
        end_paths={"ana": ["keep"]},
    )
    r = hepreco.run(cfg)
    assert r.events == 6
    rows = kept("keep")
    assert [ev for ev, _ in rows] == [1, 2, 3, 4, 5, 6]
    for _, p in rows:
        hits = p["source:hits"]
        image = np.asarray(p["imager:image"])
        assert image.shape == (2, 71, 71)
        assert image.min() >= 0 and image.max() <= 1
        hp = np.asarray(p["imager:hit_pixel"])
        wire = np.array([h["wire"] for h in hits])
        edep = np.array([h["edep"] for h in hits])
        assert np.array_equal(hp, np.where(edep <= 255, wire, -1))
        ph = np.asarray(p["imager:pixel_hit"]).ravel()
        assert np.array_equal(np.sort(ph[ph >= 0]), np.flatnonzero(hp >= 0))
        tgt = np.asarray(p["imager:target"]).ravel()
        sig = np.array([h["is_signal"] for h in hits])
        assert np.array_equal(np.flatnonzero(tgt), np.sort(wire[sig & (edep <= 255)]))
        assert np.asarray(p["imager:mask"]).sum() == 4482
    s = r.summaries["imager"]
    assert s["layout"] == "wire 71x71" and s["hits_sharing_a_pixel"] == 0 and s["hits_imaged"] > 0


def test_source_does_not_depend_on_the_batch_size():
    def hits(batch_size):
        cfg = job(end_paths={"ana": ["keep"]}, modules={"keep": {"module": "cometprobe.Keep", "src": ["source:hits",
                                                                                                          "source:signal"]}})  # fmt: skip
        cfg["source"]["batch_size"] = batch_size
        hepreco.run(cfg, events=5)
        return kept("keep")

    assert hits(5) == hits(2)


@pytest.mark.parametrize(("what", "message"), [("wire", "wire id outside the CDC"), ("time", "NaN or negative drift"),
                                               ("edep", "NaN or negative energy")])  # fmt: skip
def test_bad_hits_stop_the_job_naming_the_event(what, message):
    cfg = job(
        modules={
            "bad": {"module": "cometprobe.CorruptHits", "at": 5, "what": what},
            "imager": {"module": "comet.HitImager", "hits": "bad"},
        },
        paths={"reco": ["bad", "imager"]},
    )
    with pytest.raises(ModuleError) as err:
        hepreco.run(cfg)
    text = str(err.value)
    assert "imager" in text and "event 5" in text and message in text


def test_bad_hits_can_be_dropped_and_counted():
    cfg = job(
        modules={
            "bad": {"module": "cometprobe.CorruptHits", "at": 2, "what": "wire"},
            "imager": {"module": "comet.HitImager", "hits": "bad", "bad_hits": "drop"},
        },
        paths={"reco": ["bad", "imager"]},
    )
    s = hepreco.run(cfg).summaries["imager"]
    assert s["dropped_bad_wire"] == 1 and s["dropped_bad_time"] == 0


def test_bad_config_is_caught_before_the_first_event():
    cfg = job(modules={"imager": {"module": "comet.HitImager", "layout": "polar"}}, paths={"reco": ["imager"]})
    with pytest.raises(ConfigError, match="layout"):
        hepreco.run(cfg)
    cfg = job()
    cfg["source"]["pilup"] = 2
    with pytest.raises(ConfigError, match="pilup"):
        hepreco.run(cfg)


def test_metrics_of_a_perfect_turn1_classifier():
    cfg = job(
        modules={
            "m": {
                "module": "comet.HitClassificationMetrics",
                "task": "turn1",
                "score": "source:hits.turn",
                "invert": True,
                "score_range": [-0.5, 10.5],
                "thresholds": 12,
            },
            "e": {
                "module": "comet.HitClassificationMetrics",
                "score": "source:hits.edep",
                "invert": True,
                "score_range": [0, 255],
                "thresholds": 256,
            },
        },
        end_paths={"ana": ["m", "e"]},
    )
    r = hepreco.run(cfg)
    m = r.summaries["m"]
    assert m["auc_per_hit"] == 1.0
    assert m["turn-1_acceptance_after_cut"] == 1.0 and m["turn>1_rejection_after_cut"] == 1.0
    e = r.summaries["e"]
    assert 0.5 < e["auc_per_hit"] < 1
    assert e["signal_acceptance_after_cut"] >= 0.99
    f = e["background_fraction_removed_by_energy_cut"]
    assert 0.15 < f < 0.4
    assert set(r.histograms["e"]) == {"scan", "counts", "score_positive", "score_negative"}
    # issue 10 point 5: the curves as results; a perfect classifier selects every turn-1 hit and no later one
    res = r.results["m"]
    assert {"roc", "roc_per_hit", "acceptance_vs_cut", "hit_acceptance_vs_cut", "working_point"} <= set(res)
    at = list(res["hit_acceptance_vs_cut"].x).index(1.5)  # select turn <= 1.5
    assert res["hit_acceptance_vs_cut"].y[at] == 1.0 and res["hit_efficiency_vs_cut"].y[at] == 0.0
    assert res["hit_acceptance_vs_cut"].yerr_low[at] > 0  # a binomial interval, not zero
    g = r.results["e"]["acceptance_vs_cut"]
    assert np.all(np.diff(g.y) >= -1e-12) and g.has_errors  # edep <= cut keeps more as the cut rises


def test_geometry_service_reaches_the_source():
    cfg = job(
        services={"comet.CDCGeometryService": {"half_length": 60.0}},
        modules={"keep": {"module": "cometprobe.Keep", "src": ["source:hits.z"]}},
        end_paths={"ana": ["keep"]},
    )
    r = hepreco.run(cfg, events=3)
    z = np.concatenate([np.asarray(p["source:hits.z"]) for _, p in kept("keep")])
    assert np.abs(z).max() <= 60.0
    assert "CDCGeometryService" in r.services


def test_the_former_service_name_still_works_and_warns():
    """``comet.CDCGeometry`` (the service's name before issue 12) is a deprecated alias of
    ``comet.CDCGeometryService``: the same geometry reaches the modules, with a FutureWarning naming the new name."""
    cfg = job(
        services={"comet.CDCGeometry": {"half_length": 60.0}},
        modules={"keep": {"module": "cometprobe.Keep", "src": ["source:hits.z"]}},
        end_paths={"ana": ["keep"]},
    )
    with pytest.warns(FutureWarning, match="comet.CDCGeometryService"):
        hepreco.run(cfg, events=3)
    z = np.concatenate([np.asarray(p["source:hits.z"]) for _, p in kept("keep")])
    assert np.abs(z).max() <= 60.0


def test_sim_validation_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = hepreco.run(EXAMPLES / "sim_validation.yaml", events=4, set={"source.batch_size": 2})
    v = r.summaries["validation"]
    assert v["events"] == 4
    assert v["talk_signal_hits_per_event"] == pytest.approx(76.5, abs=0.01)
    assert 20 < v["signal_hits_per_event"] < 200
    plots = sorted(p.name for p in (tmp_path / "comet_sim_validation").glob("*.png"))
    assert "validation_edep.png" in plots and "validation_event_display_0.png" in plots
    assert "edep_baseline_roc.png" in plots
    assert (tmp_path / "comet_sim_validation.root").exists()
