"""This module defines the ``ml`` plugin's job modules (registered by :mod:`hepreco.ml.plugin`), which training and
evaluation put into jobs.

- ``ml.ProductStream``: hands the products of each batch to :func:`hepreco.ml.iter_job` (training on the fly).
- ``ml.SplitFilter``: passes the events of one sample (train, valid or test) by the hash of their ids.
- ``ml.BinaryMetrics``: AUC, working point, acceptance and rejection of a score product against a
  label product, at end of job (``hepreco evaluate`` uses it; any job can).

"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
from pydantic import Field, field_validator

from hepreco.core.events import Events
from hepreco.core.inputtag import InputTag
from hepreco.core.module import Analyzer, EndPathConfig, Filter, ModuleConfig
from hepreco.ml.data import DataBatch

__all__ = ["BinaryMetrics", "ProductStream", "SplitFilter"]

log = logging.getLogger("hepreco.ml")


class ProductStream(Analyzer):
    """Keeps the products of each batch until :meth:`drain` takes them (used by ``iter_job``)."""

    class Config(EndPathConfig):
        products: list[InputTag] = Field(default_factory=list)
        """The products to collect."""

    def begin_job(self) -> None:
        self._pending: list[DataBatch] = []

    def analyze(self, events: Events) -> None:
        self._pending.append(DataBatch(events.ids, {str(t): events[t] for t in self.config.products}))

    def drain(self) -> list[DataBatch]:
        """The batches collected since the last call."""
        out, self._pending = self._pending, []
        return out


class SplitFilter(Filter):
    """Pass the events of one sample (train, valid or test) by the stable hash of (run, subrun, event):
    the same events ``hepreco train`` used for that sample with the same fractions and salt."""

    class Config(ModuleConfig):
        sample: Literal["train", "valid", "test"] = "test"
        """Which sample passes."""
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
        """The train, valid and test fractions of the training."""
        salt: int = 0
        """The split salt of the training."""

        @field_validator("fractions")
        @classmethod
        def _sum(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
            if min(v) < 0 or abs(sum(v) - 1.0) > 1e-9:
                raise ValueError(f"fractions must be non-negative and sum to 1, got {list(v)}")
            return v

    def filter(self, events: Events) -> np.ndarray:
        from hepreco.ml.split import split_mask

        c = self.config
        return split_mask(c.sample, events.run, events.subrun, events.event, c.fractions, salt=c.salt)


class BinaryMetrics(Analyzer):
    """Metrics of a binary classifier's score against the truth, over the job: AUC, the working point
    at ``signal_acceptance``, and acceptance/rejection/accuracy at ``threshold``.

    Jagged products (per hit) are flattened; ``mask`` selects the entries that count. The figures are
    recorded with ``summary`` and kept in ``self.result``. The curves go to the histogram file's
    ``results/<label>/`` (``Module.put_result``): ``roc`` (TGraph: background rejection vs signal
    acceptance), ``signal_acceptance_vs_cut`` and ``background_efficiency_vs_cut`` (TGraphAsymmErrors with
    Wilson binomial errors; effective entries when weighted), ``working_point`` (one point) and the score
    distributions ``score_signal`` and ``score_background`` (TH1 with sqrt(sum w^2) errors).

    It keeps every score to compute exact figures, so under a chunked executor (``processes``, ``dask``)
    its ``end_job`` runs on each worker, over that worker's chunks: run it inline for the job's figures.
    """

    class Config(EndPathConfig):
        score: InputTag
        """The classifier's score (larger = more signal-like)."""
        target: InputTag
        """The truth: 1/True for signal."""
        mask: InputTag | None = None
        """Only entries where this is true count (optional)."""
        weight: InputTag | None = None
        """Per-entry weights (optional)."""
        signal_acceptance: float = Field(0.99, ge=0, le=1)
        """The working point's target signal acceptance."""
        threshold: float = 0.5
        """A fixed cut, for acceptance/rejection/accuracy."""
        roc_file: str | None = None
        """Draw the ROC curve into this file at end of job (a PNG, and a PDF beside it)."""
        plot_label: str = "Simulation"
        """The experiment label of the plot, e.g. ``"COMET Simulation"`` (first word bold)."""
        name: str | None = None
        """The classifier's name in legends and titles (default: the score's product name)."""
        cuts: int = Field(100, ge=2)
        """Cut values of the acceptance-vs-cut graphs (evenly spaced over the scores' range)."""

    def begin_job(self) -> None:
        self._scores: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []
        self.result: dict[str, object] = {}

    @staticmethod
    def _flat(arr: ak.Array) -> np.ndarray:
        return np.asarray(ak.to_numpy(ak.ravel(arr)))

    def analyze(self, events: Events) -> None:
        c = self.config
        arrays = {"score": events[c.score], "target": events[c.target]}
        if c.mask is not None:
            arrays["mask"] = events[c.mask]
        if c.weight is not None:
            arrays["weight"] = events[c.weight]
        keep = np.ones(len(events), dtype=bool)
        for arr in arrays.values():
            if isinstance(arr.type.content, ak.types.OptionType):
                keep &= ~np.asarray(ak.is_none(arr, axis=0))
        if not keep.all():
            arrays = {k: ak.drop_none(v[keep], axis=0) for k, v in arrays.items()}
        if len(arrays) > 1:
            arrays = dict(zip(arrays, ak.broadcast_arrays(*arrays.values()), strict=True))
        flat = {k: self._flat(v) for k, v in arrays.items()}
        sel = flat["mask"].astype(bool) if "mask" in flat else slice(None)
        self._scores.append(flat["score"][sel].astype(np.float64))
        self._labels.append(flat["target"][sel].astype(bool))
        self._weights.append(flat["weight"][sel].astype(np.float64) if "weight" in flat else np.ones(0))

    def end_job(self) -> None:
        from hepreco.ml.metrics import binary_metrics, roc_curve

        c = self.config
        scores = np.concatenate(self._scores) if self._scores else np.zeros(0)
        labels = np.concatenate(self._labels) if self._labels else np.zeros(0, bool)
        weights = np.concatenate(self._weights) if c.weight is not None and self._weights else None
        if len(scores) == 0 or labels.all() or not labels.any():
            log.warning("%s: no signal or no background entries: no metrics", self.label)
            self.summary(entries=len(scores))
            return
        m = binary_metrics(scores, labels, weights, signal_acceptance=c.signal_acceptance, threshold=c.threshold)
        self.result = m
        wp = m["working_point"]
        self.summary(
            entries=m["entries"],
            auc=round(m["auc"], 6),
            wp_threshold=wp["threshold"],
            wp_signal_acceptance=round(wp["signal_acceptance"], 6),
            wp_background_rejection=round(wp["background_rejection"], 6),
            signal_acceptance=round(m["signal_acceptance"], 6),
            background_rejection=round(m["background_rejection"], 6),
            accuracy=round(m["accuracy"], 6),
        )
        roc = roc_curve(scores, labels, weights)
        self._put_results(scores, labels, weights, roc, wp)
        if c.roc_file:
            from hepreco.ml.plots import plot_roc

            name = c.name or str(c.score)
            out = self.job.atomic_path(c.roc_file)
            pdf = self.job.atomic_path(str(Path(c.roc_file).with_suffix(".pdf")))
            plot_roc({name: roc}, out, working_points={name: wp}, fmt="png", label=c.plot_label, pdf=pdf)

    def _put_results(
        self, scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None, roc: Any, wp: dict[str, float]
    ) -> None:
        """The curves a user plots, into the histogram file's ``results/<label>/``."""
        import hist

        from hepreco.services.results import Graph, efficiency_graph, suggest_bins

        c = self.config
        name = c.name or str(c.score)
        w = np.ones_like(scores) if weights is None else weights
        keep = np.unique(np.linspace(0, len(roc.threshold) - 1, min(len(roc.threshold), 2000)).round().astype(int))
        self.put_result(
            "roc",
            Graph(roc.signal_acceptance[keep], roc.background_rejection[keep], title=f"{name}: ROC, AUC {roc.auc():.4f}",
                  xlabel="signal acceptance", ylabel="background rejection"),
        )  # fmt: skip
        self.put_result(
            "working_point",
            Graph([wp["signal_acceptance"]], [wp["background_rejection"]], xlabel="signal acceptance",
                  ylabel="background rejection",
                  title=f"{name}: working point, score >= {wp['threshold']:.4g}"),
        )  # fmt: skip
        lo, hi = float(scores.min()), float(scores.max())
        if hi <= lo:
            hi = lo + 1.0
        cuts = np.linspace(lo, hi, c.cuts)
        for cls, sel, title in ((True, labels, "signal acceptance"), (False, ~labels, "background efficiency")):
            s, ws = scores[sel], w[sel]
            order = np.argsort(s)
            s, ws = s[order], ws[order]
            above = np.r_[np.cumsum(ws[::-1])[::-1], 0.0]  # weight of the entries >= s[i]
            passed = above[np.searchsorted(s, cuts, side="left")]
            total, total2 = float(ws.sum()), float((ws * ws).sum())
            # binomial errors of the effective entries (sum w)^2 / sum w^2 (the entries when unweighted)
            n_eff = total * total / total2 if total2 > 0 else 0.0
            eff = passed / total if total > 0 else np.zeros_like(passed)
            key = "signal_acceptance_vs_cut" if cls else "background_efficiency_vs_cut"
            self.put_result(
                key,
                efficiency_graph(cuts, eff * n_eff, np.full_like(eff, n_eff), title=f"{name}: {title}",
                                 xlabel="cut on the score (select score >= cut)", ylabel=title),
            )  # fmt: skip
            bins = suggest_bins(len(s))
            h = hist.Hist(hist.axis.Regular(bins, lo, hi, name="score", label="score"),
                          storage=hist.storage.Weight(), label=f"{name}: score, {'signal' if cls else 'background'}")  # fmt: skip
            h.fill(s, weight=ws)
            self.put_result("score_signal" if cls else "score_background", h)
