"""hepreco.ml: what every network plugin shares — model registration, checkpoints, training, inference, metrics.

The names below load lazily: ``import hepreco.ml`` imports neither torch nor this package's modules;
each name imports its module on first use (and torch only where a torch model is built or run).

Submodules (one role each):

- ``spec``: :class:`ModelSpec` (how a plugin registers a model), the :class:`Trainable` protocol for
  non-torch models, :class:`TrainData`, :func:`get_model`.
- ``preprocessing``: :class:`InputSpec` and :class:`Preprocessing`, the inputs' shapes and transforms.
- ``checkpoint``: the one checkpoint format (safetensors or the library's own text format + JSON
  metadata): :func:`save_checkpoint`, :func:`load_checkpoint`, ``builtin:NAME``, :func:`convert_checkpoint`
  (torch weights stored as float16/bfloat16, upcast when loaded).
- ``data``: :func:`iter_job` (a job run on the fly, batch by batch), :func:`iter_files` (ROOT/Parquet).
- ``split``: :func:`split_index`, the train/valid/test split by event-id hash.
- ``config``, ``training``, ``evaluation``: ``hepreco train`` and ``hepreco evaluate``.
- ``fitting``: :class:`FitContext`, what a model being trained reports to (CSV, early stopping, checkpoints).
- ``torch_trainer``: the torch training loop; ``gbdt``: :class:`LightGBMModel`, a GBDT Trainable.
- ``inference``: :class:`TorchInference`, the mixin for modules that run a network in a job.
- ``metrics``: the one ROC/AUC/working-point implementation: :func:`roc_curve`,
  :func:`roc_curve_from_histograms`, :func:`roc_auc`, :func:`working_point`, :func:`binary_metrics`.
- ``plots``: loss and ROC figures; ``plugin``: the ``ml`` job modules (Collect, SplitFilter, BinaryMetrics).

Examples:
    >>> import hepreco.ml as ml
    >>> ml.roc_auc([0.2, 0.9, 0.4], [0, 1, 1])
    1.0
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "SPLITS",
    "Checkpoint",
    "CheckpointError",
    "DataBatch",
    "EvalConfig",
    "EvalResult",
    "FitContext",
    "InferenceOOM",
    "InferenceSettings",
    "InputSpec",
    "LightGBMModel",
    "LightGBMParams",
    "ModelLookupError",
    "ModelSpec",
    "NoHParams",
    "Preprocessing",
    "RocCurve",
    "TorchInference",
    "TrainConfig",
    "TrainData",
    "TrainResult",
    "Trainable",
    "WorkingPoint",
    "binary_metrics",
    "check_weights",
    "clear_model_cache",
    "convert_checkpoint",
    "evaluate",
    "get_model",
    "iter_files",
    "iter_job",
    "load_checkpoint",
    "load_eval_config",
    "load_train_config",
    "model_cache_info",
    "model_names",
    "model_provenance",
    "resolve_checkpoint",
    "roc_auc",
    "roc_curve",
    "roc_curve_from_histograms",
    "run_model",
    "save_checkpoint",
    "scores_and_labels",
    "split_index",
    "split_mask",
    "train",
    "validate_training",
    "working_point",
]

_WHERE = {
    "SPLITS": "split",
    "split_index": "split",
    "split_mask": "split",
    "Checkpoint": "checkpoint",
    "CheckpointError": "checkpoint",
    "convert_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "resolve_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "DataBatch": "data",
    "iter_files": "data",
    "iter_job": "data",
    "EvalConfig": "config",
    "TrainConfig": "config",
    "load_eval_config": "config",
    "load_train_config": "config",
    "EvalResult": "evaluation",
    "evaluate": "evaluation",
    "FitContext": "fitting",
    "InferenceOOM": "inference",
    "InferenceSettings": "inference",
    "TorchInference": "inference",
    "check_weights": "inference",
    "clear_model_cache": "inference",
    "model_cache_info": "inference",
    "model_provenance": "inference",
    "run_model": "inference",
    "InputSpec": "preprocessing",
    "Preprocessing": "preprocessing",
    "LightGBMModel": "gbdt",
    "LightGBMParams": "gbdt",
    "ModelLookupError": "spec",
    "ModelSpec": "spec",
    "NoHParams": "spec",
    "TrainData": "spec",
    "Trainable": "spec",
    "get_model": "spec",
    "model_names": "spec",
    "RocCurve": "metrics",
    "WorkingPoint": "metrics",
    "binary_metrics": "metrics",
    "roc_auc": "metrics",
    "roc_curve": "metrics",
    "roc_curve_from_histograms": "metrics",
    "scores_and_labels": "metrics",
    "working_point": "metrics",
    "TrainResult": "training",
    "train": "training",
    "validate_training": "training",
}


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        from hepreco.errors import did_you_mean

        msg = f"module 'hepreco.ml' has no attribute '{name}'{did_you_mean(name, __all__)}"
        raise AttributeError(msg) from None
    value = getattr(importlib.import_module(f"hepreco.ml.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
