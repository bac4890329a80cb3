"""This module describes the particle-identification ResNet to hepreco without importing torch: its classes,
hyper-parameters, input and ModelSpec (``lartpc-resnet-pid``). The network is in ``resnet_pid``.

The DUNE study of the seed (F. Bay, KM3NeT outing, 24 May 2019): a ResNet-50 classifying single-particle LArTPC
images into five classes reached 0.74 test accuracy with 7k images (NOvA 0.69 with 4.7M, MicroBooNE 0.80 with
140k). Here the depth is a hyper-parameter: ResNet-18-sized by default, narrow (``width`` 16 filters in the first
stage) and on small images so that it trains on a CPU; ``depth: 50`` (bottleneck blocks) is a ``--set`` away.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hepreco.ml import InputSpec, ModelSpec

__all__ = ["PID_CLASSES", "PID_PDGS", "RESNET_PID", "ResNetPIDParams", "resnet_pid_inputs"]

#: the five classes, in output order
PID_CLASSES = ("electron", "photon", "muon", "pion", "proton")
#: PDG codes of each class (either charge)
PID_PDGS = ((11, -11), (22,), (13, -13), (211, -211), (2212,))


class ResNetPIDParams(BaseModel):
    """Hyper-parameters of the particle-ID ResNet."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    depth: Literal[10, 18, 34, 50] = 18
    """ResNet depth: 10, 18, 34 (basic blocks) or 50 (bottleneck blocks, the DUNE study's)."""
    width: int = Field(16, ge=4)
    """Filters of the first stage, doubled at each of the four stages (ResNet: 64)."""
    size: int = Field(48, ge=16)
    """Image side in pixels (``lartpc.ParticleImager``'s ``size``)."""
    views: int = Field(3, ge=1, le=3)
    """Images per scale: one per wire view (U, V, W)."""
    windows: int = Field(3, ge=1, le=8)
    """Images per view (``lartpc.ParticleImager``'s ``windows``: by default the start at 1 cm and 4 cm and the
    charge centroid at 1 cm); the input has ``views * windows`` channels."""
    log_input: bool = True
    """Feed ``log1p`` of the charge (in 10^4 electrons): a Bragg peak or a shower core (~100) and a MIP
    (~1-2) on one scale the BatchNorm statistics can settle on."""
    flip: bool = True
    """Training only: flip each image at random along drift and along the wire coordinate (the same flips in
    every view and scale: a mirror in x and a half-turn about x, symmetries of an isotropic sample)."""
    norm: Literal["batch", "group"] = "group"
    """Normalisation layers: ``batch`` (ResNet's BatchNorm) or ``group`` (GroupNorm, 8 groups: the same in
    training and evaluation, where BatchNorm's running statistics can lag a fast-changing network on sparse
    images)."""
    dropout: float = Field(0.0, ge=0, lt=1)
    """Dropout before the final linear layer."""


def resnet_pid_inputs(hp: ResNetPIDParams) -> dict[str, InputSpec]:
    """One input: ``image``, the (views, size, size) charge images of ``lartpc.ParticleImager``."""
    return {
        "image": InputSpec(
            shape=(hp.views * hp.windows, hp.size, hp.size),
            doc="lartpc.ParticleImager image: hit charge per pixel and view (units of 10^4 electrons), the views "
            "of each window in turn",
        )
    }


RESNET_PID = ModelSpec(
    name="lartpc-resnet-pid",
    build="hepreco_lartpc.resnet_pid:build",
    hparams=ResNetPIDParams,
    inputs=resnet_pid_inputs,
    task="multiclass",
    doc="ResNet particle ID of single-particle LArTPC images: electron, photon, muon, pion, proton",
)
