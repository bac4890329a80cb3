"""Test-only models for the hepreco.ml tests, registered as plugin ``mltoys``.

- ``toy-linear``: ``Linear(3, 1)``; a trained copy ships as ``builtin:toy-linear`` (tests/ml/data).
- ``oom-net``: sums its input, and raises ``torch.OutOfMemoryError`` for batches above ``limit`` events
  (a CUDA out-of-memory error, simulated on the CPU).
- ``toy-cnn``: a small conv net with BatchNorm on (2, 8, 8) images, for channels-last and autocast.
- ``OOMClassifier``: a module running oom-net through TorchInference.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

import hepreco
from hepreco.ml import InputSpec, ModelSpec, TorchInference

PLUGIN_NAME = "mltoys"
DATA = Path(__file__).resolve().parent / "data"


class LinearParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    features: int = Field(3, gt=0)


def build_linear(hp: LinearParams):
    import torch

    return torch.nn.Linear(hp.features, 1)


class OOMParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    limit: int = Field(4, ge=0)


def build_oom(hp: OOMParams):
    import torch

    class OOMNet(torch.nn.Module):
        """Sums the features; 'runs out of memory' above ``limit`` events."""

        def __init__(self, limit: int) -> None:
            super().__init__()
            self.limit = limit
            self.scale = torch.nn.Parameter(torch.ones(1))
            self.calls: list[int] = []

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls.append(int(x.shape[0]))
            if x.shape[0] > self.limit:
                raise torch.OutOfMemoryError(f"CUDA out of memory (simulated): {x.shape[0]} events > {self.limit}")
            return (x.sum(dim=1, keepdim=True) * self.scale).float()

    return OOMNet(hp.limit)


def build_cnn(hp: NoParams):
    import torch

    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 1, 3, padding=1),
    )


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LINEAR = ModelSpec(
    name="toy-linear",
    build=build_linear,
    hparams=LinearParams,
    inputs=lambda hp: {"x": InputSpec(shape=(hp.features,))},
)
OOM = ModelSpec(
    name="oom-net", build=build_oom, hparams=OOMParams, inputs={"x": InputSpec(shape=(3,))}, task="regression"
)
CNN = ModelSpec(
    name="toy-cnn", build=build_cnn, hparams=NoParams, inputs={"image": InputSpec(shape=(2, 8, 8))}, task="binary"
)


class OOMClassifier(hepreco.Producer, TorchInference):
    """Puts ``out``: oom-net's output for ``src`` (a (N, 3) product)."""

    model_name = "oom-net"

    class Config(hepreco.ModuleConfig):
        src: hepreco.InputTag
        weights: str

    produces = ("out",)

    def begin_job(self) -> None:
        self.load_model(self.config.weights, inputs={"x": (3,)})

    def produce(self, events: hepreco.Events) -> None:
        events.put("out", self.predict({"x": ak.to_numpy(events[self.config.src])})[:, 0])


class Triples(hepreco.Producer):
    """``xyz``: three floats per event (event number, its double, its triple)."""

    produces = ("xyz",)

    def produce(self, events: hepreco.Events) -> None:
        e = events.event.astype(np.float32)
        events.put("xyz", np.stack([e, 2 * e, 3 * e], axis=1))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [OOMClassifier, Triples]


@hepreco.hookimpl
def hepreco_models() -> list[ModelSpec]:
    return [LINEAR, OOM, CNN]


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    return {"toy-linear": str(DATA / "toy-linear"), "toy-missing": str(DATA / "no-such-checkpoint")}
