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


def test_the_pid_recipe_and_the_shipped_network_match_the_images(tmp_path, monkeypatch):
    """The particle-ID recipe's data job makes the images the recipe's network takes, and the shipped
    checkpoint runs on the held-out job's images (a few events: the figures are in the plugin README)."""
    pytest.importorskip("torch")
    from hepreco_lartpc.resnet_pid_spec import ResNetPIDParams, resnet_pid_inputs

    from hepreco.ml import load_train_config

    monkeypatch.chdir(tmp_path)
    cfg, _ = load_train_config(EXAMPLES / "train_resnet_pid.yaml")
    assert cfg.model.name == "lartpc-resnet-pid" and cfg.data.events == 7000
    shape = resnet_pid_inputs(ResNetPIDParams(**cfg.model.hparams))["image"].shape
    r = hepreco.run(EXAMPLES / "pid.yaml", events=10)
    s = r.summaries["metrics"]
    assert s["events"] == sum(map(sum, s["confusion"])) > 0
    assert shape == (9, 48, 48)
    assert (tmp_path / "lartpc_pid_hists.root").is_file()
