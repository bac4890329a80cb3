"""This module defines PythiaSource: Pythia 8 events at the LHC, W' -> WZ (W jets) and hard QCD, or both mixed."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

import hepreco

__all__ = ["PythiaSource"]


class PythiaSource(hepreco.GeneratorSource):
    """Pythia 8 (``pythia8mc``) events at sqrt(s) = 13 TeV, as in the MPNN paper (Henrion et al.,
    `arXiv:1711.09059 <https://arxiv.org/abs/1711.09059>`_; the samples of Louppe et al.,
    `arXiv:1702.00748 <https://arxiv.org/abs/1702.00748>`_).

    ``process``: ``wprime_wz`` (W' of ``wprime_mass`` -> W Z, W -> q q', Z -> nu nu: one visible W jet per
    event), ``qcd`` (hard QCD 2 -> 2 in the pT-hat window), or ``mixed`` (each event is one or the other,
    drawn from the event's own seed with probability ``signal_fraction`` for W').

    Every event is generated from its own seed (job seed, this source's label, run, subrun, event): Pythia is
    re-seeded before each event, so an event does not depend on the batch size, the chunking or the executor.

    Products:
        ``particles``: per event, the visible final state (neutrinos removed) as records
        ``px, py, pz, E`` (GeV), ``pdg``, ``charge``.
        ``truth``: per event ``label`` (1 = W', 0 = QCD), ``process`` (Pythia's process code), ``pthat``.
        ``partons``: per event, the outgoing hard-process particles and the W (``px, py, pz, E, pdg, status``).
    """

    class Config(hepreco.GeneratorSource.Config):
        process: Literal["wprime_wz", "qcd", "mixed"] = "mixed"
        """Which events: W' -> WZ signal, QCD background, or both mixed."""
        signal_fraction: float = Field(0.5, ge=0, le=1)
        """``mixed``: the probability of a W' event."""
        sqrt_s: float = Field(13000.0, gt=0)
        """Centre-of-mass energy (GeV)."""
        wprime_mass: float = Field(700.0, gt=0)
        """W' mass (GeV)."""
        pthat_min: float = Field(240.0, ge=0)
        """QCD: the lowest pT-hat (GeV), below the jet window (250-300 GeV)."""
        pthat_max: float = Field(320.0, gt=0)
        """QCD: the highest pT-hat (GeV)."""
        mpi: bool = True
        """Multiparton interactions (the underlying event)."""
        isr: bool = True
        """Initial-state radiation."""
        fsr: bool = True
        """Final-state radiation."""
        hadronization: bool = True
        """Hadronisation (off: the final state is partons)."""
        pythia: list[str] = Field(default_factory=list)
        """More Pythia settings (``readString`` lines), applied last."""
        batch_size: int = Field(500, gt=0)
        """Events per batch: every module is called once per batch (Pythia makes ~50-100 events/s per core)."""

    produces = ("particles", "truth", "partons")

    def begin_job(self) -> None:
        from hepreco_jets.pythia import GeneratorSettings

        c = self.config
        common = dict(
            sqrt_s=c.sqrt_s,
            wprime_mass=c.wprime_mass,
            pthat_min=c.pthat_min,
            pthat_max=c.pthat_max,
            mpi=c.mpi,
            isr=c.isr,
            fsr=c.fsr,
            hadronization=c.hadronization,
            extra=tuple(c.pythia),
        )
        self.settings = [GeneratorSettings("wprime_wz", **common), GeneratorSettings("qcd", **common)]  # type: ignore[arg-type]
        rng = self.services["RandomNumbers"].generator(self.label, "pythia-init")
        self.init_seed = int(rng.integers(0, 2**31 - 1))

    def generate(self, ids: hepreco.EventIDs) -> dict[str, Any]:
        from hepreco_jets.pythia import generate_events

        c = self.config
        seeds = self.event_seeds(ids)
        if c.process == "wprime_wz":
            which = np.zeros(len(ids), dtype=np.int64)
        elif c.process == "qcd":
            which = np.ones(len(ids), dtype=np.int64)
        else:
            u = self.random_uniform(ids, 1, stream=1)
            which = (u >= c.signal_fraction).astype(np.int64)
        particles, truth, partons = generate_events(self.settings, which, seeds, self.init_seed)
        return {"particles": particles, "truth": truth, "partons": partons}
