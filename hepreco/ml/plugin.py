"""This module is the ``ml`` plugin: the job modules training and evaluation put into jobs.

- ``ml.ProductStream``: hands the products of each batch to :func:`hepreco.ml.iter_job` (training on the fly).
- ``ml.SplitFilter``: passes the events of one sample (train, valid or test) by the hash of their ids.
- ``ml.BinaryMetrics``: AUC, working point, acceptance and rejection of a score product against a
  label product, at end of job (``hepreco evaluate`` uses it; any job can).

A job config loads it with ``plugins: [hepreco.ml.plugin]`` (it is also installed as the entry point ``ml``).
Registration names the classes (:mod:`hepreco.ml.job_modules`); they load when a job uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hepreco._version import __version__
from hepreco.hookspecs import hookimpl

if TYPE_CHECKING:
    from hepreco.ml.job_modules import BinaryMetrics, ProductStream, SplitFilter

__all__ = ["PLUGIN_NAME", "BinaryMetrics", "ProductStream", "SplitFilter", "__version__"]

PLUGIN_NAME = "ml"
_CLASSES = ("ProductStream", "SplitFilter", "BinaryMetrics")


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(importlib.import_module("hepreco.ml.job_modules"), name)
    raise AttributeError(f"module 'hepreco.ml.plugin' has no attribute {name!r}")


@hookimpl
def hepreco_modules() -> list[str]:
    return [f"hepreco.ml.job_modules:{name}" for name in _CLASSES]


@hookimpl
def hepreco_commands() -> list[Any]:
    """``hepreco train`` and ``hepreco evaluate`` (their module imports hepreco.ml only when they run)."""
    from hepreco.commands import Command

    return [
        Command(
            "train",
            "train a registered model from a training config (checkpoints, metrics.csv, loss/ROC plots)",
            run="hepreco.ml.cli:cmd_train",
            arguments="hepreco.ml.cli:train_args",
        ),
        Command(
            "evaluate",
            "metrics of a checkpoint on held-out events (AUC, working point, ROC)",
            run="hepreco.ml.cli:cmd_evaluate",
            arguments="hepreco.ml.cli:eval_args",
        ),
    ]
