"""This module defines TaggingMetrics and TaggerComparison: a jet tagger's ROC AUC and background rejection
1/eps_B at eps_S = 50% with bootstrap uncertainties, from mergeable score histograms, and the ROC plot."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag

__all__ = ["TaggerComparison", "TaggingMetrics"]


def _labels(events: hepreco.Events, tag: InputTag) -> np.ndarray:
    import awkward as ak

    return np.asarray(ak.to_numpy(events[tag]), dtype=np.int64)


def _score_hist(bins: int) -> Any:
    import hist

    return hist.Hist(
        hist.axis.Regular(bins, 0.0, 1.0, name="score", label="tagger score", underflow=True, overflow=True),
        hist.axis.Integer(0, 2, name="label", label="truth (1 = W)", underflow=False, overflow=False),
        storage=hist.storage.Weight(),
    )


def _fill(h: Any, score: np.ndarray, label: np.ndarray, weight: np.ndarray | None) -> None:
    bad = ~np.isfinite(score)
    if bad.any():
        msg = f"{int(bad.sum())} jets have a non-finite score"
        raise ValueError(msg)
    h.fill(score=np.clip(score, 0.0, 1.0 - 1e-9), label=label, weight=weight)


def _roc_graph(name: str, es: np.ndarray, eb: np.ndarray, auc: float, inv: float) -> hepreco.Graph:
    """The ROC as a ROOT graph: 1/eps_B against eps_S (the points where eps_B > 0, at most ~2000 of them)."""
    ok = np.flatnonzero((eb > 0) & (es > 0))
    if len(ok) > 2000:
        ok = ok[np.unique(np.linspace(0, len(ok) - 1, 2000).astype(np.int64))]
    return hepreco.Graph(es[ok], 1.0 / eb[ok], title=f"{name}: ROC", xlabel="signal efficiency #epsilon_{S}",
                         ylabel="background rejection 1/#epsilon_{B}",
                         notes={"AUC": round(auc, 5), "1/eps_B(50%)": round(inv, 2)})  # fmt: skip


def _figures(h: Any, eps_s: float, bootstrap: int) -> tuple[Any, np.ndarray, np.ndarray]:
    from hepreco_jets.roc import binned_roc, roc_figures

    view = h.view(flow=False)
    pos, neg = view["value"][:, 1], view["value"][:, 0]
    pos_var, neg_var = view["variance"][:, 1], view["variance"][:, 0]
    edges = h.axes[0].edges
    figs = roc_figures(pos, neg, edges, pos_var=pos_var, neg_var=neg_var, eps_s=eps_s, bootstrap=bootstrap)
    es, eb, _ = binned_roc(pos, neg, 0.5 * (edges[1:] + edges[:-1]))
    return figs, es, eb


class TaggingMetrics(hepreco.Analyzer):
    """A W tagger's figures against the truth: ROC AUC and the background rejection 1/eps_B at a signal
    efficiency (50%: the MPNN paper's ``R_eps=50%``), each with a bootstrap uncertainty (the score
    histograms drawn again ``bootstrap`` times).

    Everything comes from a booked score histogram per class (Histograms service), so the figures merge
    exactly across batches and processes (``summary_from_histograms``). Summary: ``auc``, ``auc_err``,
    ``inv_eps_b_at_50``, ``inv_eps_b_at_50_err``, ``jets_signal``, ``jets_background``. The ROC (1/eps_B
    against eps_S) is a TGraph ``results/LABEL/roc`` in the Histograms file; with ``plot_file`` also a plot
    beside the paper's points.
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        score: InputTag
        """The tagger's score per event (W-like = high, in [0, 1])."""
        target: InputTag = InputTag("source:truth.label")
        """The truth: 1 for a W jet, 0 for QCD."""
        weight: InputTag | None = None
        """Per-jet weights (optional)."""
        bins: int = Field(20000, ge=10)
        """Bins of the score histograms in [0, 1] (scores in one bin count as tied)."""
        eps_s: float = Field(0.5, gt=0, lt=1)
        """The signal efficiency of the reported background rejection."""
        bootstrap: int = Field(200, ge=0)
        """Bootstrap replicas for the uncertainties (0: none)."""
        plot_file: str | None = None
        """Draw the ROC into this PNG file at end of job."""
        name: str | None = None
        """The tagger's name in the plot (default: the module label)."""

    def begin_job(self) -> None:
        self.hist = self.book("scores", _score_hist(self.config.bins))

    def analyze(self, events: hepreco.Events) -> None:
        import awkward as ak

        c = self.config
        score = np.asarray(ak.to_numpy(events[c.score]), dtype=np.float64).reshape(-1)
        weight = None if c.weight is None else np.asarray(ak.to_numpy(events[c.weight]), dtype=np.float64)
        _fill(self.hist, score, _labels(events, c.target), weight)

    def results(self) -> dict[str, Any]:
        """The summary's figures (from the merged histogram)."""
        figs, _, _ = _figures(self.hist, self.config.eps_s, self.config.bootstrap)
        key = f"inv_eps_b_at_{round(100 * self.config.eps_s)}"
        return {
            "auc": round(figs.auc, 5),
            "auc_err": round(figs.auc_err, 5),
            key: round(figs.inv_eps_b, 2),
            f"{key}_err": round(figs.inv_eps_b_err, 2),
            "jets_signal": round(figs.n_signal, 3),
            "jets_background": round(figs.n_background, 3),
        }

    def end_job(self) -> None:
        view = self.hist.view(flow=False)["value"]
        if view[:, 1].sum() <= 0 or view[:, 0].sum() <= 0:
            self.summary(auc=float("nan"), inv_eps_b_at_50=float("nan"), note="needs both W and QCD jets")
            return
        self.summary(**self.results())
        figs, es, eb = _figures(self.hist, self.config.eps_s, 0)
        name = self.config.name or self.label
        self.put_result("roc", _roc_graph(name, es, eb, figs.auc, figs.inv_eps_b))
        if self.config.plot_file:
            from hepreco_jets.plotting import plot_rocs

            plot_rocs(self.config.plot_file, {name: (es, eb, figs.auc, figs.inv_eps_b)})


class TaggerComparison(hepreco.Analyzer):
    """Every tagger's ROC in one plot (1/eps_B on a log scale vs eps_S, mplhep), the MPNN paper's points
    drawn for reference; from mergeable score histograms, as ``jets.TaggingMetrics``. Summary: each
    tagger's ``NAME_auc`` and ``NAME_inv_eps_b_at_50`` (no bootstrap: see the metric modules). Each ROC is
    also a TGraph ``results/LABEL/roc_NAME`` in the Histograms file (NAME with other characters than letters
    and digits as ``_``)."""

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        scores: dict[str, InputTag]
        """Tagger name -> its score product."""
        target: InputTag = InputTag("source:truth.label")
        """The truth: 1 for a W jet, 0 for QCD."""
        bins: int = Field(20000, ge=10)
        plot_file: str = "jets_roc.png"
        """The PNG file of the plot."""
        title: str = ""

    def begin_job(self) -> None:
        self.hists = {name: self.book(f"scores_{name}", _score_hist(self.config.bins)) for name in self.config.scores}

    def analyze(self, events: hepreco.Events) -> None:
        import awkward as ak

        label = _labels(events, self.config.target)
        for name, tag in self.config.scores.items():
            _fill(self.hists[name], np.asarray(ak.to_numpy(events[tag]), dtype=np.float64).reshape(-1), label, None)

    def end_job(self) -> None:
        from hepreco_jets.plotting import plot_rocs

        curves = {}
        figures: dict[str, Any] = {}
        for name, h in self.hists.items():
            view = h.view(flow=False)["value"]
            if view[:, 1].sum() <= 0 or view[:, 0].sum() <= 0:
                continue
            figs, es, eb = _figures(h, 0.5, 0)
            curves[name] = (es, eb, figs.auc, figs.inv_eps_b)
            self.put_result("roc_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_"),
                            _roc_graph(name, es, eb, figs.auc, figs.inv_eps_b))  # fmt: skip
            figures[f"{name}_auc"] = round(figs.auc, 5)
            figures[f"{name}_inv_eps_b_at_50"] = round(figs.inv_eps_b, 2)
        if curves:
            plot_rocs(self.config.plot_file, curves, title=self.config.title)
            figures["plot"] = self.config.plot_file
        self.summary(**figures)
