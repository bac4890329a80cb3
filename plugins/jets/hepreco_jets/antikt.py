"""This module defines AntiKtJets: FastJet jets of every event (anti-kt R = 1.0 by default), with constituents."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import hepreco
from hepreco import InputTag

__all__ = ["AntiKtJets"]


class AntiKtJets(hepreco.Producer):
    """Cluster the visible particles of every event with FastJet (its awkward interface: the whole batch in
    one call), anti-kt with R = 1.0 as in the MPNN paper; ``kt`` and ``cambridge`` recluster likewise.

    Products:
        ``jets``: per event, the jets by decreasing pT: records ``pt, eta, phi, mass, px, py, pz, E`` and
        ``constituents`` (the particle records, by decreasing pT).
        ``leading``: the highest-pT jet of each event (None without jets): ``pt, eta, phi, mass, px, py,
        pz, E, n_constituents``.
        ``constituents``: the leading jet's constituents (particle records by decreasing pT; None without
        jets). ``leading`` and ``constituents`` are what a TTree holds (RootOutput); ``jets`` is not.
    """

    class Config(hepreco.ModuleConfig):
        particles: InputTag = InputTag("source:particles")
        """Jagged particle records with ``px, py, pz, E`` (other fields are kept on the constituents)."""
        radius: float = Field(1.0, gt=0, le=4)
        """The jet radius R."""
        algorithm: Literal["antikt", "kt", "cambridge"] = "antikt"
        """The clustering algorithm."""
        min_pt: float = Field(20.0, ge=0)
        """Jets below this pT (GeV) are dropped."""

    produces = ("jets", "leading", "constituents")

    def produce(self, events: hepreco.Events) -> None:
        from hepreco_jets.clustering import cluster, leading_jet, leading_record

        c = self.config
        jets = cluster(events[c.particles], radius=c.radius, algorithm=c.algorithm, min_pt=c.min_pt)
        events.put("jets", jets)
        lead = leading_jet(jets)
        events.put("leading", leading_record(lead))
        events.put("constituents", lead.constituents)
