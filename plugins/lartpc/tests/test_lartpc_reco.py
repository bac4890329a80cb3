"""The main job, examples/lartpc/reco.yaml, as the README runs it (on a few events): simulation, tiles, the shipped
U-Net, metrics, event displays and the ROOT output, checked for content."""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import hepreco

pytest.importorskip("torch")

RECO = Path(__file__).resolve().parents[3] / "examples" / "lartpc" / "reco.yaml"
EVENTS = 8


@pytest.fixture(scope="module")
def reco(tmp_path_factory):
    out = tmp_path_factory.mktemp("reco")
    cwd = Path.cwd()
    os.chdir(out)  # the job writes to the working directory, as on the command line
    try:
        result = hepreco.run(RECO, events=EVENTS, set={"source.batch_size": 4, "modules.display.max_events": 1})
    finally:
        os.chdir(cwd)
    return out, result


def test_the_chain_writes_every_output(reco):
    out, r = reco
    assert r.events == EVENTS
    assert (out / "lartpc_reco.root").is_file() and (out / "lartpc_reco_hists.root").is_file()
    plots = {p.name for p in (out / "lartpc_reco_plots").glob("*.png")}
    assert {"metrics_confusion.png", "metrics_accuracy_vs_charge.png"} <= plots
    assert any(p.startswith("display_") for p in plots)
    with uproot.open(out / "lartpc_reco_hists.root") as f:
        assert any(k.startswith("metrics/confusion_hits") for k in f.keys())
    s = r.summaries["unet"]
    assert s["model"] == "lartpc-unet" and s["model_checkpoint"] == "builtin:lartpc-unet"


def test_per_hit_scores_line_up_with_the_hits_and_the_shipped_network_separates_the_classes(reco):
    out, r = reco
    a = uproot.open(out / "lartpc_reco.root")["events"].arrays()
    n = ak.num(a["hits_charge"])
    for name in ("unet_track_score", "unet_shower_score", "unet_label"):
        assert ak.all(ak.num(a[name]) == n), name
    true = ak.to_numpy(ak.flatten(a["hits_label"]))
    pred = ak.to_numpy(ak.flatten(a["unet_label"]))
    real = true > 0
    acc = float(np.mean(pred[real] == true[real]))
    s = r.summaries["metrics"]
    assert s["overall_accuracy"] == pytest.approx(acc, abs=1e-4)
    # the shipped network, on a handful of held-out events: far better than either constant answer
    majority = max(np.mean(true[real] == 1), np.mean(true[real] == 2))
    assert acc > majority + 0.1 and s["track_accuracy"] > 0.6 and s["shower_accuracy"] > 0.6
