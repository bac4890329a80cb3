"""This module defines HitClassificationMetrics: the talk's per-event acceptance and rejection of a hit
classifier, as functions of the cut on its score, with ROC, working point and per-hit AUC."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import hist
import numpy as np
from pydantic import Field, model_validator

import hepreco
from hepreco import InputTag
from hepreco.ml import RocCurve, roc_curve_from_histograms
from hepreco_comet._hits import event_name, flat_hits, per_hit
from hepreco_comet.acceptance import ThresholdScan

__all__ = ["HitClassificationMetrics"]

_SCAN_ROWS = ["acceptance", "rejection", "acceptance_whole", "rejection_whole",
              "acceptance_sq", "rejection_sq", "acceptance_whole_sq", "rejection_whole_sq"]  # fmt: skip
_SUMS = ("sum_acc", "sum_rej", "sum_acc_whole", "sum_rej_whole", "sum_acc2", "sum_rej2", "sum_acc2_whole",
         "sum_rej2_whole")  # fmt: skip
_COUNT_ROWS = ["events_pos", "events_neg", "events_pos_whole", "events_neg_whole", "cut_fraction_sum"]


class HitClassificationMetrics(hepreco.Analyzer):
    """Score a per-hit classifier the way the talk does, for the signal task or the turn-1 task.

    Per event, signal acceptance = 1 - FN/signal and background rejection = 1 - FP/background, averaged
    over events, both after the energy cut (hits with ``edep > edep_max`` removed) and against the whole
    data (removed hits count as rejected). Scanned over ``thresholds`` cut values of the score: ROC curve,
    acceptance and rejection vs cut, the working point for ``target_acceptance``; per-hit AUC. For
    ``task: turn1`` the positives are first-turn signal hits and the negatives later-turn signal hits;
    for ``task: turn1_all`` the negatives are all the other hits (later-turn signal and background), the
    figure for the purity of a turn-1 selection run on every hit. With ``cut`` the figures at that cut
    (a module's own working point) are reported too.
    All sums are kept in histograms (Histograms service), so they merge across batches and processes
    exactly (``summary_from_histograms``: under a chunked executor the summary and plots are made once,
    from the merged histograms).
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        hits: InputTag = InputTag("source:hits")
        """The CDC hits with their truth (``is_signal``, ``turn``, ``edep``)."""
        score: InputTag = InputTag("source:hits.edep")
        """Per-hit score (jagged like the hits), e.g. a classifier's output or a hit field."""
        invert: bool = False
        """Low scores are signal-like (e.g. ``edep`` as a score): the score is negated."""
        score_range: tuple[float, float] = (0.0, 1.0)
        """Range of the scanned cut values (before ``invert``)."""
        thresholds: int = Field(201, ge=2)
        """Cut values scanned, evenly spaced over ``score_range``."""
        task: Literal["signal", "turn1", "turn1_all"] = "signal"
        """``signal``: signal vs background hits; ``turn1``: first-turn vs later-turn signal hits;
        ``turn1_all``: first-turn signal hits vs all other hits."""
        cut: float | None = None
        """Also report acceptance and rejection at this cut on the score (the largest scanned cut value
        not above it; e.g. the classifier module's own ``cut``)."""
        edep_max: float | None = Field(255.0, gt=0)
        """The preprocessing energy cut that defines "after the cut" (null: no cut)."""
        target_acceptance: float = Field(0.99, gt=0, le=1)
        """Signal acceptance (after the cut) of the reported working point."""
        plot_dir: str | None = None
        """Directory for the plots, PNG and PDF (ROC, acceptance and rejection vs cut, score distributions)."""
        plot_label: str = "COMET Simulation"
        """The experiment label of the plots."""
        name: str | None = None
        """The classifier's name in legends and titles (default: the score's product name)."""

        @model_validator(mode="after")
        def _check_range(self) -> HitClassificationMetrics.Config:
            if not self.score_range[0] < self.score_range[1]:
                msg = f"score_range must be increasing, got {list(self.score_range)}"
                raise ValueError(msg)
            return self

    def begin_job(self) -> None:
        c = self.config
        lo, hi = c.score_range
        self.grid = np.linspace(lo, hi, c.thresholds)
        # the scan runs on s = +-score over increasing thresholds
        self._t = -self.grid[::-1] if c.invert else self.grid
        self.h_scan = self.book(
            "scan",
            hist.Hist(
                hist.axis.Integer(0, c.thresholds, name="cut", label="cut index", underflow=False, overflow=False),
                hist.axis.StrCategory(_SCAN_ROWS, name="quantity"),
                storage=hist.storage.Double(),
                label="sums over events of per-event rates",
            ),
            internal=True,
        )
        self.h_count = self.book(
            "counts",
            hist.Hist(hist.axis.StrCategory(_COUNT_ROWS, name="quantity"), storage=hist.storage.Double()),
            internal=True,
        )
        axis = hist.axis.Regular(1000, lo, hi, name="score", label=f"score ({c.score})")
        self.h_pos = self.book("score_positive", hist.Hist(axis, storage=hist.storage.Double()))
        self.h_neg = self.book("score_negative", hist.Hist(axis, storage=hist.storage.Double()))

    def analyze(self, events: hepreco.Events) -> None:
        c = self.config
        offsets, flat = flat_hits(events[c.hits], ("is_signal", "turn", "edep"), product=str(c.hits))
        score = per_hit(events, c.score, offsets, hits=c.hits).astype(np.float64)
        sig = flat["is_signal"].astype(bool)
        if c.task == "signal":
            pos, neg = sig, ~sig
        elif c.task == "turn1":
            pos, neg = sig & (flat["turn"] <= 1), sig & (flat["turn"] > 1)
        else:
            pos = sig & (flat["turn"] <= 1)
            neg = ~pos
        kept = np.ones(sig.size, dtype=bool) if c.edep_max is None else flat["edep"] <= c.edep_max
        bad = kept & (pos | neg) & ~np.isfinite(score)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            ev = int(np.searchsorted(offsets, i, side="right") - 1)
            msg = f"{event_name(events, ev)}: hit {i - offsets[ev]} has a non-finite score {score[i]!r} in '{c.score}'"
            raise ValueError(msg)
        s = -score if c.invert else score
        scan = ThresholdScan(self._t)
        scan.fill(offsets, s, pos, negative=neg, kept=kept)
        view = self.h_scan.view()
        for j, name in enumerate(_SUMS):
            view[:, j] += getattr(scan, name)
        cv = self.h_count.view()
        cv[:] += [*scan.n_events_pos[[0]], *scan.n_events_neg[[0]], *scan.n_events_pos[[1]],
                  *scan.n_events_neg[[1]], scan.cut_fraction_sum]  # fmt: skip
        self.h_pos.fill(score=score[kept & pos])
        self.h_neg.fill(score=score[kept & neg])

    # --- results ---------------------------------------------------------------------------------
    def scan(self) -> ThresholdScan:
        """The accumulated threshold scan (cut values on the score's own scale, ascending)."""
        out = ThresholdScan(self._t)
        v = self.h_scan.view()
        for j, name in enumerate(_SUMS):
            setattr(out, name, v[:, j].copy())
        cv = self.h_count.view()
        out.n_events_pos = np.array([cv[0], cv[2]], dtype=np.int64)
        out.n_events_neg = np.array([cv[1], cv[3]], dtype=np.int64)
        out.cut_fraction_sum = float(cv[4])
        return out

    def roc_per_hit(self) -> RocCurve:
        """The per-hit ROC curve from the score histograms (cuts at the bin edges, on the score's own scale:
        with ``invert`` a hit is selected below the cut)."""
        sig, bkg = self.h_pos.values(flow=True), self.h_neg.values(flow=True)
        edges = self.h_pos.axes[0].edges
        # flow bins join the first and last bins
        sig = np.r_[sig[0] + sig[1], sig[2:-2], sig[-2] + sig[-1]]
        bkg = np.r_[bkg[0] + bkg[1], bkg[2:-2], bkg[-2] + bkg[-1]]
        if self.config.invert:  # on -score: bins reversed, a cut at -edge
            return roc_curve_from_histograms(sig[::-1], bkg[::-1], -edges[::-1])
        return roc_curve_from_histograms(sig, bkg, edges)

    def results(self) -> dict[str, Any]:
        """The figures of the summary, from the (mergeable) histograms."""
        c = self.config
        scan = self.scan()
        wp = scan.working_point(c.target_acceptance)
        cut = -wp.threshold if c.invert else wp.threshold
        auc = self.roc_per_hit().auc() if self.h_pos.sum(flow=True) and self.h_neg.sum(flow=True) else float("nan")
        f = scan.cut_fraction()
        i = int(wp.index if wp.index is not None else -1)
        nan = float("nan")
        names = self.names()
        at_cut: dict[str, Any] = {}
        if c.cut is not None:
            s_cut = -c.cut if c.invert else c.cut
            j = int(np.searchsorted(self._t, s_cut, side="right") - 1)
            if j >= 0:
                at_cut = {
                    "cut": c.cut,
                    f"{names[0]}_acceptance_at_cut": round(float(scan.acceptance()[j]), 5),
                    f"{names[1]}_rejection_at_cut": round(float(scan.rejection()[j]), 5),
                    f"{names[0]}_acceptance_whole_at_cut": round(float(scan.acceptance(whole=True)[j]), 5),
                    f"{names[1]}_rejection_whole_at_cut": round(float(scan.rejection(whole=True)[j]), 5),
                }
        return {
            "task": c.task,
            "events": int(scan.n_events_pos[1]),
            "auc_per_hit": round(auc, 5),
            "target_acceptance": c.target_acceptance,
            "working_point_cut": round(cut, 6),
            f"{names[0]}_acceptance_after_cut": round(wp.signal_acceptance, 5),
            f"{names[1]}_rejection_after_cut": round(wp.background_rejection, 5),
            f"{names[0]}_acceptance_whole": round(float(scan.acceptance(whole=True)[i]), 5) if i >= 0 else nan,
            f"{names[1]}_rejection_whole": round(float(scan.rejection(whole=True)[i]), 5) if i >= 0 else nan,
            f"{names[1]}_fraction_removed_by_energy_cut": round(f, 5),
            **at_cut,
        }

    def names(self) -> tuple[str, str]:
        """The human names of the positive and negative classes."""
        return {"signal": ("signal", "background"), "turn1_all": ("turn-1", "other")}.get(
            self.config.task, ("turn-1", "turn>1")
        )

    def hit_efficiency(self, positive: bool, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per hit (after the energy cut): the hits of one class selected by each cut, and the class's hits
        (flow bins included; with ``invert`` a hit is selected below the cut)."""
        counts = (self.h_pos if positive else self.h_neg).values(flow=True)
        edges = self.h_pos.axes[0].edges
        # hits at or above edge k: bins k.. and the overflow; flow entries below the range never pass a cut in it
        above = np.cumsum(counts[::-1])[::-1]  # above[j]: flow-array bins j.. (j = 0 is the underflow)
        k = np.searchsorted(edges, np.asarray(cuts) - 1e-9 * (edges[-1] - edges[0]), side="left")
        sel_above = above[np.minimum(k + 1, len(above) - 1)]
        total = float(counts.sum())
        passed = total - sel_above if self.config.invert else sel_above
        return passed, np.full(passed.shape, total)

    def put_results(self, figures: dict[str, Any]) -> None:
        """What a user plots, into the histogram file's ``results/<label>/``: the ROC curves (event means
        after the energy cut and against the whole data, and per hit), acceptance and rejection vs the
        cut (event means with the standard error of the mean; per hit with Wilson binomial errors), the
        working point."""
        from hepreco import Graph, efficiency_graph

        c = self.config
        pos, neg = self.names()
        name = c.name or str(c.score)
        scan = self.scan()
        cuts = -scan.thresholds[::-1] if c.invert else scan.thresholds
        order = slice(None, None, -1) if c.invert else slice(None)
        acc, rej = scan.acceptance()[order], scan.rejection()[order]
        acc_w, rej_w = scan.acceptance(whole=True)[order], scan.rejection(whole=True)[order]
        xa, ya = f"{pos} hit acceptance (per-event mean)", f"{neg} hit rejection (per-event mean)"
        ok = np.isfinite(acc) & np.isfinite(rej)
        self.put_result("roc", Graph(acc[ok], rej[ok], title=f"{name}: ROC after the energy cut", xlabel=xa, ylabel=ya))
        ok = np.isfinite(acc_w) & np.isfinite(rej_w)
        self.put_result("roc_whole", Graph(acc_w[ok], rej_w[ok], title=f"{name}: ROC against the whole data",
                                           xlabel=xa, ylabel=ya))  # fmt: skip
        cut_label = f"cut on {c.score} (select {'below' if c.invert else 'above'})"
        for key, values, err, what in (
            ("acceptance_vs_cut", acc, scan.acceptance_error()[order], f"{pos} acceptance (per-event mean)"),
            ("rejection_vs_cut", rej, scan.rejection_error()[order], f"{neg} rejection (per-event mean)"),
            ("rejection_whole_vs_cut", rej_w, scan.rejection_error(whole=True)[order],
             f"{neg} rejection against the whole data (per-event mean)"),
        ):  # fmt: skip
            ok = np.isfinite(values) & np.isfinite(err)
            # the standard error of the mean of the per-event rates, kept inside [0, 1]
            self.put_result(key, Graph(cuts[ok], values[ok], yerr_low=np.minimum(err[ok], values[ok]),
                                       yerr_high=np.minimum(err[ok], 1.0 - values[ok]),
                                       title=f"{name}: {what}", xlabel=cut_label, ylabel=what))  # fmt: skip
        if self.h_pos.sum(flow=True) > 0 and self.h_neg.sum(flow=True) > 0:
            roc = self.roc_per_hit()
            keep = np.unique(np.linspace(0, len(roc.threshold) - 1, min(len(roc.threshold), 1001)).round().astype(int))
            self.put_result("roc_per_hit", Graph(roc.signal_acceptance[keep], roc.background_rejection[keep],
                                                 title=f"{name}: per-hit ROC, AUC {roc.auc():.4f}",
                                                 xlabel=f"{pos} hit acceptance", ylabel=f"{neg} hit rejection"))  # fmt: skip
            for positive, key, what in ((True, "hit_acceptance_vs_cut", f"{pos} hit acceptance"),
                                        (False, "hit_efficiency_vs_cut", f"{neg} hit efficiency")):  # fmt: skip
                passed, total = self.hit_efficiency(positive, cuts)
                self.put_result(key, efficiency_graph(cuts, passed, total, title=f"{name}: {what}",
                                                      xlabel=cut_label, ylabel=what))  # fmt: skip
        wp_acc = figures.get(f"{pos}_acceptance_after_cut", float("nan"))
        wp_rej = figures.get(f"{neg}_rejection_after_cut", float("nan"))
        if np.isfinite(wp_acc) and np.isfinite(wp_rej):
            self.put_result("working_point", Graph([wp_acc], [wp_rej], xlabel=xa, ylabel=ya,
                                                   title=f"{name}: working point, cut {figures['working_point_cut']:.4g}"))  # fmt: skip

    def end_job(self) -> None:
        figures = self.results()
        self.summary(**figures)
        self.put_results(figures)
        c = self.config
        if c.plot_dir:
            from hepreco_comet.plotting import plot_metrics

            scan = self.scan()
            cuts = -scan.thresholds if c.invert else scan.thresholds
            plot_metrics(Path(c.plot_dir), self.label, cuts, scan, self.h_pos, self.h_neg, figures, task=c.task,
                         name=c.name or str(c.score), exp_label=c.plot_label)  # fmt: skip
