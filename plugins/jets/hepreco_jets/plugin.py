"""This module registers the jets plugin's source, modules, models and shipped checkpoints with hepreco
(entry point ``jets``).

Registration imports nothing heavy: the modules import pythia8mc, fastjet, vector and torch only when a job
uses them, and the models name their builders as ``"package.module:attr"`` strings.
"""

from __future__ import annotations

from pathlib import Path

import hepreco

__all__ = ["hepreco_builtin_checkpoints", "hepreco_models", "hepreco_modules", "hepreco_sources"]

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@hepreco.hookimpl
def hepreco_modules() -> list[str]:
    """The modules, by name: each file is imported (with awkward, fastjet, torch...) when a job uses it."""
    return [
        "hepreco_jets.antikt:AntiKtJets",
        "hepreco_jets.selection:JetSelection",
        "hepreco_jets.nsubjettiness:NSubjettiness",
        "hepreco_jets.graphs:JetGraphs",
        "hepreco_jets.weights:PtFlatteningWeights",
        "hepreco_jets.tagger:MPNNTagger",
        "hepreco_jets.tagger:ParticleNetTagger",
        "hepreco_jets.tagger:Tau21MassTagger",
        "hepreco_jets.metrics:TaggingMetrics",
        "hepreco_jets.metrics:TaggerComparison",
    ]


@hepreco.hookimpl
def hepreco_sources() -> list[str]:
    return ["hepreco_jets.source:PythiaSource"]


@hepreco.hookimpl
def hepreco_models() -> dict[str, str]:
    """The model specs, by name: imported when a model is used (``hepreco train``, a network module)."""
    return {
        "jets-mpnn": "hepreco_jets.mpnn:MPNN",
        "jets-particlenet": "hepreco_jets.particlenet:PARTICLENET",
        "jets-tau21-mass": "hepreco_jets.tau21:TAU21_MASS",
    }


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """The checkpoints shipped in ``checkpoints/``: ``builtin:jets-mpnn``, ``builtin:jets-particlenet`` and
    ``builtin:jets-tau21-mass`` (those present)."""
    names = ("jets-mpnn", "jets-particlenet", "jets-tau21-mass")
    return {name: str(CHECKPOINTS / name) for name in names if (CHECKPOINTS / name / "metadata.json").exists()}
