"""This module defines GBDTHitClassifier: the ``comet-gbdt`` LightGBM model's per-hit signal scores in a job."""

from __future__ import annotations

import threading
from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag

__all__ = ["GBDTHitClassifier"]

_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()


class GBDTHitClassifier(hepreco.Producer):
    """Score every hit with the ``comet-gbdt`` model on ``comet.HitFeatures``' features.

    The checkpoint is checked (model, inputs, preprocessing) and loaded once per process. Products:
    ``score`` (per hit, jagged like the hits: the signal probability) and ``selected`` (per hit bool:
    ``score >= cut``).
    """

    class Config(hepreco.ModuleConfig):
        features: InputTag = InputTag("features:features")
        """The per-hit features of ``comet.HitFeatures``."""
        weights: str = "builtin:comet-gbdt"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``."""
        cut: float = Field(0.5, ge=0, le=1)
        """Hits with ``score >= cut`` are selected as signal."""

    produces = ("score", "selected")

    def check(self) -> list[tuple[str, str]]:
        """The checkpoint is found and is a comet-gbdt one (``hepreco validate`` says so before any event)."""
        from hepreco.ml import check_weights

        return check_weights(self, self.config.weights, model="comet-gbdt")

    def begin_job(self) -> None:
        from hepreco.ml import load_checkpoint
        from hepreco_comet.models import FEATURES

        job = getattr(self, "job", None)
        self.checkpoint = load_checkpoint(
            self.config.weights,
            model="comet-gbdt",
            inputs={"features": (len(FEATURES),)},
            registry=getattr(job, "registry", None),
            expected_by=f"module '{self.label}'",
        )
        with _LOCK:
            model = _CACHE.get(self.checkpoint.hash)
            if model is None:
                model = _CACHE[self.checkpoint.hash] = self.checkpoint.build()
        self.model = model
        self.summary(model="comet-gbdt", model_checkpoint=self.checkpoint.ref, model_hash=self.checkpoint.hash,
                     model_device="cpu", model_precision="fp32")  # fmt: skip

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        arr = events[c.features]
        none = np.asarray(ak.to_numpy(ak.is_none(arr, axis=0)), dtype=bool)
        present = arr[~none] if none.any() else arr
        counts = np.zeros(len(arr), dtype=np.int64)
        counts[~none] = ak.to_numpy(ak.num(present, axis=1))
        x = np.asarray(ak.to_numpy(ak.flatten(present, axis=1)), dtype=np.float32).reshape(-1, 7)
        pre = self.checkpoint.preprocessing
        pre.check({"features": x})
        score = np.asarray(self.model.predict(pre.apply({"features": x})), dtype=np.float32).reshape(-1)
        events.put("score", ak.unflatten(score, counts))
        events.put("selected", ak.unflatten(score >= c.cut, counts))
