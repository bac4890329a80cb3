"""SegmentationMetrics: Pandora's figures, computed from mergeable histograms, equal the figures counted directly
from the written hits, on every executor."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

import hepreco

torch = pytest.importorskip("torch")

from hepreco_lartpc.segmentation import figures  # noqa: E402
from hepreco_lartpc.unet import UNetParams  # noqa: E402

from hepreco.ml import get_model, save_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    spec = get_model("lartpc-unet")
    hp = UNetParams(depth=2, filters=8, tile=32)
    torch.manual_seed(1)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", spec=spec, model=spec.build_model(hp), hparams=hp)


def _job(weights, out, plots=None):
    return {
        "process": "seg",
        "seed": 4,
        "source": {"module": "lartpc.LArTPCSimSource", "events": 4, "batch_size": 2},
        "services": {"Histograms": {"file": str(out.with_suffix(".hists.root"))}},
        "modules": {
            "imager": {"module": "lartpc.ViewImager", "size": 32},
            "unet": {"module": "lartpc.UNetTrackShower", "weights": str(weights), "size": 32},
            "metrics": {"module": "lartpc.SegmentationMetrics", "plot_dir": plots},
            "truth": {"module": "lartpc.SegmentationMetrics", "label": "source:hits.label", "track_score": None,
                      "hit_tile": None, "hit_pixel": None},
            "out": {"module": "RootOutput", "file": str(out), "keep": ["source:hits", "unet:label"]},
        },
        "paths": {"p": ["imager", "unet"]},
        "end_paths": {"o": ["metrics", "truth", "out"]},
    }  # fmt: skip


def test_figures_match_a_direct_count_and_merge_across_executors(tiny_ckpt, tmp_path):
    r = hepreco.run(_job(tiny_ckpt.path, tmp_path / "inline.root", plots=str(tmp_path / "plots")))
    a = uproot.open(tmp_path / "inline.root")["events"].arrays()
    true = ak.to_numpy(ak.flatten(a["hits_label"]))
    pred = ak.to_numpy(ak.flatten(a["unet_label"]))
    cm = np.zeros((3, 3))
    np.add.at(cm, (true, pred), 1)
    want = figures(cm)
    s = r.summaries["metrics"]
    for key in ("overall_accuracy", "track_accuracy", "shower_accuracy", "track_purity"):
        assert s[key] == pytest.approx(want[key], abs=1e-5), key
    assert s["hits"] == int((true > 0).sum())
    assert 0 <= s["pixel_overall_accuracy"] <= 1 and "W_overall_accuracy" in s
    # the truth as the prediction: every figure is 1
    t = r.summaries["truth"]
    assert t["overall_accuracy"] == t["track_accuracy"] == t["shower_accuracy"] == 1.0
    names = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert {"metrics_confusion.png", "metrics_accuracy_vs_charge.png", "metrics_accuracy_by_particle.png",
            "metrics_track_score.png"} <= names  # fmt: skip
    with uproot.open(tmp_path / "inline.hists.root") as f:
        assert any(k.startswith("metrics/confusion_hits") for k in f.keys())

    p = hepreco.run(_job(tiny_ckpt.path, tmp_path / "proc.root"), executor={"kind": "processes", "workers": 2,
                                                                           "chunk_size": 2})  # fmt: skip
    sp = p.summaries["metrics"]
    for key in ("overall_accuracy", "track_accuracy", "shower_accuracy", "pixel_overall_accuracy", "hits"):
        assert sp[key] == s[key], key


def test_a_label_product_with_other_classes_is_an_error(tmp_path):
    cfg = {
        "process": "bad",
        "source": {"module": "lartpc.LArTPCSimSource", "events": 1},
        "modules": {"m": {"module": "lartpc.SegmentationMetrics", "label": "source:hits.pdg", "track_score": None,
                          "hit_tile": None, "hit_pixel": None}},
        "end_paths": {"o": ["m"]},
    }  # fmt: skip
    with pytest.raises(Exception, match="classes outside"):
        hepreco.run(cfg)
