"""A one-file plugin for the H->ZZ example: an opposite-sign dimuon filter and the dimuon mass.

Named in the job config's ``plugins:`` list. The muons are one record product per event (``source:muons``,
fields Px, Py, Pz, E, Charge, Iso), grouped by RootSource from the branches ``Muon_Px``, ``Muon_Py``...
Four-vector arithmetic through scikit-hep's ``vector`` (``pip install vector``): the muons become
``Momentum4D`` records, so ``pt``, ``+`` and ``mass`` mean what a physicist expects.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import vector
from pydantic import Field

import hepreco
from hepreco import InputTag

vector.register_awkward()


def four_vectors(muons: ak.Array) -> ak.Array:
    """The muons as ``vector`` Momentum4D records (px, py, pz, E), with their charge."""
    return ak.zip(
        {"px": muons.Px, "py": muons.Py, "pz": muons.Pz, "E": muons.E, "charge": muons.Charge},
        with_name="Momentum4D",
    )


def _leading_opposite_sign_pairs(muons: ak.Array, min_pt: float) -> ak.Array:
    """Per event, the highest-pT pair of opposite-charge muons above ``min_pt`` (None where there is none)."""
    mu = four_vectors(muons)
    good = mu[mu.pt > min_pt]
    good = good[ak.argsort(good.pt, axis=1, ascending=False)]
    pairs = ak.combinations(good, 2, fields=["a", "b"])
    pairs = pairs[pairs.a.charge * pairs.b.charge < 0]
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
        mass = (pair.a + pair.b).mass  # vector's invariant mass (None where there is no pair)
        events.put("mass", ak.to_numpy(ak.fill_none(mass, np.nan)).astype(np.float64))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [OppositeSignDimuon, DimuonMass]
