"""This module defines the DnCNN hit classifier of the COMET talk: the network, its loss and its ModelSpecs.

DnCNN (K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang, "Beyond a Gaussian Denoiser: Residual Learning of
Deep CNN for Image Denoising", IEEE TIP 26 (2017) 3142, `arXiv:1608.03981
<https://arxiv.org/abs/1608.03981>`_): a first Conv3x3 + ReLU, ``depth - 2`` Conv3x3 + BatchNorm + ReLU,
a last Conv3x3, trained to predict the noise (residual learning: clean = input - output).

The talk's extension, two registered models sharing that body:

- ``comet-dncnn-denoiser`` (regression): the pure denoiser, 2-channel hit image in, the signal-only
  2-channel image out (optional pre-training; the target is ``comet.SignalImage``'s product).
- ``comet-dncnn`` (binary): the denoiser followed by a final Conv3x3 to one channel whose sigmoid is the
  per-pixel signal probability; the loss is masked to the sense-wire pixels (:func:`masked_loss`).
  ``pretrained`` starts it from a denoiser checkpoint.

Registration never imports torch; :func:`build` and :func:`build_denoiser` do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hepreco.ml import InputSpec, ModelSpec

if TYPE_CHECKING:
    import torch

__all__ = [
    "DNCNN",
    "DNCNN_DENOISER",
    "DnCNNParams",
    "build",
    "build_denoiser",
    "dncnn_inputs",
    "image_shape",
    "masked_loss",
    "masked_mse",
]


class DnCNNParams(BaseModel):
    """Hyper-parameters of the DnCNN hit classifier and of its denoiser.

    The talk's network is ``depth: 17, width: 64`` on the ``wire`` layout; the shipped checkpoint is
    smaller so that it trains on two CPU cores in well under an hour (see the plugin README).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    depth: int = Field(17, ge=2, le=64)
    """Convolution layers of the DnCNN body (the paper's and the talk's 17), the classifier's head not counted."""
    width: int = Field(64, ge=1, le=512)
    """Filters of the hidden layers (the talk's 64)."""
    layout: Literal["wire", "xy", "layercell"] = "wire"
    """The imager layout the network reads (``comet.HitImager``'s ``layout``): its image shape."""
    xy_size: int = Field(128, ge=8)
    """Pixels per side of the ``xy`` layout."""
    residual: bool = True
    """Residual learning as in the paper: the denoised image is the input minus the body's output."""
    pretrained: str | None = None
    """A ``comet-dncnn-denoiser`` checkpoint (folder or ``builtin:NAME``) to start the classifier from
    (training only matters; its weights are replaced by the classifier checkpoint's at inference)."""


def image_shape(hp: DnCNNParams) -> tuple[int, int]:
    """``(H, W)`` of the layout ``hp`` names.

    Examples:
        >>> image_shape(DnCNNParams(layout="layercell")), image_shape(DnCNNParams())
        ((20, 306), (71, 71))
    """
    if hp.layout == "wire":
        return (71, 71)
    if hp.layout == "xy":
        return (hp.xy_size, hp.xy_size)
    from hepreco_comet.imager import image_layout

    return image_layout("layercell").shape


def dncnn_inputs(hp: DnCNNParams) -> dict[str, InputSpec]:
    """The one input: ``image``, the imager's 2-channel image, already greyscale-scaled to [0, 1]."""
    h, w = image_shape(hp)
    return {
        "image": InputSpec(
            shape=(2, h, w),
            doc=f"comet.HitImager image, layout {hp.layout}: drift time and energy deposit in [0, 1]",
        )
    }


def _body(hp: DnCNNParams) -> torch.nn.Sequential:
    import torch
    from torch import nn

    layers: list[nn.Module] = [nn.Conv2d(2, hp.width, 3, padding=1, bias=True), nn.ReLU(inplace=True)]
    for _ in range(hp.depth - 2):
        layers += [
            nn.Conv2d(hp.width, hp.width, 3, padding=1, bias=False),
            nn.BatchNorm2d(hp.width),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.Conv2d(hp.width, 2, 3, padding=1, bias=False))
    body = nn.Sequential(*layers)
    for m in body.modules():  # He initialisation, as in the paper's code
        if isinstance(m, nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return body


def _modules() -> tuple[type, type]:
    from torch import nn

    class DnCNN(nn.Module):
        """DnCNN denoiser (Zhang et al., `arXiv:1608.03981 <https://arxiv.org/abs/1608.03981>`_).

        Args:
            hp: depth, width, residual learning.

        Shapes:
            - input: ``(B, 2, H, W)`` hit image (drift time, energy deposit).
            - output: ``(B, 2, H, W)`` the denoised (signal-only) image.
        """

        def __init__(self, hp: DnCNNParams) -> None:
            super().__init__()
            self.body = _body(hp)
            self.residual = hp.residual

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.body(x)
            return x - out if self.residual else out

    class DnCNNClassifier(nn.Module):
        """The talk's DnCNN hit classifier: a DnCNN denoiser and a final Conv3x3 to one logit per pixel.

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
            self.head = nn.Conv2d(2, 1, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.denoiser(x))

    return DnCNN, DnCNNClassifier


def build_denoiser(hp: DnCNNParams) -> torch.nn.Module:
    """The ``comet-dncnn-denoiser`` network for ``hp``.

    Examples:
        >>> import torch
        >>> net = build_denoiser(DnCNNParams(depth=3, width=4))
        >>> net(torch.zeros(2, 2, 71, 71)).shape
        torch.Size([2, 2, 71, 71])
    """
    return _modules()[0](hp)


def build(hp: DnCNNParams) -> torch.nn.Module:
    """The ``comet-dncnn`` classifier for ``hp`` (starting from ``hp.pretrained``'s denoiser when given).

    Examples:
        >>> import torch
        >>> net = build(DnCNNParams(depth=3, width=4, layout="layercell"))
        >>> net(torch.zeros(1, 2, 20, 306)).shape
        torch.Size([1, 1, 20, 306])
    """
    net = _modules()[1](hp)
    if hp.pretrained:
        _load_denoiser(net.denoiser, hp)
    return net


def _load_denoiser(denoiser: torch.nn.Module, hp: DnCNNParams) -> None:
    from hepreco.ml import load_checkpoint

    want = hp.model_copy(update={"pretrained": None})
    ckpt = load_checkpoint(
        hp.pretrained, model="comet-dncnn-denoiser", inputs={"image": (2, *image_shape(hp))}
    )  # the layout is checked here
    got = ckpt.hparams
    if (got.depth, got.width, got.residual) != (want.depth, want.width, want.residual):  # type: ignore[attr-defined]
        msg = (
            f"pretrained denoiser {ckpt.path} has depth {got.depth}, width {got.width}, residual {got.residual}; "  # type: ignore[attr-defined]
            f"this classifier has depth {want.depth}, width {want.width}, residual {want.residual}"
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
        >>> import torch
        >>> out = torch.tensor([[[[0.0, 50.0]]]])
        >>> batch = {"target": torch.tensor([[[0.0, 0.0]]]), "mask": torch.tensor([[[1.0, 0.0]]])}
        >>> round(float(masked_loss(out, batch)), 4)  # log 2: the unmasked, badly wrong pixel does not count
        0.6931
    """
    import torch

    target = batch["target"].float()
    logits = outputs.float().reshape(target.shape)
    per = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return _masked_mean(per, batch)


def masked_mse(outputs: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    """Squared error of the denoised 2-channel image against the signal-only image, over masked pixels.

    Shapes:
        - outputs, target: ``(B, 2, H, W)``; mask ``(B, H, W)``.
    """
    target = batch["target"].float()
    per = (outputs.float() - target) ** 2
    return _masked_mean(per, batch)


def _masked_mean(per: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
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


DNCNN = ModelSpec(
    name="comet-dncnn",
    build="hepreco_comet.dncnn:build",
    hparams=DnCNNParams,
    inputs=dncnn_inputs,
    task="binary",
    loss="hepreco_comet.dncnn:masked_loss",
    doc="the COMET talk's DnCNN hit classifier: per-pixel signal probability of a CDC hit image",
)

DNCNN_DENOISER = ModelSpec(
    name="comet-dncnn-denoiser",
    build="hepreco_comet.dncnn:build_denoiser",
    hparams=DnCNNParams,
    inputs=dncnn_inputs,
    task="regression",
    loss="hepreco_comet.dncnn:masked_mse",
    doc="DnCNN pre-training as a pure denoiser: CDC hit image in, signal-only image out",
)
