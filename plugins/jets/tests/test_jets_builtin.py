"""The shipped checkpoints: they load as the taggers expect, record how they were trained, and tell W from QCD on
fresh full-physics events (a seed no training used)."""

from __future__ import annotations

import pytest

import hepreco
from hepreco.ml import load_checkpoint

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["jets-mpnn", "jets-particlenet", "jets-tau21-mass"])
def test_builtin_checkpoints_load(name):
    shapes = {"features": (2,)} if name == "jets-tau21-mass" else {"x": (128, 7), "mask": (128,)}
    ckpt = load_checkpoint(f"builtin:{name}", model=name, inputs=shapes)
    meta = ckpt.metadata
    assert meta["data"]  # the data recipe: the generated files and the job that read them
    assert meta["metrics"]["valid_final"]["auc"] > 0.85


def test_builtin_taggers_separate_w_from_qcd(tmp_path, examples):
    res = hepreco.run(
        examples / "tag.yaml",
        events=240,
        seed=123,
        set={"source.batch_size": 120, "services.Histograms.file": str(tmp_path / "h.root"),
             "modules.roc.plot_file": str(tmp_path / "roc.png"), "modules.mpnn.bootstrap": 0,
             "modules.particlenet.bootstrap": 0, "modules.tau21_mass.bootstrap": 0},
    )  # fmt: skip
    for label in ("mpnn", "particlenet", "tau21_mass"):
        s = res.summaries[label]
        assert s["jets_signal"] >= 10 and s["jets_background"] >= 10
        assert s["auc"] > 0.75, (label, s)
