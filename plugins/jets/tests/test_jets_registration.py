"""Registering the plugin imports nothing heavy, and every module, source and model is found by name."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "numba",
    "torch",
    "torch_geometric",
    "matplotlib",
    "mplhep",
    "scipy",
    "fastjet",
    "pythia8mc",
    "lightgbm",
    "vector",
    "awkward",
)


def test_registration_imports_nothing_heavy():
    code = f"import sys, hepreco_jets.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_everything_registered():
    from hepreco.ml import get_model
    from hepreco.plugins import get_registry

    reg = get_registry()
    names = set(reg.types) | set(reg.lazy)  # types registered by name are imported when a job uses them
    for name in ("jets.PythiaSource", "jets.AntiKtJets", "jets.JetSelection", "jets.JetGraphs", "jets.MPNNTagger",
                 "jets.NSubjettiness", "jets.ParticleNetTagger", "jets.Tau21MassTagger", "jets.TaggingMetrics"):  # fmt: skip
        assert name in names, name
    for model in ("jets-mpnn", "jets-particlenet", "jets-tau21-mass"):
        assert get_model(model).name == model
    for name in ("jets.AntiKtJets", "jets.MPNNTagger"):
        assert reg.resolve(name).type_name == name
