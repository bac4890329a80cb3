"""This module is ``hepreco evaluate``: the metrics of a checkpoint on held-out events.

Two ways, one set of figures (:func:`hepreco.ml.binary_metrics`):

- checkpoint mode: the checkpoint's model on the test sample of its own data recipe (or other
  ``data``), split exactly as in training (the split recorded in the checkpoint);
- job mode (``job:``): a job runs (its inference module uses the checkpoint, e.g. through ``set``)
  and the ``ml.BinaryMetrics`` analyzer measures a score product against the truth on the test
  events (``ml.SplitFilter``), as any analysis job would.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.config.loader import ResolvedConfig, load_config
from hepreco.errors import ConfigError
from hepreco.ml.checkpoint import Checkpoint, load_checkpoint
from hepreco.ml.config import DataConfig, EvalConfig, config_error, load_eval_config
from hepreco.ml.data import ML_PLUGIN, ExampleBuilder, MissingColumn, load_examples
from hepreco.ml.split import SPLITS
from hepreco.ml.training import data_error, final_metrics, load_plugins, make_transform, write_figures

if TYPE_CHECKING:
    from hepreco.plugins import Registry

__all__ = ["EvalResult", "evaluate"]

WHAT = "evaluation config"
METRICS_LABEL = "_ml_metrics"
SPLIT_LABEL = "_ml_split"
SPLIT_PATH = "_ml_heldout"


@dataclass
class EvalResult:
    """What :func:`evaluate` returns: the figures, on which sample and how many examples."""

    metrics: dict[str, Any]
    sample: str
    checkpoint: str | None
    output: Path | None


def _path(ref: str, resolved: ResolvedConfig) -> str:
    if ref.startswith("builtin:") or os.path.isabs(ref) or os.path.exists(ref):
        return ref
    cand = resolved.base_dir / ref
    return str(cand) if cand.exists() else ref


def _data_config(cfg: EvalConfig, ckpt: Checkpoint, resolved: ResolvedConfig) -> tuple[DataConfig, Path | None]:
    recorded = (ckpt.metadata.get("data") or {}).get("config")
    if cfg.data is None:
        if not recorded:
            msg = f"checkpoint {ckpt.path} records no data recipe: give 'data'"
            raise config_error([resolved.issue(msg, "data")], WHAT)
        return DataConfig.model_validate(recorded), None
    data = cfg.data
    if "split" not in data.model_fields_set and recorded and "split" in recorded:
        data = data.model_copy(update={"split": DataConfig.model_validate(recorded).split})
    return data, resolved.base_dir


def evaluate(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Sequence[str | tuple[str, Any]] = (),
    quiet: bool = False,
    registry: Registry | None = None,
) -> EvalResult:
    """Measure a checkpoint on held-out events (see the module docstring).

    Args:
        config: an evaluation config file, YAML text or mapping.
        overrides: ``--set`` overrides.
        quiet: print nothing.
        registry: the plugin registry (default: the process-wide one).
    """
    from hepreco.plugins import get_registry

    cfg, resolved = load_eval_config(config, overrides=overrides)
    reg = registry or get_registry()
    load_plugins(cfg.plugins, resolved, reg, WHAT)
    if cfg.job is not None:
        return _evaluate_job(cfg, resolved, reg, quiet)
    assert cfg.checkpoint is not None
    ckpt = load_checkpoint(_path(cfg.checkpoint, resolved), registry=reg)
    data_cfg, base = _data_config(cfg, ckpt, resolved)
    names = ckpt.preprocessing.names
    if sorted(data_cfg.inputs) != sorted(names):
        msg = (
            f"model '{ckpt.model_name}' takes inputs {', '.join(names)}; data.inputs names {', '.join(data_cfg.inputs)}"
        )
        raise config_error([resolved.issue(msg, "data.inputs")], WHAT)
    if data_cfg.target is None:
        raise config_error([resolved.issue("data.target: name the product with the truth", "data")], WHAT)
    builder = ExampleBuilder.from_config(data_cfg)
    samples = list(SPLITS) if cfg.sample == "all" else [cfg.sample]
    try:
        raw = load_examples(data_cfg, builder, base_dir=base, splits=samples, registry=reg)
    except (ConfigError, MissingColumn, ValueError, OSError) as err:
        raise data_error(err, builder, resolved, WHAT) from err
    from hepreco.ml.spec import TrainData

    data = (
        TrainData.concat([raw[s] for s in samples if len(raw[s])])
        if any(len(raw[s]) for s in samples)
        else raw[samples[0]]
    )
    if len(data) == 0:
        raise config_error([resolved.issue(f"the {cfg.sample} sample is empty", "sample")], WHAT)
    try:
        ckpt.preprocessing.check(data.inputs)
    except ValueError as err:
        raise config_error([resolved.issue(str(err), "data.inputs")], WHAT) from err
    prepared = make_transform(ckpt.spec, ckpt.preprocessing)(data)
    from hepreco.ml.training import predict_preprocessed

    pred = predict_preprocessed(ckpt, prepared, device=cfg.device, batch_size=cfg.batch_size)
    metrics = final_metrics(ckpt.spec, pred, prepared, cfg.signal_acceptance, cfg.threshold)
    metrics = {"sample": cfg.sample, "checkpoint": str(ckpt.path), "weights_sha256": ckpt.hash, **metrics}
    out = Path(cfg.output) if cfg.output else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
        write_figures(out, [], None, metrics, ckpt.spec, pred, prepared, label=cfg.sample)
    if not quiet:
        _print(metrics, ckpt.model_name)
    return EvalResult(metrics, cfg.sample, str(ckpt.path), out)


def _evaluate_job(cfg: EvalConfig, resolved: ResolvedConfig, reg: Registry, quiet: bool) -> EvalResult:
    from hepreco._api import execute, prepare

    job = cfg.job
    assert job is not None
    fractions, salt = (0.8, 0.1, 0.1), 0
    ckpt_ref = None
    model_name = str(job.score)
    if cfg.checkpoint is not None:  # the split of the training that made the checkpoint
        ckpt = load_checkpoint(_path(cfg.checkpoint, resolved), registry=reg)
        ckpt_ref = str(ckpt.path)
        model_name = ckpt.model_name
        split = ((ckpt.metadata.get("data") or {}).get("config") or {}).get("split")
        if split:
            fractions, salt = (split["train"], split["valid"], split["test"]), split.get("salt", 0)
    path = _path(job.config, resolved)
    jr = load_config(path, overrides=list(job.set.items()), events=job.events, seed=job.seed)
    data = copy.deepcopy(jr.data)
    plugins = data.get("plugins") or []
    data["plugins"] = [*plugins, ML_PLUGIN] if ML_PLUGIN not in plugins else plugins
    modules = dict(data.get("modules") or {})
    select: list[str] = []
    if cfg.sample != "all":
        modules[SPLIT_LABEL] = {
            "module": "ml.SplitFilter",
            "sample": cfg.sample,
            "fractions": list(fractions),
            "salt": salt,
        }
        data["paths"] = {**(data.get("paths") or {}), SPLIT_PATH: [SPLIT_LABEL]}
        select = [SPLIT_PATH]
    roc = str(Path(cfg.output) / "roc.png") if cfg.output else None
    modules[METRICS_LABEL] = {
        "module": "ml.BinaryMetrics",
        "score": job.score,
        "target": job.target,
        "mask": job.mask,
        "weight": job.weight,
        "signal_acceptance": cfg.signal_acceptance,
        "threshold": cfg.threshold,
        "roc_file": roc,
        "name": f"{model_name} ({cfg.sample} sample)" if cfg.sample != "all" else model_name,
        "select": select,
    }
    data["modules"] = modules
    data["end_paths"] = {**(data.get("end_paths") or {}), "_ml_evaluate": [METRICS_LABEL]}
    try:
        plan = prepare(ResolvedConfig(data, dict(jr.origins), jr.file), quiet=True, registry=reg)
    except ConfigError as err:
        issues = []
        for issue in err.issues:
            key = {"score": "job.score", "target": "job.target", "mask": "job.mask", "weight": "job.weight"}.get(
                issue.key.removeprefix(f"modules.{METRICS_LABEL}."), "job.config"
            )
            issues.append(resolved.issue(f"in job config {issue}" if key == "job.config" else issue.message, key))
        raise config_error(issues, WHAT) from None
    execute(plan)
    analyzer = plan.modules[METRICS_LABEL]
    metrics = {"sample": cfg.sample, "checkpoint": ckpt_ref, **dict(getattr(analyzer, "result", {}) or {})}
    out = Path(cfg.output) if cfg.output else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    if not quiet:
        _print(metrics, job.score)
    return EvalResult(metrics, cfg.sample, ckpt_ref, out)


def _print(metrics: Mapping[str, Any], what: str) -> None:
    lines = [
        f"hepreco evaluate: {what} on the {metrics.get('sample')} sample ({metrics.get('entries', metrics.get('examples', '?'))} entries)"
    ]
    if "auc" in metrics:
        wp = metrics["working_point"]
        lines.append(f"  AUC                        {metrics['auc']:.5f}")
        lines.append(
            f"  working point              cut {wp['threshold']:.4g}: signal acceptance {wp['signal_acceptance']:.4f}, "
            f"background rejection {wp['background_rejection']:.4f}"
        )
        lines.append(
            f"  at cut {metrics['threshold']:<19} signal acceptance {metrics['signal_acceptance']:.4f}, "
            f"background rejection {metrics['background_rejection']:.4f}, accuracy {metrics['accuracy']:.4f}"
        )
    for k in ("mse", "accuracy"):
        if k in metrics and "auc" not in metrics:
            lines.append(f"  {k:<26} {metrics[k]:.5f}")
    print("\n".join(lines), file=sys.stderr)
