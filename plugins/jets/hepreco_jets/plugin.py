"""This module registers the jets plugin's source, modules and models with hepreco (entry point ``jets``).

Registration imports nothing heavy: the modules import pythia8mc, fastjet, vector and torch only when a job
uses them, and the models name their builders as ``"package.module:attr"`` strings.
"""

from __future__ import annotations

import hepreco
from hepreco_jets.antikt import AntiKtJets
from hepreco_jets.graphs import JetGraphs
from hepreco_jets.nsubjettiness import NSubjettiness
from hepreco_jets.selection import JetSelection
from hepreco_jets.source import PythiaSource

__all__ = ["hepreco_modules", "hepreco_sources"]


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [AntiKtJets, JetSelection, NSubjettiness, JetGraphs]


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [PythiaSource]
