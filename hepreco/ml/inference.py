"""This module runs networks inside jobs: a model loaded once per process, a whole batch on the device at once.

:class:`TorchInference` is a mixin for modules that run a registered network::

    class HitClassifier(hepreco.Producer, TorchInference):
        model_name = "toy-mlp"                       # the checkpoint must be this model's
        class Config(hepreco.ModuleConfig):
            features: hepreco.InputTag
            weights: str = "builtin:toy-mlp"
        produces = ("score",)

        def begin_job(self):
            self.load_model(self.config.weights)     # checked, cached, on the Device service's device

        def produce(self, events):
            x = ak.to_numpy(events[self.config.features])
            events.put("score", self.predict({"x": x}))

Inference runs under ``torch.inference_mode``; on a GPU with the Device service's ``precision`` bf16 or
fp16 under autocast, and 4-D inputs in channels-last memory format when ``channels_last`` is set. A CUDA
out-of-memory error halves the batch and retries (down to one event), and later batches start from the
size that fitted. ``self.model_provenance`` (also recorded with ``self.summary``) holds the checkpoint
hash, device and precision of every product the module makes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hepreco.ml.checkpoint import Checkpoint, load_checkpoint
from hepreco.ml.preprocessing import Preprocessing
from hepreco.ml.spec import ModelSpec

__all__ = [
    "InferenceOOM",
    "InferenceSettings",
    "RunResult",
    "TorchInference",
    "cached_model",
    "check_weights",
    "clear_model_cache",
    "model_cache_info",
    "model_provenance",
    "run_model",
]

log = logging.getLogger("hepreco.ml")

PRECISIONS = ("fp32", "bf16", "fp16")


class InferenceOOM(MemoryError):
    """The device ran out of memory even for a batch of one event."""


@dataclass(frozen=True)
class InferenceSettings:
    """How a model runs: device, effective precision (autocast dtype or fp32) and memory format."""

    device: str = "cpu"
    precision: str = "fp32"
    channels_last: bool = False

    @classmethod
    def choose(
        cls, device: str, precision: str = "fp32", channels_last: bool = False, *, on_cpu: bool = False
    ) -> InferenceSettings:
        """The effective settings: autocast and channels-last apply on a GPU only, unless ``on_cpu``
        (used by tests to exercise the GPU code path on a CPU).

        Examples:
            >>> InferenceSettings.choose("cpu", "bf16", True)
            InferenceSettings(device='cpu', precision='fp32', channels_last=False)
            >>> InferenceSettings.choose("cuda", "bf16", True)
            InferenceSettings(device='cuda', precision='bf16', channels_last=True)
        """
        if precision not in PRECISIONS:
            msg = f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
            raise ValueError(msg)
        gpu = str(device).startswith("cuda") or on_cpu
        return cls(str(device), precision if gpu else "fp32", bool(channels_last and gpu))


# --- the per-process model cache ---------------------------------------------------------------
_CACHE: dict[tuple[str, ...], Any] = {}
_CACHE_LOCK = threading.Lock()
_LOADS = {"builds": 0, "hits": 0}


def _cache_key(ckpt: Checkpoint, settings: InferenceSettings) -> tuple[str, ...]:
    hp = json.dumps(ckpt.metadata.get("hparams") or {}, sort_keys=True)
    return (ckpt.hash, ckpt.model_name, hp, settings.device, str(settings.channels_last))


def cached_model(ckpt: Checkpoint, settings: InferenceSettings) -> Any:
    """The network of ``ckpt`` on ``settings.device``, built once per process (keyed by the weights
    hash, model, hyper-parameters, device and memory format)."""
    key = _cache_key(ckpt, settings)
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is not None:
            _LOADS["hits"] += 1
            return model
        model = ckpt.spec.build_model(ckpt.hparams)
        ckpt.load_torch_weights_into(model)
        model = model.to(settings.device).eval()
        if settings.channels_last:
            import torch

            model = model.to(memory_format=torch.channels_last)
        _CACHE[key] = model
        _LOADS["builds"] += 1
        return model


def clear_model_cache() -> None:
    """Forget every cached model (frees their memory once no module holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _LOADS.update(builds=0, hits=0)


def model_cache_info() -> dict[str, int]:
    """``{"models": cached, "builds": models built, "hits": loads served from the cache}``."""
    with _CACHE_LOCK:
        return {"models": len(_CACHE), **_LOADS}


# --- running a model on a batch ------------------------------------------------------------------
@dataclass
class RunResult:
    """What :func:`run_model` returns: the outputs, and how the batch was split to fit in memory."""

    output: np.ndarray
    splits: int = 0
    batch_size: int = 0


def _is_oom(err: BaseException) -> bool:
    import torch

    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _free(device: str) -> None:
    import torch

    if str(device).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_in_pieces(
    fn: Callable[[int, int], Any], n: int, *, max_batch: int | None = None, device: str = "cpu"
) -> tuple[list[Any], int, int]:
    """Call ``fn(start, stop)`` over ``[0, n)`` in pieces of at most ``max_batch`` (all at once when
    None); on out-of-memory halve the piece and retry. Returns ``(outputs, piece size, splits)``.

    Examples:
        >>> import torch
        >>> def fn(a, b):
        ...     if b - a > 3:
        ...         raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        ...     return list(range(a, b))
        >>> outs, size, splits = run_in_pieces(fn, 10)
        >>> sum(outs, []) == list(range(10)), size, splits
        (True, 2, 2)
    """
    size = n if max_batch is None else max(1, min(n, max_batch))
    outputs: list[Any] = []
    start = 0
    splits = 0
    while start < n:
        stop = min(start + size, n)
        try:
            outputs.append(fn(start, stop))
        except Exception as err:
            if not _is_oom(err):
                raise
            _free(device)
            if stop - start <= 1:
                msg = f"out of memory on {device} even for one event at a time: {err}"
                raise InferenceOOM(msg) from err
            size = max(1, (stop - start) // 2)
            splits += 1
            log.info("out of memory on %s with %d events: retrying with %d", device, stop - start, size)
            continue
        start = stop
    return outputs, size, splits


@contextlib.contextmanager
def _autocast(settings: InferenceSettings) -> Iterator[None]:
    import torch

    if settings.precision == "fp32":
        yield
        return
    dtype = torch.bfloat16 if settings.precision == "bf16" else torch.float16
    dev_type = torch.device(settings.device).type
    with torch.autocast(device_type=dev_type, dtype=dtype):
        yield


def _to_tensor(a: np.ndarray, settings: InferenceSettings, device: str | None) -> Any:
    import torch

    t = torch.from_numpy(np.ascontiguousarray(a))
    if device is not None and device != "cpu":
        if str(device).startswith("cuda"):
            t = t.pin_memory()
        t = t.to(device, non_blocking=True)
    if settings.channels_last and t.ndim == 4 and t.is_floating_point():
        t = t.contiguous(memory_format=torch.channels_last)
    return t


def run_model(
    model: Any,
    inputs: Mapping[str, np.ndarray],
    spec: ModelSpec,
    *,
    device: str = "cpu",
    settings: InferenceSettings | None = None,
    batch_size: int | None = None,
    activation: bool = True,
) -> RunResult:
    """Run a torch network on preprocessed ``inputs``: the whole batch sent to the device at once,
    ``torch.inference_mode``, autocast and channels-last per ``settings``, halving on out-of-memory.

    Args:
        model: the network (already on the device, in eval mode).
        inputs: preprocessed input arrays, examples along axis 0.
        spec: the model's ModelSpec (its ``forward`` and ``task``).
        device: where the model is (used when ``settings`` is None).
        settings: device, precision and memory format.
        batch_size: the largest piece to run at once (None = the whole batch first).
        activation: apply the task's activation (sigmoid for binary) to the outputs.

    Returns:
        RunResult with the outputs as a float32 numpy array (examples along axis 0).
    """
    import torch

    from hepreco.ml._torch import activation as act

    settings = settings or InferenceSettings(device=device)
    forward = spec.forward_fn()
    n = len(next(iter(inputs.values()))) if inputs else 0
    try:  # the whole batch onto the device in one transfer
        tensors = {k: _to_tensor(v, settings, settings.device) for k, v in inputs.items()}
        on_device = True
    except Exception as err:
        if not _is_oom(err):
            raise
        _free(settings.device)
        tensors = {k: _to_tensor(v, settings, None) for k, v in inputs.items()}
        on_device = False

    def piece(start: int, stop: int) -> Any:
        part = {k: v[start:stop] for k, v in tensors.items()}
        if not on_device:
            part = {k: v.to(settings.device, non_blocking=True) for k, v in part.items()}
        with torch.inference_mode(), _autocast(settings):
            out = forward(model, part)
            if activation:
                out = act(spec.task, out)
        return out.float().cpu()

    if n == 0:  # still through the model, so the output has its shape
        return RunResult(piece(0, 0).numpy(), 0, 0)
    outs, size, splits = run_in_pieces(piece, n, max_batch=batch_size, device=settings.device)
    output = outs[0] if len(outs) == 1 else torch.cat(outs)
    return RunResult(output.numpy(), splits, size)


# --- the module mixin ------------------------------------------------------------------------------
class TorchInference:
    """Mixin for hepreco modules that run a registered network (see the module docstring).

    Class attributes:
        model_name: the registered model a checkpoint must be for, or a tuple of models when the module runs
            any of several networks (it reads ``self.checkpoint.model_name`` to tell which); None = any.

    Attributes (after :meth:`load_model`):
        checkpoint: the checked :class:`~hepreco.ml.Checkpoint`.
        model: the network, on the device, shared by every module of the process using that checkpoint.
        inference: the effective :class:`InferenceSettings`.
        model_provenance: ``{"model", "checkpoint", "hash", "device", "precision", "channels_last"}``,
            what every product this module makes was made with (also recorded with ``self.summary``).
    """

    model_name: ClassVar[str | tuple[str, ...] | None] = None
    checkpoint: Checkpoint
    model: Any
    inference: InferenceSettings
    model_provenance: dict[str, Any]
    #: out-of-memory splits so far, and the batch size that last fitted (None = whole batches)
    oom_splits: int = 0
    max_batch: int | None = None

    def check(self) -> list[tuple[str, str]]:
        """The ``weights`` checkpoint (when the module's config has one) is found and its metadata is this
        model's: checked before the first event, by ``hepreco validate`` as well."""
        ref = getattr(getattr(self, "config", None), "weights", None)
        if not isinstance(ref, str) or not ref:
            return []
        return check_weights(self, ref, model=self.model_name)

    def load_model(
        self,
        ref: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        preprocessing: Preprocessing | Mapping[str, Any] | None = None,
        device: str | None = None,
        precision: str | None = None,
        channels_last: bool | None = None,
        batch_size: int | None = None,
        on_cpu: bool = False,
    ) -> Checkpoint:
        """Load (once per process) and check the checkpoint ``ref`` (a path or ``builtin:NAME``).

        Device, precision and channels-last default to the job's Device service. ``inputs`` and
        ``preprocessing`` are what this module will give; a checkpoint that expects other shapes or
        another preprocessing is refused with both named.
        """
        svc = _device_service(self)
        if device is None:
            device = svc.device if svc is not None else "cpu"
        if precision is None:
            precision = svc.config.precision if svc is not None else "fp32"
        if channels_last is None:
            channels_last = bool(svc.config.channels_last) if svc is not None else False
        label = getattr(self, "label", None)
        job = getattr(self, "job", None)
        ckpt = load_checkpoint(
            ref,
            model=self.model_name,
            inputs=inputs,
            preprocessing=preprocessing,
            registry=getattr(job, "registry", None),
            expected_by=f"module '{label}'" if label else "",
        )
        if ckpt.spec.kind != "torch":
            msg = f"checkpoint {ckpt.path} holds a '{ckpt.spec.kind}' model; TorchInference runs torch networks"
            raise TypeError(msg)
        self.checkpoint = ckpt
        self.inference = InferenceSettings.choose(device, precision, channels_last, on_cpu=on_cpu)
        self.model = cached_model(ckpt, self.inference)
        self.max_batch = batch_size
        self.oom_splits = 0
        self.model_provenance = {
            "model": ckpt.model_name,
            "checkpoint": ckpt.ref,
            "hash": ckpt.hash,
            "device": self.inference.device,
            "precision": self.inference.precision,
            "channels_last": self.inference.channels_last,
        }
        summary = getattr(self, "summary", None)
        if callable(summary) and job is not None:
            summary(**{(k if k == "model" else f"model_{k}"): v for k, v in self.model_provenance.items()})
        return ckpt

    def predict(
        self, inputs: Mapping[str, np.ndarray], *, preprocess: bool = True, activation: bool = True
    ) -> np.ndarray:
        """Scores for one batch of raw inputs (``{name: array}``, events along axis 0).

        The inputs are checked against the checkpoint's shapes, preprocessed as in training, sent to
        the device at once and run; the output is a float32 numpy array, one entry per event.
        """
        if not hasattr(self, "checkpoint"):
            msg = f"{type(self).__name__}.predict() before load_model(): call self.load_model(...) in begin_job"
            raise RuntimeError(msg)
        pre = self.checkpoint.preprocessing
        arrays = {k: np.asarray(v) for k, v in inputs.items()}
        pre.check(arrays)
        x = pre.apply(arrays) if preprocess else arrays
        result = run_model(
            self.model,
            x,
            self.checkpoint.spec,
            settings=self.inference,
            batch_size=self.max_batch,
            activation=activation,
        )
        if result.splits:
            self.oom_splits += result.splits
            self.max_batch = result.batch_size
            summary = getattr(self, "summary", None)
            if callable(summary) and getattr(self, "job", None) is not None:
                summary(model_oom_splits=self.oom_splits, model_batch_size=self.max_batch)
        return result.output


def check_weights(
    module: Any, ref: str, *, model: str | tuple[str, ...] | None = None, param: str = "weights"
) -> list[tuple[str, str]]:
    """``[(param, message)]`` when checkpoint ``ref`` cannot be found, read or is another model's, else ``[]``:
    a module's :meth:`hepreco.Module.check` for its weights (metadata only; the weights load in ``begin_job``)."""
    from hepreco.ml.checkpoint import CheckpointError, ModelLookupError, load_checkpoint

    job = getattr(module, "job", None)
    label = getattr(module, "label", None)
    try:
        load_checkpoint(
            ref,
            model=model,
            registry=getattr(job, "registry", None),
            verify=False,
            expected_by=f"module '{label}'" if label else "",
        )
    except (CheckpointError, ModelLookupError, OSError) as err:
        return [(param, str(err))]
    return []


def _device_service(obj: Any) -> Any:
    services = getattr(obj, "services", None)
    if services is None:
        return None
    try:
        return services["Device"]
    except KeyError:
        return None


def model_provenance(summaries: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{module label: {model, checkpoint, hash, device, precision, ...}}`` from a job's summaries
    (``JobContext.summaries`` or ``JobResult.summaries``), for outputs that record provenance.

    Examples:
        >>> model_provenance({"hitid": {"model": "m", "model_hash": "ab12", "model_device": "cpu", "events": 3}})
        {'hitid': {'model': 'm', 'hash': 'ab12', 'device': 'cpu'}}
    """
    out: dict[str, dict[str, Any]] = {}
    for label, figures in summaries.items():
        found = {
            ("model" if k == "model" else k[len("model_") :]): v
            for k, v in figures.items()
            if k == "model" or k.startswith("model_")
        }
        if found:
            out[label] = found
    return out
