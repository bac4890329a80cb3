"""This module defines LArTPCSimSource: simulated LArTPC events (neutrino-like vertices, single particles, cosmics)."""

from __future__ import annotations

from typing import Any

import numpy as np

import hepreco
from hepreco_lartpc.simulation import INTERACTIONS, SimParameters

__all__ = ["LArTPCSimSource"]


class LArTPCSimSource(hepreco.GeneratorSource):
    """Simulated LArTPC events: particles transported through liquid argon (numba), their ionisation drifted to
    the U, V, W wire planes, wire signals with noise, and a hit finder making Gaussian hits with per-hit truth.

    Products: ``hits`` (jagged: ``view, wire, tick, x, w, charge, width`` and the truth ``particle, pdg, label,
    michel``; ``label`` is Pandora's class, 0 null, 1 shower, 2 track), ``particles`` (jagged truth: ``id,
    parent, pdg, process, start_x/y/z, end_x/y/z, px, py, pz, energy, t0, shower, michel``), ``interaction``
    (per event: 0 single, 1 numu CC, 2 nue CC, 3 NC pi0, 4 cosmics only), ``dropped`` (per event: particles and
    deposits beyond the buffers) and, with ``adc_images``, ``adc_U``, ``adc_V``, ``adc_W``. Every event is
    made from its own seed (job seed, label, run, subrun, event): the same in any batch or executor.
    The modelling choices and their sources are in the plugin README.
    """

    class Config(hepreco.GeneratorSource.Config, SimParameters):  # type: ignore[misc]
        pass

    produces = ("hits", "particles", "interaction", "dropped", "adc_U", "adc_V", "adc_W")
    summary_from_histograms = True

    def products(self) -> tuple[str, ...]:
        base = ("hits", "particles", "interaction", "dropped")
        return (*base, "adc_U", "adc_V", "adc_W") if self.config.adc_images else base

    def begin_job(self) -> None:
        import hist

        fields = SimParameters.model_fields
        self.params = SimParameters(**{k: getattr(self.config, k) for k in fields})
        self.counts = self.book(
            "interactions",
            hist.Hist(hist.axis.Integer(0, len(INTERACTIONS), name="interaction"), storage=hist.storage.Double()),
        )
        self.dropped = self.book(
            "dropped",
            hist.Hist(hist.axis.StrCategory(["particles", "deposits"], name="what"), storage=hist.storage.Double()),
        )

    def generate(self, ids: hepreco.EventIDs) -> dict[str, Any]:
        from hepreco_lartpc.simulation import simulate

        out = simulate(self.event_seeds(ids), self.params)
        code = np.asarray(out["interaction"], dtype=np.int64)
        self.counts.fill(interaction=code)
        v = self.dropped.view()
        v[0] += float(np.sum(np.asarray(out["dropped"].particles)))
        v[1] += float(np.sum(np.asarray(out["dropped"].deposits)))
        return out

    def end_job(self) -> None:
        counts = self.counts.view()
        figures: dict[str, Any] = {name: int(counts[code]) for code, name in INTERACTIONS.items() if counts[code]}
        dropped = self.dropped.view()
        if dropped.sum():
            figures["dropped_particles"] = int(dropped[0])
            figures["dropped_deposits"] = int(dropped[1])
        self.summary(**figures)
