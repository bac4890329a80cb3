"""This module defines the one checkpoint format of every hepreco model, and how it is saved, found and checked.

A checkpoint is a folder::

    metadata.json          what the weights are: model name and hyper-parameters, input preprocessing,
                           training config, data recipe, versions, the weights' sha256, metrics
    model.safetensors      a torch network's weights (safetensors: never pickle); float32 as trained, or
                           stored in float16 / bfloat16 (``weights_dtype``) and upcast to the network's
                           parameter dtype when loaded, or int8 weight-only quantized (``weights_dtype="int8"``:
                           every floating tensor of >= 2 dimensions as int8 with one float32 scale per output
                           row, stored beside it as ``NAME..int8_scale``; dequantized into the network's
                           float32 parameters when loaded)
    model.txt              ... or a non-torch model in its library's own format (LightGBM text)
    optimizer.safetensors  only in a training's ``last/`` checkpoint: what ``resume`` needs
    trainer_state.json

``builtin:NAME`` names a checkpoint shipped inside a plugin package (``hepreco_builtin_checkpoints``).
Loading checks everything and refuses, naming what was expected and what was found: another model,
other input shapes or preprocessing, weights that do not fit, a file whose hash changed, a corrupt file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pydantic

from hepreco._version import __version__
from hepreco.errors import suggest
from hepreco.ml.preprocessing import InputSpec, Preprocessing
from hepreco.ml.spec import ModelLookupError, ModelSpec, get_model, model_plugin

if TYPE_CHECKING:
    from hepreco.plugins import Registry

__all__ = [
    "BUILTIN_PREFIX",
    "FORMAT_VERSION",
    "INT8_SCALE_SUFFIX",
    "METADATA_FILE",
    "WEIGHT_DTYPES",
    "Checkpoint",
    "CheckpointError",
    "convert_checkpoint",
    "load_checkpoint",
    "resolve_checkpoint",
    "save_checkpoint",
    "sha256_file",
]

FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
TORCH_WEIGHTS = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "trainer_state.json"
BUILTIN_PREFIX = "builtin:"
#: the storage dtypes a torch checkpoint's floating-point tensors may be saved in (``weights_dtype``); ``int8`` is
#: weight-only quantization: tensors of >= 2 dimensions as int8 with a float32 scale per output row, the others
#: (biases, normalisation) kept as float32
WEIGHT_DTYPES = ("float32", "float16", "bfloat16", "int8")
#: the suffix of the scale tensor of an int8-quantized tensor ``NAME`` (``NAME..int8_scale``). No torch state-dict
#: key contains ``..`` (module, parameter and buffer names are non-empty and hold no dot), so it cannot collide
#: with a parameter's name; the metadata records it as ``weights.quantization.scale_suffix``.
INT8_SCALE_SUFFIX = "..int8_scale"
_REQUIRED = ("hepreco_checkpoint", "model", "kind", "hparams", "preprocessing", "weights")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, or not what the caller expects.

    Attributes:
        path: the checkpoint folder or the offending file.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(message)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file's bytes.

    Examples:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = pathlib.Path(d, "weights.bin")
        ...     _ = path.write_bytes(b"hepreco")
        ...     sha256_file(path) == hashlib.sha256(b"hepreco").hexdigest()
        True
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- finding -------------------------------------------------------------------------------------
def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from hepreco.plugins import get_registry

    return get_registry()


def resolve_checkpoint(ref: str | os.PathLike[str], registry: Registry | None = None) -> Path:
    """The folder a checkpoint reference names: a path, or ``builtin:NAME`` shipped by a plugin.

    A path to a file inside the folder (``model.safetensors``, ``metadata.json``) names its folder.
    """
    text = os.fspath(ref)
    if text.startswith(BUILTIN_PREFIX):
        name = text[len(BUILTIN_PREFIX) :]
        table = _registry(registry).checkpoints
        if name not in table:
            close = suggest(name, table)
            hint = (" (did you mean " + " or ".join(repr(f"builtin:{c}") for c in close) + "?)") if close else ""
            known = ", ".join(f"builtin:{n}" for n in sorted(table)) or "none"
            msg = f"unknown builtin checkpoint '{text}'{hint}; builtin checkpoints of the installed plugins: {known}"
            raise CheckpointError(msg, path=text)
        path = Path(table[name])
        if not path.exists():
            msg = f"builtin checkpoint '{text}' points to '{path}', which does not exist (a broken plugin install?)"
            raise CheckpointError(msg, path=path)
    else:
        path = Path(text).expanduser()
        if not path.exists():
            msg = f"checkpoint '{text}' does not exist"
            raise CheckpointError(msg, path=path)
    if path.is_file():
        path = path.parent
    return path


# --- the checkpoint ------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """A checked checkpoint: its metadata, the model spec it belongs to and its preprocessing.

    Use :func:`load_checkpoint` to get one; :meth:`build` gives the model with its weights loaded.

    Attributes:
        path: the checkpoint folder.
        ref: how it was named (a path or ``builtin:NAME``).
        metadata: the parsed ``metadata.json``.
        spec: the registered ModelSpec of its model.
        hparams: the validated hyper-parameters.
        preprocessing: the fitted preprocessing of its inputs.
    """

    path: Path
    ref: str
    metadata: dict[str, Any]
    spec: ModelSpec
    hparams: pydantic.BaseModel
    preprocessing: Preprocessing
    _built: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def model_name(self) -> str:
        return str(self.metadata["model"])

    @property
    def hash(self) -> str:
        """The sha256 of the weights file (what provenance records)."""
        return str(self.metadata["weights"]["sha256"])

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    @property
    def weights_path(self) -> Path:
        return self.path / str(self.metadata["weights"]["file"])

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.metadata.get("metrics") or {})

    @property
    def working_point(self) -> dict[str, Any]:
        """The working point recorded with the weights (``metadata.json``'s ``working_point``: e.g. a score cut
        chosen on training-side data, and how it was chosen); empty when none is recorded. Modules that apply a
        cut take their default from it."""
        wp = self.metadata.get("working_point")
        return dict(wp) if isinstance(wp, dict) else {}

    @property
    def scale_suffix(self) -> str:
        """The suffix of the int8 scale tensors in the weights file (``weights.quantization.scale_suffix``)."""
        q = self.metadata["weights"].get("quantization")
        suffix = q.get("scale_suffix") if isinstance(q, dict) else None
        return str(suffix) if suffix else INT8_SCALE_SUFFIX

    def provenance(self) -> dict[str, Any]:
        """What a product made with this checkpoint records: model, reference, folder and hash."""
        return {"model": self.model_name, "checkpoint": self.ref, "path": str(self.path), "hash": self.hash}

    def load_torch_weights_into(self, model: Any) -> None:
        """Load this checkpoint's weights into ``model`` (a torch network built from its hyper-parameters),
        upcast or dequantized as stored (:func:`load_torch_weights`); CheckpointError when they do not fit."""
        load_torch_weights(
            model,
            self.weights_path,
            what=f"model '{self.model_name}' with {self._hp_text()}",
            scale_suffix=self.scale_suffix,
        )

    def build(self, device: str = "cpu") -> Any:
        """The model with its weights: a torch network in eval mode on ``device``, or a Trainable.

        Raises:
            CheckpointError: the weights file is unreadable or its tensors do not fit the model built
                from the recorded hyper-parameters (names each tensor, expected and found shapes).
        """
        key = str(device)
        if key in self._built:
            return self._built[key]
        model = self.spec.build_model(self.hparams)
        if self.spec.kind == "torch":
            self.load_torch_weights_into(model)
            model = model.to(device).eval()
        else:
            try:
                model.load_weights(self.weights_path)
            except Exception as err:
                msg = f"{self.weights_path}: cannot be read by model '{self.model_name}': {type(err).__name__}: {err}"
                raise CheckpointError(msg, path=self.weights_path) from err
        self._built[key] = model
        return model

    def predict(
        self, inputs: Mapping[str, np.ndarray], *, batch_size: int | None = None, device: str = "cpu"
    ) -> np.ndarray:
        """Scores for raw (not yet preprocessed) ``inputs``: preprocessing, model, activation."""
        self.preprocessing.check(inputs)
        x = self.preprocessing.apply(inputs)
        if self.spec.kind != "torch":
            return np.asarray(self.build().predict(x))
        from hepreco.ml.inference import run_model

        return run_model(self.build(device), x, self.spec, device=device, batch_size=batch_size).output

    def _hp_text(self) -> str:
        hp = self.metadata.get("hparams") or {}
        return "hparams " + (", ".join(f"{k}={v}" for k, v in hp.items()) if hp else "(none)")


def _fmt(shape: Any) -> str:
    return str(tuple(int(s) for s in shape))


def load_torch_weights(model: Any, path: Path, *, what: str, scale_suffix: str = INT8_SCALE_SUFFIX) -> None:
    """Load a safetensors file into ``model``, refusing (by tensor name and shape) weights that do not fit.

    Floating-point tensors stored in another dtype (a checkpoint saved with ``weights_dtype="float16"``) are
    cast to the dtype of the model's own tensor (float32 for a network as built). An int8 tensor ``NAME`` with a
    scale tensor ``NAME`` + ``scale_suffix`` (``weights_dtype="int8"``) is dequantized, ``int8 value x scale of
    its row`` (the first dimension), into the model's floating-point tensor."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"{path}: weights file is missing", path=path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        msg = f"{path}: not a readable safetensors file (corrupt or truncated?): {err}"
        raise CheckpointError(msg, path=path) from err
    bad = [name for name, t in tensors.items() if t.is_floating_point() and not bool(t.isfinite().all())]
    if bad:
        shown = ", ".join(f"'{n}'" for n in bad[:6]) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
        msg = f"{path}: tensor {shown} holds NaN or infinite values: refused (a diverged training?)"
        raise CheckpointError(msg, path=path)
    expected = model.state_dict()
    problems: list[str] = []
    tensors = _dequantize_int8(tensors, expected, scale_suffix, problems)
    for name, tensor in expected.items():
        if name not in tensors:
            problems.append(f"tensor '{name}' {_fmt(tensor.shape)} is missing from the file")
        elif tuple(tensors[name].shape) != tuple(tensor.shape):
            problems.append(
                f"tensor '{name}' has shape {_fmt(tensors[name].shape)} in the file, the model expects {_fmt(tensor.shape)}"
            )
    problems.extend(f"tensor '{name}' in the file is not in the model" for name in tensors if name not in expected)
    if problems:
        shown = "; ".join(problems[:6]) + (f"; ... ({len(problems) - 6} more)" if len(problems) > 6 else "")
        msg = f"{path}: the weights do not fit {what}: {shown}"
        raise CheckpointError(msg, path=path)
    # weights stored in a narrower float (float16, bfloat16: ``save_checkpoint(weights_dtype=...)``) are cast
    # to the dtype of the model's tensor (float32 as built): the network computes as it was trained
    tensors = {
        name: t.to(expected[name].dtype)
        if t.is_floating_point() and expected[name].is_floating_point() and t.dtype != expected[name].dtype
        else t
        for name, t in tensors.items()
    }
    model.load_state_dict(tensors, strict=True)


def _dequantize_int8(
    tensors: dict[str, Any], expected: Mapping[str, Any], suffix: str, problems: list[str]
) -> dict[str, Any]:
    """``tensors`` with each int8 tensor that has a scale tensor (``NAME`` + ``suffix``) replaced by its float32
    values, ``int8 x scale`` per row; a scale without its tensor, a scale of the wrong shape, or an int8 tensor
    without a scale where the model holds floating-point values are added to ``problems``."""
    import torch

    scales = {name[: -len(suffix)]: t for name, t in tensors.items() if name.endswith(suffix)}
    if not scales and not any(t.dtype == torch.int8 for t in tensors.values()):
        return tensors
    out = {name: t for name, t in tensors.items() if not name.endswith(suffix)}
    for name, scale in scales.items():
        q = out.get(name)
        if q is None:
            problems.append(f"scale tensor '{name}{suffix}' in the file has no int8 tensor '{name}'")
            continue
        if q.dtype != torch.int8 or q.dim() < 1 or tuple(scale.shape) != (q.shape[0],):
            problems.append(
                f"tensor '{name}' ({str(q.dtype).removeprefix('torch.')} {_fmt(q.shape)}) does not fit its scale "
                f"tensor {_fmt(scale.shape)}: an int8 tensor with one scale per row (the first dimension) is expected"
            )
            continue
        shape = (q.shape[0],) + (1,) * (q.dim() - 1)
        out[name] = q.to(torch.float32) * scale.to(torch.float32).reshape(shape)
    for name, t in out.items():
        if t.dtype == torch.int8 and name not in scales and name in expected and expected[name].is_floating_point():
            problems.append(f"tensor '{name}' is int8 in the file without its scale tensor '{name}{suffix}'")
    return out


def _read_metadata(folder: Path) -> dict[str, Any]:
    meta_path = folder / METADATA_FILE
    if not meta_path.is_file():
        files = ", ".join(sorted(p.name for p in folder.iterdir())) if folder.is_dir() else ""
        msg = f"{folder}: not a hepreco checkpoint: no {METADATA_FILE} (files: {files or 'none'})"
        raise CheckpointError(msg, path=folder)
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        msg = f"{meta_path}: not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}; the file is corrupt or truncated"
        raise CheckpointError(msg, path=meta_path) from err
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{meta_path}: cannot be read: {err}", path=meta_path) from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"{meta_path}: expected a JSON object, found {type(meta).__name__}", path=meta_path)
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        msg = f"{meta_path}: not a hepreco checkpoint's metadata: missing {', '.join(missing)}"
        raise CheckpointError(msg, path=meta_path)
    version = meta["hepreco_checkpoint"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        msg = (
            f"{meta_path}: checkpoint format {version!r} is newer than this hepreco ({__version__}) reads "
            f"(format {FORMAT_VERSION}): upgrade hepreco"
        )
        raise CheckpointError(msg, path=meta_path)
    w = meta["weights"]
    if not isinstance(w, dict) or not {"file", "sha256"} <= set(w):
        raise CheckpointError(f"{meta_path}: 'weights' must name the file and its sha256", path=meta_path)
    name = w["file"]
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        msg = (
            f"{meta_path}: the weights file {name!r} is not a file name inside the checkpoint folder "
            "(no folders, no '..'): refused, nothing read"
        )
        raise CheckpointError(msg, path=meta_path)
    return meta


def _expected_preprocessing(
    inputs: Mapping[str, Any] | None, preprocessing: Preprocessing | Mapping[str, Any] | None
) -> tuple[dict[str, tuple[int | None, ...]] | None, Preprocessing | None]:
    shapes = None
    if inputs is not None:
        shapes = {}
        for name, value in inputs.items():
            if isinstance(value, InputSpec):
                shapes[name] = tuple(value.shape)
            else:
                shapes[name] = tuple(value)
    pre = None if preprocessing is None else Preprocessing.coerce(preprocessing)
    return shapes, pre


def load_checkpoint(
    ref: str | os.PathLike[str],
    *,
    model: str | Collection[str] | None = None,
    inputs: Mapping[str, Any] | None = None,
    preprocessing: Preprocessing | Mapping[str, Any] | None = None,
    registry: Registry | None = None,
    verify: bool = True,
    expected_by: str = "",
) -> Checkpoint:
    """Find, read and check a checkpoint.

    Args:
        ref: the checkpoint folder (or a file in it), or ``builtin:NAME``.
        model: the model name the caller expects, or several (a module that runs either of two networks);
            refused when the checkpoint is another model's.
        inputs: the inputs the caller will give: ``{name: per-example shape}`` (None entries = any);
            refused when names or shapes differ.
        preprocessing: the preprocessing recipe the caller expects (fitted values are not compared).
        registry: the plugin registry (default: the process-wide one).
        verify: check the weights file against the sha256 in the metadata.
        expected_by: who expects it, for messages (e.g. ``module 'hitid'``).

    Raises:
        CheckpointError: with the checkpoint or file path and what was expected and found.
    """
    folder = resolve_checkpoint(ref, registry)
    meta = _read_metadata(folder)
    meta_path = folder / METADATA_FILE
    who = f" ({expected_by})" if expected_by else ""
    name = str(meta["model"])
    allowed = None if model is None else ((model,) if isinstance(model, str) else tuple(model))
    if allowed is not None and name not in allowed:
        names = f"'{allowed[0]}' is" if len(allowed) == 1 else "one of " + ", ".join(f"'{m}'" for m in allowed) + " is"
        msg = f"checkpoint {folder} is for model '{name}', but {names} expected{who}"
        raise CheckpointError(msg, path=folder)
    try:
        spec = get_model(name, registry)
    except ModelLookupError as err:
        made = (meta.get("versions") or {}).get("plugin") or {}
        hint = ""
        if made.get("name"):
            hint = f"; it was made with plugin '{made['name']}'" + (
                f" {made['version']}" if made.get("version") else ""
            )
            hint += ": install it, or list it under 'plugins:'"
        msg = f"checkpoint {folder} is for model '{name}', which no loaded plugin provides{hint} ({err})"
        raise CheckpointError(msg, path=folder) from err
    if meta["kind"] != spec.kind:
        msg = f"checkpoint {folder} holds a '{meta['kind']}' model, but model '{name}' is installed as a '{spec.kind}' model"
        raise CheckpointError(msg, path=folder)
    try:
        hparams = spec.make_hparams(meta["hparams"])
    except pydantic.ValidationError as err:
        probs = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        msg = f"{meta_path}: the recorded hyper-parameters do not fit model '{name}' as installed now: {probs}"
        raise CheckpointError(msg, path=meta_path) from err
    try:
        found = Preprocessing.coerce(meta["preprocessing"])
    except (pydantic.ValidationError, TypeError, ValueError) as err:
        msg = f"{meta_path}: 'preprocessing' is not a valid input description: {err}"
        raise CheckpointError(msg, path=meta_path) from err
    installed = spec.input_spec(hparams)
    diffs = installed.differences(found)
    if diffs:
        msg = f"checkpoint {folder}: its inputs differ from model '{name}' as installed now: " + "; ".join(diffs)
        raise CheckpointError(msg, path=folder)
    want_shapes, want_pre = _expected_preprocessing(inputs, preprocessing)
    if want_shapes is not None:
        problems = []
        for iname in dict.fromkeys([*want_shapes, *found.inputs]):
            if iname not in found.inputs:
                problems.append(
                    f"input '{iname}': expected shape {want_shapes[iname]}, the checkpoint has no such input"
                )
            elif iname not in want_shapes:
                problems.append(f"input '{iname}': not given{who}, but the checkpoint needs it")
            else:
                want = want_shapes[iname]
                have = found.inputs[iname].shape
                ok = len(want) == len(have) and all(
                    a is None or b is None or a == b for a, b in zip(want, have, strict=True)
                )
                if not ok:
                    problems.append(f"input '{iname}': expected shape {tuple(want)}, found {tuple(have)}")
        if problems:
            msg = f"checkpoint {folder} does not fit{who}: " + "; ".join(problems)
            raise CheckpointError(msg, path=folder)
    if want_pre is not None:
        diffs = want_pre.differences(found)
        if diffs:
            msg = f"checkpoint {folder}: preprocessing differs{who}: " + "; ".join(diffs)
            raise CheckpointError(msg, path=folder)
    if not found.fitted:
        msg = f"{meta_path}: the preprocessing was never fitted (standardize without mean/std)"
        raise CheckpointError(msg, path=meta_path)
    weights = folder / str(meta["weights"]["file"])
    if not weights.is_file():
        raise CheckpointError(f"{weights}: weights file is missing (named in {meta_path})", path=weights)
    if verify:
        actual = sha256_file(weights)
        if actual != meta["weights"]["sha256"]:
            msg = (
                f"{weights}: corrupt or modified: its sha256 is {actual[:16]}..., {METADATA_FILE} records "
                f"{str(meta['weights']['sha256'])[:16]}..."
            )
            raise CheckpointError(msg, path=weights)
    return Checkpoint(folder, os.fspath(ref), meta, spec, hparams, found)


# --- saving --------------------------------------------------------------------------------------
def _versions(spec: ModelSpec, model: Any, registry: Registry | None) -> dict[str, Any]:
    plugin, pversion = model_plugin(spec.name, _registry(registry))
    out: dict[str, Any] = {
        "hepreco": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "plugin": {"name": plugin, "version": pversion},
    }
    if spec.kind == "torch" or "torch" in sys.modules:
        import torch

        out["torch"] = torch.__version__
    if "safetensors" in sys.modules:
        import safetensors

        out["safetensors"] = safetensors.__version__
    out.update(getattr(model, "library_versions", {}) or {})
    return out


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace ``final`` (a folder, maybe present) by ``tmp`` so a reader never sees half a checkpoint."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(
    folder: str | os.PathLike[str],
    *,
    spec: ModelSpec,
    model: Any,
    hparams: pydantic.BaseModel | Mapping[str, Any] | None = None,
    preprocessing: Preprocessing | Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    resume: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
    weights_dtype: str | None = None,
) -> Checkpoint:
    """Write ``model`` as a checkpoint folder (replacing one that is there) and return it, checked.

    Args:
        folder: where (created; an existing checkpoint there is replaced atomically).
        spec: the model's ModelSpec.
        model: the torch network or the Trainable.
        hparams: its hyper-parameters (default: the spec's defaults).
        preprocessing: the fitted preprocessing (default: the spec's recipe, which must need no fitting).
        training: the training config, recorded as is.
        data: the data recipe (job config and seed, or files) that made the training data.
        metrics: validation (and test) metrics.
        resume: ``(tensors, state)``: optimizer tensors and JSON training state, for ``resume``.
        extra: more JSON-able metadata.
        weights_dtype: torch only: store the floating-point tensors as ``float16`` or ``bfloat16`` (half the
            size of float32; loading casts them back to the network's dtype) or ``float32``; default: as they
            are. Recorded as ``weights.dtype`` in the metadata. float16 refuses a tensor with values beyond its
            range (65504) rather than store infinities. ``int8``: weight-only quantization, about a quarter of
            float32: every floating-point tensor with 2 or more dimensions (dense and convolution weights) is
            stored as int8 with one float32 scale per output row (the first dimension; symmetric:
            ``scale = max|row| / 127``, ``int8 = round(value / scale)``, so each value is off by at most
            ``scale / 2``), in a tensor named ``NAME`` + :data:`INT8_SCALE_SUFFIX`; 1-D and 0-D tensors
            (biases, BatchNorm) stay float32. Loading dequantizes (``int8 x scale``) into the network's float32
            parameters: inference computes in float32. The metadata records ``weights.dtype: int8`` and
            ``weights.quantization`` (scheme, scale suffix, the tensors quantized). NaN or infinite weights
            are refused.

    Raises:
        ValueError: an unknown ``weights_dtype``, or values that do not fit it (beyond float16's range; NaN or
            infinite values for int8).
    """
    if weights_dtype is not None and weights_dtype not in WEIGHT_DTYPES:
        msg = f"weights_dtype {weights_dtype!r}: choose one of {', '.join(WEIGHT_DTYPES)}"
        raise ValueError(msg)
    final = Path(folder)
    final.parent.mkdir(parents=True, exist_ok=True)
    hp = spec.make_hparams(hparams)
    pre = Preprocessing.coerce(preprocessing) if preprocessing is not None else spec.input_spec(hp)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    quantized: list[str] = []
    try:
        if spec.kind == "torch":
            from safetensors.torch import save_file

            wfile = TORCH_WEIGHTS
            tensors = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
            if weights_dtype == "int8":
                tensors, quantized = _quantize_int8(tensors)
            elif weights_dtype is not None:
                tensors = _cast_tensors(tensors, weights_dtype)
            # one metadata key only: safetensors writes its header's metadata map in hash order, so with
            # several keys the same weights would give files (and hashes) that differ between runs
            save_file(tensors, str(tmp / wfile), metadata={"format": "pt"})
            wformat = "safetensors"
        else:
            wfile = str(model.weights_file)
            model.save_weights(tmp / wfile)
            wformat = str(getattr(model, "weights_format", Path(wfile).suffix.lstrip(".") or "binary"))
        meta: dict[str, Any] = {
            "hepreco_checkpoint": FORMAT_VERSION,
            "model": spec.name,
            "kind": spec.kind,
            "task": spec.task,
            "hparams": hp.model_dump(mode="json"),
            "preprocessing": pre.model_dump(mode="json"),
            "weights": {"file": wfile, "format": wformat, "sha256": sha256_file(tmp / wfile)},
            "training": dict(training) if training is not None else None,
            "data": dict(data) if data is not None else None,
            "metrics": dict(metrics or {}),
            "versions": _versions(spec, model, registry),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if resume is not None:
            tensors_r, state = resume
            files = [STATE_FILE]
            if tensors_r:  # a torch optimizer's state (a non-torch model needs none: no torch import)
                from safetensors.torch import save_file

                save_file(dict(tensors_r), str(tmp / OPTIMIZER_FILE))
                files.insert(0, OPTIMIZER_FILE)
            (tmp / STATE_FILE).write_text(json.dumps(state, indent=1, default=_json_default))
            meta["resume"] = {"files": files, "epoch": state.get("epoch")}
        if spec.kind == "torch" and quantized:
            meta["weights"]["dtype"] = "int8"
            meta["weights"]["quantization"] = {
                "scheme": "int8 weight-only, symmetric, one float32 scale per output row (scale = max|row| / 127)",
                "scale_suffix": INT8_SCALE_SUFFIX,
                "scale_dtype": "float32",
                "others": "float32",
                "tensors": quantized,
            }
        elif spec.kind == "torch":
            dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()})
            if dtypes:
                meta["weights"]["dtype"] = dtypes[0] if len(dtypes) == 1 else dtypes
        meta.update(extra or {})
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, default=_json_default) + "\n")
        _readable(tmp)
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Checkpoint(final, str(final), json.loads((final / METADATA_FILE).read_text()), spec, hp, pre)


def _cast_tensors(tensors: dict[str, Any], dtype_name: str) -> dict[str, Any]:
    """The floating-point tensors cast to ``dtype_name`` (others as they are); float16 refuses values beyond
    its range instead of storing infinities."""
    import torch

    dtype = getattr(torch, dtype_name)
    out = {}
    for name, t in tensors.items():
        if not t.is_floating_point():
            out[name] = t
            continue
        c = t.to(dtype)
        if bool(t.isfinite().all()) and not bool(c.isfinite().all()):
            big = float(t.abs().max())
            msg = (
                f"tensor '{name}' holds values up to {big:.4g}, beyond {dtype_name}'s range: not stored as {dtype_name}"
            )
            raise ValueError(msg)
        out[name] = c.contiguous()
    return out


def _quantize_int8(tensors: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Weight-only int8: each floating-point tensor of >= 2 dimensions as int8 with one float32 scale per row
    (the first dimension, a layer's output) in ``NAME`` + :data:`INT8_SCALE_SUFFIX`; other floating-point
    tensors as float32; the rest as they are. Returns the tensors and the names quantized. Refuses NaN or
    infinite values."""
    import torch

    out: dict[str, Any] = {}
    quantized = []
    for name, t in tensors.items():
        if not t.is_floating_point():
            out[name] = t
            continue
        if not bool(t.isfinite().all()):
            msg = f"tensor '{name}' holds NaN or infinite values: not stored as int8 (a diverged training?)"
            raise ValueError(msg)
        if t.dim() < 2:
            out[name] = t.to(torch.float32).contiguous()
            continue
        rows = t.detach().to(torch.float64).reshape(t.shape[0], -1)
        scale = (rows.abs().amax(dim=1) / 127.0).to(torch.float32)
        # an all-zero row has scale 0 and stores zeros; the division uses 1 there
        safe = torch.where(scale > 0, scale, torch.ones_like(scale)).to(torch.float64)
        q = torch.round(rows / safe[:, None]).clamp_(-127, 127).to(torch.int8)
        out[name] = q.reshape(t.shape).contiguous()
        out[name + INT8_SCALE_SUFFIX] = scale.contiguous()
        quantized.append(name)
    return out, quantized


def convert_checkpoint(
    ref: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    weights_dtype: str,
    registry: Registry | None = None,
) -> Checkpoint:
    """Write checkpoint ``ref`` (a folder or ``builtin:NAME``) again at ``folder`` with its torch weights stored
    as ``weights_dtype`` (e.g. ``float16``: half the file; ``int8``: weight-only quantization with a float32
    scale per output row, about a quarter of float32, see :func:`save_checkpoint`), keeping its metadata (model, hyper-parameters,
    preprocessing, training, data, metrics, the epoch, ...). The new metadata records the new weights hash and
    ``converted_from`` (the old hash and dtype). ``folder`` may be ``ref``'s own folder (replaced atomically).

    Example (a checkpoint folder ``run/best``)::

        convert_checkpoint("run/best", "run/best-fp16", weights_dtype="float16")
        convert_checkpoint("run/best", "run/best-int8", weights_dtype="int8")
    """
    src = load_checkpoint(ref, registry=registry)
    if src.spec.kind != "torch":
        msg = f"checkpoint {src.path} holds a '{src.spec.kind}' model: only torch weights can be converted"
        raise CheckpointError(msg, path=src.path)
    old = src.metadata
    model = src.build("cpu")
    skip = {"hepreco_checkpoint", "model", "kind", "task", "hparams", "preprocessing", "weights", "training",
            "data", "metrics", "versions", "created", "resume", "converted_from"}  # fmt: skip
    extra = {k: v for k, v in old.items() if k not in skip}
    extra["converted_from"] = {
        "sha256": src.hash,
        "dtype": old["weights"].get("dtype", "float32"),
        "created": old.get("created"),
        "versions": old.get("versions"),
    }
    return save_checkpoint(
        folder,
        spec=src.spec,
        model=model,
        hparams=src.hparams,
        preprocessing=src.preprocessing,
        training=old.get("training"),
        data=old.get("data"),
        metrics=old.get("metrics"),
        extra=extra,
        registry=registry,
        weights_dtype=weights_dtype,
    )


def _readable(folder: Path) -> None:
    """Files as readable as the umask allows (safetensors writes its files owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    for p in folder.iterdir():
        p.chmod(0o666 & ~umask)
    folder.chmod(0o777 & ~umask)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def load_resume_state(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The optimizer tensors and training state a ``last/`` checkpoint holds for ``resume``."""
    folder = Path(folder)
    state_path = folder / STATE_FILE
    opt_path = folder / OPTIMIZER_FILE
    if not state_path.is_file():
        msg = f"{folder}: cannot resume from this checkpoint: no {STATE_FILE} (resume from a training's 'last' checkpoint)"
        raise CheckpointError(msg, path=folder)
    try:
        state = json.loads(state_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{state_path}: not valid JSON: {err}; the file is corrupt or truncated", path=state_path
        ) from err
    tensors: dict[str, Any] = {}
    if opt_path.is_file():
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            tensors = load_file(str(opt_path))
        except (SafetensorError, OSError, ValueError) as err:
            msg = f"{opt_path}: not a readable safetensors file (corrupt or truncated?): {err}"
            raise CheckpointError(msg, path=opt_path) from err
    return tensors, state
