"""The hepreco side of ``benchmarks/vs_coffea.py``: the dimuon pair producer, loaded with ``plugins: [path]``.

``DimuonPair`` reads the muon branches RootSource makes products of (``source:Muon_pt``...) and calls
``vs_coffea.dimuon``, the function the bare loop and the coffea processor call too, so all three compute the
same numbers. It puts ``mass`` (leading opposite-sign pair) and ``lead_pt`` (leading muon), one per event,
missing (``None``) in events without an opposite-sign pair: HistFill skips those.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import awkward as ak
import numpy as np

import hepreco
from hepreco import InputTag


def _benchmark_module():
    """benchmarks/vs_coffea.py as a module (it imports only the standard library at the top)."""
    name = "_hepreco_bench_vs_coffea"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("vs_coffea.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


dimuon = _benchmark_module().dimuon


class DimuonPair(hepreco.Producer):
    """Invariant mass of the leading opposite-sign muon pair and the leading muon's pT [GeV]."""

    class Config(hepreco.ModuleConfig):
        pt: InputTag = InputTag("source:Muon_pt")
        eta: InputTag = InputTag("source:Muon_eta")
        phi: InputTag = InputTag("source:Muon_phi")
        mass: InputTag = InputTag("source:Muon_mass")
        charge: InputTag = InputTag("source:Muon_charge")

    produces = ("mass", "lead_pt")

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        selected, pair_mass, lead_pt = dimuon(*(events[t] for t in (c.pt, c.eta, c.phi, c.mass, c.charge)))
        for name, values in (("mass", pair_mass), ("lead_pt", lead_pt)):
            full = np.zeros(len(selected))
            full[selected] = values
            events.put(name, ak.mask(full, selected))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [DimuonPair]
