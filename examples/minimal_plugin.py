"""A one-file plugin for the minimal example: named in the job config's ``plugins:`` list.

It makes toy "tracks" per event (a random number of them, with random pT), selects events with a
hard track, and computes the scalar sum of pT: three modules, each a few lines of columnar code.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag


class ToyTracks(hepreco.Producer):
    """Per event, a Poisson number of tracks with exponential pT [GeV] and uniform phi."""

    class Config(hepreco.ModuleConfig):
        mean_tracks: float = Field(5.0, gt=0)
        """Mean number of tracks per event."""
        mean_pt: float = Field(10.0, gt=0)
        """Mean track pT in GeV."""

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        # counter-based random numbers: vectorised, and the same per event whatever the batching
        u = self.random_uniform(events, stream=0)
        k = np.arange(60)
        log_pmf = k * np.log(self.config.mean_tracks) - self.config.mean_tracks - np.cumsum(np.log(np.maximum(k, 1)))
        counts = np.searchsorted(np.cumsum(np.exp(log_pmf)), u)  # Poisson by inverse CDF
        pt = -self.config.mean_pt * np.log1p(-self.random_uniform(events, counts, stream=1))
        phi = np.pi * (2.0 * self.random_uniform(events, counts, stream=2) - 1.0)
        events.put("", ak.unflatten(ak.zip({"pt": pt, "phi": phi}), counts))


class HardTrack(hepreco.Filter):
    """Pass events with at least one track above ``min_pt``."""

    class Config(hepreco.ModuleConfig):
        tracks: InputTag = InputTag("tracks")
        min_pt: float = Field(20.0, ge=0)
        """pT threshold in GeV."""

    def filter(self, events: hepreco.Events) -> np.ndarray:
        return ak.to_numpy(ak.any(events[self.config.tracks].pt > self.config.min_pt, axis=1))


class SumPt(hepreco.Producer):
    """Scalar sum of the track pT per event (HT)."""

    class Config(hepreco.ModuleConfig):
        tracks: InputTag = InputTag("tracks")

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        events.put("", ak.sum(events[self.config.tracks].pt, axis=1))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [ToyTracks, HardTrack, SumPt]
