"""This module registers the jets plugin's source, modules, models and shipped checkpoints with hepreco
(entry point ``jets``).

Registration imports nothing heavy: the modules import pythia8mc, fastjet, vector and torch only when a job
uses them, and the models name their builders as ``"package.module:attr"`` strings.
"""

from __future__ import annotations

from pathlib import Path

import hepreco
from hepreco_jets.antikt import AntiKtJets
from hepreco_jets.graphs import JetGraphs
from hepreco_jets.metrics import TaggerComparison, TaggingMetrics
from hepreco_jets.mpnn import MPNN
from hepreco_jets.nsubjettiness import NSubjettiness
from hepreco_jets.particlenet import PARTICLENET
from hepreco_jets.selection import JetSelection
from hepreco_jets.source import PythiaSource
from hepreco_jets.tagger import MPNNTagger, ParticleNetTagger, Tau21MassTagger
from hepreco_jets.tau21 import TAU21_MASS
from hepreco_jets.weights import PtFlatteningWeights

__all__ = ["hepreco_builtin_checkpoints", "hepreco_models", "hepreco_modules", "hepreco_sources"]

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [
        AntiKtJets,
        JetSelection,
        NSubjettiness,
        JetGraphs,
        PtFlatteningWeights,
        MPNNTagger,
        ParticleNetTagger,
        Tau21MassTagger,
        TaggingMetrics,
        TaggerComparison,
    ]


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [PythiaSource]


@hepreco.hookimpl
def hepreco_models() -> list[object]:
    return [MPNN, PARTICLENET, TAU21_MASS]


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """The checkpoints shipped in ``checkpoints/``: ``builtin:jets-mpnn``, ``builtin:jets-particlenet`` and
    ``builtin:jets-tau21-mass`` (those present)."""
    names = ("jets-mpnn", "jets-particlenet", "jets-tau21-mass")
    return {name: str(CHECKPOINTS / name) for name in names if (CHECKPOINTS / name / "metadata.json").exists()}
