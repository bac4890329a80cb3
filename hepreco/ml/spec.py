"""This module defines how a plugin describes a trainable model: ModelSpec, the Trainable protocol and TrainData.

A plugin returns ModelSpecs from its ``hepreco_models`` hook. Registration must stay cheap (it happens
in every ``hepreco`` command), so a spec names its builder and never builds or imports torch itself::

    @hepreco.hookimpl
    def hepreco_models():
        return [ModelSpec(name="comet-dncnn", build="hepreco_comet.nets.dncnn:DnCNN", hparams=DnCNNParams,
                          inputs=dncnn_inputs, task="binary", loss="hepreco_comet.nets.dncnn:masked_loss")]
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

from hepreco.errors import suggest
from hepreco.ml.preprocessing import InputSpec, Preprocessing

if TYPE_CHECKING:
    from hepreco.ml.fitting import FitContext
    from hepreco.plugins import Registry

__all__ = ["ModelLookupError", "ModelSpec", "NoHParams", "TrainData", "Trainable", "get_model", "model_names"]


class NoHParams(BaseModel):
    """The hyper-parameters of a model that has none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelLookupError(LookupError):
    """An unknown model name; the message lists the registered models and the nearest names."""


def _resolve(obj: Any, what: str) -> Any:
    """``"package.module:attr"`` → the attribute (imported now); anything else is returned as is."""
    if not isinstance(obj, str):
        return obj
    mod, sep, attr = obj.partition(":")
    if not sep:
        msg = f"{what} {obj!r}: expected 'package.module:attribute'"
        raise ValueError(msg)
    target: Any = importlib.import_module(mod)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


@dataclass
class TrainData:
    """Examples ready for a model: preprocessed inputs, the target, an optional mask and weights.

    One row per example along axis 0 of every array. An example is an event, or an element of an
    event (a hit) when the data are flattened; ``ids`` holds its event's (run, subrun, event).

    Attributes:
        inputs: input name → array of shape ``(N, *per_example_shape)``.
        target: what the model learns (labels for a classifier), or None (inference).
        mask: 1/True where the loss counts (e.g. sense-wire pixels), same shape as ``target``; optional.
        weight: per-example (or per-element) loss weights; optional.
        ids: ``(N, 3)`` uint64 run, subrun, event of each example.

    Examples:
        >>> d = TrainData({"x": np.arange(6.0).reshape(3, 2)}, target=np.array([0, 1, 1]))
        >>> len(d), d.take(np.array([2])).inputs["x"].tolist()
        (3, [[4.0, 5.0]])
    """

    inputs: dict[str, np.ndarray]
    target: np.ndarray | None = None
    mask: np.ndarray | None = None
    weight: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __len__(self) -> int:
        for arr in (*self.inputs.values(), self.target):
            if arr is not None:
                return len(arr)
        return 0

    def take(self, index: np.ndarray | slice) -> TrainData:
        """The examples at ``index``."""

        def t(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return TrainData(
            {k: v[index] for k, v in self.inputs.items()}, t(self.target), t(self.mask), t(self.weight), t(self.ids)
        )

    @staticmethod
    def concat(parts: Sequence[TrainData]) -> TrainData:
        """One TrainData with the examples of all ``parts`` in order."""
        if not parts:
            return TrainData({})
        first = parts[0]

        def cat(get: Callable[[TrainData], np.ndarray | None]) -> np.ndarray | None:
            arrays = [get(p) for p in parts]
            if any(a is None for a in arrays):
                return None
            return np.concatenate(arrays)  # type: ignore[arg-type]

        return TrainData(
            {k: np.concatenate([p.inputs[k] for p in parts]) for k in first.inputs},
            cat(lambda p: p.target),
            cat(lambda p: p.mask),
            cat(lambda p: p.weight),
            cat(lambda p: p.ids),
        )

    # streamed data sets (hepreco.ml.data) offer the same two methods
    def chunks(self, epoch: int = 0) -> Iterator[TrainData]:
        """The examples of one epoch in pieces: here, all of them at once."""
        yield self

    def materialize(self) -> TrainData:
        """All examples in memory: here, itself."""
        return self


@runtime_checkable
class Trainable(Protocol):
    """What ``hepreco train`` needs from a model that is not a torch network (a GBDT, ...).

    torch networks do not implement it: the framework wraps them (the training loop, optimizers and
    schedules are its own). A Trainable saves in its library's own non-pickle format (LightGBM's text
    model, XGBoost's JSON); the framework writes the checkpoint metadata beside it.

    Attributes:
        weights_file: the file name inside the checkpoint folder, e.g. ``model.txt``.
    """

    weights_file: str

    def fit(self, train: TrainData, valid: TrainData, ctx: FitContext) -> None:
        """Train on ``train`` (preprocessed), validate on ``valid``; report each epoch/iteration with
        ``ctx.end_epoch(...)`` (which writes metrics, applies early stopping and saves the best model)."""
        ...

    def predict(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Scores for preprocessed ``inputs`` (probabilities for a binary classifier)."""
        ...

    def save_weights(self, path: Path) -> None:
        """Write the model to ``path`` (never with pickle)."""
        ...

    def load_weights(self, path: Path) -> None:
        """Read the model written by :meth:`save_weights`."""
        ...


Task = Literal["binary", "regression", "multiclass"]


@dataclass(frozen=True)
class ModelSpec:
    """A trainable model as a plugin registers it (``hepreco_models`` hook).

    Args:
        name: the model's name in training configs and checkpoints, e.g. ``comet-dncnn``.
        build: ``hparams -> model``: a ``torch.nn.Module`` for ``kind="torch"``, a :class:`Trainable`
            otherwise. A callable, or ``"package.module:attr"`` imported only when a model is built.
        inputs: the named inputs and their preprocessing (:class:`~hepreco.ml.Preprocessing` or
            ``{name: InputSpec}``), or a callable ``hparams -> inputs`` when shapes depend on them.
        hparams: a pydantic model of the hyper-parameters (types, defaults, bounds); None = none.
        kind: ``"torch"`` (a network trained by the framework's loop) or ``"trainable"``.
        task: ``binary`` (one logit per example or pixel; scores are sigmoids), ``regression`` (MSE)
            or ``multiclass`` (logits along axis 1; scores are softmaxes).
        loss: torch only: ``(outputs, batch) -> scalar tensor`` where ``batch`` holds ``target``,
            ``mask`` and ``weight`` tensors (absent ones are None); default from ``task``.
        forward: torch only: ``(model, inputs) -> outputs``; default ``model(x)`` for one input,
            ``model(**inputs)`` for several.
        doc: one line on what the model is.
    """

    name: str
    build: Callable[[Any], Any] | str
    inputs: Preprocessing | Mapping[str, InputSpec] | Callable[[Any], Any]
    hparams: type[BaseModel] | None = None
    kind: Literal["torch", "trainable"] = "torch"
    task: Task = "binary"
    loss: Callable[[Any, Mapping[str, Any]], Any] | str | None = None
    forward: Callable[[Any, Mapping[str, Any]], Any] | str | None = None
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"ModelSpec.name must be a non-empty string, got {self.name!r}")
        if self.kind not in ("torch", "trainable"):
            raise ValueError(f"ModelSpec {self.name!r}: kind must be 'torch' or 'trainable', got {self.kind!r}")
        if self.task not in ("binary", "regression", "multiclass"):
            raise ValueError(f"ModelSpec {self.name!r}: unknown task {self.task!r}")

    @property
    def hparams_model(self) -> type[BaseModel]:
        return self.hparams or NoHParams

    def make_hparams(self, values: Mapping[str, Any] | BaseModel | None = None) -> BaseModel:
        """The validated hyper-parameters (defaults filled in); pydantic.ValidationError when invalid."""
        if isinstance(values, BaseModel):
            return values
        return self.hparams_model(**dict(values or {}))

    def input_spec(self, hparams: BaseModel | None = None) -> Preprocessing:
        """The inputs (and their preprocessing recipe) of this model with ``hparams``."""
        value = self.inputs
        if callable(value) and not isinstance(value, Mapping | Preprocessing):
            value = value(hparams if hparams is not None else self.make_hparams())
        return Preprocessing.coerce(value)

    def build_model(self, hparams: BaseModel | None = None) -> Any:
        """A fresh, untrained model (torch network or Trainable)."""
        hp = hparams if hparams is not None else self.make_hparams()
        model = _resolve(self.build, f"model '{self.name}' build")(hp)
        if self.kind == "trainable" and not isinstance(model, Trainable):
            msg = (
                f"model '{self.name}' is kind 'trainable' but its build returned {type(model).__name__}, which "
                "lacks fit/predict/save_weights/load_weights/weights_file (hepreco.ml.Trainable)"
            )
            raise TypeError(msg)
        return model

    def loss_fn(self) -> Callable[[Any, Mapping[str, Any]], Any]:
        if self.loss is not None:
            return _resolve(self.loss, f"model '{self.name}' loss")
        from hepreco.ml._torch import default_loss

        return lambda outputs, batch: default_loss(self.task, outputs, batch)

    def forward_fn(self) -> Callable[[Any, Mapping[str, Any]], Any]:
        if self.forward is not None:
            return _resolve(self.forward, f"model '{self.name}' forward")

        def fwd(model: Any, inputs: Mapping[str, Any]) -> Any:
            if len(inputs) == 1:
                return model(next(iter(inputs.values())))
            return model(**inputs)

        return fwd


# --- lookup ----------------------------------------------------------------------------------------
def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from hepreco.plugins import get_registry

    return get_registry()


def model_names(registry: Registry | None = None) -> list[str]:
    """The names of every registered model, sorted."""
    return _registry(registry).model_names()


def get_model(name: str, registry: Registry | None = None) -> ModelSpec:
    """The ModelSpec registered as ``name``; ModelLookupError naming the choices otherwise.

    Examples:
        >>> get_model("no-such-model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hepreco.ml.spec.ModelLookupError: unknown model 'no-such-model'; registered models: ...
    """
    reg = _registry(registry)
    spec = reg.model(name)
    if spec is None:
        known = reg.model_names()
        close = suggest(name, known)
        hint = (" (did you mean " + " or ".join(repr(c) for c in close) + "?)") if close else ""
        names = ", ".join(known) or "none (is the plugin that provides it installed?)"
        msg = f"unknown model '{name}'{hint}; registered models: {names}"
        raise ModelLookupError(msg)
    if not isinstance(spec, ModelSpec):
        msg = f"model '{name}' was registered as {type(spec).__name__}, not a hepreco.ml.ModelSpec"
        raise ModelLookupError(msg)
    return spec


def model_plugin(name: str, registry: Registry | None = None) -> tuple[str | None, str | None]:
    """``(plugin name, plugin version)`` of the plugin that registered model ``name``."""
    reg = _registry(registry)
    for info in reg.plugins.values():
        if name in info.models:
            return info.name, info.version
    return None, None
