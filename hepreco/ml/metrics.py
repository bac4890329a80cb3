"""This module defines the metrics every binary classifier shares: ROC curve, AUC and working points.

Physics names are used throughout: the *signal acceptance* is the fraction of signal entries selected
(true-positive rate) and the *background rejection* the fraction of background entries not selected
(1 - false-positive rate). An entry is selected when its score is ``>= threshold``. Everything is
numpy (no torch, no scikit-learn) and accepts optional per-entry weights.

This is the one implementation of ROC curves, AUC and working points in hepreco and its plugins: from
scores (:func:`roc_curve`), from mergeable score histograms (:func:`roc_curve_from_histograms`), or from any
tabulated curve of acceptance against a cut (a :class:`RocCurve` built directly, e.g. event-averaged rates).
The AUC counts tied scores (or scores in one histogram bin) one half, as scikit-learn's ``roc_auc_score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "RocCurve",
    "WorkingPoint",
    "binary_metrics",
    "roc_auc",
    "roc_curve",
    "roc_curve_from_histograms",
    "scores_and_labels",
    "working_point",
]


@dataclass(frozen=True)
class RocCurve:
    """A ROC curve: one point per distinct score threshold, from the strictest to the loosest.

    Attributes:
        threshold: the cut values, decreasing; the first is ``+inf`` (nothing selected).
        signal_acceptance: fraction of signal with score ``>= threshold`` (increasing).
        background_efficiency: fraction of background with score ``>= threshold`` (increasing).
    """

    threshold: np.ndarray
    signal_acceptance: np.ndarray
    background_efficiency: np.ndarray

    def __post_init__(self) -> None:
        for name in ("threshold", "signal_acceptance", "background_efficiency"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        if not (self.threshold.shape == self.signal_acceptance.shape == self.background_efficiency.shape):
            msg = "a ROC curve needs one signal acceptance and one background efficiency per threshold"
            raise ValueError(msg)
        if self.threshold.size > 1 and np.any(np.diff(self.threshold) >= 0):
            msg = "the thresholds of a ROC curve must decrease strictly (from the strictest cut to the loosest)"
            raise ValueError(msg)

    @property
    def background_rejection(self) -> np.ndarray:
        """``1 - background_efficiency``."""
        return 1.0 - self.background_efficiency

    def auc(self) -> float:
        """The area under the curve (trapezoids), 0.5 for a random classifier, 1 for a perfect one."""
        return float(np.trapezoid(self.signal_acceptance, self.background_efficiency))

    def working_point(
        self, *, signal_acceptance: float | None = None, background_rejection: float | None = None
    ) -> WorkingPoint:
        """The working point on this curve for a target signal acceptance (or background rejection).

        With ``signal_acceptance``: the strictest cut (highest threshold) whose acceptance is at least the
        target, so the best rejection that keeps that much signal. With ``background_rejection``: the
        loosest cut whose rejection is at least the target, so the best acceptance at that rejection. When
        no point reaches the target (a curve on a grid of cuts), the working point is NaN with index -1.

        Examples:
            >>> roc = RocCurve([0.9, 0.5, 0.1], [0.5, 0.99, 1.0], [0.0, 0.3, 1.0])
            >>> wp = roc.working_point(signal_acceptance=0.99)
            >>> wp.threshold, wp.background_rejection, wp.index
            (0.5, 0.7, 1)
        """
        if (signal_acceptance is None) == (background_rejection is None):
            msg = "give exactly one of signal_acceptance or background_rejection"
            raise ValueError(msg)
        acc, rej = self.signal_acceptance, self.background_rejection
        if signal_acceptance is not None:
            if not 0.0 <= signal_acceptance <= 1.0:
                raise ValueError(f"signal_acceptance must be in [0, 1], got {signal_acceptance}")
            ok = np.flatnonzero(acc >= signal_acceptance - 1e-12)
            i = int(ok[0]) if ok.size else -1
        else:
            assert background_rejection is not None
            if not 0.0 <= background_rejection <= 1.0:
                raise ValueError(f"background_rejection must be in [0, 1], got {background_rejection}")
            ok = np.flatnonzero(rej >= background_rejection - 1e-12)
            i = int(ok[-1]) if ok.size else -1
        if i < 0:
            nan = float("nan")
            return WorkingPoint(nan, nan, nan, index=-1)
        return WorkingPoint(float(self.threshold[i]), float(acc[i]), float(rej[i]), index=i)

    def to_dict(self, max_points: int = 200) -> dict[str, list[float]]:
        """A JSON-able copy, thinned to at most ``max_points`` points (first and last kept)."""
        n = len(self.threshold)
        idx = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int)) if n else np.zeros(0, int)
        thr = self.threshold[idx]
        return {
            "threshold": [float(t) if np.isfinite(t) else 1e308 for t in thr],
            "signal_acceptance": self.signal_acceptance[idx].tolist(),
            "background_efficiency": self.background_efficiency[idx].tolist(),
        }


@dataclass(frozen=True)
class WorkingPoint:
    """A cut on the score and what it gives: select entries with ``score >= threshold``."""

    threshold: float
    signal_acceptance: float
    background_rejection: float
    #: the point's index on its :class:`RocCurve` (-1: no point reached the target)
    index: int | None = None

    def to_dict(self) -> dict[str, float]:
        return {
            "threshold": self.threshold,
            "signal_acceptance": self.signal_acceptance,
            "background_rejection": self.background_rejection,
        }


def _prepare(scores: Any, labels: Any, weights: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if y.dtype != np.bool_:
        y = y.astype(np.float64)
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            msg = f"labels must be 0/1 or bool; found {np.unique(y[bad])[:5].tolist()}"
            raise ValueError(msg)
        y = y.astype(bool)
    if s.shape != y.shape:
        msg = f"scores ({s.shape[0]}) and labels ({y.shape[0]}) differ in length"
        raise ValueError(msg)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != s.shape:
        msg = f"weights ({w.shape[0]}) and scores ({s.shape[0]}) differ in length"
        raise ValueError(msg)
    if np.isnan(s).any():
        msg = "scores contain NaN"
        raise ValueError(msg)
    return s, y, w


def roc_curve(scores: Any, labels: Any, weights: Any = None) -> RocCurve:
    """The ROC curve of ``scores`` for binary ``labels`` (1/True = signal).

    Tied scores make one point (entries with equal scores are selected together).

    Args:
        scores: one score per entry, larger = more signal-like.
        labels: 1/True for signal, 0/False for background.
        weights: optional per-entry weights.

    Returns:
        A :class:`RocCurve`.

    Raises:
        ValueError: lengths differ, labels are not binary, or one class is empty.

    Examples:
        >>> roc = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        >>> roc.signal_acceptance.tolist(), roc.background_efficiency.tolist()
        ([0.0, 0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5, 1.0])
        >>> roc.auc()
        0.75
    """
    s, y, w = _prepare(scores, labels, weights)
    total_s = float(w[y].sum())
    total_b = float(w[~y].sum())
    if total_s <= 0 or total_b <= 0:
        msg = f"a ROC curve needs both classes: signal weight {total_s}, background weight {total_b}"
        raise ValueError(msg)
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    tps = np.cumsum(np.where(y, w, 0.0))
    fps = np.cumsum(np.where(y, 0.0, w))
    # the last index of each run of equal scores
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    thr = np.r_[np.inf, s[last]]
    tpr = np.r_[0.0, tps[last] / total_s]
    fpr = np.r_[0.0, fps[last] / total_b]
    return RocCurve(thr, np.minimum(tpr, 1.0), np.minimum(fpr, 1.0))


def roc_auc(scores: Any, labels: Any, weights: Any = None) -> float:
    """The area under the ROC curve (the probability that a signal entry outscores a background one).

    Examples:
        >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
    """
    return roc_curve(scores, labels, weights).auc()


def working_point(
    scores: Any,
    labels: Any,
    *,
    signal_acceptance: float | None = None,
    background_rejection: float | None = None,
    weights: Any = None,
) -> WorkingPoint:
    """The cut that reaches a target signal acceptance (or background rejection), and what it gives.

    With ``signal_acceptance``: the highest threshold whose acceptance is at least the target (so the
    best rejection that keeps that much signal). With ``background_rejection``: the lowest threshold
    whose rejection is at least the target (so the best acceptance at that rejection).

    Examples:
        >>> wp = working_point([0.1, 0.2, 0.3, 0.6, 0.7, 0.9], [0, 0, 1, 0, 1, 1], signal_acceptance=0.6)
        >>> wp.threshold, round(wp.signal_acceptance, 3), round(wp.background_rejection, 3)
        (0.7, 0.667, 1.0)
    """
    return roc_curve(scores, labels, weights).working_point(
        signal_acceptance=signal_acceptance, background_rejection=background_rejection
    )


def roc_curve_from_histograms(signal: Any, background: Any, edges: Any = None) -> RocCurve:
    """The ROC curve of scores histogrammed per class: a cut at each bin's lower edge, from the top.

    Histograms merge by addition, so this is the ROC curve (and AUC) of a job run in chunks. Entries in
    one bin count as tied (one half in the AUC), so the AUC equals :func:`roc_auc` of the scores rounded
    to their bins.

    Args:
        signal, background: counts (or sums of weights) per bin in increasing score, or two 1-d
            ``hist.Hist`` on the same axis (their flow bins, if any, count below the first and above the
            last edge).
        edges: the ``n + 1`` bin edges (taken from the histograms when they are ``hist.Hist``).

    Examples:
        >>> roc = roc_curve_from_histograms([1, 1, 0, 0], [0, 1, 1, 0], [0.0, 0.25, 0.5, 0.75, 1.0])
        >>> roc.threshold.tolist(), roc.auc()
        ([inf, 0.75, 0.5, 0.25, 0.0], 0.125)
    """
    if hasattr(signal, "axes"):
        if edges is None:
            edges = signal.axes[0].edges
        sig = np.asarray(signal.values(flow=True), dtype=np.float64)
        bkg = np.asarray(background.values(flow=True), dtype=np.float64)
        ax = signal.axes[0]
        under, over = bool(ax.traits.underflow), bool(ax.traits.overflow)
        lo, hi = int(under), len(sig) - int(over)
        # the underflow joins the first bin (never selected apart), the overflow the last
        if under:
            sig[1] += sig[0]
            bkg[1] += bkg[0]
        if over:
            sig[hi - 1] += sig[hi]
            bkg[hi - 1] += bkg[hi]
        sig, bkg = sig[lo:hi], bkg[lo:hi]
    else:
        sig = np.asarray(signal, dtype=np.float64).ravel()
        bkg = np.asarray(background, dtype=np.float64).ravel()
    edges = np.arange(sig.size + 1, dtype=np.float64) if edges is None else np.asarray(edges, dtype=np.float64)
    if not (sig.shape == bkg.shape and edges.size == sig.size + 1):
        msg = f"signal ({sig.size} bins), background ({bkg.size} bins) and edges ({edges.size}) do not match"
        raise ValueError(msg)
    total_s, total_b = float(sig.sum()), float(bkg.sum())
    if total_s <= 0 or total_b <= 0:
        msg = f"a ROC curve needs both classes: signal {total_s}, background {total_b}"
        raise ValueError(msg)
    tps = np.cumsum(sig[::-1])
    fps = np.cumsum(bkg[::-1])
    thr = np.r_[np.inf, edges[:-1][::-1]]
    return RocCurve(thr, np.minimum(np.r_[0.0, tps / total_s], 1.0), np.minimum(np.r_[0.0, fps / total_b], 1.0))


def binary_metrics(
    scores: Any,
    labels: Any,
    weights: Any = None,
    *,
    signal_acceptance: float = 0.99,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """The figures reported for a binary classifier: AUC, the working point at ``signal_acceptance``,
    and acceptance, rejection and accuracy at a fixed ``threshold``.

    Examples:
        >>> m = binary_metrics([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], signal_acceptance=0.5)
        >>> m["auc"], m["working_point"]["threshold"], m["accuracy"]
        (0.75, 0.8, 0.75)
    """
    s, y, w = _prepare(scores, labels, weights)
    roc = roc_curve(s, y, w)
    wp = working_point(s, y, signal_acceptance=signal_acceptance, weights=w)
    sel = s >= threshold
    acc_s = float(w[sel & y].sum() / w[y].sum())
    rej_b = float(w[~sel & ~y].sum() / w[~y].sum())
    accuracy = float(w[sel == y].sum() / w.sum())
    return {
        "auc": roc.auc(),
        "entries": len(s),
        "signal": float(w[y].sum()),
        "background": float(w[~y].sum()),
        "working_point": wp.to_dict(),
        "threshold": float(threshold),
        "signal_acceptance": acc_s,
        "background_rejection": rej_b,
        "accuracy": accuracy,
    }


def scores_and_labels(pred: np.ndarray, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Flat scores, labels and weights of a binary classifier's predictions on ``data`` (a TrainData):
    the predictions reshaped to the target's shape, and only the elements where ``data.mask`` is set."""
    assert data.target is not None
    target = np.asarray(data.target)
    p = np.asarray(pred)
    if p.shape != target.shape:
        if p.size != target.size:
            msg = f"the model's output has shape {p.shape}, the target {target.shape}"
            raise ValueError(msg)
        p = p.reshape(target.shape)
    sel = (
        np.ones(target.shape, dtype=bool)
        if data.mask is None
        else np.broadcast_to(np.asarray(data.mask).astype(bool), target.shape)
    )
    w = None
    if data.weight is not None:
        weight = np.asarray(data.weight, dtype=np.float64)
        w = np.broadcast_to(weight.reshape(weight.shape + (1,) * (target.ndim - weight.ndim)), target.shape)[sel]
    return p[sel].astype(np.float64), target[sel].astype(bool), w
