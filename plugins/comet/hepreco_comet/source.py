"""This module defines CDCSimSource: simulated COMET CDC events (signal electron plus backgrounds)."""

from __future__ import annotations

from typing import Any

import numpy as np

import hepreco
from hepreco_comet.service import geometry_from
from hepreco_comet.simulation import SimParameters, simulate

__all__ = ["CDCSimSource"]


class CDCSimSource(hepreco.GeneratorSource):
    """Simulated COMET Phase-I CDC events: a 104.97 MeV/c conversion electron that fires the CTH trigger,
    over capture protons, neutron recoils, photon electrons, decay-in-orbit electrons and noise.

    Products: ``hits`` (jagged per event: ``wire, layer, cell, drift_time, edep, x, y, z`` and the truth
    ``is_signal, turn, particle, track_id, origin``) and ``signal`` (per event: true momentum ``px, py,
    pz``, vertex ``vx, vy, vz``, ``attempts``, ``has_signal``). Every event is made from its own seed
    (job seed, label, run, subrun, event), so it does not depend on the batch size. The defaults
    reproduce the talk's sample; see the plugin README for every modelling choice.
    """

    class Config(hepreco.GeneratorSource.Config, SimParameters):  # type: ignore[misc]
        pass

    produces = ("hits", "signal")

    def begin_job(self) -> None:
        fields = SimParameters.model_fields
        self.params = SimParameters(**{k: getattr(self.config, k) for k in fields})
        self.geometry = geometry_from(self.services)
        self._n_events = 0
        self._attempts = 0

    def generate(self, ids: hepreco.EventIDs) -> dict[str, Any]:
        seeds = self.event_seeds(ids)
        hits, signal = simulate(seeds, self.params, self.geometry)
        self._n_events += len(ids)
        self._attempts += int(np.sum(signal.attempts))
        return {"hits": hits, "signal": signal}

    def end_job(self) -> None:
        if self.params.signal and self._n_events:
            self.summary(signal_electrons_drawn_per_event=round(self._attempts / self._n_events, 3))
