"""TaggingMetrics: AUC and 1/eps_B from histograms agree with hepreco.ml on the raw scores, merge exactly,
and carry bootstrap errors of the right size; the ROC plot is drawn."""

from __future__ import annotations

import numpy as np
from hepreco_jets.roc import roc_figures

import hepreco

EDGES = np.linspace(0.0, 1.0, 20001)


def _sample(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.5
    s = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 2.0 * y)))  # sigmoid of shifted normals
    return s, y


def _hists(s, y):
    pos, _ = np.histogram(s[y], EDGES)
    neg, _ = np.histogram(s[~y], EDGES)
    return pos.astype(float), neg.astype(float)


def test_histogram_figures_match_the_raw_scores():
    from hepreco.ml import roc_auc, roc_curve

    s, y = _sample(20000, 1)
    f = roc_figures(*_hists(s, y), EDGES, bootstrap=50)
    assert abs(f.auc - roc_auc(s, y)) < 2e-4
    roc = roc_curve(s, y)
    i = np.searchsorted(roc.signal_acceptance, 0.5)
    assert abs(f.inv_eps_b / (1.0 / roc.background_efficiency[i]) - 1.0) < 0.01
    # the analytic answer for two unit normals 2 sigma apart: AUC = Phi(2 / sqrt 2)
    from math import erf

    assert abs(f.auc - 0.5 * (1 + erf(1.0))) < 0.01
    # bootstrap errors ~ the statistical spread (AUC error ~ 0.003 for 10k + 10k here)
    assert 0.001 < f.auc_err < 0.006
    assert 0.0 < f.inv_eps_b_err < 0.2 * f.inv_eps_b


def test_histograms_merge():
    s, y = _sample(4000, 2)
    half = 2000
    p1, n1 = _hists(s[:half], y[:half])
    p2, n2 = _hists(s[half:], y[half:])
    a = roc_figures(p1 + p2, n1 + n2, EDGES, bootstrap=0)
    b = roc_figures(*_hists(s, y), EDGES, bootstrap=0)
    assert a.auc == b.auc and a.inv_eps_b == b.inv_eps_b


def test_tagging_metrics_in_a_job(tmp_path, write_plugin):
    res = hepreco.run(
        {
            "process": "m",
            "seed": 4,
            "plugins": [write_plugin],
            "source": {"module": "fake.Scores", "events": 3000, "batch_size": 700},
            "services": {"Histograms": {"file": str(tmp_path / "h.root")}},
            "modules": {
                "mpnn": {"module": "jets.TaggingMetrics", "score": "source:score", "target": "source:label",
                         "plot_file": str(tmp_path / "roc.png"), "bootstrap": 30},
                "roc": {"module": "jets.TaggerComparison", "scores": {"good": "source:score", "bad": "source:noise"},
                        "target": "source:label", "plot_file": str(tmp_path / "all.png")},
            },
            "end_paths": {"e": ["mpnn", "roc"]},
        },
    )  # fmt: skip
    summ = res.summaries["mpnn"]
    assert {"auc", "auc_err", "inv_eps_b_at_50", "inv_eps_b_at_50_err"} <= set(summ)
    assert 0.85 < summ["auc"] < 0.95
    assert summ["jets_signal"] + summ["jets_background"] == 3000
    assert 0.4 < res.summaries["roc"]["bad_auc"] < 0.6
    assert res.summaries["roc"]["good_auc"] == summ["auc"]
    assert (tmp_path / "roc.png").stat().st_size > 10_000
    assert (tmp_path / "all.png").stat().st_size > 10_000
    assert (tmp_path / "all.pdf").exists()
    # the ROC curves are in the ROOT file as graphs (1/eps_B against eps_S), consistent with the summary
    import uproot

    with uproot.open(tmp_path / "h.root") as f:
        assert f["results/mpnn/roc"].classname == "TGraph"
        x, y = f["results/mpnn/roc"].values()
        xg, yg = f["results/roc/roc_good"].values()
        assert {"results/roc/roc_good", "results/roc/roc_bad"} <= {k.split(";")[0] for k in f.keys()}
    assert len(x) > 20 and np.all((x > 0) & (x <= 1)) and np.all(y >= 1)
    assert np.array_equal(x, xg) and np.array_equal(y, yg)
    at50 = np.interp(0.5, x, y)
    assert abs(at50 / summ["inv_eps_b_at_50"] - 1) < 0.1


def test_pt_flattening_weights_flatten():
    from hepreco_jets.weights import flattening_weights

    rng = np.random.default_rng(3)
    edges = np.linspace(250, 300, 11)
    pt = np.concatenate([250 + 50 * rng.random(4000) ** 2, 250 + 50 * rng.random(3000) ** 0.5])  # falling, rising
    label = np.concatenate([np.zeros(4000, int), np.ones(3000, int)])
    counts = np.stack([np.histogram(pt[label == k], edges)[0] for k in (0, 1)], axis=1).astype(float)
    w = flattening_weights(pt, label, counts, edges)
    for k, n in ((0, 4000), (1, 3000)):
        flat = np.histogram(pt[label == k], edges, weights=w[label == k])[0]
        assert np.allclose(flat, n / 10, rtol=1e-3)  # float32 weights
