"""This module defines EmTrackMichelMetrics: the EM/track/Michel CNN's figures as the seed's talk shows them (the
EM-like and the Michel-like selection ROC curves) and per-class efficiency and purity, in mergeable histograms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco.ml import roc_curve_from_histograms
from hepreco_lartpc._hits import flat_hits, per_hit
from hepreco_lartpc.hit_patches import hit_targets

__all__ = ["EmTrackMichelMetrics", "best_f1_cut", "class_figures"]

CLASS_NAMES = ("em", "track", "none")


def class_figures(cm: np.ndarray, names: tuple[str, ...] = CLASS_NAMES) -> dict[str, float]:
    """Efficiency (the fraction of a true class called that class) and purity (the fraction of hits called a
    class that are of it) per class, and the accuracy, of a confusion matrix ``cm[true, predicted]``; NaN where
    a class is empty.

    Examples:
        >>> f = class_figures(np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]]))
        >>> f["em_efficiency"], round(f["em_purity"], 4), f["accuracy"], bool(np.isnan(f["none_efficiency"]))
        (0.8, 0.8889, 0.85, True)
    """
    cm = np.asarray(cm, dtype=np.float64)
    out: dict[str, float] = {}
    for k, name in enumerate(names):
        row, col = cm[k].sum(), cm[:, k].sum()
        out[f"{name}_efficiency"] = float(cm[k, k] / row) if row else float("nan")
        out[f"{name}_purity"] = float(cm[k, k] / col) if col else float("nan")
    out["accuracy"] = float(np.trace(cm) / cm.sum()) if cm.sum() else float("nan")
    return out


def best_f1_cut(signal: np.ndarray, background: np.ndarray, edges: np.ndarray) -> dict[str, float]:
    """The score cut (a bin's lower edge) that maximises the F1 score ``2 tp / (2 tp + fp + fn)`` (the harmonic
    mean of efficiency and purity) of a selection ``score >= cut``, from the score histograms of the signal and
    the background (``edges``: the lower edges of their bins, one per bin); with its F1, efficiency and purity.
    The first (lowest) cut wins a tie. NaN figures when there is no signal.

    Examples:
        >>> sig = np.array([0, 1, 3, 6.0])  # four bins of width 0.25
        >>> bkg = np.array([50, 10, 2, 1.0])
        >>> f = best_f1_cut(sig, bkg, np.array([0, 0.25, 0.5, 0.75]))
        >>> f["cut"], round(f["f1"], 4), f["efficiency"], round(f["purity"], 4)
        (0.5, 0.8182, 0.9, 0.75)
    """
    sig = np.asarray(signal, dtype=np.float64)
    bkg = np.asarray(background, dtype=np.float64)
    total = sig.sum()
    if not total:
        return {"cut": float("nan"), "f1": float("nan"), "efficiency": float("nan"), "purity": float("nan")}
    tp = np.cumsum(sig[::-1])[::-1]  # selected signal for a cut at each bin's lower edge
    fp = np.cumsum(bkg[::-1])[::-1]
    f1 = 2 * tp / (tp + fp + total)
    k = int(np.argmax(f1))
    purity = float(tp[k] / (tp[k] + fp[k])) if tp[k] + fp[k] else float("nan")
    return {"cut": float(edges[k]), "f1": float(f1[k]), "efficiency": float(tp[k] / total), "purity": purity}


class EmTrackMichelMetrics(hepreco.Analyzer):
    """The EM/track/Michel CNN's figures on hits with truth: the **EM-like selection** ROC (score
    ``em / (em + track)``, true em hits against true track hits, as LArSoft's selection of EM-like hits) and the
    **Michel-like selection** ROC (``michel_score``, true Michel-electron hits against all other hits with a true
    particle), their AUCs, the confusion matrix of the em/track/none head (the largest of the three scores) with
    efficiency and purity per class, and the Michel efficiency (the fraction of true Michel hits called Michel)
    and purity (the fraction of hits called Michel that are true Michel hits), among the hits with a true
    particle, as the Michel-like ROC: by default of the producer's ``michel`` product (its ``michel_threshold``,
    the checkpoint's working point), or at ``michel_cut`` when it is set. Read off the Michel score histogram
    too: the cut that maximises the F1 score (``2 tp / (2 tp + fp + fn)``, the harmonic mean of efficiency and
    purity), with its efficiency and purity (how a working point is chosen on training-side events).

    Every sum is a histogram booked with the Histograms service (merged exactly across batches and executors).
    Summary: ``em_auc``, ``michel_auc``, ``<class>_efficiency``, ``<class>_purity``, ``accuracy``,
    ``michel_efficiency``, ``michel_purity``, ``michel_called`` (hits called Michel), ``michel_cut`` (the cut
    applied, or ``"<scores>:michel"`` for the producer's), ``michel_best_f1_cut``, ``michel_best_f1``,
    ``michel_best_f1_efficiency``, ``michel_best_f1_purity``, ``hits``, ``michel_hits``, ``confusion``.
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        hits: InputTag = InputTag("source:hits")
        """The hits with their truth (``label``, ``michel``)."""
        scores: str = "emtrkmichel"
        """The label of the ``lartpc.EmTrackMichelId`` module (its ``em_score``, ``track_score``, ``none_score``,
        ``michel_score``)."""
        michel_cut: float | None = Field(None, ge=0, le=1)
        """None (default): hits are called Michel by the producer's ``michel`` product (its
        ``michel_threshold``: the checkpoint's working point); else hits with ``michel_score >= michel_cut``
        (rounded up to the next bin edge of the score histogram)."""
        bins: int = Field(1000, ge=10)
        """Score bins of the ROC histograms."""
        plot_dir: str | None = None
        """Directory for the two ROC plots (PNG)."""

    def begin_job(self) -> None:
        import hist

        d = hist.storage.Double()
        score = hist.axis.Regular(self.config.bins, 0, 1, name="score", underflow=False, overflow=True)
        cls = hist.axis.Integer(
            0, 3, name="true", label="true class (0 em, 1 track, 2 none)", underflow=False, overflow=False
        )
        pred = hist.axis.Integer(0, 3, name="pred", label="predicted class", underflow=False, overflow=False)
        yes = hist.axis.Integer(0, 2, name="michel", label="true Michel", underflow=False, overflow=False)
        self.h_confusion = self.book("confusion", hist.Hist(cls, pred, storage=d, label="hits"))
        self.h_em = self.book("em_like", hist.Hist(cls, score, storage=d, label="em / (em + track)"))
        self.h_michel = self.book("michel_like", hist.Hist(yes, score, storage=d, label="michel score"))
        called = hist.axis.Integer(0, 2, name="called", label="called Michel", underflow=False, overflow=False)
        self.h_called = self.book("michel_called", hist.Hist(yes, called, storage=d, label="hits with a true particle"))

    def analyze(self, events: hepreco.Events) -> None:
        c = self.config
        offsets, f = flat_hits(events[c.hits], ("label", "michel"), product=str(c.hits))
        if offsets[-1] == 0:
            return
        s = {
            name: per_hit(events, InputTag(f"{c.scores}:{name}_score"), offsets, hits=c.hits)
            for name in ("em", "track", "none", "michel")
        }
        target = hit_targets(f["label"], f["michel"])
        true = target % 3
        pred = np.argmax(np.stack([s["em"], s["track"], s["none"]], axis=1), axis=1)
        self.h_confusion.fill(true=true, pred=pred)
        et = s["em"] + s["track"]
        em_like = np.divide(s["em"], et, out=np.full(len(et), 0.5, dtype=np.float64), where=et > 0)
        real = true < 2
        self.h_em.fill(true=true[real], score=em_like[real])
        true_michel = (target[real] >= 3).astype(np.int64)
        self.h_michel.fill(michel=true_michel, score=s["michel"][real])
        if c.michel_cut is None:
            called = per_hit(events, InputTag(f"{c.scores}:michel"), offsets, hits=c.hits)
            self.h_called.fill(michel=true_michel, called=np.asarray(called, dtype=bool)[real].astype(np.int64))

    def results(self) -> dict[str, Any]:
        """The figures of the summary, from the (mergeable) histograms."""
        cm = self.h_confusion.view()
        out: dict[str, Any] = {"hits": int(cm.sum())}
        out.update({k: round(v, 5) for k, v in class_figures(cm).items()})
        em = self.h_em.view(flow=True)
        if em[0].sum() and em[1].sum():
            out["em_auc"] = round(roc_curve_from_histograms(em[0], em[1], self._edges()).auc(), 5)
        mi = self.h_michel.view(flow=True)
        out["michel_hits"] = int(mi[1].sum())
        if mi[0].sum() and mi[1].sum():
            out["michel_auc"] = round(roc_curve_from_histograms(mi[1], mi[0], self._edges()).auc(), 5)
        if mi[1].sum():
            if self.config.michel_cut is None:
                called = self.h_called.view()
                tp, fp = called[1, 1], called[0, 1]
                out["michel_cut"] = f"{self.config.scores}:michel"
            else:
                cut = int(np.searchsorted(self._edges()[:-1], self.config.michel_cut, side="left"))
                tp, fp = mi[1, cut:].sum(), mi[0, cut:].sum()
                out["michel_cut"] = self.config.michel_cut
            out["michel_called"] = int(tp + fp)
            out["michel_efficiency"] = round(float(tp / mi[1].sum()), 5)
            out["michel_purity"] = round(float(tp / (tp + fp)), 5) if tp + fp else float("nan")
            best = best_f1_cut(mi[1], mi[0], self._edges()[:-1])
            out.update({f"michel_best_f1_{k}" if k != "f1" else "michel_best_f1": round(v, 5) for k, v in best.items()})
        out["confusion"] = cm.astype(np.int64).tolist()
        return out

    def _edges(self) -> np.ndarray:
        e = self.h_em.axes["score"].edges
        return np.append(e, np.inf)  # the overflow bin (a score of exactly 1) above the last edge

    def rocs(self) -> dict[str, Any]:
        """The EM-like and Michel-like ROC curves (:class:`hepreco.ml.RocCurve`) by file stem, where both of their
        classes have hits."""
        em = self.h_em.view(flow=True)
        mi = self.h_michel.view(flow=True)
        out = {}
        if em[0].sum() and em[1].sum():
            out["em_roc"] = (
                "EM-like selection (em vs track hits)",
                roc_curve_from_histograms(em[0], em[1], self._edges()),
            )
        if mi[0].sum() and mi[1].sum():
            out["michel_roc"] = (
                "Michel-like selection (Michel vs other hits)",
                roc_curve_from_histograms(mi[1], mi[0], self._edges()),
            )
        return out

    def end_job(self) -> None:
        res = self.results()
        self.summary(**res)
        if self.config.plot_dir:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            out = Path(self.config.plot_dir)
            out.mkdir(parents=True, exist_ok=True)
            for key, (title, roc) in self.rocs().items():
                fig, ax = plt.subplots(figsize=(5, 5))
                ax.plot(roc.background_efficiency, roc.signal_acceptance, label=f"AUC {roc.auc():.4f}")
                ax.plot([0, 1], [0, 1], ls=":", c="grey")
                ax.set_xlabel("background efficiency")
                ax.set_ylabel("signal efficiency")
                ax.set_title(f"{title}\nSimulation (ProtoDUNE-SP-like)", fontsize=9)
                ax.legend(loc="lower right")
                fig.tight_layout()
                fig.savefig(out / f"{self.label}_{key}.png", dpi=110)
                plt.close(fig)
