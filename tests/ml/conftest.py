"""Fixtures of the hepreco.ml tests: the toy plugins, small training configs and one trained toy MLP."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLES = REPO / "examples" / "ml"
TOY_PLUGIN = EXAMPLES / "toy_plugin.py"
MLTOYS = HERE / "mltoys.py"


@pytest.fixture(scope="session")
def registry():
    """The process-wide registry with the example toy plugin and the test toys loaded."""
    from hepreco.plugins import get_registry

    reg = get_registry()
    reg.load_spec(str(TOY_PLUGIN))
    reg.load_spec(str(MLTOYS))
    return reg


def toy_job(events: int = 1200, batch_size: int = 400, **modules) -> dict:
    """The toy data job as a mapping (plugins by absolute path, so it runs from any folder)."""
    return {
        "process": "toy",
        "seed": 7,
        "plugins": [str(TOY_PLUGIN)],
        "source": {"module": "EmptySource", "events": events, "batch_size": batch_size},
        "modules": {"toy": {"module": "ToyFeatures", "separation": 2.0}, "hits": {"module": "ToyHits"}, **modules},
        "paths": {"make": ["toy", "hits"]},
    }


def train_config(job_file: Path | str, **over) -> dict:
    """A small, fast training config of toy-mlp on the toy job."""
    cfg = {
        "plugins": [str(TOY_PLUGIN)],
        "model": {"name": "toy-mlp", "hparams": {"hidden": 8}},
        "data": {"job": str(job_file), "inputs": {"x": "toy:features"}, "target": "toy:label"},
        "training": {
            "epochs": 3,
            "batch_size": 64,
            "optimizer": {"name": "adam", "lr": 0.01},
            "early_stopping": None,
            "seed": 1,
            "device": "cpu",
            "progress": False,
        },
        "output": "out",
    }
    for key, value in over.items():
        section, _, name = key.partition("__")
        if name:
            cfg[section] = {**(cfg.get(section) or {}), name: value}
        else:
            cfg[section] = value
    return cfg


@pytest.fixture
def make_job():
    """``make_job(events=..., batch_size=..., **extra_modules)``: the toy data job as a mapping."""
    return toy_job


@pytest.fixture
def make_train_config():
    """``make_train_config(job_file, section__key=value, ...)``: a small toy-mlp training config."""
    return train_config


@pytest.fixture
def write_yaml(tmp_path: Path):
    def write(data: dict | str, name: str) -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def job_file(tmp_path: Path, write_yaml, registry) -> Path:
    return write_yaml(toy_job(), "job.yaml")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, registry):
    """One toy MLP trained once per session: (TrainResult, training config path, job path)."""
    import hepreco.ml as ml

    d = tmp_path_factory.mktemp("trained")
    job = d / "job.yaml"
    job.write_text(yaml.safe_dump(toy_job(events=1500, batch_size=500), sort_keys=False))
    cfg = d / "train.yaml"
    cfg.write_text(yaml.safe_dump(train_config(job, output=str(d / "out")), sort_keys=False))
    result = ml.train(cfg, quiet=True)
    return result, cfg, job
