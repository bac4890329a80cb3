"""This module defines the DnCNN networks of the COMET talk: the body, the denoiser, the hit classifier, and
their losses.

DnCNN (K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang, "Beyond a Gaussian Denoiser: Residual Learning of
Deep CNN for Image Denoising", IEEE TIP 26 (2017) 3142, `arXiv:1608.03981
<https://arxiv.org/abs/1608.03981>`_): a first Conv3x3 + ReLU, ``depth - 2`` Conv3x3 + BatchNorm + ReLU,
a last Conv3x3, trained to predict the noise (residual learning: clean = input - output).

The talk's extension, two registered models sharing that body (their specs and hyper-parameters are in
:mod:`hepreco_comet.models`, which imports no torch):

- ``comet-dncnn-denoiser`` (regression, :class:`DnCNN`): the pure denoiser, 2-channel hit image in, the
  signal-only 2-channel image out (optional pre-training; the target is ``comet.SignalImage``'s product).
- ``comet-dncnn`` (binary, :class:`DnCNNClassifier`): the denoiser followed by a final Conv3x3 to one
  channel whose sigmoid is the per-pixel signal probability; the loss is masked to the sense-wire pixels
  (:func:`masked_loss`). ``pretrained`` starts it from a denoiser checkpoint.

:class:`DnCNNBody` is the building block other networks share (the turn-1 extractor,
:mod:`hepreco_comet.nets.turn1`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hepreco_comet.models import DnCNNParams, image_shape

__all__ = [
    "DenoisingAutoencoder",
    "DnCNN",
    "DnCNNBody",
    "DnCNNClassifier",
    "PeriodicWidthConv2d",
    "build",
    "build_denoiser",
    "masked_loss",
    "masked_mean",
    "masked_mse",
]


class DnCNNBody(nn.Sequential):
    """The DnCNN body (Zhang et al., `arXiv:1608.03981 <https://arxiv.org/abs/1608.03981>`_): Conv3x3 +
    ReLU, ``depth - 2`` x (Conv3x3 + BatchNorm + ReLU), Conv3x3, He-initialised as in the paper's code.

    A plain :class:`torch.nn.Sequential` of those layers, so its state-dict keys are the layer indices
    (``0.weight``, ``2.weight``, ...): the shipped checkpoints store them so.

    Args:
        hp: ``depth``, ``width`` and ``dilations`` (one per convolution; padding keeps the image size).
        in_channels: channels of the input (the image's 2, more with the turn-1 extractor's ``features``).
        circular: pad periodically along the width (the ``layercell`` azimuth) and with zeros along the
            height; the state-dict keys are the same as without.

    Shapes:
        - input: ``(B, 2, H, W)`` hit image (drift time, energy deposit).
        - output: ``(B, 2, H, W)`` the body's output (the noise, with residual learning).

    Examples:
        >>> body = DnCNNBody(DnCNNParams(depth=3, width=4))
        >>> len(body), body(torch.zeros(1, 2, 5, 7)).shape
        (6, torch.Size([1, 2, 5, 7]))
        >>> DnCNNBody(DnCNNParams(depth=3, width=4, dilations=(1, 4, 1)))(torch.zeros(1, 2, 5, 7)).shape
        torch.Size([1, 2, 5, 7])
        >>> DnCNNBody(DnCNNParams(depth=3, width=4, dilations=(1, (1, 4), 1)))(torch.zeros(1, 2, 5, 7)).shape
        torch.Size([1, 2, 5, 7])
    """

    def __init__(self, hp: DnCNNParams, *, in_channels: int = 2, circular: bool = False) -> None:
        # 3x3, or 1x3 along the rows for the 1D DnCNN (arch dncnn1d); dilated as hp.dilations says (size kept)
        one_d = getattr(hp, "arch", "dncnn") == "dncnn1d"
        dil = [d if isinstance(d, tuple) else (d, d) for d in (hp.dilations or (1,) * hp.depth)]

        def conv(cin: int, cout: int, d: tuple[int, int], bias: bool) -> nn.Conv2d:
            if one_d:
                return nn.Conv2d(cin, cout, (1, 3), padding=(0, d[1]), dilation=(1, d[1]), bias=bias)
            if circular:
                return PeriodicWidthConv2d(cin, cout, 3, padding=(d[0], 0), dilation=d, bias=bias)
            return nn.Conv2d(cin, cout, 3, padding=d, dilation=d, bias=bias)

        layers: list[nn.Module] = [conv(in_channels, hp.width, dil[0], True), nn.ReLU(inplace=True)]
        for i in range(hp.depth - 2):
            layers += [conv(hp.width, hp.width, dil[i + 1], False), nn.BatchNorm2d(hp.width), nn.ReLU(inplace=True)]
        layers.append(conv(hp.width, 2, dil[-1], False))
        super().__init__(*layers)
        for m in self.modules():  # He initialisation, as in the paper's code
            if isinstance(m, nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


class PeriodicWidthConv2d(nn.Conv2d):
    """A :class:`torch.nn.Conv2d` padded periodically along the width (by ``dilation * (kernel // 2)`` columns
    each side, so the width is kept) before its own zero padding along the height (``padding=(p, 0)``).

    Examples:
        >>> conv = PeriodicWidthConv2d(1, 1, 3, padding=(2, 0), dilation=2)
        >>> x = torch.rand(1, 1, 4, 9)
        >>> bool(torch.allclose(conv(x.roll(4, -1)), conv(x).roll(4, -1), atol=1e-6))
        True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.dilation[1] * (self.kernel_size[1] // 2)
        return super().forward(nn.functional.pad(x, (pad, pad, 0, 0), mode="circular"))


class DnCNN(nn.Module):
    """DnCNN denoiser (Zhang et al., `arXiv:1608.03981 <https://arxiv.org/abs/1608.03981>`_): the
    ``comet-dncnn-denoiser`` network.

    Args:
        hp: depth, width, residual learning.

    Shapes:
        - input: ``(B, 2, H, W)`` hit image (drift time, energy deposit).
        - output: ``(B, 2, H, W)`` the denoised (signal-only) image.
    """

    def __init__(self, hp: DnCNNParams) -> None:
        super().__init__()
        self.body = DnCNNBody(hp)
        self.residual = hp.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x - out if self.residual else out


class DnCNNClassifier(nn.Module):
    """The talk's DnCNN hit classifier (``comet-dncnn``): a DnCNN denoiser and a final Conv3x3 to one
    logit per pixel.

    The sigmoid of the output is the pixel's signal probability (applied by ``hepreco.ml`` at
    inference, inside the BCE loss in training). Zhang et al., `arXiv:1608.03981
    <https://arxiv.org/abs/1608.03981>`_; the head as in the COMET talk.

    Args:
        hp: depth, width, layout, residual learning, an optional pre-trained denoiser.

    Shapes:
        - input: ``(B, 2, H, W)`` hit image.
        - output: ``(B, 1, H, W)`` logits.
    """

    def __init__(self, hp: DnCNNParams) -> None:
        super().__init__()
        self.denoiser = DnCNN(hp)
        k, pad = ((1, 3), (0, 1)) if hp.arch == "dncnn1d" else (3, 1)
        self.head = nn.Conv2d(2, 1, k, padding=pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.denoiser(x))


class DenoisingAutoencoder(nn.Module):
    """The talk's denoising-autoencoder hit classifier (``comet-dncnn`` with ``arch: dae``): an encoder of
    two stride-2 Conv3x3 (``width``, ``2 width``, ``4 width`` filters, each + BatchNorm + ReLU), a decoder that
    upsamples back (nearest, to the exact size of each step, so odd image sizes come back whole) with a
    Conv3x3 + BatchNorm + ReLU after each, and a Conv3x3 to one logit per pixel. No skip connections: the
    image must pass through the 4x smaller code, as an autoencoder's does.

    Shapes:
        - input: ``(B, 2, H, W)`` hit image.
        - output: ``(B, 1, H, W)`` logits.

    Examples:
        >>> net = DenoisingAutoencoder(DnCNNParams(width=4, arch="dae", layout="layercell"))
        >>> net(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 1, 20, 306])
    """

    def __init__(self, hp: DnCNNParams) -> None:
        super().__init__()
        w = hp.width

        def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))  # fmt: skip

        self.inp = block(2, w)
        self.down1 = block(w, 2 * w, stride=2)
        self.down2 = block(2 * w, 4 * w, stride=2)
        self.up2 = block(4 * w, 2 * w)
        self.up1 = block(2 * w, w)
        self.head = nn.Conv2d(w, 1, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.inp(x)
        h1 = self.down1(h0)
        h2 = self.down2(h1)
        u1 = self.up2(nn.functional.interpolate(h2, size=h1.shape[-2:], mode="nearest"))
        u0 = self.up1(nn.functional.interpolate(u1, size=h0.shape[-2:], mode="nearest"))
        return self.head(u0)


def build_denoiser(hp: DnCNNParams) -> DnCNN:
    """The ``comet-dncnn-denoiser`` network for ``hp``.

    Examples:
        >>> net = build_denoiser(DnCNNParams(depth=3, width=4))
        >>> net(torch.zeros(2, 2, 71, 71)).shape
        torch.Size([2, 2, 71, 71])
    """
    return DnCNN(hp)


def build(hp: DnCNNParams) -> nn.Module:
    """The ``comet-dncnn`` classifier for ``hp``: the DnCNN (2D or 1D, starting from ``hp.pretrained``'s
    denoiser when given) or the denoising autoencoder (``arch: dae``).

    Examples:
        >>> net = build(DnCNNParams(depth=3, width=4, layout="layercell"))
        >>> net(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 1, 20, 306])
        >>> build(DnCNNParams(depth=3, width=4, layout="layercell", arch="dncnn1d"))(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 1, 20, 306])
    """
    if hp.arch == "dae":
        if hp.pretrained:
            msg = "arch 'dae' has no DnCNN denoiser to start from: leave 'pretrained' unset"
            raise ValueError(msg)
        return DenoisingAutoencoder(hp)
    net = DnCNNClassifier(hp)
    if hp.pretrained:
        _load_denoiser(net.denoiser, hp)
    return net


def _load_denoiser(denoiser: nn.Module, hp: DnCNNParams) -> None:
    from hepreco.ml import load_checkpoint

    want = hp.model_copy(update={"pretrained": None})
    ckpt = load_checkpoint(
        hp.pretrained, model="comet-dncnn-denoiser", inputs={"image": (2, *image_shape(hp))}
    )  # the layout is checked here
    got = ckpt.hparams
    have = (got.depth, got.width, got.residual, got.arch, getattr(got, "dilations", None))  # type: ignore[attr-defined]
    if have != (want.depth, want.width, want.residual, want.arch, want.dilations):
        msg = (
            f"pretrained denoiser {ckpt.path} has depth {got.depth}, width {got.width}, residual {got.residual}, "  # type: ignore[attr-defined]
            f"arch {got.arch}, dilations {have[4]}; this classifier has depth {want.depth}, width {want.width}, "  # type: ignore[attr-defined]
            f"residual {want.residual}, arch {want.arch}, dilations {want.dilations}"
        )
        raise ValueError(msg)
    pre = ckpt.build("cpu")
    denoiser.load_state_dict(pre.state_dict())


def masked_loss(outputs: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    """Binary cross-entropy of the per-pixel logits, averaged over the pixels where ``mask`` is set
    (the sense-wire pixels: the talk found a loss over all pixels less accurate); all pixels without a mask.

    Shapes:
        - outputs: ``(B, 1, H, W)`` logits; target and mask ``(B, H, W)``.

    Examples:
        >>> out = torch.tensor([[[[0.0, 50.0]]]])
        >>> batch = {"target": torch.tensor([[[0.0, 0.0]]]), "mask": torch.tensor([[[1.0, 0.0]]])}
        >>> round(float(masked_loss(out, batch)), 4)  # log 2: the unmasked, badly wrong pixel does not count
        0.6931
    """
    target = batch["target"].float()
    logits = outputs.float().reshape(target.shape)
    per = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return masked_mean(per, batch)


def masked_mse(outputs: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    """Squared error of the denoised 2-channel image against the signal-only image, over masked pixels.

    Shapes:
        - outputs, target: ``(B, 2, H, W)``; mask ``(B, H, W)``.
    """
    target = batch["target"].float()
    per = (outputs.float() - target) ** 2
    return masked_mean(per, batch)


def masked_mean(per: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    """The mean of the per-pixel losses ``per`` weighted by the batch's ``mask`` and ``weight`` (either may
    be missing; ``(B, H, W)`` or ``(B,)`` weights are broadcast over the channels); the plain mean without
    either.

    Examples:
        >>> per = torch.tensor([[[[1.0, 3.0]]]])
        >>> float(masked_mean(per, {"mask": torch.tensor([[[0.0, 1.0]]])})), float(masked_mean(per, {}))
        (3.0, 2.0)
    """
    mask = batch.get("mask")
    weight = batch.get("weight")
    w = None
    for t in (mask, weight):
        if t is None:
            continue
        t = t.to(per.dtype)
        if t.ndim < per.ndim:  # (B, H, W) against (B, C, H, W)
            t = (
                t.unsqueeze(1).expand_as(per)
                if t.ndim == per.ndim - 1
                else t.reshape(t.shape + (1,) * (per.ndim - t.ndim)).expand_as(per)
            )
        w = t if w is None else w * t
    if w is None:
        return per.mean()
    return (per * w).sum() / w.sum().clamp_min(1.0)
