"""This module defines SignalImage: the signal-only hit image, the target of the DnCNN's denoiser pre-training."""

from __future__ import annotations

import numpy as np

import hepreco
from hepreco import InputTag

__all__ = ["SignalImage"]


class SignalImage(hepreco.Producer):
    """Put ``image``: the imager's 2-channel image with every pixel whose hit is not signal set to zero
    (the "clean" image a DnCNN denoiser learns, ``comet-dncnn-denoiser``).

    Needs ``comet.HitImager`` with ``targets: true`` (its ``target``, the per-pixel signal flag).
    """

    class Config(hepreco.ModuleConfig):
        image: InputTag = InputTag("imager:image")
        """The imager's 2-channel image."""
        target: InputTag = InputTag("imager:target")
        """The imager's per-pixel signal flag."""

    produces = ("image",)

    def produce(self, events: hepreco.Events) -> None:
        import awkward as ak

        image = np.asarray(ak.to_numpy(events[self.config.image]), dtype=np.float32)
        target = np.asarray(ak.to_numpy(events[self.config.target]))
        events.put("image", image * (target[:, None] > 0).astype(np.float32))
