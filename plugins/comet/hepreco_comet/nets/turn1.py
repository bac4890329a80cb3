"""This module defines the turn-1 extractor network of the COMET talk: the DnCNN body with a three-class
per-pixel head that sorts the hits the hit classifier kept into background, first-turn and later-turn signal.

A signal electron of 105 MeV/c curls in the 1 T field and can cross the CDC several times; its momentum is
measured best from the first pass alone (later passes have lost energy and overlap the first in x-y). The
talk's labels per pixel: 0 = background, 1 = hits of the first turn only, 2 = hits of later turns
(``comet.HitImager``'s ``turn_target``). In x-y the turns of one helix lie on the same circle; what tells
them apart is z, which the stereo wires turn into a layer-to-layer zig-zag of the cell pattern, and the
drift time. The network is :class:`hepreco_comet.nets.dncnn.DnCNNBody` with a three-class head (the shipped
checkpoint), or (``arch: unet``) the U-Net of :mod:`hepreco_comet.nets.turn1_unet`; the module that runs it
is ``comet.Turn1Extractor`` (:mod:`hepreco_comet.modules.turn1_extractor`).
"""

from __future__ import annotations

import torch
from torch import nn

from hepreco_comet.models import TURN1_CLASSES, Turn1Params, image_shape
from hepreco_comet.nets.dncnn import DnCNNBody

__all__ = ["Turn1Net", "build"]


class Turn1Net(nn.Module):
    """The COMET talk's turn-1 extractor (``comet-turn1``): the DnCNN body (Zhang et al.,
    `arXiv:1608.03981 <https://arxiv.org/abs/1608.03981>`_) with three class logits per pixel
    (:data:`hepreco_comet.models.TURN1_CLASSES`).

    Args:
        hp: depth, width, layout, dilations, residual learning; ``head`` (``image``: the talk's Conv3x3 on
            the denoised 2-channel image; ``features``: a 1x1 convolution on the body's last ``width``
            hidden channels); ``features`` (extra input channels computed from the image, as the U-Net's:
            :func:`hepreco_comet.nets.turn1_unet.turn1_features`); ``circular`` (azimuth-periodic padding).

    Shapes:
        - input: ``(B, 2, H, W)`` image of the kept hits.
        - output: ``(B, 3, H, W)`` logits of background, turn-1, turn>1.
    """

    def __init__(self, hp: Turn1Params) -> None:
        super().__init__()
        self.features = tuple(hp.features)
        body = DnCNNBody(hp, in_channels=2 + len(self.features), circular=hp.circular)
        self.residual = hp.residual
        self.from_features = hp.head == "features"
        if self.from_features:
            # the body without its last convolution (to the 2-channel image): its keys stay 0, 1, 2, ...
            self.body = nn.Sequential(*list(body)[:-1])
            self.head = nn.Conv2d(hp.width, len(TURN1_CLASSES), 1)
        else:
            self.body = body
            self.head = nn.Conv2d(2, len(TURN1_CLASSES), 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = x
        if self.features:
            from hepreco_comet.nets.turn1_unet import turn1_features

            x = turn1_features(x, self.features)
        out = self.body(x)
        if self.from_features:
            return self.head(out)
        return self.head(image - out if self.residual else out)


def build(hp: Turn1Params) -> nn.Module:
    """The ``comet-turn1`` network for ``hp``: :class:`Turn1Net` (``arch: dncnn``, its body starting from
    ``hp.pretrained``'s hit classifier when given) or :class:`hepreco_comet.nets.turn1_unet.Turn1UNet`
    (``arch: unet``).

    Examples:
        >>> net = build(Turn1Params(depth=3, width=4, layout="layercell"))
        >>> net(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 3, 20, 306])
        >>> net = build(Turn1Params(depth=3, width=4, layout="layercell", head="features", circular=True,
        ...                         features=("stereo", "layer")))
        >>> net(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 3, 20, 306])
        >>> net = build(Turn1Params(arch="unet", widths=(4, 8), layout="layercell", circular=True,
        ...                         features=("occupancy", "stereo")))
        >>> net(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 3, 20, 306])
    """
    if hp.arch == "unet":
        from hepreco_comet.nets.turn1_unet import Turn1UNet

        return Turn1UNet(hp)
    net = Turn1Net(hp)
    if hp.pretrained:
        _load_body(net, hp)
    return net


def _load_body(net: Turn1Net, hp: Turn1Params) -> None:
    from hepreco.ml import load_checkpoint

    ckpt = load_checkpoint(hp.pretrained, model="comet-dncnn", inputs={"image": (2, *image_shape(hp))})
    got = ckpt.hparams
    got_dil = getattr(got, "dilations", None)
    if (got.depth, got.width, got.residual, got_dil) != (hp.depth, hp.width, hp.residual, hp.dilations):  # type: ignore[attr-defined]
        msg = (
            f"pretrained hit classifier {ckpt.path} has depth {got.depth}, width {got.width}, "  # type: ignore[attr-defined]
            f"residual {got.residual}, dilations {got_dil}; this turn-1 extractor has depth {hp.depth}, "  # type: ignore[attr-defined]
            f"width {hp.width}, residual {hp.residual}, dilations {hp.dilations}"
        )
        raise ValueError(msg)
    state = ckpt.build("cpu").state_dict()
    mine = net.body.state_dict().keys()  # with head: features, the body's last convolution is not there
    net.body.load_state_dict(
        {k: v for k, v in ((k.removeprefix("denoiser.body."), v) for k, v in state.items()) if k in mine}
    )
