"""This module defines the hit-classification metrics of the talk: per-event acceptance and rejection.

For one event and a threshold on the per-hit score (a hit is called signal when ``score >= threshold``):

- signal acceptance = 1 - FN / (signal hits), background rejection = 1 - FP / (background hits);
- both are averaged over events (events without signal, or without background, do not enter that
  average), exactly as the talk defines them;
- "after the energy cut" counts only the hits that survive the preprocessing cut (``kept``);
  "against the whole data" counts every hit, those removed by the cut being called background:
  rejection_whole = f + (1 - f) x rejection_after_cut per event, f the event's background fraction cut
  (the talk: 0.27 + 0.73 x rejection_after_cut).

Positive and negative classes are masks, so the same code scores the turn-1 task (positives: first-turn
signal hits, negatives: later-turn signal hits). The scan over thresholds accumulates sums that merge
by addition (:class:`ThresholdScan`), so results from many batches, processes or machines combine exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

from hepreco.ml import RocCurve, WorkingPoint

__all__ = ["ThresholdScan", "event_rates"]


@nb.njit(cache=True)
def _event_rates(
    offsets: np.ndarray,
    score: np.ndarray,
    positive: np.ndarray,
    negative: np.ndarray,
    kept: np.ndarray,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per event and threshold: true positives and false positives among kept hits; and per event the
    numbers of positives and negatives, kept and in all (columns 0 and 1 of the last two outputs)."""
    n_ev = offsets.shape[0] - 1
    n_th = thresholds.shape[0]
    tp = np.zeros((n_ev, n_th), dtype=np.int64)
    fp = np.zeros((n_ev, n_th), dtype=np.int64)
    n_pos = np.zeros((n_ev, 2), dtype=np.int64)
    n_neg = np.zeros((n_ev, 2), dtype=np.int64)
    for ev in range(n_ev):
        for i in range(offsets[ev], offsets[ev + 1]):
            pos = positive[i]
            neg = negative[i]
            if not (pos or neg):
                continue
            if pos:
                n_pos[ev, 1] += 1
            else:
                n_neg[ev, 1] += 1
            if not kept[i]:
                continue
            if pos:
                n_pos[ev, 0] += 1
            else:
                n_neg[ev, 0] += 1
            s = score[i]
            # thresholds ascending: the hit is called positive for every threshold <= s
            k = np.searchsorted(thresholds, s, side="right")
            if pos:
                for j in range(k):
                    tp[ev, j] += 1
            else:
                for j in range(k):
                    fp[ev, j] += 1
    return tp, fp, n_pos, n_neg


def _as_flat(offsets, score, positive, negative, kept):  # type: ignore[no-untyped-def]
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    n = int(offsets[-1])
    score = np.ascontiguousarray(score, dtype=np.float64)
    positive = np.ascontiguousarray(positive, dtype=np.bool_)
    negative = np.ascontiguousarray(~positive if negative is None else negative, dtype=np.bool_)
    kept = np.ones(n, dtype=np.bool_) if kept is None else np.ascontiguousarray(kept, dtype=np.bool_)
    for name, arr in (("score", score), ("positive", positive), ("negative", negative), ("kept", kept)):
        if arr.shape != (n,):
            msg = f"'{name}' has shape {arr.shape}; the offsets say {n} hits"
            raise ValueError(msg)
    if np.any(np.isnan(score[kept])):
        msg = "scores of kept hits contain NaN"
        raise ValueError(msg)
    return offsets, score, positive, negative, kept


def event_rates(
    offsets: np.ndarray,
    score: np.ndarray,
    positive: np.ndarray,
    threshold: float,
    *,
    negative: np.ndarray | None = None,
    kept: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-event acceptance and rejection at one threshold.

    Args:
        offsets: ``n_events + 1`` offsets of each event's hits.
        score: per hit; called positive when ``score >= threshold``.
        positive: per hit, the positive class (e.g. ``is_signal``).
        threshold: the cut on the score.
        negative: per hit, the negative class (default: not positive).
        kept: per hit, survived the preprocessing cut (default: all).

    Returns:
        ``acceptance_after_cut``, ``rejection_after_cut``, ``acceptance_whole``, ``rejection_whole``:
        one value per event, NaN where the event has no hit of the class.

    Examples:
        >>> r = event_rates(np.array([0, 4]), np.array([0.9, 0.2, 0.8, 0.1]),
        ...                 np.array([True, True, False, False]), 0.5)
        >>> float(r["acceptance_after_cut"][0]), float(r["rejection_after_cut"][0])
        (0.5, 0.5)
    """
    offsets, score, positive, negative, kept = _as_flat(offsets, score, positive, negative, kept)
    tp, fp, n_pos, n_neg = _event_rates(offsets, score, positive, negative, kept, np.array([float(threshold)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "acceptance_after_cut": np.where(n_pos[:, 0] > 0, tp[:, 0] / n_pos[:, 0], np.nan),
            "rejection_after_cut": np.where(n_neg[:, 0] > 0, 1 - fp[:, 0] / n_neg[:, 0], np.nan),
            "acceptance_whole": np.where(n_pos[:, 1] > 0, tp[:, 0] / n_pos[:, 1], np.nan),
            "rejection_whole": np.where(n_neg[:, 1] > 0, 1 - fp[:, 0] / n_neg[:, 1], np.nan),
        }


@dataclass
class ThresholdScan:
    """Event-averaged acceptance and rejection on a grid of thresholds, accumulated batch by batch.

    Holds sums (of per-event rates, and of events counted), so two scans of the same grid merge with
    ``+``; the empty scan is the identity.

    Examples:
        >>> scan = ThresholdScan(np.linspace(0, 1, 11))
        >>> scan.fill(np.array([0, 4]), np.array([0.9, 0.2, 0.8, 0.1]), np.array([True, True, False, False]))
        >>> float(scan.acceptance()[5]), float(scan.rejection()[5])
        (0.5, 0.5)
    """

    thresholds: np.ndarray
    sum_acc: np.ndarray = field(init=False)
    sum_rej: np.ndarray = field(init=False)
    sum_acc_whole: np.ndarray = field(init=False)
    sum_rej_whole: np.ndarray = field(init=False)
    #: sums of the squared per-event rates (after the cut, against the whole data): the errors of the means
    sum_acc2: np.ndarray = field(init=False)
    sum_rej2: np.ndarray = field(init=False)
    sum_acc2_whole: np.ndarray = field(init=False)
    sum_rej2_whole: np.ndarray = field(init=False)
    n_events_pos: np.ndarray = field(init=False)  # [after cut, whole]
    n_events_neg: np.ndarray = field(init=False)
    cut_fraction_sum: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.thresholds = np.asarray(self.thresholds, dtype=np.float64)
        if self.thresholds.ndim != 1 or np.any(np.diff(self.thresholds) <= 0):
            msg = "thresholds must be a strictly increasing 1-d array"
            raise ValueError(msg)
        n = self.thresholds.size
        self.sum_acc, self.sum_rej = np.zeros(n), np.zeros(n)
        self.sum_acc_whole, self.sum_rej_whole = np.zeros(n), np.zeros(n)
        self.sum_acc2, self.sum_rej2 = np.zeros(n), np.zeros(n)
        self.sum_acc2_whole, self.sum_rej2_whole = np.zeros(n), np.zeros(n)
        self.n_events_pos = np.zeros(2, dtype=np.int64)
        self.n_events_neg = np.zeros(2, dtype=np.int64)

    def fill(
        self,
        offsets: np.ndarray,
        score: np.ndarray,
        positive: np.ndarray,
        *,
        negative: np.ndarray | None = None,
        kept: np.ndarray | None = None,
    ) -> None:
        """Add the events of one batch (arguments as :func:`event_rates`)."""
        offsets, score, positive, negative, kept = _as_flat(offsets, score, positive, negative, kept)
        tp, fp, n_pos, n_neg = _event_rates(offsets, score, positive, negative, kept, self.thresholds)
        for col in range(2):
            has_pos = n_pos[:, col] > 0
            has_neg = n_neg[:, col] > 0
            acc_ev = tp[has_pos] / n_pos[has_pos, col, None]
            rej_ev = 1.0 - fp[has_neg] / n_neg[has_neg, col, None]
            acc, rej = acc_ev.sum(axis=0), rej_ev.sum(axis=0)
            acc2, rej2 = (acc_ev * acc_ev).sum(axis=0), (rej_ev * rej_ev).sum(axis=0)
            if col == 0:
                self.sum_acc += acc
                self.sum_rej += rej
                self.sum_acc2 += acc2
                self.sum_rej2 += rej2
            else:
                self.sum_acc_whole += acc
                self.sum_rej_whole += rej
                self.sum_acc2_whole += acc2
                self.sum_rej2_whole += rej2
            self.n_events_pos[col] += int(has_pos.sum())
            self.n_events_neg[col] += int(has_neg.sum())
        has_neg = n_neg[:, 1] > 0
        self.cut_fraction_sum += float((1.0 - n_neg[has_neg, 0] / n_neg[has_neg, 1]).sum())

    def __add__(self, other: ThresholdScan) -> ThresholdScan:
        if not np.array_equal(self.thresholds, other.thresholds):
            msg = "cannot merge threshold scans with different grids"
            raise ValueError(msg)
        out = ThresholdScan(self.thresholds)
        for name in ("sum_acc", "sum_rej", "sum_acc_whole", "sum_rej_whole", "sum_acc2", "sum_rej2",
                     "sum_acc2_whole", "sum_rej2_whole", "n_events_pos", "n_events_neg"):  # fmt: skip
            setattr(out, name, getattr(self, name) + getattr(other, name))
        out.cut_fraction_sum = self.cut_fraction_sum + other.cut_fraction_sum
        return out

    def _mean(self, s: np.ndarray, n: int) -> np.ndarray:
        return s / n if n > 0 else np.full_like(s, np.nan)

    def acceptance(self, *, whole: bool = False) -> np.ndarray:
        """Event-averaged acceptance per threshold (after the cut, or against the whole data)."""
        return self._mean(self.sum_acc_whole if whole else self.sum_acc, int(self.n_events_pos[int(whole)]))

    def rejection(self, *, whole: bool = False) -> np.ndarray:
        """Event-averaged rejection per threshold (after the cut, or against the whole data)."""
        return self._mean(self.sum_rej_whole if whole else self.sum_rej, int(self.n_events_neg[int(whole)]))

    def _error(self, s: np.ndarray, s2: np.ndarray, n: int) -> np.ndarray:
        if n < 2:
            return np.full_like(s, np.nan)
        mean = s / n
        var = np.maximum(s2 / n - mean * mean, 0.0) * n / (n - 1)
        return np.sqrt(var / n)

    def acceptance_error(self, *, whole: bool = False) -> np.ndarray:
        """The standard error of :meth:`acceptance` (the spread of the per-event rates over sqrt(events))."""
        if whole:
            return self._error(self.sum_acc_whole, self.sum_acc2_whole, int(self.n_events_pos[1]))
        return self._error(self.sum_acc, self.sum_acc2, int(self.n_events_pos[0]))

    def rejection_error(self, *, whole: bool = False) -> np.ndarray:
        """The standard error of :meth:`rejection`."""
        if whole:
            return self._error(self.sum_rej_whole, self.sum_rej2_whole, int(self.n_events_neg[1]))
        return self._error(self.sum_rej, self.sum_rej2, int(self.n_events_neg[0]))

    def cut_fraction(self) -> float:
        """Event-averaged fraction of negatives removed by the preprocessing cut (the talk's 0.27)."""
        n = int(self.n_events_neg[1])
        return self.cut_fraction_sum / n if n else float("nan")

    def roc(self, *, whole: bool = False) -> RocCurve:
        """The event-averaged ROC curve on the grid (after the cut, or against the whole data), strictest cut
        first. A grid whose loosest cut keeps every hit ends at acceptance 1; an empty scan is all NaN."""
        t = self.thresholds[::-1]
        return RocCurve(t, self.acceptance(whole=whole)[::-1], 1.0 - self.rejection(whole=whole)[::-1])

    def working_point(self, target_acceptance: float, *, whole: bool = False) -> WorkingPoint:
        """The largest threshold whose event-averaged acceptance is at least ``target_acceptance`` (the best
        rejection that keeps that much signal): :meth:`hepreco.ml.RocCurve.working_point` on :meth:`roc`;
        NaN (index -1) when no cut of the grid keeps that much. ``index`` is the position in the
        (ascending) ``thresholds``.

        Examples:
            >>> scan = ThresholdScan(np.linspace(0, 1, 11))
            >>> scan.fill(np.array([0, 4]), np.array([0.9, 0.2, 0.8, 0.1]), np.array([True, True, False, False]))
            >>> wp = scan.working_point(0.99)
            >>> wp.threshold, wp.signal_acceptance, wp.background_rejection, wp.index
            (0.2, 1.0, 0.5, 2)
        """
        wp = self.roc(whole=whole).working_point(signal_acceptance=target_acceptance)
        if wp.index is None or wp.index < 0:
            return wp
        return WorkingPoint(wp.threshold, wp.signal_acceptance, wp.background_rejection,
                            index=self.thresholds.size - 1 - wp.index)  # fmt: skip
