"""Issue 10, points 5 and 6: ml.BinaryMetrics writes its ROC, acceptance vs cut (binomial errors), working
point and score distributions as ROOT objects under results/<label>/, and draws its ROC with mplhep as a
PNG (>= 150 dpi) and a PDF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

TOY_PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "ml" / "toy_plugin.py"


def job(tmp_path, **metrics):
    return {
        "process": "bm",
        "seed": 3,
        "plugins": [str(TOY_PLUGIN), "hepreco.ml.plugin"],
        "source": {"module": "EmptySource", "events": 300, "batch_size": 64},
        "services": {"Histograms": {"file": str(tmp_path / "hists.root")}},
        "modules": {
            "hits": {"module": "ToyHits"},
            "metrics": {"module": "ml.BinaryMetrics", "score": "hits:edep", "target": "hits:truth",
                        "signal_acceptance": 0.9, **metrics},
            "grab": {"module": "ml.ProductStream", "products": ["hits:edep", "hits:truth"]},
        },
        "paths": {"make": ["hits"]},
        "end_paths": {"e": ["metrics", "grab"]},
    }  # fmt: skip


def test_0010_binary_metrics_results_in_the_histogram_file(tmp_path, registry):
    r = hepreco.run(job(tmp_path, roc_file=str(tmp_path / "roc.png"), name="edep cut"), quiet=True)
    m = r.summaries["metrics"]
    with uproot.open(tmp_path / "hists.root") as f:
        classes = {k.split(";")[0]: v for k, v in f.classnames().items()}
        assert classes["results/metrics/roc"] == "TGraph"
        assert classes["results/metrics/signal_acceptance_vs_cut"] == "TGraphAsymmErrors"
        assert classes["results/metrics/background_efficiency_vs_cut"] == "TGraphAsymmErrors"
        assert classes["results/metrics/working_point"] == "TGraph"
        assert classes["results/metrics/score_signal"] == "TH1D"
        x, y = f["results/metrics/roc"].values()
        assert x[0] == 0 and x[-1] == 1  # from the strictest cut to the loosest
        assert np.trapezoid(x, 1 - y) == pytest.approx(m["auc"], abs=1e-5)
        wx, wy = f["results/metrics/working_point"].values()
        assert wx[0] == pytest.approx(m["wp_signal_acceptance"], abs=1e-6)
        assert wy[0] == pytest.approx(m["wp_background_rejection"], abs=1e-6)
        acc = f["results/metrics/signal_acceptance_vs_cut"]
        _cuts, eff = acc.values()
        low, high = acc.errors("low")[1], acc.errors("high")[1]
        assert np.all(np.diff(eff) <= 1e-12) and eff[0] == pytest.approx(1.0)  # falls as the cut rises
        inner = (eff > 0.05) & (eff < 0.95)
        assert inner.any() and np.all(low[inner] > 0) and np.all(high[inner] > 0)
        s = f["results/metrics/score_signal"]
        np.testing.assert_allclose(s.errors(), np.sqrt(s.values()))  # unweighted: sqrt(N)
        assert 10 <= len(s.values()) <= 100  # binning adapted to the entries
    assert set(r.results["metrics"]) >= {"roc", "working_point", "signal_acceptance_vs_cut"}
    # the plot: a PNG of at least 150 dpi and a PDF beside it
    from PIL import Image

    with Image.open(tmp_path / "roc.png") as im:
        assert min(im.info["dpi"]) >= 149
    assert (tmp_path / "roc.pdf").read_bytes()[:5] == b"%PDF-"
