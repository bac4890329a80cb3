"""This module defines DnCNNHitClassifier: the DnCNN hit classifier (``comet-dncnn``,
:mod:`hepreco_comet.nets.dncnn`) run on the imager's images, its per-pixel signal probability returned to the hits."""

from __future__ import annotations

from typing import Literal

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco.ml import TorchInference
from hepreco_comet._hits import flat_hits
from hepreco_comet.images import pixels_to_hits
from hepreco_comet.modules._networks import load_for_layout

__all__ = ["DnCNNHitClassifier"]


class DnCNNHitClassifier(hepreco.Producer, TorchInference):
    """Run the ``comet-dncnn`` network on ``comet.HitImager``'s images and give every hit its pixel's
    signal probability (through the imager's ``hit_pixel`` map).

    The whole batch goes to the device at once (``hepreco.ml.TorchInference``: one model load per
    process, ``torch.inference_mode``, autocast and channels-last on a GPU per the Device service, a CUDA
    out-of-memory error halves the batch). A checkpoint for another image layout is refused.

    Products: ``score`` (per hit, jagged like the hits: the signal probability; ``fill`` for hits the
    imager dropped, those above its energy cut) and ``selected`` (per hit bool: ``score >= cut``).
    """

    model_name = "comet-dncnn"

    class Config(hepreco.ModuleConfig):
        image: InputTag = InputTag("imager:image")
        """The imager's 2-channel image (events x 2 x H x W)."""
        hit_pixel: InputTag = InputTag("imager:hit_pixel")
        """The imager's per-hit pixel index (-1 for dropped hits)."""
        weights: str = "builtin:comet-dncnn"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``."""
        layout: Literal["wire", "xy", "layercell"] | None = None
        """The imager's layout; set it to have a checkpoint for another layout refused when the job
        starts (the image shape is checked on every batch in any case)."""
        xy_size: int = Field(128, ge=8)
        """Pixels per side of the ``xy`` layout (with ``layout: xy``)."""
        cut: float = Field(0.5, ge=0, le=1)
        """Hits with ``score >= cut`` are selected as signal."""
        fill: float = 0.0
        """The score of hits that are not in the image (removed by the imager's energy cut)."""
        batch_size: int | None = Field(None, gt=0)
        """Events per forward pass (default: the whole batch at once)."""

    produces = ("score", "selected")

    def begin_job(self) -> None:
        load_for_layout(self)

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        image = np.asarray(ak.to_numpy(events[c.image]), dtype=np.float32)
        offsets, flat = flat_hits(ak.zip({"p": events[c.hit_pixel]}), ("p",), product=str(c.hit_pixel))
        prob = self.predict({"image": image})  # (n, 1, H, W)
        score = pixels_to_hits(prob[:, 0], offsets, flat["p"].astype(np.int32), fill=c.fill).astype(np.float32)
        counts = np.diff(offsets)
        events.put("score", ak.unflatten(score, counts))
        events.put("selected", ak.unflatten(score >= c.cut, counts))
