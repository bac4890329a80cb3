"""This module describes LArSoft's EM/track/none + Michel CNN to hepreco without importing torch: its
hyper-parameters, its input and its ModelSpec (``lartpc-emtrkmichel``). The network is in ``emtrkmichel``.

The network (R. Sulej, D. Stefan et al., LArSoft's ``PointIdAlg`` / ``EmTrackMichelId``; the seed's talk on the
ProtoDUNE reconstruction): a patch of the ADC image (wire x downsampled drift) around each hit, one 5x5
convolution of 48 filters (valid padding, ReLU), dropout, dense 128 and 32 (ReLU, dropout), and two heads: the
em/track/none softmax and the Michel-or-not sigmoid; categorical cross-entropy x 0.1 + mean squared error of
the sigmoid x 1.0; SGD with Nesterov momentum (lr 0.01, momentum 0.9).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepreco.ml import InputSpec, ModelSpec

__all__ = ["CLASSES", "EMTRKMICHEL", "EmTrkMichelParams", "emtrkmichel_inputs"]

#: the softmax head's classes, in output order (the Michel head is a fourth, independent output)
CLASSES = ("em", "track", "none")


class EmTrkMichelParams(BaseModel):
    """Hyper-parameters of the EM/track/Michel CNN; the defaults are LArSoft's network."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    patch: int = Field(48, ge=8)
    """Patch side in pixels (wires x downsampled ticks), centred on the hit (LArSoft: 48)."""
    filters: int = Field(48, ge=1)
    """Filters of the one convolution (LArSoft: 48)."""
    kernel: int = Field(5, ge=1)
    """Side of the convolution kernel (LArSoft: 5; valid padding)."""
    dense1: int = Field(128, ge=1)
    """Width of the first dense layer (LArSoft: 128)."""
    dense2: int = Field(32, ge=1)
    """Width of the second dense layer (LArSoft: 32)."""
    dropout1: float = Field(0.2, ge=0, lt=1)
    """Dropout after the convolution."""
    dropout2: float = Field(0.2, ge=0, lt=1)
    """Dropout after each dense layer."""
    adc_scale: float = Field(1e-4, gt=0)
    """The ADC image (electrons per downsampled tick) is multiplied by this inside the network ..."""
    adc_clip: float = Field(20.0, gt=0)
    """... and clipped to [-adc_clip, adc_clip], so that every inference mode sees the same input."""

    @model_validator(mode="after")
    def _check(self) -> EmTrkMichelParams:
        if self.kernel > self.patch:
            msg = f"kernel {self.kernel} is larger than the patch {self.patch}"
            raise ValueError(msg)
        return self

    @property
    def window(self) -> int:
        """Side of the convolution's output over one patch (``patch - kernel + 1``: 44 for LArSoft's)."""
        return self.patch - self.kernel + 1


def emtrkmichel_inputs(hp: EmTrkMichelParams) -> dict[str, InputSpec]:
    """One input: ``patch``, a (1, patch, patch) window of the raw ADC image centred on a hit (zero outside);
    the fully convolutional network reads the same (only ``hp.patch`` is used)."""
    return {
        "patch": InputSpec(
            shape=(1, hp.patch, hp.patch),
            doc="lartpc.HitPatches patch: the ADC image (wire x downsampled tick) around the hit, zero outside",
        )
    }


EMTRKMICHEL = ModelSpec(
    name="lartpc-emtrkmichel",
    build="hepreco_lartpc.emtrkmichel:build",
    hparams=EmTrkMichelParams,
    inputs=emtrkmichel_inputs,
    task="multiclass",
    loss="hepreco_lartpc.emtrkmichel:emtrkmichel_loss",
    forward="hepreco_lartpc.emtrkmichel:joint_forward",
    doc="LArSoft's EM/track/none + Michel CNN on 48x48 ADC patches around hits (two heads)",
)
