"""The Smear producer: a detector-resolution model in a few lines."""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag


class Smear(hepreco.Producer):
    """Multiply every value of a (jagged) product by 1 + N(0, resolution), per event reproducibly."""

    class Config(hepreco.ModuleConfig):
        src: InputTag
        """The product to smear (numbers or jagged numbers), e.g. ``tracks.pt``."""
        resolution: float = Field(0.05, ge=0)
        """Relative Gaussian resolution."""

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        values = events[self.config.src]
        counts = ak.to_numpy(ak.num(values, axis=1)) if values.ndim > 1 else np.ones(len(values), dtype=np.int64)
        noise = np.concatenate(
            [
                g.normal(0.0, self.config.resolution, size=c)
                for g, c in zip(self.event_generators(events), counts, strict=True)
            ]
            + [np.zeros(0)]
        )
        flat = ak.flatten(values, axis=None) if values.ndim > 1 else values
        smeared = ak.to_numpy(flat) * (1.0 + noise)
        events.put("", ak.unflatten(smeared, counts) if values.ndim > 1 else smeared)
