"""This module holds the torch pieces the training loop and inference share: losses, activations,
optimizers, learning-rate schedules, seeding and the optimizer state as safetensors-able tensors.

Imported only when a torch model is trained or run (never by ``import hepreco``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from hepreco.services.random import event_seeds

__all__ = [
    "activation",
    "default_loss",
    "derive_seed",
    "lr_at",
    "make_optimizer",
    "momentum_at",
    "optimizer_from_tensors",
    "optimizer_to_tensors",
]


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed from ``seed`` and integer keys (epoch, ...): stable, well mixed."""
    k = [*keys, 0, 0, 0]
    return int(event_seeds(int(seed), "hepreco.ml", np.array([k[0]]), np.array([k[1]]), np.array([k[2]]))[0]) >> 1


# --- losses and activations ---------------------------------------------------------------------
def _match(outputs: torch.Tensor, target: torch.Tensor, task: str) -> torch.Tensor:
    if outputs.shape == target.shape:
        return outputs
    if outputs.numel() == target.numel():
        return outputs.reshape(target.shape)
    msg = (
        f"{task} loss: the model's output has shape {tuple(outputs.shape)} but the target has "
        f"{tuple(target.shape)}; they must have the same number of elements"
    )
    raise ValueError(msg)


def _reduce(per: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    w = None
    for key in ("mask", "weight"):
        t = batch.get(key)
        if t is None:
            continue
        t = t.to(per.dtype)
        if t.shape != per.shape:
            t = t.reshape(t.shape + (1,) * (per.ndim - t.ndim)).expand_as(per)
        w = t if w is None else w * t
    if w is None:
        return per.mean()
    return (per * w).sum() / w.sum().clamp_min(1e-12)


def default_loss(task: str, outputs: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    """The loss of ``task``, averaged over elements where ``mask`` is set, weighted by ``weight``.

    binary: BCE with logits (outputs reshaped to the target's shape); regression: squared error;
    multiclass: cross entropy with class logits along axis 1 and integer targets.
    """
    target = batch["target"]
    if task == "binary":
        out = _match(outputs, target, task)
        per = torch.nn.functional.binary_cross_entropy_with_logits(out.float(), target.float(), reduction="none")
    elif task == "regression":
        out = _match(outputs, target, task)
        per = (out.float() - target.float()) ** 2
    elif task == "multiclass":
        per = torch.nn.functional.cross_entropy(outputs.float(), target.long(), reduction="none")
    else:  # pragma: no cover - ModelSpec checks the task
        raise ValueError(f"unknown task {task!r}")
    return _reduce(per, batch)


def activation(task: str, outputs: torch.Tensor) -> torch.Tensor:
    """Raw outputs → scores: sigmoid (binary), softmax along axis 1 (multiclass), identity (regression)."""
    if task == "binary":
        return torch.sigmoid(outputs.float())
    if task == "multiclass":
        return torch.softmax(outputs.float(), dim=1)
    return outputs.float()


# --- optimizers and schedules -------------------------------------------------------------------
def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    """An optimizer from an ``OptimizerConfig`` (name, lr, weight_decay, betas, momentum, nesterov)."""
    params = list(params)
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    raise ValueError(f"unknown optimizer {cfg.name!r}")  # pragma: no cover - validated by the config


def _cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


def _one_cycle(step: int, total: int, cfg: Any, start: float, peak: float, end: float) -> float:
    """torch's OneCycleLR (two phases, cosine annealing), as a function of the step number."""
    phases = ((float(cfg.pct_start * total) - 1.0, start, peak), (float(total - 1), peak, end))
    start_step = 0.0
    for i, (end_step, a, b) in enumerate(phases):
        if step <= end_step or i == len(phases) - 1:
            span = end_step - start_step
            pct = (step - start_step) / span if span > 0 else 1.0
            return _cos(a, b, min(max(pct, 0.0), 1.0))
        start_step = end_step
    return end  # pragma: no cover


def lr_at(cfg: Any, base_lr: float, *, step: int, total_steps: int, epoch: int) -> float:
    """The learning rate at optimizer step ``step`` (of ``total_steps``) in ``epoch``.

    Schedules (``ScheduleConfig.name``): constant; onecycle (as torch's OneCycleLR: from
    ``max_lr/div_factor`` up to ``max_lr`` over ``pct_start`` of the steps, then down to
    ``max_lr/div_factor/final_div_factor``); cosine (from ``lr`` to ``lr*min_factor``); step
    (times ``gamma`` every ``step_size`` epochs); exponential (times ``gamma`` each epoch). A pure
    function of the step and epoch, so a resumed training follows the same schedule.
    """
    name = cfg.name
    if name == "constant":
        return base_lr
    if name == "onecycle":
        peak = cfg.max_lr if cfg.max_lr is not None else base_lr
        initial = peak / cfg.div_factor
        return _one_cycle(step, max(total_steps, 1), cfg, initial, peak, initial / cfg.final_div_factor)
    if name == "cosine":
        t = min(step / max(total_steps - 1, 1), 1.0)
        return base_lr * (cfg.min_factor + (1.0 - cfg.min_factor) * 0.5 * (1.0 + math.cos(math.pi * t)))
    if name == "step":
        return base_lr * cfg.gamma ** (epoch // cfg.step_size)
    if name == "exponential":
        return base_lr * cfg.gamma**epoch
    raise ValueError(f"unknown schedule {name!r}")  # pragma: no cover


def momentum_at(cfg: Any, *, step: int, total_steps: int) -> float | None:
    """One-cycle momentum (beta1 for Adam), cycled opposite to the learning rate; None otherwise."""
    if cfg.name != "onecycle" or not cfg.cycle_momentum:
        return None
    return _one_cycle(step, max(total_steps, 1), cfg, cfg.max_momentum, cfg.base_momentum, cfg.max_momentum)


def set_lr(optimizer: torch.optim.Optimizer, lr: float, momentum: float | None = None) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
        if momentum is not None:
            if "betas" in group:
                group["betas"] = (momentum, *tuple(group["betas"])[1:])
            elif "momentum" in group:
                group["momentum"] = momentum


# --- optimizer state <-> tensors + JSON (for safetensors; never pickle) -------------------------
def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The optimizer's state as ``(tensors, json_data)``: tensors go to safetensors, the rest to JSON."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            name = f"state.{pid}.{key}"
            if isinstance(value, torch.Tensor):
                tensors[name] = value.detach().cpu().clone().contiguous()
            else:
                scalars[name] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_tensors(
    optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], data: Mapping[str, Any]
) -> None:
    """Load what :func:`optimizer_to_tensors` gave into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in [*tensors.items(), *data.get("scalars", {}).items()]:
        _, pid, key = name.split(".", 2)
        state.setdefault(int(pid), {})[key] = value
    groups = []
    for g in data["param_groups"]:
        g = dict(g)
        if "betas" in g and isinstance(g["betas"], list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    optimizer.load_state_dict({"state": state, "param_groups": groups})
