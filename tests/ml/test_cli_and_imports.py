"""The command line (hepreco train / evaluate / list) and the promise that importing hepreco stays light."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hepreco.cli import main

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ml"


def test_import_hepreco_and_hepreco_ml_do_not_import_torch():
    code = (
        "import sys, hepreco, hepreco.ml, hepreco.ml.spec, hepreco.ml.checkpoint, hepreco.ml.inference;"
        "import hepreco.ml.gbdt, hepreco.ml.training, hepreco.ml.evaluation, hepreco.ml.fitting, hepreco.ml.config, hepreco.ml.data, hepreco.ml.plugin;"
        "print(sorted(m for m in ('torch', 'lightgbm', 'matplotlib', 'safetensors') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_name_in_hepreco_ml_suggests():
    import pytest

    import hepreco.ml

    with pytest.raises(AttributeError, match="did you mean 'load_checkpoint'"):
        hepreco.ml.load_chekpoint  # noqa: B018


def test_cli_train_and_evaluate(tmp_path, job_file, write_yaml, make_train_config, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = write_yaml(make_train_config(job_file, training__epochs=2), "t.yaml")
    assert (
        main(["train", str(cfg), "--set", "training.epochs=1", "--set", "training.progress=true", "-o", "cli_out"]) == 0
    )
    err = capsys.readouterr().err
    assert "epoch    1/1" in err and "best checkpoint: cli_out/best" in err
    assert "\repoch 1/1:" in err and "/16 [" in err  # the progress bar (16 batches)
    ev = write_yaml({"checkpoint": "cli_out/best"}, "e.yaml")
    assert main(["evaluate", str(ev)]) == 0
    assert "AUC" in capsys.readouterr().err
    assert main(["train", str(cfg), "--set", "training.epochz=1"]) == 2
    assert "did you mean 'epochs'" in capsys.readouterr().err
    assert main(["evaluate", str(write_yaml({"checkpoint": "nope"}, "n.yaml"))]) == 2
    assert "checkpoint 'nope' does not exist" in capsys.readouterr().err


def test_cli_train_runs_the_example_recipe(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = yaml.safe_load((EXAMPLES / "train_toy.yaml").read_text())
    assert cfg["model"]["name"] == "toy-mlp"
    args = ["train", str(EXAMPLES / "train_toy.yaml"), "-q", "--set", "training.epochs=2", "--set", "data.events=600"]
    assert main([*args, "--set", "training.device=cpu"]) == 0
    assert (tmp_path / "toy_training" / "best" / "model.safetensors").exists()
    assert main(["evaluate", str(EXAMPLES / "evaluate_toy.yaml"), "-q"]) == 0
    assert (tmp_path / "toy_evaluation" / "metrics.json").exists()
    assert main(["run", str(EXAMPLES / "toy_reco.yaml"), "-q", "-n", "200"]) == 0
    assert main(["evaluate", str(EXAMPLES / "evaluate_toy_job.yaml"), "-q"]) == 0


def test_list_shows_models(registry, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "toy-mlp" in out and "toy-gbdt" in out


def test_validate_checks_a_training_config_without_training(tmp_path, job_file, write_yaml, make_train_config,
                                                            monkeypatch, capsys):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    cfg = write_yaml(make_train_config(job_file), "t.yaml")
    assert main(["validate", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "OK (training config: model 'toy-mlp'" in out and "job.yaml" in out
    assert not (tmp_path / "out").exists()  # nothing trained
    # a typo in a product the data job does not make: named, with the job's products
    data = yaml.safe_load(cfg.read_text())
    data["data"]["target"] = "toy:labell"
    assert main(["validate", str(write_yaml(data, "bad_target.yaml"))]) == 2
    err = capsys.readouterr().err
    assert "key 'data.target'" in err and "toy:labell" in err and "toy:label" in err
    # a bad hyper-parameter, by --set, and a data job that does not exist
    assert main(["validate", str(cfg), "--set", "model.hparams.hidden=-3"]) == 2
    assert "model.hparams.hidden" in capsys.readouterr().err
    data["data"]["job"] = "nowhere.yaml"
    assert main(["validate", str(write_yaml(data, "no_job.yaml"))]) == 2
    assert "nowhere.yaml" in capsys.readouterr().err
    # a job config still validates as a job
    assert main(["validate", str(job_file)]) == 0
    assert "modules" in capsys.readouterr().out
