"""Issue 15: the Michel working point. ``lartpc.EmTrackMichelId`` calls hits Michel (``michel``) at its
``michel_threshold``: the checkpoint's recorded working point unless the config sets one (0.5 when neither does);
``lartpc.EmTrackMichelMetrics`` reports the efficiency and purity at that cut and the cut of the best F1."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepreco

torch = pytest.importorskip("torch")

from hepreco_lartpc.emtrkmichel_metrics import best_f1_cut  # noqa: E402
from hepreco_lartpc.emtrkmichel_spec import EmTrkMichelParams  # noqa: E402

from hepreco.ml import get_model, load_checkpoint, save_checkpoint  # noqa: E402

SMALL = EmTrkMichelParams(patch=16, filters=6, kernel=5, dense1=16, dense2=8)


def _net():
    spec = get_model("lartpc-emtrkmichel")
    torch.manual_seed(1)
    net = spec.build_model(SMALL)
    for p in net.parameters():
        p.data.normal_(0, 0.05)
    with torch.no_grad():
        net.michel.weight.normal_(0, 2.0)  # a spread of Michel scores, so that a cut splits the hits
    return spec, net


def _job(weights, metrics=None, **emt):
    return {
        "process": "emtwp",
        "seed": 5,
        "source": {"module": "lartpc.LArTPCSimSource", "events": 2, "batch_size": 2, "mode": "single",
                   "single_pdg": [-13], "single_momentum": [0.15, 0.25], "adc_images": True},
        "services": {"Device": {"device": "cpu"}},
        "modules": {
            "emt": {"module": "lartpc.EmTrackMichelId", "weights": str(weights), "mode": "batched", **emt},
            "metrics": {"module": "lartpc.EmTrackMichelMetrics", "scores": "emt", **(metrics or {})},
            "out": {"module": "RootOutput", "file": "emt.root", "keep": ["source:hits", "emt:*"]},
        },
        "paths": {"p": ["emt"]},
        "end_paths": {"o": ["out", "metrics"]},
    }  # fmt: skip


def _run(folder, monkeypatch, weights, metrics=None, **emt):
    import uproot

    folder.mkdir()
    monkeypatch.chdir(folder)
    res = hepreco.run(_job(weights, metrics, **emt))
    a = uproot.open("emt.root")["events"].arrays()
    score = ak.to_numpy(ak.flatten(a["emt_michel_score"]))
    called = ak.to_numpy(ak.flatten(a["emt_michel"]))
    assert ak.all(ak.num(a["emt_michel"]) == ak.num(a["hits_charge"]))
    return res, score, called.astype(bool), a


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same small random network without a working point, with one (at the 60% quantile of its Michel
    scores on the test's events) and with one overridden by the config (the 30% quantile)."""
    spec, net = _net()
    root = tmp_path_factory.mktemp("wp")
    mp = pytest.MonkeyPatch()
    try:
        plain = save_checkpoint(root / "plain", spec=spec, model=net, hparams=SMALL)
        out = {"plain": _run(root / "run_plain", mp, plain.path, metrics={"michel_cut": 0.52})}
        score = out["plain"][1]
        wp = {"michel_threshold": float(np.quantile(score, 0.6)), "criterion": "test"}
        marked = save_checkpoint(root / "marked", spec=spec, model=net, hparams=SMALL, extra={"working_point": wp})
        out["marked"] = _run(root / "run_marked", mp, marked.path)
        cut = float(np.quantile(score, 0.3))
        out["override"] = _run(root / "run_override", mp, marked.path, michel_threshold=cut)
    finally:
        mp.undo()
    return out, plain, marked, wp, cut


def test_the_checkpoints_working_point_is_the_michel_cut_and_the_config_overrides_it(runs):
    out, plain, marked, wp, cut = runs
    assert load_checkpoint(marked.path).working_point == wp
    assert load_checkpoint(plain.path).working_point == {}
    thr = wp["michel_threshold"]
    # no working point: 0.5
    res, score, called, _ = out["plain"]
    assert (res.summaries["emt"]["michel_threshold"], res.summaries["emt"]["michel_threshold_from"]) == (0.5, "default")
    assert np.array_equal(called, score >= np.float32(0.5))
    # the checkpoint's working point; the cuts split these hits (else the test could not tell them apart)
    res, score_m, called, _ = out["marked"]
    assert np.array_equal(score_m, score)  # same network, same events
    s = res.summaries["emt"]
    assert (s["michel_threshold"], s["michel_threshold_from"]) == (thr, "checkpoint")
    assert 0 < int(called.sum()) < len(score) and int(called.sum()) != int(np.sum(score >= np.float32(0.5)))
    assert np.array_equal(called, score >= np.float32(thr))
    assert s["michel_called"] == int(called.sum())
    # the config wins over the checkpoint's
    res, _, called, _ = out["override"]
    assert (res.summaries["emt"]["michel_threshold"], res.summaries["emt"]["michel_threshold_from"]) == (cut, "config")
    assert np.array_equal(called, score >= np.float32(cut))
    assert called.sum() > np.sum(score >= np.float32(thr))


def test_the_metrics_report_the_producers_cut_and_the_best_f1_cut(runs):
    res, score, called, a = runs[0]["marked"]
    m = res.summaries["metrics"]
    label = ak.to_numpy(ak.flatten(a["hits_label"]))
    michel = ak.to_numpy(ak.flatten(a["hits_michel"])).astype(bool)
    real = label > 0  # hits with a true particle
    true_m = michel[real]
    assert true_m.sum() > 0  # mu+ decays give Michel electrons
    tp = int(np.sum(called[real] & true_m))
    assert m["michel_cut"] == "emt:michel" and m["michel_called"] == int(called[real].sum())
    assert m["michel_efficiency"] == pytest.approx(tp / true_m.sum(), abs=1e-5)
    assert m["michel_purity"] == pytest.approx(tp / called[real].sum(), abs=1e-5)
    # the best-F1 cut, recomputed from the hits at the 0.001 bin edges
    cuts = np.arange(1001) / 1000
    sc = score[real].astype(np.float64)
    f1 = [2 * np.sum((sc >= c) & true_m) / (np.sum(sc >= c) + true_m.sum()) for c in cuts]
    k = int(np.argmax(f1))
    assert m["michel_best_f1"] == pytest.approx(f1[k], abs=1e-4)
    assert m["michel_best_f1_cut"] == pytest.approx(cuts[k], abs=1.5e-3)
    e = np.sum((sc >= cuts[k]) & true_m) / true_m.sum()
    assert m["michel_best_f1_efficiency"] == pytest.approx(e, abs=2e-3)
    # michel_cut set: the figures at that cut (a bin edge) from the score histogram, not from the product
    res = runs[0]["plain"][0]
    m = res.summaries["metrics"]
    sel = sc >= 0.52
    assert not np.array_equal(sel, called[real])
    assert m["michel_cut"] == 0.52 and m["michel_called"] == int(sel.sum())
    assert m["michel_efficiency"] == pytest.approx(np.sum(sel & true_m) / true_m.sum(), abs=1e-5)


def test_best_f1_cut_picks_the_harmonic_mean_maximum():
    sig = np.array([0.0, 0, 5, 5])
    bkg = np.array([100.0, 3, 0, 20])
    f = best_f1_cut(sig, bkg, np.array([0.0, 0.25, 0.5, 0.75]))
    # cut 0.5: tp 10, fp 20 -> F1 20/40; 0.25: 20/43; 0.75: tp 5, fp 20 -> 10/35; 0: 20/133
    assert f["cut"] == 0.5 and f["f1"] == pytest.approx(0.5) and f["efficiency"] == 1.0
    assert f["purity"] == pytest.approx(1 / 3)
    assert np.isnan(best_f1_cut(np.zeros(3), np.ones(3), np.arange(3) / 3)["cut"])
