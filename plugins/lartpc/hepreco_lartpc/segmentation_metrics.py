"""This module defines SegmentationMetrics: Pandora's track/shower figures of a per-hit labelling, per hit and per
non-null pixel, by view, vs hit charge and by true particle, kept in mergeable histograms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hist
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco_lartpc._hits import flat_hits, per_hit
from hepreco_lartpc.geometry import VIEW_NAMES
from hepreco_lartpc.segmentation import PDG_GROUPS, figures, pdg_group

__all__ = ["SegmentationMetrics"]

#: Pandora's figures (A. Chappell, DUNE UK meeting 11/12/2019, MCC11, "very preliminary") and NuGraph2's
#: overall semantic accuracy (arXiv:2403.11872), printed beside ours
REFERENCE = {"pandora_overall": 0.87, "pandora_track": 0.82, "pandora_shower": 0.95, "nugraph2_overall": 0.949}


class SegmentationMetrics(hepreco.Analyzer):
    """Score a per-hit track/shower labelling as Pandora does: overall accuracy (hits whose predicted class is
    their true class, over the hits with a true class), track accuracy (true track hits called track), shower
    accuracy, the confusion matrix, purity and efficiency per class; per hit and per non-null pixel (with the
    imager's maps: a pixel's truth is its largest-charge hit's class, as in the training target); by view, vs
    hit charge and by the true particle's type.

    Every sum is in histograms booked with the Histograms service (written to its ROOT file, merged exactly
    across batches and executors: ``summary_from_histograms``). Summary: ``overall_accuracy``,
    ``track_accuracy``, ``shower_accuracy`` (per hit), ``track_purity``, ``shower_purity``, the same with
    ``pixel_`` in front, ``<view>_overall_accuracy`` per view, ``michel_shower_accuracy``, ``hits``.
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        hits: InputTag = InputTag("source:hits")
        """The hits with their truth (``label``, ``view``, ``charge``, ``pdg``, ``michel``)."""
        label: InputTag = InputTag("unet:label")
        """The predicted per-hit class (0 null/not classified, 1 shower, 2 track), jagged like the hits."""
        track_score: InputTag | None = InputTag("unet:track_score")
        """Optional per-hit track score, histogrammed per true class (null: none)."""
        hit_tile: InputTag | None = InputTag("imager:hit_tile")
        """The imager's per-hit tile (for the per-pixel figures; null: per hit only)."""
        hit_pixel: InputTag | None = InputTag("imager:hit_pixel")
        """The imager's per-hit pixel."""
        charge_range: tuple[float, float] = (1e3, 1e6)
        """Range of the hit-charge axis (electrons, log-spaced)."""
        plot_dir: str | None = None
        """Directory for PNG plots (confusion matrices, accuracy vs charge and by particle, scores)."""
        experiment: str = Field("ProtoDUNE-SP", min_length=1)
        """The experiment label on the plots (a simulation: 'Simulation' is added)."""

    def begin_job(self) -> None:
        c = self.config
        cls = hist.axis.Integer(
            0, 3, name="true", label="true class (0 null, 1 shower, 2 track)", underflow=False, overflow=False
        )
        pred = hist.axis.Integer(0, 3, name="pred", label="predicted class", underflow=False, overflow=False)
        view = hist.axis.Integer(0, 3, name="view", label="view (0 U, 1 V, 2 W)", underflow=False, overflow=False)
        d = hist.storage.Double()
        self.h_hits = self.book("confusion_hits", hist.Hist(cls, pred, view, storage=d, label="hits"))
        self.h_pix = self.book("confusion_pixels", hist.Hist(cls, pred, view, storage=d, label="non-empty pixels"))
        lo, hi = c.charge_range
        qax = hist.axis.Regular(40, lo, hi, transform=hist.axis.transform.log, name="charge", label="hit charge [e-]")
        ok = hist.axis.Integer(0, 2, name="correct", underflow=False, overflow=False)
        self.h_charge = self.book("accuracy_vs_charge", hist.Hist(cls, ok, qax, storage=d))
        grp = hist.axis.Integer(
            0, len(PDG_GROUPS), name="particle", label="|".join(PDG_GROUPS), underflow=False, overflow=False
        )
        self.h_pdg = self.book("accuracy_by_particle", hist.Hist(grp, ok, storage=d))
        self.h_michel = self.book("michel_hits", hist.Hist(pred, storage=d, label="predicted class of Michel hits"))
        self.h_score = self.book(
            "track_score", hist.Hist(cls, hist.axis.Regular(50, 0, 1, name="score", label="track score"), storage=d)
        )

    def analyze(self, events: hepreco.Events) -> None:
        c = self.config
        offsets, f = flat_hits(events[c.hits], ("label", "view", "charge", "pdg", "michel"), product=str(c.hits))
        pred = per_hit(events, c.label, offsets, hits=c.hits).astype(np.int64)
        true = f["label"].astype(np.int64)
        view = f["view"].astype(np.int64)
        if pred.size and (pred.min() < 0 or pred.max() > 2):
            msg = f"'{c.label}' holds classes outside 0 (null), 1 (shower), 2 (track): {sorted(set(pred.tolist()))[:5]}"
            raise ValueError(msg)
        self.h_hits.fill(true=true, pred=pred, view=view)
        real = true > 0
        correct = (pred == true).astype(np.int64)
        self.h_charge.fill(true=true[real], correct=correct[real], charge=f["charge"][real])
        self.h_pdg.fill(particle=pdg_group(f["pdg"][real]), correct=correct[real])
        self.h_michel.fill(pred=pred[f["michel"].astype(bool) & real])
        if c.track_score is not None:
            s = per_hit(events, c.track_score, offsets, hits=c.hits)
            fin = np.isfinite(s)
            self.h_score.fill(true=true[fin], score=s[fin])
        if c.hit_tile is not None and c.hit_pixel is not None:
            tile = per_hit(events, c.hit_tile, offsets, hits=c.hits).astype(np.int64)
            pix = per_hit(events, c.hit_pixel, offsets, hits=c.hits).astype(np.int64)
            ev = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
            ok = tile >= 0
            key = (ev[ok] * 100_000 + tile[ok]) * 10_000_000 + pix[ok]
            uniq, inv = np.unique(key, return_inverse=True)
            q = np.zeros((len(uniq), 3))
            np.add.at(q, (inv, true[ok]), f["charge"][ok].astype(np.float64) + 1e-9)
            ptrue = np.argmax(q, axis=1)
            ppred = np.zeros(len(uniq), dtype=np.int64)
            ppred[inv] = pred[ok]  # every hit of a pixel has the pixel's prediction
            pview = np.zeros(len(uniq), dtype=np.int64)
            pview[inv] = view[ok]
            self.h_pix.fill(true=ptrue, pred=ppred, view=pview)

    # --- results ---------------------------------------------------------------------------------
    def results(self) -> dict[str, Any]:
        """The figures of the summary, from the (mergeable) histograms."""
        hv = self.h_hits.view()
        cm = hv.sum(axis=2)
        out: dict[str, Any] = {"hits": int(cm[1:].sum())}
        out.update({k: round(v, 5) for k, v in figures(cm).items()})
        pv = self.h_pix.view()
        if pv.sum():
            out.update({k: round(v, 5) for k, v in figures(pv.sum(axis=2), "pixel_").items()})
        for v, name in enumerate(VIEW_NAMES):
            out[f"{name}_overall_accuracy"] = round(figures(hv[:, :, v])["overall_accuracy"], 5)
        m = self.h_michel.view()
        if m.sum():
            out["michel_shower_accuracy"] = round(float(m[1] / m.sum()), 5)
        out["confusion_hits"] = cm.astype(np.int64).tolist()
        return out

    def end_job(self) -> None:
        res = self.results()
        self.summary(**res)
        if self.config.plot_dir:
            from hepreco_lartpc.plotting import plot_segmentation

            plot_segmentation(
                Path(self.config.plot_dir), self.label, self.h_hits, self.h_pix, self.h_charge, self.h_pdg,
                self.h_score, res, experiment=self.config.experiment, reference=REFERENCE,
            )  # fmt: skip
