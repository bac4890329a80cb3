"""This module defines the taggers that run in a job: ``jets.MPNNTagger`` and ``jets.ParticleNetTagger`` (torch
networks on ``jets.JetGraphs``' graphs, through ``hepreco.ml.TorchInference``) and ``jets.Tau21MassTagger``
(the GBDT baseline)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco.ml import TorchInference

__all__ = ["GraphTagger", "MPNNTagger", "ParticleNetTagger", "Tau21MassTagger"]


class GraphTagger(hepreco.Producer, TorchInference):
    """Run a graph network on ``jets.JetGraphs``' padded features and mask: one score per jet.

    The whole batch goes to the device at once (``hepreco.ml.TorchInference``: one model load per process,
    ``torch.inference_mode``, bf16/fp16 autocast on a GPU per the Device service, a CUDA out-of-memory
    error halves the batch). A checkpoint of another model, or for another number of padded particles, is
    refused when the job starts.

    Products: ``score`` (the W probability per event) and ``tagged`` (``score >= cut``).
    """

    model_name: ClassVar[str | None] = None
    default_weights: ClassVar[str] = ""

    class Config(hepreco.ModuleConfig):
        features: InputTag = InputTag("graphs:features")
        """Padded particle features (events x max_particles x 7)."""
        mask: InputTag = InputTag("graphs:mask")
        """Their node mask (events x max_particles)."""
        weights: str | None = None
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME`` (default: the shipped one)."""
        cut: float = Field(0.5, ge=0, le=1)
        """Jets with ``score >= cut`` are tagged."""
        batch_size: int | None = Field(None, gt=0)
        """Jets per forward pass (default: the whole batch at once)."""

    produces = ("score", "tagged")

    def begin_job(self) -> None:
        c = self.config
        self.load_model(c.weights or self.default_weights, batch_size=c.batch_size)

    def produce(self, events: hepreco.Events) -> None:
        import awkward as ak

        c = self.config
        x = np.asarray(ak.to_numpy(events[c.features]), dtype=np.float32)
        mask = np.asarray(ak.to_numpy(events[c.mask]), dtype=bool)
        score = self.predict({"x": x, "mask": mask}).reshape(-1).astype(np.float32)
        events.put("score", score)
        events.put("tagged", score >= c.cut)


class MPNNTagger(GraphTagger):
    """The MPNN jet tagger of Henrion et al. (``jets-mpnn``, `arXiv:1711.09059
    <https://arxiv.org/abs/1711.09059>`_) on ``jets.JetGraphs``' graphs; by default the shipped
    ``builtin:jets-mpnn``. Products: ``score`` (W probability), ``tagged``."""

    model_name = "jets-mpnn"
    default_weights = "builtin:jets-mpnn"


class ParticleNetTagger(GraphTagger):
    """ParticleNet-Lite (``jets-particlenet``, `arXiv:1902.08570 <https://arxiv.org/abs/1902.08570>`_) on
    ``jets.JetGraphs``' graphs; by default the shipped ``builtin:jets-particlenet``. Products: ``score``,
    ``tagged``."""

    model_name = "jets-particlenet"
    default_weights = "builtin:jets-particlenet"


_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()


class Tau21MassTagger(hepreco.Producer):
    """The tau21 + mass baseline (``jets-tau21-mass``, a LightGBM GBDT) on ``jets.NSubjettiness``' products.

    Products: ``score`` (W probability per event), ``tagged`` (``score >= cut``).
    """

    class Config(hepreco.ModuleConfig):
        tau21: InputTag = InputTag("nsub:tau21")
        mass: InputTag = InputTag("nsub:mass")
        weights: str = "builtin:jets-tau21-mass"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``."""
        cut: float = Field(0.5, ge=0, le=1)

    produces = ("score", "tagged")

    def begin_job(self) -> None:
        from hepreco.ml import load_checkpoint

        job = getattr(self, "job", None)
        self.checkpoint = load_checkpoint(
            self.config.weights,
            model="jets-tau21-mass",
            inputs={"features": (2,)},
            registry=getattr(job, "registry", None),
            expected_by=f"module '{self.label}'",
        )
        with _LOCK:
            model = _CACHE.get(self.checkpoint.hash)
            if model is None:
                model = _CACHE[self.checkpoint.hash] = self.checkpoint.build()
        self.model = model
        self.summary(model="jets-tau21-mass", model_checkpoint=self.checkpoint.ref, model_hash=self.checkpoint.hash,
                     model_device="cpu", model_precision="fp32")  # fmt: skip

    def produce(self, events: hepreco.Events) -> None:
        import awkward as ak

        c = self.config
        x = np.stack(
            [np.asarray(ak.to_numpy(events[c.tau21]), dtype=np.float32),
             np.asarray(ak.to_numpy(events[c.mass]), dtype=np.float32)], axis=1,
        )  # fmt: skip
        pre = self.checkpoint.preprocessing
        pre.check({"features": x})
        score = np.asarray(self.model.predict(pre.apply({"features": x})), dtype=np.float32).reshape(-1)
        events.put("score", score)
        events.put("tagged", score >= c.cut)
