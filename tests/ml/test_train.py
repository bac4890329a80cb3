"""hepreco train: on a job run on the fly and on files, early stopping, resume, determinism, errors, outputs."""

import csv
import json

import awkward as ak
import numpy as np
import pytest
import uproot

import hepreco.ml as ml
from hepreco import ConfigError
from hepreco.ml import CheckpointError, load_checkpoint
from hepreco.ml.fitting import FitContext

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


def _rows(path):
    return list(csv.DictReader(path.read_text().splitlines()))


def test_train_on_a_job_run_on_the_fly(trained):
    result, _cfg, job = trained
    assert result.metrics["auc"] > 0.85
    assert result.best_epoch is not None and len(result.history) == 3
    out = result.output
    for name in ("metrics.csv", "loss.png", "roc.png", "summary.json", "train_config.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    rows = _rows(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert {"train_loss", "val_loss", "val_auc", "val_acc", "lr", "seconds"} <= set(rows[0])
    ckpt = load_checkpoint(result.best, model="toy-mlp")
    meta = ckpt.metadata
    assert meta["data"]["job"]["file"] == str(job.resolve()) and meta["data"]["job"]["seed"] == 7
    assert meta["data"]["job"]["config"]["modules"]["toy"]["separation"] == 2.0
    assert meta["data"]["config"]["split"] == {"train": 0.8, "valid": 0.1, "test": 0.1, "salt": 0}
    ex = meta["data"]["examples"]
    assert ex["train"] + ex["valid"] + ex["test"] == 1500
    assert meta["training"]["optimizer"]["lr"] == 0.01 and meta["training"]["seed"] == 1
    assert meta["metrics"]["valid_final"]["auc"] == pytest.approx(result.metrics["auc"])
    assert meta["preprocessing"]["inputs"]["x"]["transforms"][0]["mean"] is not None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["weights_sha256"] == ckpt.hash == result.weights_hash


def test_same_seed_same_weights_other_seed_other_weights(
    tmp_path, job_file, write_yaml, make_train_config, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cfg = write_yaml(make_train_config(job_file, training__epochs=2), "t.yaml")
    a = ml.train(cfg, output="a", quiet=True)
    b = ml.train(cfg, output="b", quiet=True)
    c = ml.train(cfg, output="c", quiet=True, overrides=["training.seed=2"])
    assert a.weights_hash == b.weights_hash
    assert a.history[-1]["val_loss"] == b.history[-1]["val_loss"]
    assert c.weights_hash != a.weights_hash


class Crash(Exception):
    pass


def test_resume_continues_exactly(tmp_path, job_file, write_yaml, make_train_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write_yaml(
        make_train_config(job_file, training__epochs=4, training__schedule={"name": "onecycle", "max_lr": 0.02}),
        "t.yaml",
    )
    full = ml.train(cfg, output="full", quiet=True)
    original = FitContext.end_epoch

    def crash_after_second(self, epoch, metrics, **kw):
        stop = original(self, epoch, metrics, **kw)
        if epoch == 1:
            raise Crash
        return stop

    monkeypatch.setattr(FitContext, "end_epoch", crash_after_second)
    with pytest.raises(Crash):
        ml.train(cfg, output="part", quiet=True)
    monkeypatch.setattr(FitContext, "end_epoch", original)
    assert json.loads((tmp_path / "part/last/trainer_state.json").read_text())["epoch"] == 1
    resumed = ml.train(cfg, output="part", quiet=True, resume="part/last")
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    assert resumed.weights_hash == full.weights_hash
    assert (tmp_path / "part/last/model.safetensors").read_bytes() == (
        tmp_path / "full/last/model.safetensors"
    ).read_bytes()
    assert len(_rows(tmp_path / "part" / "metrics.csv")) == 4


def test_resume_refuses_other_hparams_and_non_resumable_checkpoints(
    tmp_path, trained, job_file, write_yaml, make_train_config, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = trained[0]
    cfg = write_yaml(make_train_config(job_file, model={"name": "toy-mlp", "hparams": {"hidden": 9}}), "t.yaml")
    with pytest.raises(CheckpointError, match=r"was trained with hparams \{'hidden': 8.*this config has \{'hidden': 9"):
        ml.train(cfg, quiet=True, resume=result.last)
    cfg = write_yaml(make_train_config(job_file), "t2.yaml")
    with pytest.raises(CheckpointError, match=r"cannot resume from this checkpoint: no trainer_state\.json"):
        ml.train(cfg, quiet=True, resume=result.best)


def test_early_stopping_with_patience(tmp_path, job_file, write_yaml, make_train_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write_yaml(
        make_train_config(
            job_file,
            training__epochs=30,
            training__optimizer={"name": "sgd", "lr": 1e-9},  # nothing is learnt: no improvement after epoch 1
            training__early_stopping={"monitor": "val_auc", "patience": 2, "min_delta": 0.01},
        ),
        "t.yaml",
    )
    r = ml.train(cfg, output="o", quiet=True)
    assert r.stopped_early and r.best_epoch == 1 and len(r.history) == 3
    assert load_checkpoint("o/best").metadata["epoch"] == 1


def test_streaming_data_and_one_cycle(tmp_path, job_file, write_yaml, make_train_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write_yaml(
        make_train_config(
            job_file,
            training__epochs=2,
            training__schedule={"name": "onecycle", "max_lr": 0.02},
            data={"job": str(job_file), "cache": False, "inputs": {"x": "toy:features"}, "target": "toy:label"},
        ),
        "t.yaml",
    )
    r = ml.train(cfg, output="s", quiet=True)
    assert r.metrics["auc"] > 0.8
    assert r.examples["train"] + r.examples["valid"] + r.examples["test"] == 1200
    cached = ml.train(cfg, output="c", quiet=True, overrides=["data.cache=true"])
    assert abs(cached.metrics["auc"] - r.metrics["auc"]) < 0.05


@pytest.mark.parametrize("kind", ["root", "parquet"])
def test_train_on_files_a_job_wrote(tmp_path, kind, make_job, write_yaml, make_train_config, monkeypatch, registry):
    monkeypatch.chdir(tmp_path)
    batches = list(ml.iter_job(make_job(events=1200), ["toy:features", "toy:label"]))
    feats = np.concatenate([ak.to_numpy(b.products["toy:features"]) for b in batches])
    label = np.concatenate([ak.to_numpy(b.products["toy:label"]) for b in batches])
    event = np.concatenate([b.ids.event for b in batches])
    if kind == "root":
        path = tmp_path / "toy.root"
        with uproot.recreate(path) as f:
            f.mktree("events", {"event": np.uint64, "features": (np.float32, (4,)), "label": np.int8})
            f["events"].extend({"event": event, "features": feats, "label": label})
    else:
        path = tmp_path / "toy.parquet"
        ak.to_parquet(ak.Array({"event": event, "features": feats, "label": label}), path)
    data = {"files": [path.name], "inputs": {"x": "features"}, "target": "label"}
    cfg = write_yaml(make_train_config("unused", data=data, training__epochs=2), "t.yaml")
    r = ml.train(cfg, output="f", quiet=True)
    assert r.metrics["auc"] > 0.85
    meta = load_checkpoint("f/best").metadata
    assert meta["data"]["files"][0]["path"] == str(path) and meta["data"]["files"][0]["bytes"] > 0
    # the same events from the job on the fly give the same split, hence the same model
    job = write_yaml(make_job(events=1200), "job.yaml")
    cfg2 = write_yaml(make_train_config(job, training__epochs=2), "t2.yaml")
    assert ml.train(cfg2, output="j", quiet=True).weights_hash == r.weights_hash


def test_gbdt_trains_through_the_same_command(tmp_path, job_file, write_yaml, make_train_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = {
        "job": str(job_file),
        "inputs": {"hit": ["hits:edep", "hits:time"]},
        "target": "hits:truth",
        "flatten": True,
    }
    cfg = write_yaml(
        make_train_config(
            job_file,
            model={"name": "toy-gbdt", "hparams": {"n_estimators": 40, "num_leaves": 7}},
            data=data,
            training={"seed": 3, "early_stopping": {"patience": 5}},
        ),
        "g.yaml",
    )
    a = ml.train(cfg, output="g1", quiet=True)
    b = ml.train(cfg, output="g2", quiet=True)
    assert a.metrics["auc"] > 0.9
    assert a.weights_hash == b.weights_hash
    ckpt = load_checkpoint("g1/best")
    assert ckpt.metadata["kind"] == "trainable" and ckpt.weights_path.name == "model.txt"
    assert len(a.history) <= 40 and (tmp_path / "g1/metrics.csv").exists()


def _issues(err):
    return {i.key: i.message for i in err.value.issues}


def test_config_errors_name_file_line_and_key(tmp_path, job_file, write_yaml, make_train_config):
    cfg = make_train_config(job_file)
    cfg["training"]["epohcs"] = 3
    cfg["data"]["split"] = {"train": 0.8, "valid": 0.3, "test": 0.1}
    path = write_yaml(cfg, "t.yaml")
    with pytest.raises(ConfigError) as err:
        ml.train(path, quiet=True)
    text = str(err.value)
    assert text.startswith("invalid training config (2 problems):")
    assert f"{path}:" in text and "key 'training.epohcs': unknown key 'epohcs' (did you mean 'epochs'?)" in text
    assert "key 'data.split': train + valid + test must be 1, got 1.2" in text


def test_model_and_hparam_errors(tmp_path, job_file, write_yaml, make_train_config):
    path = write_yaml(make_train_config(job_file, model={"name": "toy-mpl"}), "t.yaml")
    with pytest.raises(ConfigError, match=r"key 'model.name': unknown model 'toy-mpl' \(did you mean 'toy-mlp'\?\)"):
        ml.train(path, quiet=True)
    path = write_yaml(
        make_train_config(job_file, model={"name": "toy-mlp", "hparams": {"hiden": 3, "layers": 0}}), "t.yaml"
    )
    with pytest.raises(ConfigError) as err:
        ml.train(path, quiet=True)
    issues = _issues(err)
    assert issues["model.hparams.hiden"].startswith("unknown key 'hiden' (did you mean 'hidden'?)")
    assert "greater than or equal to 1" in issues["model.hparams.layers"]


def test_data_errors(tmp_path, job_file, write_yaml, make_train_config):
    data = {"job": str(job_file), "inputs": {"features": "toy:features"}, "target": "toy:label"}
    with pytest.raises(ConfigError) as err:
        ml.train(write_yaml(make_train_config(job_file, data=data), "a.yaml"), quiet=True)
    issues = _issues(err)
    assert "model 'toy-mlp' has no input 'features'; its inputs: x" in issues["data.inputs.features"]
    assert "needs input 'x' ((4,) float32 standardize(axis=0): the four toy features)" in issues["data.inputs"]
    data = {"job": str(job_file), "inputs": {"x": "toy:feature"}, "target": "toy:label"}
    with pytest.raises(ConfigError) as err:
        ml.train(write_yaml(make_train_config(job_file, data=data), "b.yaml"), quiet=True)
    assert (
        "product 'toy:feature'" in _issues(err)["data.inputs.x"]
        and "did you mean 'toy:features'" in _issues(err)["data.inputs.x"]
    )
    data = {"job": str(job_file), "inputs": {"x": "hits:edep"}, "target": "toy:label"}
    with pytest.raises(
        ConfigError, match=r"key 'data.inputs.x': product 'hits:edep' of type var \* float32 is not a fixed-size array"
    ):
        ml.train(write_yaml(make_train_config(job_file, data=data), "c.yaml"), quiet=True)
    data = {"job": str(job_file), "inputs": {"x": ["toy:label", "toy:label"]}, "target": "toy:label"}
    with pytest.raises(
        ConfigError, match=r"key 'data.inputs.x': input 'x': expected per-example shape \(4,\), found \(2,\)"
    ):
        ml.train(write_yaml(make_train_config(job_file, data=data), "d.yaml"), quiet=True)
    data = {"files": ["nope.root"], "inputs": {"x": "a"}, "target": "b"}
    with pytest.raises(ConfigError, match=r"nope\.root: no such file"):
        ml.train(write_yaml(make_train_config(job_file, data=data), "e.yaml"), quiet=True)


def test_a_broken_job_config_is_reported_inside_the_training_error(tmp_path, write_yaml, make_job, make_train_config):
    job = make_job()
    job["modules"]["toy"]["separaton"] = 1
    job_file = write_yaml(job, "job.yaml")
    with pytest.raises(ConfigError) as err:
        ml.train(write_yaml(make_train_config(job_file), "t.yaml"), quiet=True)
    msg = _issues(err)["data.job"]
    assert str(job_file) in msg and "unknown parameter 'separaton' (did you mean 'separation'?)" in msg


def test_train_on_files_written_by_hepreco_outputs(
    tmp_path, make_job, write_yaml, make_train_config, monkeypatch, registry
):
    """Products are found by the InputTag they had in the writing job (through the file's provenance),
    and the weights do not depend on the file format."""
    from hepreco.plugins import TypeLookupError

    try:
        registry.resolve("RootOutput"), registry.resolve("ParquetOutput")
    except TypeLookupError:
        pytest.skip("hepreco's RootOutput/ParquetOutput are not there yet")
    monkeypatch.chdir(tmp_path)
    job = make_job(events=1200)
    job["modules"]["out"] = {"module": "RootOutput", "file": "toy.root", "keep": ["toy:*"]}
    job["modules"]["pq"] = {"module": "ParquetOutput", "file": "toy.parquet", "keep": ["toy:*"]}
    job["end_paths"] = {"save": ["out", "pq"]}
    import hepreco

    hepreco.run(job)
    hashes = []
    for name in ("toy.root", "toy.parquet"):
        data = {"files": [name], "inputs": {"x": "toy:features"}, "target": "toy:label"}
        cfg = write_yaml(make_train_config("unused", data=data, training__epochs=1), f"{name}.yaml")
        r = ml.train(cfg, output=f"o_{name}", quiet=True)
        made_by = load_checkpoint(r.best).metadata["data"]["files"][0]["made_by"]
        assert made_by["process"] == "toy" and made_by["seed"] == 7
        hashes.append(r.weights_hash)
    assert hashes[0] == hashes[1]
