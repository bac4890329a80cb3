"""This module defines NSubjettiness: tau_1, tau_2 (and tau_21) of a jet from exclusive kt subjet axes."""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag

__all__ = ["NSubjettiness"]


class NSubjettiness(hepreco.Producer):
    """N-subjettiness of one jet per event (Thaler and Van Tilburg, `arXiv:1011.2268
    <https://arxiv.org/abs/1011.2268>`_), the axes from exclusive kt subjets of its constituents:
    the tau21 + mass baseline of the MPNN paper.

    Products (one value per event): ``tau1``, ``tau2``, ``tau21`` (= tau2 / tau1, 0 when tau1 = 0), and
    ``mass`` (the jet mass, beside them for the baseline's two features).
    """

    class Config(hepreco.ModuleConfig):
        jet: InputTag = InputTag("antikt:leading")
        """One jet per event: a record with ``mass``."""
        constituents: InputTag = InputTag("antikt:constituents")
        """Its constituents: jagged records (``px, py, pz, E``)."""
        radius: float = Field(1.0, gt=0)
        """R0 of the normalisation (the jet radius)."""

    produces = ("tau1", "tau2", "tau21", "mass")

    def produce(self, events: hepreco.Events) -> None:
        from hepreco_jets.clustering import nsubjettiness

        jet = events[self.config.jet]
        tau = nsubjettiness(events[self.config.constituents], n_max=2, radius=self.config.radius)
        t21 = np.divide(tau[:, 1], tau[:, 0], out=np.zeros(len(tau), dtype=np.float32), where=tau[:, 0] > 0)
        events.put("tau1", tau[:, 0])
        events.put("tau2", tau[:, 1])
        events.put("tau21", t21.astype(np.float32))
        events.put("mass", np.asarray(ak.to_numpy(jet.mass), dtype=np.float32))
