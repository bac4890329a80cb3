"""This module defines the turn-1 extractor of the COMET talk: a DnCNN-family network that sorts the hits the
hit classifier kept into first-turn signal, later-turn signal and background, and its module.

A signal electron of 105 MeV/c curls in the 1 T field and can cross the CDC several times; its momentum is
measured best from the first pass alone (later passes have lost energy and overlap the first in x-y). The
talk's labels per pixel: 0 = background, 1 = hits of the first turn only, 2 = hits of later turns
(``comet.HitImager``'s ``turn_target``). In x-y the turns of one helix lie on the same circle; what tells
them apart is z, which the stereo wires turn into a layer-to-layer zig-zag of the cell pattern, and the
drift time. The network is the DnCNN body (:mod:`hepreco_comet.dncnn`) with a three-class head.

Registration never imports torch; :func:`build` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco.ml import TorchInference
from hepreco_comet._hits import flat_hits
from hepreco_comet.dncnn import _body, image_shape
from hepreco_comet.dncnn_classifier import load_for_layout
from hepreco_comet.imager import pixels_to_hits
from hepreco_comet.models import TURN1, Turn1Params, turn1_inputs

if TYPE_CHECKING:
    import torch

__all__ = ["TURN1", "Turn1Extractor", "Turn1Params", "build", "turn1_inputs"]

CLASSES = ("background", "turn-1", "turn>1")


def build(hp: Turn1Params) -> torch.nn.Module:
    """The ``comet-turn1`` network for ``hp``: DnCNN body, then a Conv3x3 to three class logits per pixel.

    Shapes:
        - input: ``(B, 2, H, W)`` image of the kept hits.
        - output: ``(B, 3, H, W)`` logits of background, turn-1, turn>1.

    Examples:
        >>> import torch
        >>> net = build(Turn1Params(depth=3, width=4, layout="layercell"))
        >>> net(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 3, 20, 306])
    """
    from torch import nn

    class Turn1Net(nn.Module):
        """DnCNN body (Zhang et al., `arXiv:1608.03981 <https://arxiv.org/abs/1608.03981>`_) with a
        three-class per-pixel head: the COMET talk's turn-1 extractor."""

        def __init__(self, hp: Turn1Params) -> None:
            super().__init__()
            self.body = _body(hp)
            self.residual = hp.residual
            self.head = nn.Conv2d(2, len(CLASSES), 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.body(x)
            return self.head(x - out if self.residual else out)

    net = Turn1Net(hp)
    if hp.pretrained:
        _load_body(net, hp)
    return net


def _load_body(net: torch.nn.Module, hp: Turn1Params) -> None:
    from hepreco.ml import load_checkpoint

    ckpt = load_checkpoint(hp.pretrained, model="comet-dncnn", inputs={"image": (2, *image_shape(hp))})
    got = ckpt.hparams
    if (got.depth, got.width, got.residual) != (hp.depth, hp.width, hp.residual):  # type: ignore[attr-defined]
        msg = (
            f"pretrained hit classifier {ckpt.path} has depth {got.depth}, width {got.width}, "  # type: ignore[attr-defined]
            f"residual {got.residual}; this turn-1 extractor has depth {hp.depth}, width {hp.width}, "  # type: ignore[attr-defined]
            f"residual {hp.residual}"
        )
        raise ValueError(msg)
    state = ckpt.build("cpu").state_dict()
    net.body.load_state_dict(
        {k.removeprefix("denoiser.body."): v for k, v in state.items() if k.startswith("denoiser.body.")}
    )


class Turn1Extractor(hepreco.Producer, TorchInference):
    """Run the ``comet-turn1`` network on the image of the hits the hit classifier kept (a second
    ``comet.HitImager`` with ``select: <classifier>:selected``) and give every hit its turn-1 probability.

    Like ``comet.DnCNNHitClassifier``: the whole batch goes to the device at once, one model load per
    process, autocast and channels-last on a GPU per the Device service, a CUDA out-of-memory halves the
    batch.

    Products (per hit, jagged like the hits): ``score``, the softmax probability of the turn-1 class
    (``fill`` for hits not in the image: not kept by the hit classifier, or above the energy cut);
    ``mask``, ``score >= cut``: the turn-1 hits (a subset of the kept hits); ``turn``, the most probable
    class (0 background, 1 turn 1, 2 later turns; -1 for hits not in the image).
    """

    model_name = "comet-turn1"

    class Config(hepreco.ModuleConfig):
        image: InputTag = InputTag("kept:image")
        """The image of the kept hits (events x 2 x H x W)."""
        hit_pixel: InputTag = InputTag("kept:hit_pixel")
        """That imager's per-hit pixel index (-1 for hits not imaged)."""
        weights: str = "builtin:comet-turn1"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``."""
        layout: Literal["wire", "xy", "layercell"] | None = None
        """The imager's layout; set it to have a checkpoint for another layout refused when the job starts."""
        xy_size: int = Field(128, ge=8)
        """Pixels per side of the ``xy`` layout (with ``layout: xy``)."""
        cut: float = Field(0.5, ge=0, le=1)
        """Hits with a turn-1 probability ``>= cut`` are in the turn-1 ``mask``."""
        fill: float = 0.0
        """The score of hits that are not in the image."""
        batch_size: int | None = Field(None, gt=0)
        """Events per forward pass (default: the whole batch at once)."""

    produces = ("score", "mask", "turn")

    def begin_job(self) -> None:
        load_for_layout(self)

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        image = np.asarray(ak.to_numpy(events[c.image]), dtype=np.float32)
        offsets, flat = flat_hits(ak.zip({"p": events[c.hit_pixel]}), ("p",), product=str(c.hit_pixel))
        pix = flat["p"].astype(np.int32)
        prob = self.predict({"image": image})  # (n, 3, H, W) softmax
        score = pixels_to_hits(prob[:, 1], offsets, pix, fill=c.fill).astype(np.float32)
        best = prob.argmax(axis=1).astype(np.float32)
        turn = pixels_to_hits(best, offsets, pix, fill=-1.0).astype(np.int8)
        counts = np.diff(offsets)
        events.put("score", ak.unflatten(score, counts))
        events.put("mask", ak.unflatten((score >= c.cut) & (pix >= 0), counts))
        events.put("turn", ak.unflatten(turn, counts))
