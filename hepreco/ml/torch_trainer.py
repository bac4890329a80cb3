"""This module trains torch networks: the epoch loop behind ``hepreco train`` for ``kind="torch"`` models.

Why not Lightning: hepreco checkpoints and resumes never unpickle, and Lightning's checkpointing and
``fit(ckpt_path=...)`` resume are pickle-based, so both would be bypassed; ``hepreco train`` also
trains non-torch models (LightGBM) through the same FitContext; and Lightning 2.6 on torch 2.13 raises
a FutureWarning inside its evaluation loop (fatal with warnings as errors) and adds ~4 s of import.
What is left is this small loop: shuffling and dropout seeded per epoch from the training seed, the
learning rate a pure function of the step (so a resumed run continues exactly), autocast on a GPU.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hepreco.ml._torch import (
    derive_seed,
    lr_at,
    make_optimizer,
    momentum_at,
    optimizer_from_tensors,
    optimizer_to_tensors,
    set_lr,
)
from hepreco.ml.spec import ModelSpec, TrainData

if TYPE_CHECKING:
    import pydantic

    from hepreco.ml.config import TrainingConfig
    from hepreco.ml.fitting import FitContext

__all__ = ["TorchTrainable"]


def _tensor(a: np.ndarray | None, device: str, *, integer: bool = False) -> torch.Tensor | None:
    if a is None:
        return None
    t = torch.from_numpy(np.ascontiguousarray(a))
    if not integer and t.dtype in (
        torch.float64,
        torch.bool,
        torch.uint8,
        torch.int64,
        torch.int32,
        torch.int8,
        torch.int16,
    ):
        t = t.to(torch.float32)
    return t.to(device, non_blocking=True)


class TorchTrainable:
    """A torch network as ``hepreco train`` trains it (the framework's side of the Trainable protocol)."""

    weights_file = "model.safetensors"

    def __init__(
        self, spec: ModelSpec, hparams: pydantic.BaseModel, model: torch.nn.Module, device: str, config: TrainingConfig
    ) -> None:
        self.spec = spec
        self.hparams = hparams
        self.model = model.to(device)
        self.device = device
        self.config = config
        self._forward = spec.forward_fn()
        self._loss = spec.loss_fn()

    # --- batches ---------------------------------------------------------------------------------
    def _batch(self, data: TrainData) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        inputs = {
            k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device, non_blocking=True)
            for k, v in data.inputs.items()
        }
        extra = {
            "target": _tensor(data.target, self.device, integer=self.spec.task == "multiclass"),
            "mask": _tensor(data.mask, self.device),
            "weight": _tensor(data.weight, self.device),
        }
        return inputs, extra

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        prec = self.config.precision
        if prec == "fp32" or not str(self.device).startswith("cuda"):
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16 if prec == "bf16" else torch.float16)

    def _minibatches(self, chunk: TrainData, rng: np.random.Generator) -> Iterator[TrainData]:
        bs = int(self.config.batch_size)
        perm = rng.permutation(len(chunk))
        for start in range(0, len(perm), bs):
            idx = perm[start : start + bs]
            if len(idx) < 2 and len(perm) > 1:  # a batch of one breaks BatchNorm: drop it
                continue
            yield chunk.take(idx)

    # --- the loop -------------------------------------------------------------------------------
    def fit(self, train: Any, valid: Any, ctx: FitContext) -> None:
        cfg = self.config
        model = self.model
        opt = make_optimizer(model.parameters(), cfg.optimizer)
        step = 0
        steps_per_epoch = getattr(train, "steps_hint", None)
        if ctx.resume is not None:
            tensors, state = ctx.resume
            if "optimizer" in state:
                optimizer_from_tensors(opt, tensors, state["optimizer"])
            step = int(state.get("step", 0))
            steps_per_epoch = state.get("steps_per_epoch", steps_per_epoch)
        if steps_per_epoch is None:
            steps_per_epoch = max(1, math.ceil(len(train) / cfg.batch_size))
        scaler = (
            torch.amp.GradScaler("cuda") if cfg.precision == "fp16" and str(self.device).startswith("cuda") else None
        )
        for epoch in range(ctx.start_epoch, ctx.epochs):
            total = ctx.epochs * steps_per_epoch
            model.train()
            rng = np.random.default_rng(derive_seed(ctx.seed, 1, epoch))
            torch.manual_seed(derive_seed(ctx.seed, 2, epoch))
            loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
            count = 0
            n_steps = 0
            lr = cfg.optimizer.lr
            with ctx.progress(steps_per_epoch, f"epoch {epoch + 1}/{ctx.epochs}") as bar:
                for chunk in train.chunks(epoch):
                    for mb in self._minibatches(chunk, rng):
                        lr = lr_at(cfg.schedule, cfg.optimizer.lr, step=step, total_steps=total, epoch=epoch)
                        set_lr(opt, lr, momentum_at(cfg.schedule, step=step, total_steps=total))
                        inputs, extra = self._batch(mb)
                        opt.zero_grad(set_to_none=True)
                        with self._autocast():
                            out = self._forward(model, inputs)
                            loss = self._loss(out, extra)
                        if scaler is not None:
                            scaler.scale(loss).backward()
                            scaler.unscale_(opt)
                        else:
                            loss.backward()
                        if cfg.grad_clip is not None:
                            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                        if scaler is not None:
                            scaler.step(opt)
                            scaler.update()
                        else:
                            opt.step()
                        loss_sum += loss.detach().double() * len(mb)
                        count += len(mb)
                        step += 1
                        n_steps += 1
                        bar.update(1)
            if n_steps and n_steps != steps_per_epoch and getattr(train, "steps_hint", None) is not None:
                steps_per_epoch = n_steps  # streamed data: the first pass tells how many steps an epoch has
            metrics = {"train_loss": float(loss_sum.item() / max(count, 1))}
            metrics.update(self.validate(valid.materialize()))
            metrics["lr"] = lr
            tensors, opt_state = optimizer_to_tensors(opt)
            state = {"optimizer": opt_state, "step": step, "steps_per_epoch": steps_per_epoch}
            if ctx.end_epoch(epoch, metrics, resume=(tensors, state)):
                break

    # --- evaluation -----------------------------------------------------------------------------
    def _outputs(self, data: TrainData, *, activation: bool) -> tuple[np.ndarray, float | None]:
        from hepreco.ml._torch import activation as act

        model = self.model
        model.eval()
        bs = self.config.eval_batch_size or 4 * self.config.batch_size
        outs = []
        loss_sum, count = 0.0, 0
        with torch.inference_mode():
            for start in range(0, len(data), bs):
                part = data.take(slice(start, start + bs))
                inputs, extra = self._batch(part)
                with self._autocast():
                    out = self._forward(model, inputs)
                if extra["target"] is not None:
                    loss_sum += float(self._loss(out, extra).item()) * len(part)
                    count += len(part)
                outs.append((act(self.spec.task, out) if activation else out.float()).cpu().numpy())
        model.train()
        pred = np.concatenate(outs) if outs else np.zeros((0,), np.float32)
        return pred, (loss_sum / count if count else None)

    def validate(self, data: TrainData) -> dict[str, float]:
        """``val_loss`` and, for a binary classifier, ``val_auc`` and ``val_acc`` (at 0.5)."""
        if len(data) == 0:
            return {}
        pred, loss = self._outputs(data, activation=True)
        out: dict[str, float] = {}
        if loss is not None:
            out["val_loss"] = loss
        if self.spec.task == "binary" and data.target is not None:
            from hepreco.ml.metrics import roc_auc, scores_and_labels

            s, y, w = scores_and_labels(pred, data)
            if y.any() and not y.all():
                out["val_auc"] = roc_auc(s, y, w)
            out["val_acc"] = float(((s >= 0.5) == y).mean()) if len(s) else float("nan")
        return out

    def predict(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return self._outputs(TrainData(dict(inputs)), activation=True)[0]

    # the Trainable side used by FitContext.save / Checkpoint: torch weights go through safetensors there
    def save_weights(self, path: Any) -> None:  # pragma: no cover - torch models are saved by save_checkpoint
        raise NotImplementedError

    def load_weights(self, path: Any) -> None:
        from hepreco.ml.checkpoint import load_torch_weights

        load_torch_weights(self.model, path, what=f"model '{self.spec.name}'")
