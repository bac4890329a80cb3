"""This module defines the training and evaluation configs (``hepreco train`` / ``hepreco evaluate``) and
how they are loaded: YAML with a safe loader, includes and ``--set`` overrides as job configs have, and
errors that name the file, line and key with the nearest valid key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepreco.config.loader import ResolvedConfig, load_config
from hepreco.errors import ConfigError, ConfigIssue

__all__ = [
    "DataConfig",
    "EarlyStoppingConfig",
    "EvalConfig",
    "JobEvalConfig",
    "ModelConfig",
    "OptimizerConfig",
    "ScheduleConfig",
    "SplitConfig",
    "TrainConfig",
    "TrainingConfig",
    "load_eval_config",
    "load_train_config",
]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Base):
    """Which registered model to train, with which hyper-parameters."""

    name: str
    """The registered model name (``hepreco list`` shows them)."""
    hparams: dict[str, Any] = Field(default_factory=dict)
    """Its hyper-parameters; unset ones take the model's defaults."""


class SplitConfig(_Base):
    """How events are shared between the samples (by the hash of their ids: stable across runs)."""

    train: float = Field(0.8, ge=0, le=1)
    valid: float = Field(0.1, ge=0, le=1)
    test: float = Field(0.1, ge=0, le=1)
    salt: int = 0
    """Another salt gives another, independent assignment."""

    @model_validator(mode="after")
    def _sum(self) -> SplitConfig:
        if abs(self.train + self.valid + self.test - 1.0) > 1e-9:
            raise ValueError(f"train + valid + test must be 1, got {self.train + self.valid + self.test:g}")
        if self.train <= 0 or self.valid <= 0:
            raise ValueError("train and valid must be above 0")
        return self

    @property
    def fractions(self) -> tuple[float, float, float]:
        return (self.train, self.valid, self.test)


class DataConfig(_Base):
    """Where the examples come from (``job`` run now, or ``files`` a job wrote) and what they are."""

    job: str | None = None
    """A job config run now to make the data (path relative to this config, else the working directory)."""
    files: list[str] | None = None
    """ROOT or Parquet files a hepreco job wrote (paths or globs)."""
    events: int | None = Field(None, ge=1)
    """job: how many events (like ``-n``)."""
    seed: int | None = Field(None, ge=0)
    """job: the job seed (like ``--seed``)."""
    set: dict[str, Any] = Field(default_factory=dict)
    """job: overrides, ``{key.path: value}`` (like ``--set``); nested mappings set their leaves."""
    select: list[str] = Field(default_factory=list)
    """job: only events that passed these trigger paths."""
    cache: bool = True
    """job: run it once and keep the examples in memory; false: run it again every epoch, training on
    each batch as it comes (memory stays at one batch)."""
    tree: str | None = None
    """files: the TTree/RNTuple name (default ``events``, or the file's only tree)."""
    step_size: int = Field(100_000, gt=0)
    """files: entries read at once."""
    inputs: dict[str, str | list[str]]
    """Model input name → product (an InputTag for a job, a column or the writing job's InputTag for
    files); a list of products is stacked along a new last axis (feature columns)."""
    target: str | None = None
    """The product the model learns (labels of a classifier)."""
    mask: str | None = None
    """Where the loss counts (e.g. sense-wire pixels), same shape as the target."""
    weight: str | None = None
    """Per-example loss weights."""
    flatten: bool = False
    """Examples are the elements of jagged products (hits), not events."""
    split: SplitConfig = Field(default_factory=lambda: SplitConfig())
    """The train/valid/test fractions."""

    @model_validator(mode="after")
    def _source(self) -> DataConfig:
        if (self.job is None) == (self.files is None):
            raise ValueError("give exactly one of 'job' (a job config run now) or 'files' (files a job wrote)")
        if self.files is not None and not self.files:
            raise ValueError("'files' is empty")
        return self


class OptimizerConfig(_Base):
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    """The learning rate (the base of the schedule)."""
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    """adam, adamw."""
    momentum: float = Field(0.9, ge=0)
    """sgd."""
    nesterov: bool = False
    """sgd."""


class ScheduleConfig(_Base):
    name: Literal["constant", "onecycle", "cosine", "step", "exponential"] = "constant"
    max_lr: float | None = Field(None, gt=0)
    """onecycle: the peak (default: the optimizer's lr)."""
    pct_start: float = Field(0.3, gt=0, lt=1)
    """onecycle: the fraction of steps spent rising."""
    div_factor: float = Field(25.0, gt=0)
    """onecycle: starts at max_lr / div_factor."""
    final_div_factor: float = Field(1e4, gt=0)
    """onecycle: ends at max_lr / div_factor / final_div_factor."""
    cycle_momentum: bool = True
    """onecycle: cycle momentum (Adam's beta1) between max_momentum and base_momentum."""
    base_momentum: float = 0.85
    max_momentum: float = 0.95
    min_factor: float = Field(0.0, ge=0, le=1)
    """cosine: ends at lr * min_factor."""
    step_size: int = Field(10, gt=0)
    """step: epochs between decays."""
    gamma: float = Field(0.1, gt=0)
    """step, exponential: the decay factor."""


class EarlyStoppingConfig(_Base):
    monitor: str = "val_loss"
    """The metric watched: val_loss, val_auc, train_loss."""
    mode: Literal["min", "max", "auto"] = "auto"
    """Whether lower or higher is better (auto: max for *auc/*acc*, min otherwise)."""
    patience: int = Field(10, ge=0)
    """Epochs without improvement before stopping (the COMET talk's DnCNN needed ~50)."""
    min_delta: float = Field(0.0, ge=0)
    """A smaller change is not an improvement."""

    @property
    def direction(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "max" if ("auc" in self.monitor or "acc" in self.monitor) else "min"


class TrainingConfig(_Base):
    epochs: int = Field(10, ge=1)
    """Passes over the training sample (boosting rounds for a GBDT are its own hyper-parameter)."""
    batch_size: int = Field(64, gt=0)
    """Examples per optimizer step."""
    eval_batch_size: int | None = Field(None, gt=0)
    """Examples per forward pass when validating (default: 4 x batch_size)."""
    optimizer: OptimizerConfig = Field(default_factory=lambda: OptimizerConfig())
    schedule: ScheduleConfig = Field(default_factory=lambda: ScheduleConfig())
    early_stopping: EarlyStoppingConfig | None = Field(default_factory=lambda: EarlyStoppingConfig())
    """null: train all epochs; the best epoch is still the one saved as best."""
    seed: int = Field(0, ge=0)
    """Seeds the weights' initialisation, shuffling and dropout: same seed, same weights."""
    device: str = "auto"
    """``auto`` (a GPU when torch sees one), ``cpu``, ``cuda`` or ``cuda:N``."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Autocast precision for training on a GPU."""
    grad_clip: float | None = Field(None, gt=0)
    """Clip the gradient norm to this."""
    threads: int | None = Field(None, gt=0)
    """CPU threads for torch (default: torch's)."""
    progress: bool | None = None
    """A progress bar (default: when stderr is a terminal)."""
    signal_acceptance: float = Field(0.99, ge=0, le=1)
    """The working point reported (classifiers): the cut keeping this fraction of signal."""
    fit_examples: int = Field(100_000, gt=0)
    """Examples used to fit the preprocessing (standardize) when the data are streamed."""


class TrainConfig(_Base):
    """A training config (``hepreco train TRAIN.yaml``)."""

    description: str = ""
    plugins: list[str] = Field(default_factory=list)
    """Plugins to load (importable modules or .py paths relative to this config), e.g. for the model."""
    model: ModelConfig
    data: DataConfig
    training: TrainingConfig = Field(default_factory=lambda: TrainingConfig())
    output: str = "train_output"
    """The folder for checkpoints (best/, last/), metrics.csv and the figures (relative to the working directory)."""
    resume: str | None = None
    """Continue from this checkpoint (a training's ``last`` folder)."""


class JobEvalConfig(_Base):
    """Evaluate through a job: run it (its inference module using the checkpoint) and fill ``ml.BinaryMetrics``."""

    config: str
    """The job config (relative to this config, else the working directory)."""
    score: str
    """The product with the classifier's score."""
    target: str
    """The product with the truth."""
    mask: str | None = None
    weight: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    """Overrides, e.g. ``{modules.hitid.weights: runs/dncnn/best}``."""
    events: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=0)


class EvalConfig(_Base):
    """An evaluation config (``hepreco evaluate EVAL.yaml``)."""

    description: str = ""
    plugins: list[str] = Field(default_factory=list)
    checkpoint: str | None = None
    """The checkpoint (a folder or ``builtin:NAME``)."""
    data: DataConfig | None = None
    """The data (default: the data recipe recorded in the checkpoint)."""
    sample: Literal["train", "valid", "test", "all"] = "test"
    """Which events: the held-out test sample by default (by the split recorded in the checkpoint)."""
    job: JobEvalConfig | None = None
    """Evaluate through a job instead (its modules run the model; see JobEvalConfig)."""
    output: str | None = None
    """A folder for metrics.json and roc.png."""
    batch_size: int = Field(1024, gt=0)
    device: str = "cpu"
    signal_acceptance: float = Field(0.99, ge=0, le=1)
    threshold: float = 0.5

    @model_validator(mode="after")
    def _what(self) -> EvalConfig:
        if self.checkpoint is None and self.job is None:
            raise ValueError("give 'checkpoint' (and optionally 'data'), or 'job'")
        return self


# --- loading with located errors -------------------------------------------------------------------
M = TypeVar("M", bound=BaseModel)


def config_error(issues: Sequence[ConfigIssue], what: str) -> ConfigError:
    """A ConfigError whose first line says which kind of config is invalid."""
    return ConfigError(list(issues), what=what)


def validate_config(cls: type[M], data: Any, resolved: ResolvedConfig, *, prefix: str = "", what: str = "config") -> M:
    """``cls(**data)``, or ConfigError with one issue per problem: file, line, key path, did-you-mean."""
    from hepreco.config.validation import validation_issues

    try:
        return cls.model_validate(data)
    except pydantic.ValidationError as err:
        raise config_error(validation_issues(err, cls, resolved, prefix=prefix), what) from None


def _load(
    cls: type[M],
    config: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Sequence[str | tuple[str, Any]],
    what: str,
) -> tuple[M, ResolvedConfig]:
    try:
        resolved = load_config(config if isinstance(config, Mapping) else os.fspath(config), overrides=overrides)
    except ConfigError as err:
        raise config_error(err.issues, what) from None
    return validate_config(cls, resolved.data, resolved, what=what), resolved


def load_train_config(
    config: str | os.PathLike[str] | Mapping[str, Any], *, overrides: Sequence[str | tuple[str, Any]] = ()
) -> tuple[TrainConfig, ResolvedConfig]:
    """Read and check a training config; ConfigError names the file, line and key of every problem.

    Examples:
        >>> cfg, _ = load_train_config({"model": {"name": "m"}, "data": {"job": "j.yaml", "inputs": {"x": "a:b"}}})
        >>> cfg.training.epochs, cfg.data.split.fractions
        (10, (0.8, 0.1, 0.1))
        >>> load_train_config({"model": {"name": "m"}, "data": {"job": "j.yaml", "inputs": {}}, "trainig": {}})
        Traceback (most recent call last):
        ...
        hepreco.errors.ConfigError: invalid training config:
          - <dict>, key 'trainig': unknown key 'trainig' (did you mean 'training'?); keys: description, plugins, model, data, training, output, resume
    """
    return _load(TrainConfig, config, overrides, "training config")


def load_eval_config(
    config: str | os.PathLike[str] | Mapping[str, Any], *, overrides: Sequence[str | tuple[str, Any]] = ()
) -> tuple[EvalConfig, ResolvedConfig]:
    """Read and check an evaluation config (errors as :func:`load_train_config`)."""
    return _load(EvalConfig, config, overrides, "evaluation config")
