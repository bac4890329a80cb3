"""This module declares the COMET plugin's trainable models for registration: their hyper-parameters, inputs
and ModelSpecs. Cheap to import (pydantic and hepreco.ml only; no numba, no torch): the networks live in
:mod:`hepreco_comet.nets` (``nets/dncnn.py``, ``nets/turn1.py``, ``nets/turn1_unet.py``), named here by
``"package.module:function"`` strings and imported when a job or a training builds them; the modules that
run them in :mod:`hepreco_comet.modules`.

- ``comet-dncnn-denoiser`` (regression): the DnCNN denoiser, 2-channel hit image in, signal-only image out
  (optional pre-training; the target is ``comet.SignalImage``'s product).
- ``comet-dncnn`` (binary): the talk's DnCNN hit classifier, per-pixel signal probability.
- ``comet-turn1`` (multiclass): the talk's turn-1 extractor on the kept hits (its DnCNN, or a U-Net).
- ``comet-gbdt`` (binary): the COMET TDR's GBDT on ``comet.HitFeatures`` (LightGBM).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepreco.ml import InputSpec, LightGBMModel, LightGBMParams, ModelSpec

__all__ = [
    "DNCNN",
    "DNCNN_DENOISER",
    "FEATURES",
    "GBDT",
    "TURN1",
    "TURN1_CLASSES",
    "TURN1_FEATURES",
    "DnCNNParams",
    "Turn1Params",
    "dncnn_inputs",
    "image_shape",
    "turn1_inputs",
]

#: the GBDT's feature columns, in order (``comet.HitFeatures``)
FEATURES = ("edep", "drift_time", "layer", "edep_left", "drift_time_left", "edep_right", "drift_time_right")

#: the turn-1 extractor's per-pixel classes, in the order of its outputs
TURN1_CLASSES = ("background", "turn-1", "turn>1")


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
    dilations: tuple[int | tuple[int, int], ...] | None = None
    """Dilation of each of the body's ``depth`` convolutions (``None``: all 1, the paper's DnCNN): a number,
    or ``[rows, columns]`` to dilate the image's two directions differently. Dilated convolutions, as in
    Zhang et al.'s IRCNN (`arXiv:1704.03264 <https://arxiv.org/abs/1704.03264>`_: 1, 2, 3, 4, 3, 2, 1), widen
    the receptive field at the same cost: ``[1, 2, 4, 8, 16, 4, 2, 1]`` lets a depth-8 body see +-38 pixels
    instead of +-8, which on the ``wire`` layout reaches a wire's neighbours in the next layer (3-4 rows down,
    tens of columns aside). On the ``layercell`` layout (20 rows, one per layer), a row dilation of 16 looks
    past the chamber and an even one never compares neighbouring layers, whose stereo angles are opposite:
    ``[[1, 1], [1, 2], ...]`` dilates along the cells only. ``dncnn`` and ``dncnn1d`` (which uses the column
    part) only."""
    arch: Literal["dncnn", "dncnn1d", "dae"] = "dncnn"
    """The hit classifier's network (the talk compared three): ``dncnn`` the 2D DnCNN; ``dncnn1d`` the same
    body with 1x3 convolutions along the image's rows only (along the cells of a layer on the ``layercell``
    layout); ``dae`` a denoising autoencoder (two stride-2 convolutions down, two upsamplings back, ``width``
    filters doubling at each step; ``depth``, ``residual`` and ``pretrained`` not used). A
    ``comet-dncnn-denoiser`` takes ``dncnn`` or ``dncnn1d``, to pre-train the classifier of the same ``arch``."""

    @model_validator(mode="after")
    def _check_dilations(self) -> DnCNNParams:
        if self.dilations is not None:
            if len(self.dilations) != self.depth:
                msg = f"dilations {list(self.dilations)} has {len(self.dilations)} entries: give one per layer (depth {self.depth})"
                raise ValueError(msg)
            if min(min(d) if isinstance(d, tuple) else d for d in self.dilations) < 1:
                msg = f"dilations {list(self.dilations)}: each must be >= 1"
                raise ValueError(msg)
            if self.arch == "dae":
                msg = "arch 'dae' has no DnCNN body: leave 'dilations' unset"
                raise ValueError(msg)
        return self


#: the turn-1 U-Net's optional input features, in the order they are stacked after the image
TURN1_FEATURES = ("occupancy", "relative_time", "stereo", "layer")


class Turn1Params(DnCNNParams):
    """Hyper-parameters of the turn-1 extractor.

    ``arch: dncnn`` (the default, the talk's network): the DnCNN body (``depth``, ``width``, ``residual``,
    ``dilations``; the talk's 17 x 64 by default) with a three-class ``head``; ``pretrained`` starts the body
    from a ``comet-dncnn`` hit-classifier checkpoint of the same depth, width and layout. ``arch: unet``
    (:mod:`hepreco_comet.nets.turn1_unet`, issue 16): a U-Net whose receptive field spans the chamber
    (``widths``, ``blocks``); ``depth``, ``width``, ``residual``, ``dilations``, ``head`` and ``pretrained``
    are not used. Both take azimuth-periodic padding (``circular``) and extra input ``features``.
    """

    arch: Literal["dncnn", "unet"] = "dncnn"
    """The network: the talk's DnCNN body with a three-class head, or the U-Net."""
    widths: tuple[int, ...] = Field((8, 16, 32, 64, 64, 64), min_length=1, max_length=8)
    """U-Net: filters per level, finest first; a 2x2 max-pooling between levels. With six levels the deepest
    is 1 x 10 pixels and every output pixel sees the whole 20 x 306 ``layercell`` image (four see all the
    layers but only ~90 of the 306 columns)."""
    blocks: int = Field(2, ge=1, le=8)
    """U-Net: Conv3x3 + BatchNorm + ReLU per level, on the way down and on the way up."""
    circular: bool = False
    """Pad periodically along the image's width (the azimuth of the ``layercell`` layout, where the last
    cell of a layer is next to the first), with zeros along the layers; ``layercell`` only."""
    features: tuple[Literal["occupancy", "relative_time", "stereo", "layer"], ...] = ()
    """Input channels computed from the image inside the network and stacked after it, so the module's input
    stays the imager's 2-channel image (``TURN1_FEATURES`` order):
    ``occupancy`` (the pixel holds a kept hit), ``relative_time`` (drift time minus the event's earliest
    kept hit's), ``stereo`` (the row's stereo sign, alternating layer by layer) and ``layer`` (the row over
    the number of rows); ``stereo`` and ``layer`` need the ``layercell`` layout, whose rows are layers."""

    head: Literal["image", "features"] = "image"
    """DnCNN: where the three class logits come from. ``image`` (the talk's): a Conv3x3 on the body's
    2-channel output, the denoised image (with ``residual``, the input minus the body's output).
    ``features`` (issue 16): a 1x1 convolution on the ``width`` hidden channels of the body's last hidden
    layer (the body's last convolution, to the 2-channel image, is left out), so the classes are not read
    through a 2-channel bottleneck."""

    @model_validator(mode="after")
    def _check_unet(self) -> Turn1Params:
        if self.arch == "unet" and self.dilations is not None:
            msg = "'dilations' is a DnCNN option: the U-Net's levels widen what it sees (leave it out, or set arch: dncnn)"
            raise ValueError(msg)
        if self.arch == "unet" and self.head != "image":
            msg = "'head' is a DnCNN option: the U-Net's logits always come from its last level (leave it out, or set arch: dncnn)"
            raise ValueError(msg)
        if self.pretrained and self.features:
            msg = (
                f"pretrained {self.pretrained!r} and features {list(self.features)}: the hit classifier's first "
                "convolution reads the 2-channel image only (leave one out)"
            )
            raise ValueError(msg)
        if self.layout != "layercell" and (self.circular or {"stereo", "layer"} & set(self.features)):
            msg = (
                f"layout {self.layout!r}: 'circular', 'stereo' and 'layer' need the layercell layout "
                "(rows are layers, columns an azimuth)"
            )
            raise ValueError(msg)
        if len(set(self.features)) != len(self.features):
            msg = f"features {list(self.features)} name one feature twice"
            raise ValueError(msg)
        return self


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
    from hepreco_comet.images import image_layout

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


def turn1_inputs(hp: Turn1Params) -> dict[str, InputSpec]:
    """The one input: ``image``, the 2-channel image of the hits the hit classifier kept, in [0, 1]."""
    h, w = image_shape(hp)
    return {
        "image": InputSpec(
            shape=(2, h, w),
            doc=f"comet.HitImager image of the kept hits (select: the hit classifier's selected), layout {hp.layout}",
        )
    }


DNCNN = ModelSpec(
    name="comet-dncnn",
    build="hepreco_comet.nets.dncnn:build",
    hparams=DnCNNParams,
    inputs=dncnn_inputs,
    task="binary",
    loss="hepreco_comet.nets.dncnn:masked_loss",
    doc="the COMET talk's DnCNN hit classifier: per-pixel signal probability of a CDC hit image",
)

DNCNN_DENOISER = ModelSpec(
    name="comet-dncnn-denoiser",
    build="hepreco_comet.nets.dncnn:build_denoiser",
    hparams=DnCNNParams,
    inputs=dncnn_inputs,
    task="regression",
    loss="hepreco_comet.nets.dncnn:masked_mse",
    doc="DnCNN pre-training as a pure denoiser: CDC hit image in, signal-only image out",
)

TURN1 = ModelSpec(
    name="comet-turn1",
    build="hepreco_comet.nets.turn1:build",
    hparams=Turn1Params,
    inputs=turn1_inputs,
    task="multiclass",
    doc="the COMET talk's turn-1 extractor: per-pixel background / first-turn / later-turn classes of the kept hits",
)

GBDT = ModelSpec(
    name="comet-gbdt",
    build=LightGBMModel,
    hparams=LightGBMParams,
    kind="trainable",
    inputs={"features": InputSpec(shape=(len(FEATURES),), doc="comet.HitFeatures: " + ", ".join(FEATURES))},
    task="binary",
    doc="the COMET TDR's GBDT hit classifier: a hit's and its two neighbours' deposit and time (LightGBM)",
)
