"""The example configs: the validation job makes its figures, the training recipe is a valid config whose
data job makes the tiles it names (no training here)."""

from __future__ import annotations

from pathlib import Path

import pytest

import hepreco

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "lartpc"


def test_sim_validation_makes_its_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = hepreco.run(EXAMPLES / "sim_validation.yaml", events=24, set={"modules.display.max_events": 1})
    s = r.summaries["validation"]
    assert s["stopping_proton_hits"] > 0 and s["showers_profiled"] > 0
    plots = {p.name for p in (tmp_path / "lartpc_validation_plots").glob("*.png")}
    for stem in ("dedx", "range", "shower_profile", "hits_per_view"):
        assert f"validation_{stem}.png" in plots, (stem, plots)
    assert any(p.startswith("display_") for p in plots)
    assert (tmp_path / "lartpc_validation_hists.root").is_file()


def test_the_training_recipe_is_valid_and_its_data_job_makes_tiles():
    pytest.importorskip("torch")
    from hepreco.ml import load_train_config

    cfg, _ = load_train_config(EXAMPLES / "train_unet.yaml")
    assert cfg.model.name == "lartpc-unet" and cfg.data.flatten
    assert cfg.model.hparams["tile"] == 128
    r = hepreco.run(EXAMPLES / cfg.data.job, events=2)
    assert r.summaries["imager"]["tiles"] > 0
