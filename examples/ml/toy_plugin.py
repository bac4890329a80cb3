"""A toy ML plugin: labelled events, two models to train on them, and a module that runs the network.

- ``ToyFeatures``: per event four features and a label (signal events have shifted features).
- ``ToyHits``: per event a few hits with an energy, a time and a truth flag (for per-hit models).
- ``toy-mlp``: a small torch MLP on the four features; ``toy-gbdt``: a LightGBM classifier on the hits.
- ``ToyClassifier``: puts the MLP's score for every event, through ``hepreco.ml.TorchInference``.

Train it with ``hepreco train examples/ml/train_toy.yaml`` (about ten seconds here).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

import hepreco
from hepreco.ml import InputSpec, LightGBMModel, LightGBMParams, ModelSpec, TorchInference

PLUGIN_NAME = "toyml"


class ToyFeatures(hepreco.Producer):
    """Per event: ``features`` (4 floats) and ``label`` (1 = signal, half the events); signal events have
    their first two features shifted by ``separation`` and the third by its square (non-linear)."""

    class Config(hepreco.ModuleConfig):
        separation: float = Field(1.5, ge=0)
        """How far signal is from background, in units of the noise."""

    produces = ("features", "label")

    def produce(self, events: hepreco.Events) -> None:
        label = self.random_uniform(events, 1, stream=0) < 0.5
        x = self.random_normal(events, 4, stream=1).reshape(-1, 4)
        s = self.config.separation
        x[label, 0] += s
        x[label, 1] -= 0.5 * s
        x[:, 2] += np.where(label, x[:, 0] * x[:, 1], 0.0) * 0.3
        events.put("features", x.astype(np.float32))
        events.put("label", label.astype(np.int8))


class ToyHits(hepreco.Producer):
    """Per event ``1 + event % 5`` hits, each with ``edep``, ``time`` and ``truth`` (1 = signal hit)."""

    produces = ("edep", "time", "truth")

    def produce(self, events: hepreco.Events) -> None:
        counts = (1 + events.event % 5).astype(np.int64)
        n = int(counts.sum())
        truth = self.random_uniform(events, counts, stream=0) < 0.4
        edep = np.abs(self.random_normal(events, counts, stream=1)) + np.where(truth, 1.5, 0.0)
        time = self.random_uniform(events, counts, stream=2) * 400 + np.where(truth, -80.0, 0.0)
        assert len(edep) == n
        events.put("edep", ak.unflatten(edep.astype(np.float32), counts))
        events.put("time", ak.unflatten(time.astype(np.float32), counts))
        events.put("truth", ak.unflatten(truth.astype(np.int8), counts))


# --- the models ---------------------------------------------------------------------------------------
class MLPParams(BaseModel):
    """Hyper-parameters of toy-mlp."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hidden: int = Field(16, gt=0)
    layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)


def build_mlp(hp: MLPParams):
    """A multi-layer perceptron: 4 -> hidden (times layers, ReLU, dropout) -> 1 logit."""
    import torch

    mods: list[torch.nn.Module] = []
    width = 4
    for _ in range(hp.layers):
        mods += [torch.nn.Linear(width, hp.hidden), torch.nn.ReLU()]
        if hp.dropout:
            mods.append(torch.nn.Dropout(hp.dropout))
        width = hp.hidden
    mods.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*mods)


MLP = ModelSpec(
    name="toy-mlp",
    build=build_mlp,
    hparams=MLPParams,
    inputs={"x": InputSpec(shape=(4,), transforms=[{"op": "standardize", "axis": 0}], doc="the four toy features")},
    task="binary",
    doc="a small MLP separating toy signal from background",
)

GBDT = ModelSpec(
    name="toy-gbdt",
    build=LightGBMModel,
    hparams=LightGBMParams,
    kind="trainable",
    inputs={"hit": InputSpec(shape=(2,), dtype="float64", doc="edep and time of a hit")},
    task="binary",
    doc="a LightGBM classifier of toy hits",
)


class ToyClassifier(hepreco.Producer, TorchInference):
    """Puts ``score``: the toy-mlp's signal probability of every event (the whole batch at once)."""

    model_name = "toy-mlp"

    class Config(hepreco.ModuleConfig):
        features: hepreco.InputTag = hepreco.InputTag("toy:features")
        """The four features of each event."""
        weights: str = "toy_training/best"
        """The checkpoint: a folder or builtin:NAME."""

    produces = ("score",)

    def begin_job(self) -> None:
        self.load_model(self.config.weights, inputs={"x": (4,)})

    def produce(self, events: hepreco.Events) -> None:
        x = ak.to_numpy(events[self.config.features])
        events.put("score", self.predict({"x": x})[:, 0])


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [ToyFeatures, ToyHits, ToyClassifier]


@hepreco.hookimpl
def hepreco_models() -> list[ModelSpec]:
    return [MLP, GBDT]
