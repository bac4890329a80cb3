"""Per-event acceptance and rejection as the talk defines them, the threshold scan and its working point
(hepreco.ml's: the plugin has no AUC or working-point code of its own, issue 10 point 9)."""

from __future__ import annotations

import hepreco_comet.acceptance
import numpy as np
import pytest
from hepreco_comet.acceptance import ThresholdScan, event_rates
from hypothesis import given, settings
from hypothesis import strategies as st

from hepreco.ml import RocCurve, WorkingPoint, roc_auc, roc_curve_from_histograms


def test_per_event_rates_by_hand():
    # event 0: 2 signal (1 found), 3 background (1 false positive, 1 removed by the energy cut)
    # event 1: 1 signal (found), no background
    offsets = np.array([0, 5, 6])
    score = np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.95])
    sig = np.array([True, True, False, False, False, True])
    kept = np.array([True, True, True, True, False, True])
    r = event_rates(offsets, score, sig, 0.5, kept=kept)
    assert r["acceptance_after_cut"].tolist() == [0.5, 1.0]
    assert r["rejection_after_cut"][0] == pytest.approx(0.5)
    assert np.isnan(r["rejection_after_cut"][1])
    assert r["rejection_whole"][0] == pytest.approx(1 - 1 / 3)
    # the talk's relation, per event: rejection_whole = f + (1 - f) rejection_after_cut
    f = 1 / 3
    assert r["rejection_whole"][0] == pytest.approx(f + (1 - f) * r["rejection_after_cut"][0])


def test_signal_removed_by_the_cut_counts_as_lost_against_the_whole_data():
    r = event_rates(np.array([0, 2]), np.array([0.9, 0.9]), np.array([True, True]), 0.5, kept=np.array([True, False]))
    assert r["acceptance_after_cut"][0] == 1.0 and r["acceptance_whole"][0] == 0.5


@st.composite
def batch(draw):
    n_ev = draw(st.integers(1, 6))
    counts = draw(st.lists(st.integers(0, 12), min_size=n_ev, max_size=n_ev))
    n = sum(counts)
    score = np.array(draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.77, 1.0]), min_size=n, max_size=n)))
    sig = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    kept = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), score, sig, kept


@settings(max_examples=60, deadline=None)
@given(batch(), st.integers(0, 6))
def test_scan_equals_event_rates_and_merges_exactly(b, split):
    offsets, score, sig, kept = b
    grid = np.linspace(0, 1, 11)
    whole = ThresholdScan(grid)
    whole.fill(offsets, score, sig, kept=kept)
    # per threshold: the mean of event_rates
    for k in (0, 3, 5, 10):
        r = event_rates(offsets, score, sig, grid[k], kept=kept)
        for key, got in (
            ("acceptance_after_cut", whole.acceptance()[k]),
            ("rejection_after_cut", whole.rejection()[k]),
            ("acceptance_whole", whole.acceptance(whole=True)[k]),
            ("rejection_whole", whole.rejection(whole=True)[k]),
        ):
            v = r[key][~np.isnan(r[key])]
            assert (np.isnan(got) and v.size == 0) or got == pytest.approx(v.mean())
    # two batches merged with + equal one batch
    s = min(split, len(offsets) - 1)
    parts = []
    for lo, hi in ((0, s), (s, len(offsets) - 1)):
        part = ThresholdScan(grid)
        o = offsets[lo : hi + 1]
        sl = slice(o[0], o[-1])
        part.fill(o - o[0], score[sl], sig[sl], kept=kept[sl])
        parts.append(part)
    merged = parts[0] + parts[1]
    for name in ("sum_acc", "sum_rej", "sum_acc_whole", "sum_rej_whole", "n_events_pos", "n_events_neg"):
        assert np.allclose(getattr(merged, name), getattr(whole, name))
    assert merged.cut_fraction() == pytest.approx(whole.cut_fraction(), nan_ok=True)


def test_0010_the_plugin_uses_hepreco_ml_metrics():
    for name in ("auc", "working_point", "ScoreHistogram"):
        assert not hasattr(hepreco_comet.acceptance, name)


def test_histogram_roc_matches_exact_auc_and_merges():
    rng = np.random.default_rng(3)
    lab = rng.uniform(size=5000) < 0.3
    score = np.clip(rng.normal(np.where(lab, 0.7, 0.4), 0.15), 0, 0.999999)
    edges = np.linspace(0, 1, 10001)
    parts = [(np.histogram(score[sl][lab[sl]], edges)[0], np.histogram(score[sl][~lab[sl]], edges)[0])
             for sl in (slice(0, 2000), slice(2000, None))]  # fmt: skip
    roc = roc_curve_from_histograms(parts[0][0] + parts[1][0], parts[0][1] + parts[1][1], edges)
    assert roc.auc() == pytest.approx(roc_auc(score, lab), abs=1e-3)
    assert roc.background_efficiency[0] == 0 and roc.signal_acceptance[-1] == 1
    assert np.all(np.diff(roc.signal_acceptance) >= 0)


def test_scan_working_point_is_the_tightest_cut_meeting_the_target():
    scan = ThresholdScan(np.linspace(0, 1, 5))
    # one event per hit: per-event rates are 0/1 and their means the fractions of hits above each cut
    score = np.array([0.1, 0.3, 0.6, 0.8, 0.9, 0.2, 0.4, 0.7])
    sig = np.array([True] * 5 + [False] * 3)
    scan.fill(np.arange(9), score, sig)
    roc = scan.roc()
    assert isinstance(roc, RocCurve) and roc.threshold.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    wp = scan.working_point(0.8)
    assert isinstance(wp, WorkingPoint)
    assert (wp.threshold, wp.signal_acceptance, wp.index) == (0.25, 0.8, 1)
    assert wp.background_rejection == pytest.approx(1 / 3)
    assert scan.working_point(1.0).threshold == 0.0  # every signal hit is above the loosest cut
    empty = ThresholdScan(np.linspace(0, 1, 5))
    assert np.isnan(empty.working_point(0.5).threshold) and empty.working_point(0.5).index == -1


def test_0010_scan_errors_are_the_standard_errors_of_the_event_means():
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 30, size=40)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    n = int(offsets[-1])
    sig = rng.uniform(size=n) < 0.4
    score = np.clip(rng.normal(np.where(sig, 0.7, 0.3), 0.2), 0, 1)
    grid = np.linspace(0, 1, 11)
    scan = ThresholdScan(grid)
    half = 20
    for lo, hi in ((0, half), (half, 40)):  # filled in two batches: the sums merge
        o = offsets[lo : hi + 1]
        scan.fill(o - o[0], score[o[0] : o[-1]], sig[o[0] : o[-1]])
    for k in (2, 5, 8):
        r = event_rates(offsets, score, sig, grid[k])
        for key, err in (
            ("acceptance_after_cut", scan.acceptance_error()),
            ("rejection_after_cut", scan.rejection_error()),
        ):
            v = r[key][~np.isnan(r[key])]
            assert err[k] == pytest.approx(v.std(ddof=1) / np.sqrt(v.size))


def test_scan_rejects_a_bad_grid():
    with pytest.raises(ValueError, match="strictly increasing"):
        ThresholdScan(np.array([0.0, 0.5, 0.5]))
