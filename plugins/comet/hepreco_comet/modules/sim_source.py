"""This module defines CDCSimSource: simulated COMET CDC events (signal electron plus backgrounds)."""

from __future__ import annotations

from typing import Any

import numpy as np

import hepreco
from hepreco_comet.modules.geometry_service import geometry_from
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

    Its summary (``signal_electrons_drawn_per_event``: conversion electrons drawn until one fired the
    trigger) comes from the booked histogram ``signal_attempts`` (events and attempts), so it covers the
    whole job on every executor (``summary_from_histograms``: under ``processes`` or ``dask`` the client
    computes it once from the workers' merged counts).
    """

    class Config(hepreco.GeneratorSource.Config, SimParameters):  # type: ignore[misc]
        pass

    produces = ("hits", "signal")
    summary_from_histograms = True

    def begin_job(self) -> None:
        import hist

        fields = SimParameters.model_fields
        self.params = SimParameters(**{k: getattr(self.config, k) for k in fields})
        self.geometry = geometry_from(self.services)
        self.counts = self.book(
            "signal_attempts",
            hist.Hist(hist.axis.StrCategory(["events", "attempts"], name="count"), storage=hist.storage.Double()),
            internal=True,  # a counter: the summary's figures come from it
        )

    def generate(self, ids: hepreco.EventIDs) -> dict[str, Any]:
        seeds = self.event_seeds(ids)
        hits, signal = simulate(seeds, self.params, self.geometry)
        counts = self.counts.view()
        counts[0] += len(ids)
        counts[1] += int(np.sum(signal.attempts))
        return {"hits": hits, "signal": signal}

    def end_job(self) -> None:
        n_events, attempts = self.counts.view()
        if self.params.signal and n_events:
            self.summary(signal_electrons_drawn_per_event=round(float(attempts / n_events), 3))
