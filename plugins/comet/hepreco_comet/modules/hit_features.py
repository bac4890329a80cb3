"""This module defines HitFeatures: the per-hit features of the COMET TDR's GBDT baseline in a job
(:func:`hepreco_comet.gbdt_features.hit_features`)."""

from __future__ import annotations

import awkward as ak
import numpy as np

import hepreco
from hepreco import InputTag
from hepreco_comet._hits import flat_hits
from hepreco_comet.gbdt_features import hit_features
from hepreco_comet.modules.geometry_service import geometry_from

__all__ = ["HitFeatures"]


class HitFeatures(hepreco.Producer):
    """Put ``features``: per hit (jagged like the hits) the 7 GBDT features: the wire's own deposit, drift
    time and layer, and its left and right neighbours' deposit and time (:data:`hepreco_comet.models.FEATURES`)."""

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        """The CDC hits (fields ``wire``, ``drift_time``, ``edep``)."""

    produces = ("features",)

    def begin_job(self) -> None:
        self.geometry = geometry_from(self.services)

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        offsets, flat = flat_hits(events[c.hits], ("wire", "drift_time", "edep"), product=str(c.hits))
        self.geometry.check_wires(flat["wire"])
        f = hit_features(offsets, flat["wire"], flat["drift_time"], flat["edep"], self.geometry)
        events.put("features", ak.unflatten(f, np.diff(offsets)))
