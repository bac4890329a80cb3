"""This module defines FitContext: what a model being trained reports to, epoch after epoch.

The context writes ``metrics.csv``, prints one line per epoch and drives a progress bar, applies early
stopping, saves the best checkpoint (``best/``) whenever the monitored metric improves and the latest
one with what ``resume`` needs (``last/``). torch networks and other Trainables use it alike.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic

from hepreco.ml.checkpoint import Checkpoint, save_checkpoint
from hepreco.ml.preprocessing import Preprocessing
from hepreco.ml.spec import ModelSpec

if TYPE_CHECKING:
    from hepreco.ml.config import TrainingConfig
    from hepreco.plugins import Registry

__all__ = ["FitContext"]

BEST, LAST = "best", "last"
METRICS_CSV = "metrics.csv"


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kw: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@dataclass
class FitContext:
    """The training run a model reports to (see the module docstring).

    Attributes:
        config: the ``training:`` section.
        seed: the training seed.
        device: the resolved device (``cpu``, ``cuda``, ...).
        output: the output folder.
        start_epoch: the first epoch to run (after a resume: the one after the checkpoint's).
        resume: ``(tensors, state)`` from the checkpoint resumed from (None otherwise); ``state`` holds
            what the trainable saved (e.g. ``{"optimizer": ..., "step": ...}``) besides the context's own.
        history: one mapping of metrics per epoch done (resumed ones included).
    """

    config: TrainingConfig
    output: Path
    spec: ModelSpec
    hparams: pydantic.BaseModel
    preprocessing: Preprocessing
    trainable: Any
    device: str = "cpu"
    records: dict[str, Any] = field(default_factory=dict)
    registry: Registry | None = None
    quiet: bool = False
    start_epoch: int = 0
    resume: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    stopped_early: bool = False
    _t0: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        if self.resume is not None:
            state = self.resume[1]
            self.history = [dict(h) for h in state.get("history", [])]
            self.best_value = state.get("best_value")
            self.best_epoch = state.get("best_epoch")
            self.wait = int(state.get("wait", 0))

    # --- what the model reads ---------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return int(self.config.seed)

    @property
    def epochs(self) -> int:
        return int(self.config.epochs)

    @property
    def monitor(self) -> str:
        es = self.config.early_stopping
        return es.monitor if es is not None else "val_loss"

    @property
    def direction(self) -> str:
        es = self.config.early_stopping
        return es.direction if es is not None else "min"

    def progress(self, total: int | None, desc: str) -> AbstractContextManager[Any]:
        """A progress bar over ``total`` steps (a do-nothing one when quiet or not on a terminal)."""
        on = self.config.progress
        if on is None:
            on = sys.stderr.isatty()
        if not on or self.quiet:
            return _NoBar()
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit="batch", leave=False, file=sys.stderr, dynamic_ncols=True)

    # --- what the model reports -------------------------------------------------------------------
    def _improved(self, value: float | None) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.best_value is None:
            return True
        delta = self.config.early_stopping.min_delta if self.config.early_stopping is not None else 0.0
        if self.direction == "min":
            return value < self.best_value - delta
        return value > self.best_value + delta

    def end_epoch(
        self,
        epoch: int,
        metrics: Mapping[str, Any],
        *,
        save_best: bool = True,
        resume: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
        save_last: bool = True,
        echo: bool = True,
        total: int | None = None,
    ) -> bool:
        """Record epoch ``epoch`` (0-based); returns True when early stopping says stop.

        Args:
            epoch: the epoch (or boosting iteration) just finished.
            metrics: its figures (``train_loss``, ``val_loss``, ``val_auc``, ``lr``, ...).
            save_best: write ``best/`` now if the monitored metric improved.
            resume: ``(tensors, state)`` the model needs to continue (optimizer state): saved in ``last/``.
            save_last: write ``last/`` now.
            echo: print this epoch's line (a GBDT reports every boosting round but prints a few).
            total: the number of epochs (rounds) shown, when not ``training.epochs``.
        """
        row = {
            "epoch": epoch + 1,
            **{k: _num(v) for k, v in metrics.items()},
            "seconds": round(time.perf_counter() - self._t0, 3),
        }
        self.history.append(row)
        if self.monitor not in row:
            msg = f"early_stopping.monitor '{self.monitor}' is not among the metrics: {', '.join(k for k in row if k != 'epoch')}"
            raise KeyError(msg)
        value = row[self.monitor]
        improved = self._improved(value)
        if improved:
            self.best_value, self.best_epoch, self.wait = float(value), epoch + 1, 0
            if save_best:
                self.save(BEST, dict(row))
        else:
            self.wait += 1
        self._write_csv()
        es = self.config.early_stopping
        stop = es is not None and self.wait >= max(es.patience, 1)
        if save_last:
            tensors, state = resume if resume is not None else ({}, {})
            self.save(LAST, dict(row), resume=(tensors, {**state, **self._state(epoch)}))
        if not self.quiet and (echo or stop):
            shown = "  ".join(f"{k} {_fmt(v)}" for k, v in row.items() if k not in ("epoch", "seconds"))
            mark = "  *best*" if improved else ""
            print(f"epoch {epoch + 1:>4}/{total or self.epochs}  {shown}  {row['seconds']:.1f}s{mark}", file=sys.stderr)
            if stop:
                print(
                    f"early stopping: {self.monitor} did not improve for {self.wait} epochs "
                    f"(best {_fmt(self.best_value)} at epoch {self.best_epoch})",
                    file=sys.stderr,
                )
        self.stopped_early = bool(stop)
        return bool(stop)

    def _state(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "history": self.history,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
        }

    def save(
        self,
        which: str,
        metrics: Mapping[str, Any] | None = None,
        *,
        resume: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    ) -> Checkpoint:
        """Write the model as checkpoint ``output/which`` with the run's metadata."""
        return save_checkpoint(
            self.output / which,
            spec=self.spec,
            model=self.trainable.model if self.spec.kind == "torch" else self.trainable,
            hparams=self.hparams,
            preprocessing=self.preprocessing,
            training=self.records.get("training"),
            data=self.records.get("data"),
            metrics={"valid": dict(metrics or {})},
            resume=resume,
            extra={"epoch": (metrics or {}).get("epoch")},
            registry=self.registry,
        )

    def _write_csv(self) -> None:
        keys: list[str] = []
        for row in self.history:
            keys.extend(k for k in row if k not in keys)
        self.output.mkdir(parents=True, exist_ok=True)
        with open(self.output / METRICS_CSV, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            for row in self.history:
                w.writerow(row)


def _num(v: Any) -> Any:
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return v.item()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(v, "item") and callable(v.item):
        return v.item()
    return v


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3e}" if (v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4)) else f"{v:.4f}"
    return str(v)
