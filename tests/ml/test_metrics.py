"""ROC curve, AUC and working points against scikit-learn and by hand."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from hepreco.ml import binary_metrics, roc_auc, roc_curve, roc_curve_from_histograms, working_point


@pytest.mark.parametrize("weighted", [False, True])
def test_roc_and_auc_match_sklearn_with_ties(weighted):
    rng = np.random.default_rng(3)
    y = rng.random(2000) < 0.3
    s = np.round(rng.normal(y * 1.2, 1.0), 1)  # rounding makes many ties
    w = rng.random(2000) + 0.5 if weighted else None
    roc = roc_curve(s, y, w)
    fpr, tpr, thr = sk_roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    np.testing.assert_allclose(roc.signal_acceptance, tpr)
    np.testing.assert_allclose(roc.background_efficiency, fpr)
    np.testing.assert_allclose(roc.threshold[1:], thr[1:])
    assert roc_auc(s, y, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)


def test_working_point_at_acceptance_and_at_rejection():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(1000, bool), np.zeros(1000, bool)]
    s = np.r_[rng.normal(2, 1, 1000), rng.normal(0, 1, 1000)]
    wp = working_point(s, y, signal_acceptance=0.99)
    assert wp.signal_acceptance >= 0.99
    assert (s[y] >= wp.threshold).mean() == pytest.approx(wp.signal_acceptance)
    assert (s[~y] < wp.threshold).mean() == pytest.approx(wp.background_rejection)
    # the highest cut that keeps 99%: one step up loses signal below the target
    higher = np.sort(np.unique(s))
    nxt = higher[np.searchsorted(higher, wp.threshold) + 1]
    assert (s[y] >= nxt).mean() < 0.99
    wr = working_point(s, y, background_rejection=0.97)
    assert wr.background_rejection >= 0.97
    assert (s[~y] < wr.threshold).mean() == pytest.approx(wr.background_rejection)


def test_perfect_and_inverted_classifiers():
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    wp = working_point([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], signal_acceptance=1.0)
    assert (wp.threshold, wp.signal_acceptance, wp.background_rejection) == (0.8, 1.0, 1.0)


def test_errors_are_explicit():
    with pytest.raises(ValueError, match="needs both classes"):
        roc_curve([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="labels must be 0/1"):
        roc_curve([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="differ in length"):
        roc_curve([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ValueError, match="exactly one"):
        working_point([0.1, 0.2], [0, 1])


def test_binary_metrics_figures():
    m = binary_metrics([0.1, 0.6, 0.4, 0.9], [0, 0, 1, 1], signal_acceptance=0.5)
    assert m["auc"] == 0.75
    assert m["signal_acceptance"] == 0.5 and m["background_rejection"] == 0.5 and m["accuracy"] == 0.5
    assert m["working_point"] == {"threshold": 0.9, "signal_acceptance": 0.5, "background_rejection": 1.0}
    assert roc_curve([0.1, 0.6, 0.4, 0.9], [0, 0, 1, 1]).to_dict()["threshold"][0] == 1e308


# --- issue 10, point 9: one implementation, from scores, histograms or a tabulated curve ------------------
def test_0010_roc_from_histograms_equals_sklearn_on_binned_scores():
    rng = np.random.default_rng(11)
    y = rng.uniform(size=3000) < 0.4
    s = np.clip(rng.normal(np.where(y, 0.65, 0.45), 0.2), 0, 1 - 1e-9)
    w = rng.uniform(0.2, 2.0, size=s.size)
    edges = np.linspace(0, 1, 51)
    binned = np.digitize(s, edges) - 1  # the bin index: scores in one bin tie
    sig = np.histogram(s[y], edges, weights=w[y])[0]
    bkg = np.histogram(s[~y], edges, weights=w[~y])[0]
    roc = roc_curve_from_histograms(sig, bkg, edges)
    assert roc.auc() == pytest.approx(roc_auc_score(y, binned, sample_weight=w), abs=1e-12)
    fpr, tpr, _ = sk_roc_curve(y, binned, sample_weight=w, drop_intermediate=False)
    assert np.allclose(np.interp(fpr, roc.background_efficiency, roc.signal_acceptance), tpr)
    # the same from hist.Hist objects (flow bins counted with the edge bins)
    import hist

    hs = hist.Hist(hist.axis.Regular(50, 0, 1), storage=hist.storage.Weight())
    hb = hs.copy()
    hs.fill(s[y], weight=w[y])
    hb.fill(s[~y], weight=w[~y])
    assert roc_curve_from_histograms(hs, hb).auc() == pytest.approx(roc.auc(), abs=1e-12)


def test_0010_working_point_on_a_tabulated_curve():
    from hepreco.ml import RocCurve

    roc = RocCurve([1.0, 0.75, 0.5, 0.25, 0.0], [0.2, 0.6, 0.8, 0.95, 0.97], [0.0, 0.01, 0.05, 0.3, 0.6])
    wp = roc.working_point(signal_acceptance=0.8)
    assert (wp.threshold, wp.signal_acceptance, wp.index) == (0.5, 0.8, 2)
    assert wp.background_rejection == pytest.approx(0.95)
    nowhere = roc.working_point(signal_acceptance=0.99)  # a grid that never keeps 99%
    assert np.isnan(nowhere.threshold) and nowhere.index == -1
    wr = roc.working_point(background_rejection=0.9)
    assert wr.threshold == 0.5
    with pytest.raises(ValueError, match="decrease"):
        RocCurve([0.0, 1.0], [0.5, 1.0], [0.5, 1.0])
