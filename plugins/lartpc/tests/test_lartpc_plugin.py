"""The plugin registers cheaply and completely: its names are the issue's contracts."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hepreco
from hepreco.ml import get_model, model_names

HEAVY = ("numba", "torch", "matplotlib", "mplhep", "scipy", "awkward")


def test_registration_imports_nothing_heavy():
    code = f"import sys, hepreco_lartpc.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_modules_source_and_model_are_registered():
    out = subprocess.run([sys.executable, "-m", "hepreco", "list"], capture_output=True, text=True, check=True).stdout
    for name in ("lartpc.LArTPCSimSource", "lartpc.ViewImager", "lartpc.UNetTrackShower",
                 "lartpc.SegmentationMetrics", "lartpc.SimValidation", "lartpc.EventDisplay",
                 "lartpc.EmTrackMichelId", "lartpc.EmTrackMichelMetrics", "lartpc.HitPatches",
                 "lartpc.ParticleImager", "lartpc.ParticleID", "lartpc.ParticleIDMetrics"):  # fmt: skip
        assert name in out, name
    for model in ("lartpc-unet", "lartpc-emtrkmichel", "lartpc-emtrkmichel-fcn", "lartpc-resnet-pid"):
        assert model in model_names()
        assert get_model(model).task == "multiclass"


def test_a_misspelt_parameter_names_the_file_key_and_suggestion(tmp_path):
    cfg = tmp_path / "job.yaml"
    cfg.write_text(
        "process: t\nsource: {module: lartpc.LArTPCSimSource, events: 1, detector: protodune, singel_pdg: [13]}\n"
    )
    with pytest.raises(hepreco.ConfigError) as err:
        hepreco.run(cfg)
    msg = str(err.value)
    assert "job.yaml" in msg and "singel_pdg" in msg and "single_pdg" in msg


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("detector", "dune", "protodune"),
        ("single_pdg", [999], "simulated particles"),
        ("single_momentum", [2.0, 1.0], "min <= max"),
    ],
)
def test_bad_simulation_parameters_are_config_errors(tmp_path, key, value, needle):
    cfg = {"process": "t", "source": {"module": "lartpc.LArTPCSimSource", "events": 1, key: value}}
    with pytest.raises(hepreco.ConfigError) as err:
        hepreco.run(cfg)
    assert needle in str(err.value) and key in str(err.value)
