"""This module defines LightGBMModel: a gradient-boosted decision tree classifier as a hepreco Trainable.

A plugin registers a GBDT by giving this class as the builder of a ``kind="trainable"`` ModelSpec::

    ModelSpec(name="comet-gbdt", kind="trainable", build=LightGBMModel, hparams=LightGBMParams,
              inputs={"features": InputSpec(shape=(9,))})

Every input is flattened per example and the inputs are concatenated into one feature row. The model is
saved in LightGBM's own text format (``model.txt``, no pickle), cut at the best boosting round. Each
round is an "epoch" for the FitContext: metrics.csv has one row per round, early stopping's
``patience`` counts rounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from hepreco.ml.spec import TrainData

if TYPE_CHECKING:
    from hepreco.ml.fitting import FitContext

__all__ = ["LightGBMModel", "LightGBMParams"]


class LightGBMParams(BaseModel):
    """The hyper-parameters of :class:`LightGBMModel` (LightGBM's names where they differ in brackets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_estimators: int = Field(200, gt=0)
    """Boosting rounds (num_boost_round)."""
    learning_rate: float = Field(0.1, gt=0)
    num_leaves: int = Field(31, gt=1)
    max_depth: int = -1
    """-1 = no limit."""
    min_child_samples: int = Field(20, ge=1)
    """(min_data_in_leaf)"""
    subsample: float = Field(1.0, gt=0, le=1)
    """Row fraction per round (bagging_fraction; applied every round when below 1)."""
    colsample: float = Field(1.0, gt=0, le=1)
    """Feature fraction per tree (feature_fraction)."""
    reg_lambda: float = Field(0.0, ge=0)
    """L2 regularisation (lambda_l2)."""
    threads: int | None = Field(None, gt=0)
    """Threads (num_threads); default: LightGBM's."""


class LightGBMModel:
    """A binary GBDT classifier (LightGBM) implementing :class:`hepreco.ml.Trainable`."""

    weights_file = "model.txt"
    weights_format = "lightgbm-text"

    def __init__(self, params: LightGBMParams | Mapping[str, Any] | None = None) -> None:
        self.params = params if isinstance(params, LightGBMParams) else LightGBMParams(**dict(params or {}))
        self.booster: Any = None
        self.best_iteration: int | None = None

    @property
    def library_versions(self) -> dict[str, str]:
        import lightgbm

        return {"lightgbm": lightgbm.__version__}

    @staticmethod
    def matrix(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The inputs as one ``(N, features)`` float matrix (each input flattened per example)."""
        cols = [np.asarray(v).reshape(len(v), -1) for v in inputs.values()]
        return np.concatenate(cols, axis=1).astype(np.float64, copy=False) if cols else np.zeros((0, 0))

    def _lgb_params(self, seed: int) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {
            "objective": "binary",
            "metric": ["binary_logloss", "auc"],
            "learning_rate": p.learning_rate,
            "num_leaves": p.num_leaves,
            "max_depth": p.max_depth,
            "min_data_in_leaf": p.min_child_samples,
            "feature_fraction": p.colsample,
            "lambda_l2": p.reg_lambda,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if p.subsample < 1:
            out.update(bagging_fraction=p.subsample, bagging_freq=1)
        if p.threads:
            out["num_threads"] = p.threads
        return out

    def fit(self, train: TrainData, valid: TrainData, ctx: FitContext) -> None:
        import lightgbm as lgb

        train = train.materialize()
        valid = valid.materialize()
        if train.target is None or valid.target is None:
            raise ValueError("LightGBMModel needs a target")
        dtrain = lgb.Dataset(
            self.matrix(train.inputs),
            np.asarray(train.target, dtype=np.float64).ravel(),
            weight=train.weight,
            free_raw_data=True,
        )
        dvalid = lgb.Dataset(
            self.matrix(valid.inputs),
            np.asarray(valid.target, dtype=np.float64).ravel(),
            weight=valid.weight,
            reference=dtrain,
        )
        total = self.params.n_estimators
        names = {
            ("train", "binary_logloss"): "train_loss",
            ("valid", "binary_logloss"): "val_loss",
            ("valid", "auc"): "val_auc",
        }

        def report(env: Any) -> None:
            metrics = {names[(d, m)]: float(v) for d, m, v, *_ in env.evaluation_result_list if (d, m) in names}
            i = int(env.iteration)
            stop = ctx.end_epoch(
                i, metrics, save_best=False, save_last=False, echo=(i + 1) % 25 == 0 or i + 1 == total, total=total
            )
            if stop:
                raise lgb.callback.EarlyStopException(i, env.evaluation_result_list)

        start = ctx.start_epoch
        init = self.booster if start > 0 and self.booster is not None else None
        self.booster = lgb.train(
            self._lgb_params(ctx.seed),
            dtrain,
            num_boost_round=max(total - start, 0),
            valid_sets=[dtrain, dvalid],
            valid_names=["train", "valid"],
            callbacks=[report],
            init_model=init,
            keep_training_booster=True,
        )
        self.best_iteration = ctx.best_epoch
        best_row = next(
            (h for h in ctx.history if h["epoch"] == ctx.best_epoch), ctx.history[-1] if ctx.history else {}
        )
        ctx.save("best", best_row)
        self.best_iteration = None
        last = ctx.history[-1] if ctx.history else {}
        ctx.save("last", last, resume=({}, {**ctx._state(int(last.get("epoch", 1)) - 1)}))
        self.best_iteration = ctx.best_epoch

    def predict(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("LightGBMModel.predict() before fit() or load_weights()")
        x = self.matrix(inputs)
        return np.asarray(self.booster.predict(x, num_iteration=self.best_iteration), dtype=np.float32)

    def save_weights(self, path: Path) -> None:
        if self.booster is None:
            raise RuntimeError("LightGBMModel has no trained booster to save")
        self.booster.save_model(str(path), num_iteration=self.best_iteration if self.best_iteration else -1)

    def load_weights(self, path: Path) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_file=str(path))
        self.best_iteration = None
