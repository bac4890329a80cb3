"""This module describes a model's inputs and their preprocessing, as JSON that checkpoints carry.

Each named input has a per-example shape, a dtype and a list of transforms applied in order
(``log1p``, ``scale``, ``shift``, ``clip``, ``standardize``). ``standardize`` is *fitted* on the
training sample (its mean and std are filled in) and stored in the checkpoint, so inference applies
exactly what training applied. Comparing two preprocessings ignores fitted values: it asks "is this
the same recipe", not "were the statistics the same".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Clip", "InputSpec", "Log1p", "Preprocessing", "Scale", "Shift", "Standardize", "Transform"]

_CFG = ConfigDict(extra="forbid", frozen=True)


class Log1p(BaseModel):
    """``log(1 + x)``."""

    model_config = _CFG
    op: Literal["log1p"] = "log1p"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.log1p(x)


class Scale(BaseModel):
    """``x * factor``."""

    model_config = _CFG
    op: Literal["scale"] = "scale"
    factor: float

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x * self.factor


class Shift(BaseModel):
    """``x + offset``."""

    model_config = _CFG
    op: Literal["shift"] = "shift"
    offset: float

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x + self.offset


class Clip(BaseModel):
    """Clamp into ``[min, max]`` (either may be None)."""

    model_config = _CFG
    op: Literal["clip"] = "clip"
    min: float | None = None
    max: float | None = None

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.min, self.max)


class Standardize(BaseModel):
    """``(x - mean) / std`` with mean and std fitted on the training sample.

    ``axis`` is a per-example axis (0 = the first axis after the example axis): one mean/std per index
    along it (e.g. per channel of an image, per column of a feature vector); None = one global mean/std.
    """

    model_config = _CFG
    op: Literal["standardize"] = "standardize"
    axis: int | None = None
    mean: list[float] | None = None
    """Fitted: filled in by training."""
    std: list[float] | None = None
    """Fitted: filled in by training."""

    @property
    def fitted(self) -> bool:
        return self.mean is not None and self.std is not None

    def _shape(self, ndim: int) -> tuple[int, ...]:
        shape = [1] * ndim
        if self.axis is not None:
            shape[self.axis + 1] = -1
        return tuple(shape)

    def fit(self, x: np.ndarray) -> Standardize:
        if self.axis is None:
            mean, std = np.array([x.mean(dtype=np.float64)]), np.array([x.std(dtype=np.float64)])
        else:
            if not 0 <= self.axis < x.ndim - 1:
                msg = f"standardize: axis {self.axis} does not exist for per-example shape {x.shape[1:]}"
                raise ValueError(msg)
            axes = tuple(i for i in range(x.ndim) if i != self.axis + 1)
            mean, std = x.mean(axis=axes, dtype=np.float64), x.std(axis=axes, dtype=np.float64)
        std = np.where(std > 0, std, 1.0)
        return self.model_copy(update={"mean": mean.tolist(), "std": std.tolist()})

    def apply(self, x: np.ndarray) -> np.ndarray:
        if not self.fitted:
            msg = "standardize has not been fitted (no mean/std): fit the preprocessing on training data first"
            raise ValueError(msg)
        shape = self._shape(x.ndim)
        mean = np.asarray(self.mean, dtype=x.dtype).reshape(shape)
        std = np.asarray(self.std, dtype=x.dtype).reshape(shape)
        return (x - mean) / std


Transform = Annotated[Log1p | Scale | Shift | Clip | Standardize, Field(discriminator="op")]
"""One preprocessing step, written ``{op: NAME, ...}`` in YAML/JSON."""

_FITTED_KEYS = {"mean", "std"}


def _recipe(t: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in t.model_dump().items() if k not in _FITTED_KEYS}


def _fmt_transform(t: Mapping[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in t.items() if k != "op")
    return f"{t['op']}({args})" if args else str(t["op"])


class InputSpec(BaseModel):
    """One model input: its per-example shape, dtype and preprocessing.

    Examples:
        >>> spec = InputSpec(shape=(2,), transforms=[{"op": "log1p"}, {"op": "standardize", "axis": 0}])
        >>> fitted = spec.fit(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> fitted.apply(np.array([[0.0, 1.0], [2.0, 3.0]])).round(3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> spec.describe()
        '(2,) float32 log1p -> standardize(axis=0)'
    """

    model_config = _CFG

    shape: tuple[int | None, ...] = ()
    """Shape of one example (without the example axis); None = any length along that axis."""
    dtype: Literal["float32", "float64", "int64", "int32", "uint8", "bool"] = "float32"
    """The dtype the model receives."""
    transforms: tuple[Transform, ...] = ()
    """Applied in order before the model sees the input."""
    doc: str = ""
    """What this input is."""

    # --- shape -----------------------------------------------------------------------------------
    def shape_matches(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == len(self.shape) and all(
            e is None or e == s for e, s in zip(self.shape, shape, strict=True)
        )

    def check_shape(self, name: str, array: np.ndarray) -> None:
        """Raise ValueError naming the expected and found per-example shapes."""
        found = tuple(int(s) for s in array.shape[1:])
        if not self.shape_matches(found):
            msg = f"input '{name}': expected per-example shape {_fmt_shape(self.shape)}, found {found}"
            raise ValueError(msg)

    # --- fitting and applying --------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return all(getattr(t, "fitted", True) for t in self.transforms)

    def fit(self, x: np.ndarray) -> InputSpec:
        """A copy with every ``standardize`` fitted on ``x`` (examples along axis 0)."""
        x = np.asarray(x, dtype=np.float64)
        out = []
        for t in self.transforms:
            if isinstance(t, Standardize):
                t = t.fit(x)
            x = t.apply(x)
            out.append(t)
        return self.model_copy(update={"transforms": tuple(out)})

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The transforms applied in order, cast to ``dtype``."""
        x = np.asarray(x)
        if self.transforms:
            work = x.astype(np.float64 if self.dtype == "float64" else np.float32, copy=False)
            for t in self.transforms:
                work = t.apply(work)
            x = work
        return np.ascontiguousarray(x, dtype=self.dtype)

    # --- comparing -------------------------------------------------------------------------------
    def recipe(self) -> dict[str, Any]:
        """Shape, dtype and transforms without fitted values: what two checkpoints must agree on."""
        return {
            "shape": list(self.shape),
            "dtype": self.dtype,
            "transforms": [_recipe(t) for t in self.transforms],
        }

    def describe(self) -> str:
        steps = " -> ".join(_fmt_transform(_recipe(t)) for t in self.transforms) or "no transforms"
        return f"{_fmt_shape(self.shape)} {self.dtype} {steps}"


def _fmt_shape(shape: tuple[int | None, ...] | list[Any]) -> str:
    inner = ", ".join("any" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


class Preprocessing(BaseModel):
    """The named inputs of a model and their preprocessing (stored in every checkpoint).

    Examples:
        >>> pre = Preprocessing(inputs={"x": InputSpec(shape=(3,))})
        >>> pre.differences(Preprocessing(inputs={"x": InputSpec(shape=(4,))}))
        ["input 'x': expected (3,) float32 no transforms, found (4,) float32 no transforms"]
    """

    model_config = _CFG

    inputs: dict[str, InputSpec]

    @classmethod
    def coerce(cls, value: Preprocessing | Mapping[str, Any]) -> Preprocessing:
        """A Preprocessing from itself, ``{"inputs": {...}}`` or a plain ``{name: InputSpec}`` mapping."""
        if isinstance(value, Preprocessing):
            return value
        if "inputs" in value and isinstance(value["inputs"], Mapping) and len(value) == 1:
            return cls.model_validate(value)
        return cls(inputs=dict(value))

    @property
    def names(self) -> list[str]:
        return list(self.inputs)

    @property
    def fitted(self) -> bool:
        return all(s.fitted for s in self.inputs.values())

    def check(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Every input present, no others, with the declared per-example shapes (ValueError otherwise)."""
        missing = [n for n in self.inputs if n not in arrays]
        extra = [n for n in arrays if n not in self.inputs]
        if missing or extra:
            msg = f"model inputs are {', '.join(self.inputs)}; " + "; ".join(
                p
                for p in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unexpected {', '.join(extra)}" if extra else "",
                )
                if p
            )
            raise ValueError(msg)
        for name, spec in self.inputs.items():
            spec.check_shape(name, np.asarray(arrays[name]))

    def fit(self, arrays: Mapping[str, np.ndarray]) -> Preprocessing:
        return Preprocessing(inputs={n: s.fit(arrays[n]) for n, s in self.inputs.items()})

    def apply(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {n: s.apply(arrays[n]) for n, s in self.inputs.items()}

    def recipe(self) -> dict[str, Any]:
        return {n: s.recipe() for n, s in self.inputs.items()}

    def differences(self, found: Preprocessing) -> list[str]:
        """How ``found`` differs from this (expected) recipe, one sentence per input; empty when equal."""
        out = []
        for name in dict.fromkeys([*self.inputs, *found.inputs]):
            e, f = self.inputs.get(name), found.inputs.get(name)
            if e is None:
                out.append(f"input '{name}': not expected, found {f.describe() if f else ''}")
            elif f is None:
                out.append(f"input '{name}': expected {e.describe()}, found no such input")
            elif e.recipe() != f.recipe():
                out.append(f"input '{name}': expected {e.describe()}, found {f.describe()}")
        return out
