"""This module declares the COMET plugin's trainable models for registration: their hyper-parameters, inputs
and ModelSpecs. Cheap to import (pydantic and hepreco.ml only; no numba, no torch): the networks live in
:mod:`hepreco_comet.nets` (``nets/dncnn.py``, ``nets/turn1.py``), named here by ``"package.module:function"``
strings and imported when a job or a training builds them; the modules that run them in
:mod:`hepreco_comet.modules`.

- ``comet-dncnn-denoiser`` (regression): the DnCNN denoiser, 2-channel hit image in, signal-only image out
  (optional pre-training; the target is ``comet.SignalImage``'s product).
- ``comet-dncnn`` (binary): the talk's DnCNN hit classifier, per-pixel signal probability.
- ``comet-turn1`` (multiclass): the talk's turn-1 extractor on the kept hits.
- ``comet-gbdt`` (binary): the COMET TDR's GBDT on ``comet.HitFeatures`` (LightGBM).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hepreco.ml import InputSpec, LightGBMModel, LightGBMParams, ModelSpec

__all__ = [
    "DNCNN",
    "DNCNN_DENOISER",
    "FEATURES",
    "GBDT",
    "TURN1",
    "TURN1_CLASSES",
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


class Turn1Params(DnCNNParams):
    """Hyper-parameters of the turn-1 extractor: the DnCNN body's (the talk's 17 x 64 by default; the
    shipped checkpoint is smaller, see the plugin README) and its layout. ``pretrained`` starts the body
    from a ``comet-dncnn`` hit-classifier checkpoint of the same depth, width and layout."""


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
