"""This module defines EmTrackMichelId: LArSoft's EM/track/none + Michel CNN run on every hit's ADC patch, or the
fully convolutional network trained on the same targets run once per view."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Literal

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco.ml import TorchInference
from hepreco_lartpc._adc import read_hits, read_images

__all__ = ["EmTrackMichelId"]


class EmTrackMichelId(hepreco.Producer, TorchInference):
    """LArSoft's ``EmTrackMichelId``: the ``lartpc-emtrkmichel`` CNN on the 48 x 48 patch of the ADC image
    (wire x downsampled tick) around every hit, per view and read-out; or, with a ``lartpc-emtrkmichel-fcn``
    checkpoint (``weights: builtin:lartpc-emtrkmichel-fcn``), the fully convolutional network trained on the same
    targets: the module picks the network from the checkpoint's model name.

    ``mode`` picks how (the scores are the same to float rounding, tested): ``patch`` (one patch per forward
    pass, as LArSoft's C++ did), ``batched`` (``batch_size`` patches per pass), ``shared`` (the convolution once
    per view, the dense layers on the hits' windows of its feature map), ``dense`` (the network fully
    convolutional over the occupied blocks of the view, its first dense layer by FFT), ``auto`` (per view:
    ``dense`` when its occupied blocks hold at least ``hits_per_block`` hits on average, else ``shared``).
    The fully convolutional network runs in ``view`` (its convolutions once over the view, at the pixels the
    hits need, the heads at the hit pixels; ``auto`` is ``view``), ``patch`` or ``batched`` (on each
    hit's patch, as in training: the same scores, tested); ``shared`` and ``dense`` are LArSoft's network's.
    The network runs on the Device service's device (``hepreco.ml.TorchInference``: one model load per process,
    autocast precision on a GPU, also on the CPU with ``gpu_path_on_cpu``; ``dense``'s FFTs stay float32).

    Products per hit (jagged like the hits): ``em_score``, ``track_score``, ``none_score`` (float32, the
    softmax head, summing to 1), ``michel_score`` (float32, the sigmoid head) and ``michel`` (bool: the hit is
    called Michel, ``michel_score >= michel_threshold``). The Michel cut is the checkpoint's working point
    (``working_point.michel_threshold`` in its ``metadata.json``, chosen on training-side events) unless
    ``michel_threshold`` sets one; 0.5 for a checkpoint that records none. The summary reports the cut used
    (``michel_threshold``) and where it came from (``michel_threshold_from``: ``config``, ``checkpoint`` or
    ``default``).
    """

    model_name = ("lartpc-emtrkmichel", "lartpc-emtrkmichel-fcn")

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        """The hits (``view, wire, tick``; ``apa`` with several read-outs)."""
        images: tuple[InputTag, InputTag, InputTag] = (
            InputTag("source:adc_U"),
            InputTag("source:adc_V"),
            InputTag("source:adc_W"),
        )
        """The U, V, W ADC images (``adc_images: true`` in the source)."""
        downsample: int = Field(6, ge=1)
        """Ticks per image column: the source's ``adc_downsample``."""
        weights: str = "builtin:lartpc-emtrkmichel"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``, of ``lartpc-emtrkmichel`` (LArSoft's
        network) or ``lartpc-emtrkmichel-fcn`` (the fully convolutional one, ``builtin:lartpc-emtrkmichel-fcn``)."""
        mode: Literal["patch", "batched", "shared", "dense", "view", "auto"] = "auto"
        """How the network runs over the hits (same scores): see the class documentation."""
        batch_size: int = Field(256, gt=0)
        """Patches (``batched``) or windows (``shared``) per forward pass."""
        fft: int = Field(128, ge=8)
        """``dense``: the FFT block side (output blocks of ``fft - 43`` pixels)."""
        blocks_per_pass: int = Field(8, gt=0)
        """``dense``: blocks transformed together."""
        hits_per_block: float = Field(150.0, ge=0)
        """``auto``: a view goes ``dense`` when its occupied blocks hold at least this many hits on average."""
        tile: int = Field(0, ge=0)
        """``view`` (the fully convolutional network): 0: each layer computed at exactly the pixels the hits'
        outputs depend on; else the side of square tiles computed densely where they hold hits (same scores)."""
        tiles_per_pass: int = Field(16, gt=0)
        """``view`` with ``tile`` > 0: tiles per convolution call."""
        gpu_path_on_cpu: bool = False
        """Apply the Device service's autocast precision on the CPU too (a GPU only otherwise): how the tests
        exercise the GPU code path without a GPU."""
        michel_threshold: float | None = Field(None, ge=0, le=1)
        """The Michel cut: hits with ``michel_score >= michel_threshold`` are called Michel (the ``michel``
        product). None: the checkpoint's working point (``working_point.michel_threshold`` in its metadata,
        chosen on training-side events) when it records one, else 0.5."""

    produces = ("em_score", "track_score", "none_score", "michel_score", "michel")

    #: the Michel cut of a checkpoint that records no working point
    DEFAULT_MICHEL_THRESHOLD: ClassVar[float] = 0.5

    #: the modes of each network
    MODES: ClassVar[dict[str, tuple[str, ...]]] = {
        "lartpc-emtrkmichel": ("patch", "batched", "shared", "dense", "auto"),
        "lartpc-emtrkmichel-fcn": ("patch", "batched", "view", "auto"),
    }

    def check(self) -> list[tuple[str, str]]:
        """The checkpoint (TorchInference's check) and a ``mode`` its network has, before the first event."""
        problems = super().check()
        if problems:
            return problems
        from hepreco.ml import load_checkpoint

        job = getattr(self, "job", None)
        name = load_checkpoint(self.config.weights, registry=getattr(job, "registry", None), verify=False).model_name
        return [("mode", msg)] if (msg := self._mode_problem(name)) else []

    def _mode_problem(self, model: str) -> str:
        allowed = self.MODES[model]
        if self.config.mode in allowed:
            return ""
        return (
            f"mode '{self.config.mode}' does not run model '{model}' ({self.config.weights}); "
            f"its modes: {', '.join(allowed)}"
        )

    def begin_job(self) -> None:
        self.load_model(self.config.weights, on_cpu=self.config.gpu_path_on_cpu)
        self.model.eval()
        self.fcn = self.checkpoint.model_name == "lartpc-emtrkmichel-fcn"
        if msg := self._mode_problem(self.checkpoint.model_name):
            raise ValueError(f"module '{self.label}': {msg}")
        self.mode_counts: dict[str, int] = {}
        self.n_hits = 0
        self.n_michel = 0
        self.michel_threshold, self.michel_threshold_from = self._michel_threshold()

    def _michel_threshold(self) -> tuple[float, str]:
        """The Michel cut and where it comes from: the config, the checkpoint's working point, or the default."""
        if self.config.michel_threshold is not None:
            return float(self.config.michel_threshold), "config"
        value = self.checkpoint.working_point.get("michel_threshold")
        if value is None:
            return self.DEFAULT_MICHEL_THRESHOLD, "default"
        value = float(value)
        if not 0.0 <= value <= 1.0:
            msg = (
                f"module '{self.label}': checkpoint {self.checkpoint.path} records working_point.michel_threshold "
                f"{value}, not a score cut in [0, 1]"
            )
            raise ValueError(msg)
        return value, "checkpoint"

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        import torch

        prec = self.inference.precision
        if prec == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if prec == "bf16" else torch.float16
        return torch.autocast(device_type=torch.device(self.inference.device).type, dtype=dtype)

    def produce(self, events: hepreco.Events) -> None:
        import torch

        from hepreco_lartpc.emtrkmichel import scores
        from hepreco_lartpc.emtrkmichel_modes import run_view

        c = self.config
        images = read_images(events, c.images)
        hv = read_hits(events, c.hits, images, c.downsample)
        logits = np.zeros((len(hv.group), 4), np.float32)
        for g in np.unique(hv.group):
            idx = np.flatnonzero(hv.group == g)
            if self.fcn and c.mode in ("view", "auto"):
                from hepreco_lartpc.emtrkmichel_fcn import run_view as run_fcn

                with self._autocast():
                    out = run_fcn(self.model, hv.image_of(images, int(g)), hv.rows[idx], hv.cols[idx], tile=c.tile,
                                  tiles_per_pass=c.tiles_per_pass)  # fmt: skip
                logits[idx] = out
                self.mode_counts["view"] = self.mode_counts.get("view", 0) + len(idx)
                continue
            out, used = run_view(
                self.model, hv.image_of(images, int(g)), hv.rows[idx], hv.cols[idx], c.mode,
                batch_size=c.batch_size, fft=c.fft, blocks_per_pass=c.blocks_per_pass,
                hits_per_block=c.hits_per_block, autocast=self._autocast(),
            )  # fmt: skip
            logits[idx] = out
            self.mode_counts[used] = self.mode_counts.get(used, 0) + len(idx)
        self.n_hits += len(logits)
        s = scores(torch.from_numpy(logits)).numpy().astype(np.float32)
        counts = np.diff(hv.offsets)
        for j, name in enumerate(self.produces[:4]):
            events.put(name, ak.unflatten(s[:, j], counts))
        michel = s[:, 3] >= np.float32(self.michel_threshold)
        self.n_michel += int(michel.sum())
        events.put("michel", ak.unflatten(michel, counts))

    def end_job(self) -> None:
        self.summary(
            hits=self.n_hits,
            michel_called=self.n_michel,
            michel_threshold=self.michel_threshold,
            michel_threshold_from=self.michel_threshold_from,
            **{f"hits_{m}": n for m, n in sorted(self.mode_counts.items())},
        )
