"""This module is ``hepreco train``: from a training config to a checked checkpoint, metrics and figures.

The steps: read and check the config (every problem at once, with file, line and key); load the
plugins; find the model and check its hyper-parameters; bring the data in (a job run now, or files)
and split it by event hash; fit the preprocessing on the training sample; train (torch loop or the
model's own ``fit``), saving ``best/`` and ``last/`` checkpoints; score the best model on the
validation sample; write ``metrics.csv``, ``loss.png``, ``roc.png`` and ``summary.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hepreco.config.loader import ResolvedConfig, load_config
from hepreco.errors import ConfigError, ConfigIssue, PluginError, did_you_mean
from hepreco.ml.checkpoint import METADATA_FILE, CheckpointError, load_checkpoint, load_resume_state
from hepreco.ml.config import DataConfig, TrainConfig, config_error, load_train_config, validate_config
from hepreco.ml.data import (
    ExampleBuilder,
    HeldOut,
    MissingColumn,
    StreamingData,
    expand_files,
    flatten_overrides,
    iter_data,
    job_path,
    load_examples,
    prepare_job,
)
from hepreco.ml.fitting import BEST, LAST, METRICS_CSV, FitContext
from hepreco.ml.preprocessing import Preprocessing
from hepreco.ml.spec import ModelLookupError, ModelSpec, TrainData, get_model

if TYPE_CHECKING:
    import pydantic

    from hepreco.plugins import Registry

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        output: the output folder.
        best: the best checkpoint's folder (``output/best``).
        last: the last checkpoint's folder, with what resume needs.
        metrics: the best model's figures on the validation sample (AUC, working point, ... for a
            binary classifier).
        history: one mapping of metrics per epoch.
        best_epoch: the epoch (1-based) of the best checkpoint.
        stopped_early: early stopping ended the training.
        weights_hash: the sha256 of the best checkpoint's weights.
    """

    output: Path
    best: Path
    last: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    best_epoch: int | None
    stopped_early: bool
    weights_hash: str
    seconds: float = 0.0
    examples: dict[str, int] = field(default_factory=dict)


# --- checks -----------------------------------------------------------------------------------------
def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from hepreco.plugins import get_registry

    return get_registry()


def load_plugins(plugins: Sequence[str], resolved: ResolvedConfig, registry: Registry, what: str) -> None:
    issues = []
    for i, spec in enumerate(plugins):
        try:
            registry.load_spec(str(spec), base_dir=resolved.base_dir)
        except PluginError as err:
            issues.append(resolved.issue(str(err), f"plugins.{i}"))
    if issues:
        raise config_error(issues, what)


def check_model(cfg: TrainConfig, resolved: ResolvedConfig, registry: Registry) -> tuple[ModelSpec, pydantic.BaseModel]:
    try:
        spec = get_model(cfg.model.name, registry)
    except ModelLookupError as err:
        raise config_error([resolved.issue(str(err), "model.name")], "training config") from None
    hp = validate_config(
        spec.hparams_model, cfg.model.hparams, resolved, prefix="model.hparams", what="training config"
    )
    return spec, hp


def check_inputs(
    spec: ModelSpec, expected: Preprocessing, data: DataConfig, resolved: ResolvedConfig, what: str
) -> None:
    issues: list[ConfigIssue] = []
    names = expected.names
    for name in data.inputs:
        if name not in expected.inputs:
            msg = (
                f"model '{spec.name}' has no input '{name}'{did_you_mean(name, names)}; its inputs: {', '.join(names)}"
            )
            issues.append(resolved.issue(msg, f"data.inputs.{name}"))
    for name in names:
        if name not in data.inputs:
            spec_in = expected.inputs[name]
            msg = f"model '{spec.name}' needs input '{name}' ({spec_in.describe()}{': ' + spec_in.doc if spec_in.doc else ''}): name the product that holds it"
            issues.append(resolved.issue(msg, "data.inputs"))
    if data.target is None:
        issues.append(resolved.issue(f"model '{spec.name}' ({spec.task}) learns a target: name its product", "data"))
    if issues:
        raise config_error(issues, what)


def data_error(err: Exception, builder: ExampleBuilder, resolved: ResolvedConfig, what: str) -> ConfigError:
    """A data problem (missing product, wrong shape, a job config problem) as a located ConfigError."""
    if isinstance(err, ConfigError):
        issues = []
        for issue in err.issues:
            if issue.key.startswith("products."):
                idx = int(issue.key.split(".")[1])
                key = builder.keys.get(builder.products[idx], "data") if idx < len(builder.products) else "data"
                issues.append(resolved.issue(f"{issue.file}: {issue.message}", key))
            else:
                issues.append(resolved.issue(f"in job config {issue}", "data.job"))
        return config_error(issues, what)
    if isinstance(err, MissingColumn):
        return config_error([resolved.issue(str(err), builder.keys.get(err.name, "data"))], what)
    msg = str(err)
    key = msg.split(":", 1)[0] if msg.startswith("data.") else "data"
    return config_error([resolved.issue(msg.removeprefix(key + ": ") if key != "data" else msg, key)], what)


# --- data ----------------------------------------------------------------------------------------------
def _target_dtype(spec: ModelSpec, a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    return np.asarray(a, dtype=np.int64 if spec.task == "multiclass" else np.float32)


def make_transform(spec: ModelSpec, pre: Preprocessing) -> Any:
    def transform(d: TrainData) -> TrainData:
        if len(d) == 0:
            return d
        return TrainData(
            pre.apply(d.inputs),
            _target_dtype(spec, d.target),
            None if d.mask is None else np.asarray(d.mask, dtype=np.float32),
            None if d.weight is None else np.asarray(d.weight, dtype=np.float32),
            d.ids,
        )

    return transform


def data_recipe(cfg: DataConfig, resolved: ResolvedConfig, examples: Mapping[str, int]) -> dict[str, Any]:
    """What made the data: the data config (absolute paths), the job's resolved config and seed, or the
    files with the provenance of the jobs that wrote them."""
    base = resolved.base_dir
    dcfg = cfg.model_dump(mode="json")
    out: dict[str, Any] = {"examples": dict(examples)}
    if cfg.job is not None:
        job = Path(cfg.job)
        if not job.is_absolute() and (base / job).exists():
            job = base / job
        job = job.resolve()
        dcfg["job"] = str(job)
        jr = load_config(job, overrides=list(cfg.set.items()), events=cfg.events, seed=cfg.seed)
        out["job"] = {
            "file": str(job),
            "config": jr.data,
            "seed": jr.data.get("seed", 0),
            "events": (jr.data.get("source") or {}).get("events"),
        }
    else:
        files = [str(Path(f).resolve()) for f in expand_files(cfg.files or [], base)]
        dcfg["files"] = files
        out["files"] = [_file_record(f) for f in files]
    out["config"] = dcfg
    return out


def _file_record(path: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"path": path, "bytes": os.path.getsize(path)}
    from hepreco.io.provenance import read_file_document

    try:
        doc = read_file_document(path)
    except (OSError, ValueError):
        doc = None
    if doc and doc.get("history"):
        last = doc["history"][-1]
        rec["made_by"] = {k: last.get(k) for k in ("id", "process", "seed", "config_file", "hepreco_version", "config")}
    return rec


# --- torch settings ----------------------------------------------------------------------------------
@contextlib.contextmanager
def torch_settings(threads: int | None, device: str) -> Iterator[None]:
    """Set torch's CPU threads and deterministic cuDNN for the training; restore them after."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.backends.cudnn.deterministic
    old_bench = torch.backends.cudnn.benchmark
    try:
        if threads:
            torch.set_num_threads(threads)
        if str(device).startswith("cuda"):
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.backends.cudnn.deterministic = old_det
        torch.backends.cudnn.benchmark = old_bench


def _resolve_device(device: str) -> str:
    from hepreco.services.device import resolve_device

    return resolve_device(device)


# --- checking a training config --------------------------------------------------------------------------
def checked_config(
    config: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Sequence[str | tuple[str, Any]],
    registry: Registry | None,
) -> tuple[TrainConfig, ResolvedConfig, Registry, ModelSpec, pydantic.BaseModel, Preprocessing]:
    """The checks every training starts with: the config's keys, its plugins loaded, the model and its
    hyper-parameters, the inputs it needs named. Returns the config, where its values came from, the registry,
    the model's spec, its hyper-parameters and its expected inputs."""
    what = "training config"
    cfg, resolved = load_train_config(config, overrides=overrides)
    reg = _registry(registry)
    load_plugins(cfg.plugins, resolved, reg, what)
    spec, hp = check_model(cfg, resolved, reg)
    expected = spec.input_spec(hp)
    check_inputs(spec, expected, cfg.data, resolved, what)
    return cfg, resolved, reg, spec, hp, expected


def validate_training(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Sequence[str | tuple[str, Any]] = (),
    registry: Registry | None = None,
) -> str:
    """Check a training config as ``hepreco train`` would before it starts, without making data or training
    (``hepreco validate TRAIN.yaml``): the config's keys, its plugins, the model and its hyper-parameters, the
    inputs the model needs, and the data: a data job is checked as ``hepreco validate`` checks a job (with
    ``data.set``, and every product the config names must be one the job makes), data files must exist.

    Returns:
        A one-line description: the model and where its data come from.

    Raises:
        ConfigError: every problem found, naming the file, line and key.
    """
    what = "training config"
    cfg, resolved, reg, spec, _hp, _expected = checked_config(config, overrides, registry)
    builder = ExampleBuilder.from_config(cfg.data)
    base = resolved.base_dir
    if cfg.data.job is not None:
        job = job_path(cfg.data, base)
        try:
            prepare_job(
                job, builder.products, events=cfg.data.events, seed=cfg.data.seed,
                overrides=flatten_overrides(cfg.data.set), select=cfg.data.select, registry=reg,
            )  # fmt: skip
        except (ConfigError, MissingColumn, ValueError, OSError) as err:
            raise data_error(err, builder, resolved, what) from err
        where = f"job {job}"
    else:
        files = expand_files(cfg.data.files or [], base)
        if not files:
            msg = f"no file matches {cfg.data.files}"
            raise config_error([resolved.issue(msg, "data.files")], what)
        where = f"{len(files)} file(s)"
    return f"model '{spec.name}' ({spec.task}), data from {where}"


# --- the command ---------------------------------------------------------------------------------------
def train(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Sequence[str | tuple[str, Any]] = (),
    output: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    quiet: bool = False,
    registry: Registry | None = None,
) -> TrainResult:
    """Train the model a training config names; see the module docstring for the steps.

    Args:
        config: a training config file (YAML), YAML text or a mapping.
        overrides: ``"key.path=value"`` (``--set``), e.g. ``"training.epochs=5"``.
        output: overrides the config's ``output`` folder.
        resume: continue from this checkpoint (a previous training's ``last`` folder).
        quiet: print nothing (no per-epoch lines, no progress bar).
        registry: the plugin registry (default: the process-wide one).

    Raises:
        ConfigError: anything wrong with the config, the model, its hyper-parameters or the data,
            naming the file, line and key.
        CheckpointError: a resume checkpoint that does not fit.
    """
    t0 = time.perf_counter()
    what = "training config"
    cfg, resolved, reg, spec, hp, expected = checked_config(config, overrides, registry)
    out = Path(output if output is not None else cfg.output)
    resume_ref = resume if resume is not None else cfg.resume
    tcfg = cfg.training

    # --- resume: the checkpoint must be this model, these hyper-parameters, this preprocessing ---
    resume_ckpt = None
    resume_state = None
    if resume_ref is not None:
        resume_ckpt = load_checkpoint(
            resume_ref, model=spec.name, preprocessing=expected, registry=reg, expected_by="this training config"
        )
        if resume_ckpt.hparams != hp:
            msg = (
                f"checkpoint {resume_ckpt.path} was trained with hparams {resume_ckpt.hparams.model_dump()}, "
                f"this config has {hp.model_dump()}: resume with the same hyper-parameters"
            )
            raise CheckpointError(msg, path=resume_ckpt.path)
        resume_state = load_resume_state(resume_ckpt.path)

    # --- data -----------------------------------------------------------------------------------
    builder = ExampleBuilder.from_config(cfg.data)
    base = resolved.base_dir
    stream: StreamingData | None = None
    try:
        if cfg.data.job is not None and not cfg.data.cache:
            stream = StreamingData(
                lambda: iter_data(cfg.data, base_dir=base, products=builder.products, registry=reg), builder, cfg.data
            )
            raw_train = stream.raw_sample(tcfg.fit_examples)
            raw = {"train": raw_train}
        else:
            raw = load_examples(cfg.data, builder, base_dir=base, registry=reg)
    except (ConfigError, MissingColumn, ValueError, OSError) as err:
        raise data_error(err, builder, resolved, what) from err
    if len(raw["train"]) == 0:
        raise config_error(
            [resolved.issue("the training sample is empty: more events, or a larger split.train", "data")], what
        )
    if stream is None and len(raw["valid"]) == 0:
        raise config_error(
            [
                resolved.issue(
                    "the validation sample is empty: more events, or a larger split.valid", "data.split.valid"
                )
            ],
            what,
        )
    try:
        expected.check(raw["train"].inputs)
    except ValueError as err:
        name = str(err).split("'")[1] if "'" in str(err) else ""
        raise config_error([resolved.issue(str(err), f"data.inputs.{name}" if name else "data.inputs")], what) from err
    fitted = resume_ckpt.preprocessing if resume_ckpt is not None else expected.fit(raw["train"].inputs)
    transform = make_transform(spec, fitted)
    if stream is not None:
        stream.transform = transform
        n_est = (cfg.data.events or len(raw["train"])) * cfg.data.split.train
        stream.steps_hint = max(1, int(np.ceil(n_est / tcfg.batch_size)))
        train_data: Any = stream
        valid_data: Any = HeldOut(stream, "valid")
        counts = {"train_first_pass_sample": len(raw["train"])}
    else:
        train_data = transform(raw["train"])
        valid_data = transform(raw["valid"])
        counts = {k: len(v) for k, v in raw.items()}

    # --- model ----------------------------------------------------------------------------------
    records = {
        "training": {
            "config_file": resolved.file,
            "model": cfg.model.model_dump(mode="json"),
            **tcfg.model_dump(mode="json"),
        },
        "data": data_recipe(cfg.data, resolved, counts),
    }
    device = "cpu"
    settings: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if spec.kind == "torch":
        import torch

        from hepreco.ml._torch import derive_seed
        from hepreco.ml.torch_trainer import TorchTrainable

        device = _resolve_device(tcfg.device)
        torch.manual_seed(derive_seed(tcfg.seed, 0))
        net = spec.build_model(hp)
        if resume_ckpt is not None:
            resume_ckpt.load_torch_weights_into(net)
        trainable: Any = TorchTrainable(spec, hp, net, device, tcfg)
        settings = torch_settings(tcfg.threads, device)
    else:
        trainable = spec.build_model(hp)
        if resume_ckpt is not None:
            trainable.load_weights(resume_ckpt.weights_path)
    ctx = FitContext(
        config=tcfg,
        output=out,
        spec=spec,
        hparams=hp,
        preprocessing=fitted,
        trainable=trainable,
        device=device,
        records=records,
        registry=reg,
        quiet=quiet,
        start_epoch=(int(resume_state[1]["epoch"]) + 1) if resume_state is not None else 0,
        resume=resume_state,
    )
    out.mkdir(parents=True, exist_ok=True)
    if resume_ckpt is not None:  # resumed into another folder: the best so far comes along
        old_best = resume_ckpt.path.parent / BEST
        if (
            not (out / BEST).exists()
            and (old_best / METADATA_FILE).is_file()
            and old_best.resolve() != (out / BEST).resolve()
        ):
            shutil.copytree(old_best, out / BEST)
    (out / "train_config.json").write_text(json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n")
    if ctx.start_epoch >= tcfg.epochs and not quiet:
        print(f"nothing to do: the checkpoint is at epoch {ctx.start_epoch} of {tcfg.epochs}", file=sys.stderr)
    with settings:
        if ctx.start_epoch < tcfg.epochs:
            trainable.fit(train_data, valid_data, ctx)
        if not (out / BEST / METADATA_FILE).exists():  # a model that never reported an improvement
            ctx.save(BEST, ctx.history[-1] if ctx.history else {})

        # --- the best model on the validation sample ------------------------------------------------
        best = load_checkpoint(out / BEST, model=spec.name, registry=reg)
        valid_final = valid_data.materialize()
        pred = predict_preprocessed(
            best, valid_final, device=device, batch_size=tcfg.eval_batch_size or 4 * tcfg.batch_size
        )
        metrics = final_metrics(best.spec, pred, valid_final, tcfg.signal_acceptance)
    if stream is not None:
        counts = {
            "train": int(stream.n_train or 0),
            "valid": len(stream.held["valid"]) if stream.held else 0,
            "test": len(stream.held["test"]) if stream.held else 0,
        }
    update_metadata(best.path, metrics=metrics, examples=counts)
    write_figures(out, ctx.history, ctx.best_epoch, metrics, best.spec, pred, valid_final)
    result = TrainResult(
        output=out,
        best=best.path,
        last=out / LAST,
        metrics=metrics,
        history=ctx.history,
        best_epoch=ctx.best_epoch,
        stopped_early=ctx.stopped_early,
        weights_hash=best.hash,
        seconds=time.perf_counter() - t0,
        examples=counts,
    )
    summary = {
        "model": spec.name,
        "best": str(best.path),
        "best_epoch": ctx.best_epoch,
        "epochs_run": len(ctx.history),
        "stopped_early": ctx.stopped_early,
        "weights_sha256": best.hash,
        "examples": counts,
        "metrics": metrics,
        "seconds": round(result.seconds, 2),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if not quiet:
        print_summary(summary, out)
    return result


def predict_preprocessed(
    ckpt: Any, data: TrainData, *, device: str = "cpu", batch_size: int | None = None
) -> np.ndarray:
    """The checkpoint's scores for already preprocessed ``data``."""
    if len(data) == 0:
        return np.zeros((0,), np.float32)
    if ckpt.spec.kind == "torch":
        from hepreco.ml.inference import run_model

        return run_model(ckpt.build(device), data.inputs, ckpt.spec, device=device, batch_size=batch_size).output
    return np.asarray(ckpt.build().predict(data.inputs))


def final_metrics(
    spec: ModelSpec, pred: np.ndarray, data: TrainData, signal_acceptance: float, threshold: float = 0.5
) -> dict[str, Any]:
    """The figures of predictions ``pred`` on ``data``: AUC, working point, ... for a binary classifier,
    MSE for regression, accuracy for multiclass."""
    if len(data) == 0 or data.target is None:
        return {}
    out: dict[str, Any] = {"examples": len(data)}
    if spec.task == "binary":
        from hepreco.ml.metrics import binary_metrics, scores_and_labels

        s, y, w = scores_and_labels(pred, data)
        if y.any() and not y.all():
            out.update(binary_metrics(s, y, w, signal_acceptance=signal_acceptance, threshold=threshold))
    elif spec.task == "regression":
        t = np.asarray(data.target, dtype=np.float64)
        p = np.asarray(pred, dtype=np.float64).reshape(t.shape)
        out["mse"] = float(np.mean((p - t) ** 2))
    else:
        t = np.asarray(data.target)
        right = np.asarray(pred).argmax(axis=1) == t
        m = np.ones(t.shape, dtype=bool) if data.mask is None else np.asarray(data.mask).astype(bool).reshape(t.shape)
        out["accuracy"] = float(right[m].mean()) if m.any() else float("nan")  # over the elements the loss counts
        for k in np.unique(t[m]).tolist():  # per-class recall: the fraction of class k predicted as k
            out[f"recall_class_{k}"] = float(right[m & (t == k)].mean())
    return out


def update_metadata(folder: Path, **values: Any) -> None:
    """Add figures to a checkpoint's metadata (the weights and their hash are untouched)."""
    path = Path(folder) / METADATA_FILE
    meta = json.loads(path.read_text())
    if "metrics" in values:
        meta.setdefault("metrics", {})["valid_final"] = values.pop("metrics")
    if "examples" in values:
        (meta.get("data") or {}).update({"examples": values.pop("examples")})
    meta.update(values)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def write_figures(
    out: Path,
    history: Sequence[Mapping[str, Any]],
    best_epoch: int | None,
    metrics: Mapping[str, Any],
    spec: ModelSpec,
    pred: np.ndarray,
    data: TrainData,
    *,
    label: str = "validation",
) -> None:
    """``loss.png`` from the history (when there is one) and ``roc.png`` for a binary classifier (each with
    a PDF beside it)."""
    from hepreco.ml.plots import plot_history, plot_roc

    if history:
        plot_history(history, out / "loss.png", best_epoch=best_epoch)
    if spec.task == "binary" and "auc" in metrics:
        from hepreco.ml.metrics import roc_curve, scores_and_labels

        s, y, w = scores_and_labels(pred, data)
        name = f"{spec.name}, {label} sample"
        plot_roc({name: roc_curve(s, y, w)}, out / "roc.png", working_points={name: metrics["working_point"]})


def print_summary(summary: Mapping[str, Any], out: Path) -> None:
    m = summary.get("metrics") or {}
    lines = [
        f"hepreco train: model '{summary['model']}', best epoch {summary['best_epoch']} of {summary['epochs_run']}"
        + (" (early stopping)" if summary["stopped_early"] else "")
    ]
    if "auc" in m:
        wp = m["working_point"]
        lines.append(
            f"  validation: AUC {m['auc']:.4f}; cut {wp['threshold']:.4g} keeps {wp['signal_acceptance']:.2%} of signal, "
            f"rejects {wp['background_rejection']:.2%} of background"
        )
    lines.append(f"  best checkpoint: {summary['best']} (sha256 {summary['weights_sha256'][:12]})")
    lines.append(f"  {out / METRICS_CSV}, {out / 'loss.png'}" + (f", {out / 'roc.png'}" if "auc" in m else ""))
    print("\n".join(lines), file=sys.stderr)
