"""Issue 10, point 5: the results modules compute are written as ROOT objects under results/<label>/ of the
histogram file (TGraph, TGraphAsymmErrors with binomial errors, TH1 with their errors); the mergeable
accumulators apart, under internal/<label>/."""

from __future__ import annotations

import hist
import numpy as np
import pytest
import uproot

import hepreco
from hepreco.services.histograms import write_histograms

TOY = {"x": [0.1, 0.4, 0.7], "y": [0.9, 0.8, 0.5]}


def test_0010_graphs_are_written_as_root_graphs(tmp_path):
    eff = hepreco.efficiency_graph([1.0, 2.0, 3.0], [2, 5, 9], [10, 10, 10], xlabel="cut", title="acceptance")
    line = hepreco.Graph(TOY["x"], TOY["y"], title="ROC", xlabel="signal acceptance", ylabel="background rejection")
    h = hist.Hist(hist.axis.Regular(3, 0, 3), storage=hist.storage.Weight())
    h.fill([0.5, 1.5, 1.5], weight=[2.0, 1.0, 3.0])
    acc = hist.Hist(hist.axis.Integer(0, 3, name="cut"))
    hepreco_internal = {"mod": {"sums": acc, "visible": h.copy()}}
    acc._hepreco_internal = True
    write_histograms(tmp_path / "r.root", hepreco_internal, {"mod": {"eff": eff, "roc": line, "res": h}})
    with uproot.open(tmp_path / "r.root") as f:
        classes = {k.split(";")[0]: v for k, v in f.classnames().items()}
        assert classes["results/mod/eff"] == "TGraphAsymmErrors"
        assert classes["results/mod/roc"] == "TGraph"
        assert classes["results/mod/res"] == "TH1D"
        assert classes["internal/mod/sums"] == "TH1D" and classes["mod/visible"] == "TH1D"
        assert "mod/sums" not in classes
        g = f["results/mod/eff"]
        x, y = g.values()
        assert x.tolist() == [1.0, 2.0, 3.0] and y.tolist() == [0.2, 0.5, 0.9]
        eff_, lo, hi = hepreco.binomial_interval([2, 5, 9], [10, 10, 10])
        np.testing.assert_allclose(g.errors("low")[1], eff_ - lo)
        np.testing.assert_allclose(g.errors("high")[1], hi - eff_)
        assert g.member("fTitle").startswith("acceptance;cut")
        np.testing.assert_allclose(f["results/mod/res"].errors(), [2.0, np.sqrt(10.0), 0.0])


def test_0010_put_result_checks_what_it_is_given(tmp_path):
    from hepreco.services.histograms import Histograms

    svc = Histograms.__new__(Histograms)
    svc.histograms, svc.results = {}, {}
    with pytest.raises(TypeError, match=r"hepreco\.Graph or a hist\.Hist"):
        svc.put_result("mod", "x", [1, 2, 3])
    with pytest.raises(ValueError, match="directory of the histogram file"):
        svc.put_result("results", "x", hepreco.Graph([1], [2]))
    with pytest.raises(ValueError, match="no '/'"):
        svc.put_result("mod", "a/b", hepreco.Graph([1], [2]))


def test_0010_binomial_interval_against_scipy():
    from scipy.stats import beta

    k, n = np.array([0, 3, 10, 7]), np.array([10, 10, 10, 20])
    eff, lo, hi = hepreco.binomial_interval(k, n, method="clopper-pearson")
    a = (1 - 0.682689492137086) / 2
    np.testing.assert_allclose(lo, np.where(k > 0, beta.ppf(a, k, n - k + 1), 0.0))
    np.testing.assert_allclose(hi, np.where(k < n, beta.ppf(1 - a, k + 1, n - k), 1.0))
    eff, lo, hi = hepreco.binomial_interval(k, n)  # Wilson: inside [0, 1], around the efficiency
    assert np.all((lo <= eff) & (eff <= hi) & (lo >= 0) & (hi <= 1))
    assert lo[0] == 0 and 0 < hi[0] < 0.2
