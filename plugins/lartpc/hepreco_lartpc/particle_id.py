"""This module defines ParticleID (the particle-ID ResNet on each event's images) and ParticleIDMetrics (its
confusion matrix, accuracy per class and the electron/photon separation)."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco.ml import TorchInference, roc_curve_from_histograms
from hepreco_lartpc.resnet_pid_spec import PID_CLASSES

__all__ = ["ParticleID", "ParticleIDMetrics"]


class ParticleID(hepreco.Producer, TorchInference):
    """Run the ``lartpc-resnet-pid`` ResNet on ``lartpc.ParticleImager``'s images: every image of the batch at
    once on the Device service's device (``hepreco.ml.TorchInference``; ``batch_size`` images per forward pass).

    Products per event: ``scores`` (5 float32 probabilities: electron, photon, muon, pion, proton) and ``label``
    (int8, the most probable class).
    """

    model_name = "lartpc-resnet-pid"

    class Config(hepreco.ModuleConfig):
        image: InputTag = InputTag("pidimager:image")
        """The images, (3, size, size) per event."""
        weights: str = "builtin:lartpc-resnet-pid"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``."""
        batch_size: int | None = Field(256, gt=0)
        """Images per forward pass."""
        gpu_path_on_cpu: bool = False
        """Apply the Device service's autocast precision and channels-last on the CPU too."""

    produces = ("scores", "label")

    def begin_job(self) -> None:
        c = self.config
        self.load_model(c.weights, batch_size=c.batch_size, on_cpu=c.gpu_path_on_cpu)

    def produce(self, events: hepreco.Events) -> None:
        img = np.asarray(ak.to_numpy(events[self.config.image]), dtype=np.float32)
        prob = self.predict({"image": img}).astype(np.float32)
        events.put("scores", ak.Array(prob))
        events.put("label", ak.Array(np.argmax(prob, axis=1).astype(np.int8)))


class ParticleIDMetrics(hepreco.Analyzer):
    """The particle-ID figures: the confusion matrix (true class x predicted class), the accuracy overall and per
    class, and the electron/photon separation on true electrons and photons only (the hard pair: the dE/dx at the
    start of the shower): the accuracy of ``p_e > p_gamma`` and the AUC of ``p_e / (p_e + p_gamma)``.

    Summary: ``accuracy``, ``<class>_accuracy``, ``e_gamma_accuracy``, ``e_gamma_auc``, ``events``,
    ``confusion`` (rows: true electron, photon, muon, pion, proton). Histograms merge across batches.
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        target: InputTag = InputTag("pidimager:target")
        """The true class per event."""
        valid: InputTag | None = InputTag("pidimager:valid")
        """Events to count (null: all)."""
        scores: InputTag = InputTag("pid:scores")
        """The five probabilities per event."""

    def begin_job(self) -> None:
        import hist

        n = len(PID_CLASSES)
        d = hist.storage.Double()
        t = hist.axis.Integer(0, n, name="true", underflow=False, overflow=False)
        p = hist.axis.Integer(0, n, name="pred", underflow=False, overflow=False)
        self.h_cm = self.book("confusion", hist.Hist(t, p, storage=d))
        eg = hist.axis.Integer(0, 2, name="photon", underflow=False, overflow=False)
        s = hist.axis.Regular(1000, 0, 1, name="score", underflow=False, overflow=True)
        self.h_eg = self.book("e_gamma", hist.Hist(eg, s, storage=d, label="p_e / (p_e + p_gamma)"))

    def analyze(self, events: hepreco.Events) -> None:
        c = self.config
        target = np.asarray(ak.to_numpy(ak.fill_none(events[c.target], -1)), dtype=np.int64)
        scores = np.asarray(ak.to_numpy(events[c.scores]), dtype=np.float64)
        ok = target >= 0
        if c.valid is not None:
            ok &= np.asarray(ak.to_numpy(ak.fill_none(events[c.valid], False)), dtype=bool)
        t, s = target[ok], scores[ok]
        self.h_cm.fill(true=t, pred=np.argmax(s, axis=1))
        eg = t <= 1
        pe, pg = s[eg, 0], s[eg, 1]
        tot = pe + pg
        self.h_eg.fill(photon=t[eg], score=np.divide(pe, tot, out=np.full(len(pe), 0.5), where=tot > 0))

    def results(self) -> dict[str, Any]:
        """The figures of the summary, from the (mergeable) histograms."""
        cm = self.h_cm.view()
        out: dict[str, Any] = {"events": int(cm.sum())}
        if cm.sum():
            out["accuracy"] = round(float(np.trace(cm) / cm.sum()), 5)
        for k, name in enumerate(PID_CLASSES):
            if cm[k].sum():
                out[f"{name}_accuracy"] = round(float(cm[k, k] / cm[k].sum()), 5)
        eg = self.h_eg.view(flow=True)
        if eg[0].sum() and eg[1].sum():
            edges = np.append(self.h_eg.axes["score"].edges, np.inf)
            out["e_gamma_auc"] = round(roc_curve_from_histograms(eg[0], eg[1], edges).auc(), 5)
            half = int(np.searchsorted(edges, 0.5))
            right = eg[0, half:].sum() + eg[1, :half].sum()
            out["e_gamma_accuracy"] = round(float(right / eg.sum()), 5)
        out["confusion"] = cm.astype(np.int64).tolist()
        return out

    def end_job(self) -> None:
        self.summary(**self.results())
