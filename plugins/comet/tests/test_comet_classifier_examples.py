"""The classifier recipes of examples/comet: the training configs are valid, the evaluation job runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import hepreco

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "comet"

pytest.importorskip("torch")
pytest.importorskip("lightgbm")


@pytest.mark.parametrize("name", ["train_dncnn.yaml", "train_dncnn_denoiser.yaml", "train_gbdt.yaml"])
def test_training_configs_are_valid(name):
    from hepreco.ml import get_model, load_train_config

    cfg, _ = load_train_config(EXAMPLES / name)
    spec = get_model(cfg.model.name)
    spec.make_hparams(cfg.model.hparams)
    assert (EXAMPLES / cfg.data.job).is_file()


def test_talks_network_is_two_numbers_away():
    from hepreco.ml import load_train_config

    cfg, _ = load_train_config(
        EXAMPLES / "train_dncnn.yaml", overrides=["model.hparams.depth=17", "model.hparams.width=64"]
    )
    assert (cfg.model.hparams["depth"], cfg.model.hparams["width"]) == (17, 64)


def test_evaluation_job_with_the_shipped_checkpoints(tmp_path, monkeypatch):
    from hepreco.ml import model_provenance

    monkeypatch.chdir(tmp_path)
    r = hepreco.run(
        EXAMPLES / "eval_classifiers.yaml",
        events=4,
        set={"modules.dncnn_metrics.plot_dir": None, "modules.gbdt_metrics.plot_dir": None},
    )
    prov = model_provenance(r.summaries)
    assert prov["dncnn"]["model"] == "comet-dncnn" and prov["gbdt"]["model"] == "comet-gbdt"
    for label in ("dncnn_metrics", "gbdt_metrics", "edep_metrics"):
        figures = r.summaries[label]
        assert figures["events"] == 4
        assert 0.5 < figures["auc_per_hit"] <= 1.0
