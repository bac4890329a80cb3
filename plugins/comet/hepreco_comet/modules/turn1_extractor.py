"""This module defines Turn1Extractor: the turn-1 extractor network (``comet-turn1``,
:mod:`hepreco_comet.nets.turn1`) run on the image of the kept hits, its per-pixel classes returned to the hits."""

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

__all__ = ["Turn1Extractor"]


class Turn1Extractor(hepreco.Producer, TorchInference):
    """Run the ``comet-turn1`` network on the image of the hits the hit classifier kept (a second
    ``comet.HitImager`` with ``select: <classifier>:selected``) and give every hit its turn-1 probability.

    Like ``comet.DnCNNHitClassifier``: the whole batch goes to the device at once, one model load per
    process, autocast and channels-last on a GPU per the Device service, a CUDA out-of-memory halves the
    batch.

    Products (per hit, jagged like the hits): ``score``, the softmax probability of the turn-1 class
    (``fill`` for hits not in the image: not kept by the hit classifier, or above the energy cut);
    ``mask``, ``score >= cut``: the turn-1 hits (a subset of the kept hits); ``turn``, the most probable
    class (0 background, 1 turn 1, 2 later turns; -1 for hits not in the image).
    """

    model_name = "comet-turn1"

    class Config(hepreco.ModuleConfig):
        image: InputTag = InputTag("kept:image")
        """The image of the kept hits (events x 2 x H x W)."""
        hit_pixel: InputTag = InputTag("kept:hit_pixel")
        """That imager's per-hit pixel index (-1 for hits not imaged)."""
        weights: str = "builtin:comet-turn1"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``."""
        layout: Literal["wire", "xy", "layercell"] | None = None
        """The imager's layout; set it to have a checkpoint for another layout refused when the job starts."""
        xy_size: int = Field(128, ge=8)
        """Pixels per side of the ``xy`` layout (with ``layout: xy``)."""
        cut: float = Field(0.5, ge=0, le=1)
        """Hits with a turn-1 probability ``>= cut`` are in the turn-1 ``mask``."""
        fill: float = 0.0
        """The score of hits that are not in the image."""
        batch_size: int | None = Field(None, gt=0)
        """Events per forward pass (default: the whole batch at once)."""

    produces = ("score", "mask", "turn")

    def begin_job(self) -> None:
        load_for_layout(self)

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        image = np.asarray(ak.to_numpy(events[c.image]), dtype=np.float32)
        offsets, flat = flat_hits(ak.zip({"p": events[c.hit_pixel]}), ("p",), product=str(c.hit_pixel))
        pix = flat["p"].astype(np.int32)
        prob = self.predict({"image": image})  # (n, 3, H, W) softmax
        score = pixels_to_hits(prob[:, 1], offsets, pix, fill=c.fill).astype(np.float32)
        best = prob.argmax(axis=1).astype(np.float32)
        turn = pixels_to_hits(best, offsets, pix, fill=-1.0).astype(np.int8)
        counts = np.diff(offsets)
        events.put("score", ak.unflatten(score, counts))
        events.put("mask", ak.unflatten((score >= c.cut) & (pix >= 0), counts))
        events.put("turn", ak.unflatten(turn, counts))
