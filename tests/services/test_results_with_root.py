"""Issue 10, points 1 and 5, with CERN ROOT as the client: the errors of a weighted histogram (GetBinError
reads fSumw2) and the results/ graphs (TGraph, TGraphAsymmErrors) of a hepreco histogram file.

ROOT runs in a subprocess: it takes seconds to start and a crash in it must not take the test session along."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import hist
import numpy as np
import pytest
import uproot

import hepreco

REPO = Path(__file__).resolve().parents[2]
ML_TOYS = REPO / "examples" / "ml" / "toy_plugin.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.root,
    pytest.mark.skipif(
        importlib.util.find_spec("ROOT") is None, reason="CERN ROOT is not installed (pip install root)"
    ),
]


def test_0010_root_reads_weighted_errors_and_result_graphs(tmp_path, toy_plugin, run_root):
    # a weighted HistFill and a BinaryMetrics in one job
    cfg = {
        "process": "root10",
        "seed": 2,
        "plugins": [toy_plugin, str(ML_TOYS), "hepreco.ml.plugin"],
        "source": {"module": "EmptySource", "events": 200, "batch_size": 50},
        "services": {"Histograms": {"file": str(tmp_path / "hists.root")}},
        "modules": {
            "nums": {"module": "toy.Numbers", "scale": 0.5},
            "hits": {"module": "ToyHits"},
            "hw": {"module": "HistFill", "weight": "nums:x",
                   "axes": [{"fill": "nums:hits", "bins": 8, "start": -2, "stop": 2}]},
            "metrics": {"module": "ml.BinaryMetrics", "score": "hits:edep", "target": "hits:truth"},
        },
        "paths": {"p": ["nums", "hits"]},
        "end_paths": {"e": ["hw", "metrics"]},
    }  # fmt: skip
    r = hepreco.run(cfg, quiet=True)
    h = r.histograms["hw"]["hw"]
    assert h.storage_type is hist.storage.Weight
    with uproot.open(tmp_path / "hists.root") as f:
        acc = f["results/metrics/signal_acceptance_vs_cut"]
        acc_x, acc_y = (a.tolist() for a in acc.values())
        acc_low, acc_high = (acc.errors("low")[1].tolist(), acc.errors("high")[1].tolist())
        roc_x, roc_y = (a.tolist() for a in f["results/metrics/roc"].values())

    got = run_root(
        f"""
        f = ROOT.TFile.Open({str(tmp_path / "hists.root")!r})
        h = f.Get("hw/hw")
        RESULT["errors"] = [h.GetBinError(i) for i in range(1, h.GetNbinsX() + 1)]
        RESULT["sumw2"] = h.GetSumw2N()
        g = f.Get("results/metrics/signal_acceptance_vs_cut")
        RESULT["acc_class"] = g.ClassName()
        RESULT["acc"] = [[g.GetPointX(i), g.GetPointY(i), g.GetErrorYlow(i), g.GetErrorYhigh(i)] for i in range(g.GetN())]
        roc = f.Get("results/metrics/roc")
        RESULT["roc_class"] = roc.ClassName()
        RESULT["roc"] = [[roc.GetPointX(i), roc.GetPointY(i)] for i in range(roc.GetN())]
        RESULT["roc_xtitle"] = roc.GetXaxis().GetTitle()
        RESULT["eval"] = roc.Eval(0.5)
        """
    )
    np.testing.assert_allclose(got["errors"], np.sqrt(h.variances()))
    assert not np.allclose(got["errors"], np.sqrt(h.values()))
    assert got["sumw2"] == 10
    assert got["acc_class"] == "TGraphAsymmErrors" and got["roc_class"] == "TGraph"
    acc_root = np.array(got["acc"])
    np.testing.assert_allclose(acc_root[:, 0], acc_x)
    np.testing.assert_allclose(acc_root[:, 1], acc_y)
    np.testing.assert_allclose(acc_root[:, 2], acc_low)
    np.testing.assert_allclose(acc_root[:, 3], acc_high)
    np.testing.assert_allclose(np.array(got["roc"]), np.c_[roc_x, roc_y])
    assert got["roc_xtitle"] == "signal acceptance"
    assert 0 <= got["eval"] <= 1
