"""A one-file plugin for the H->ZZ example: an opposite-sign dimuon filter and the dimuon mass.

Named in the job config's ``plugins:`` list. The muons are one record product per event (``source:muons``,
fields Px, Py, Pz, E, Charge, Iso), grouped by RootSource from the branches ``Muon_Px``, ``Muon_Py``...
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag


def _leading_opposite_sign_pairs(muons: ak.Array, min_pt: float) -> ak.Array:
    """Per event, the highest-pT pair of opposite-charge muons above ``min_pt`` (None where there is none)."""
    pt = np.hypot(muons.Px, muons.Py)
    good = muons[pt > min_pt]
    good = good[ak.argsort(np.hypot(good.Px, good.Py), axis=1, ascending=False)]
    pairs = ak.combinations(good, 2, fields=["a", "b"])
    pairs = pairs[pairs.a.Charge * pairs.b.Charge < 0]
    return ak.firsts(pairs, axis=1)


class OppositeSignDimuon(hepreco.Filter):
    """Pass events with two muons of opposite charge above ``min_pt``."""

    class Config(hepreco.ModuleConfig):
        muons: InputTag = InputTag("source:muons")
        """The muons: a list of records with fields Px, Py, Pz, E, Charge per event."""
        min_pt: float = Field(5.0, ge=0)
        """Transverse momentum threshold in GeV."""

    def filter(self, events: hepreco.Events) -> np.ndarray:
        pair = _leading_opposite_sign_pairs(events[self.config.muons], self.config.min_pt)
        return ~ak.to_numpy(ak.is_none(pair))


class DimuonMass(hepreco.Producer):
    """Invariant mass [GeV] of the leading opposite-sign muon pair (NaN in events without one)."""

    class Config(hepreco.ModuleConfig):
        muons: InputTag = InputTag("source:muons")
        """The muons: a list of records with fields Px, Py, Pz, E, Charge per event."""
        min_pt: float = Field(5.0, ge=0)
        """Transverse momentum threshold in GeV."""

    produces = ("mass",)

    def produce(self, events: hepreco.Events) -> None:
        pair = _leading_opposite_sign_pairs(events[self.config.muons], self.config.min_pt)
        e = pair.a.E + pair.b.E
        px, py, pz = pair.a.Px + pair.b.Px, pair.a.Py + pair.b.Py, pair.a.Pz + pair.b.Pz
        m2 = ak.fill_none(e**2 - px**2 - py**2 - pz**2, np.nan)
        events.put("mass", np.sqrt(np.maximum(ak.to_numpy(m2).astype(np.float64), 0.0)))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [OppositeSignDimuon, DimuonMass]
