"""This module describes the fully convolutional EM/track/none + Michel network to hepreco without importing torch:
its hyper-parameters and its ModelSpec (``lartpc-emtrkmichel-fcn``). The network is in ``emtrkmichel_fcn``.

Why it exists: LArSoft's network (``lartpc-emtrkmichel``) puts a 44 x 44 x 48 -> 128 dense layer on every hit
(~12 M multiply-adds per hit), which no inference mode brings to the seed's target on 2 cores (see the plugin
README). This one is fully convolutional by design: a stack of 3 x 3 convolutions with growing dilation and no
padding, so that a pixel's output depends on the ADC image within ``radius`` pixels of it (a square of
``2 radius + 1`` pixels: 43 by default, LArSoft's patch is 48), then two 1 x 1 heads (em/track/none softmax and
the Michel sigmoid). It is trained on the same 48 x 48 patches and targets as LArSoft's network (the output at
the patch centre) and run once over whole views at inference, the heads read at the hit pixels only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepreco.ml import InputSpec, ModelSpec

__all__ = ["EMTRKMICHEL_FCN", "EmTrkMichelFCNParams", "fcn_inputs"]


class EmTrkMichelFCNParams(BaseModel):
    """Hyper-parameters of the fully convolutional EM/track/Michel network (defaults sized for a CPU)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    patch: int = Field(48, ge=3)
    """Side of the training patches (``lartpc.HitPatches``, LArSoft's 48): the network reads their centre
    ``2 radius + 1`` pixels, centred on the patch's hit pixel (index ``patch // 2``)."""
    channels: tuple[int, ...] = (8, 16, 16, 16, 16, 16)
    """Output channels of each 3 x 3 convolution (ReLU after each)."""
    dilations: tuple[int, ...] = (1, 2, 4, 8, 4, 2)
    """Dilation of each 3 x 3 convolution (a layer of dilation d widens the receptive field by 2 d)."""
    hidden: int = Field(32, ge=1)
    """Width of the 1 x 1 layer before the two heads."""
    dropout: float = Field(0.1, ge=0, lt=1)
    """Dropout before the heads (training only)."""
    adc_scale: float = Field(1e-4, gt=0)
    """The ADC image (electrons per downsampled tick) is multiplied by this inside the network ..."""
    adc_clip: float = Field(20.0, gt=0)
    """... and clipped to [-adc_clip, adc_clip] (as LArSoft's network here)."""

    @model_validator(mode="after")
    def _check(self) -> EmTrkMichelFCNParams:
        if len(self.channels) != len(self.dilations) or not self.channels:
            msg = f"channels {self.channels} and dilations {self.dilations} must be non-empty and of one length"
            raise ValueError(msg)
        if min(self.channels) < 1 or min(self.dilations) < 1:
            raise ValueError("channels and dilations must be positive")
        if self.radius > (self.patch - 1) // 2:
            msg = f"receptive radius {self.radius} (the sum of the dilations) does not fit the patch {self.patch}"
            raise ValueError(msg)
        return self

    @property
    def radius(self) -> int:
        """Pixels on each side of a pixel that its output reads (the sum of the dilations: 21 by default)."""
        return int(sum(self.dilations))


def fcn_inputs(hp: EmTrkMichelFCNParams) -> dict[str, InputSpec]:
    """One input, as LArSoft's network's (:func:`~hepreco_lartpc.emtrkmichel_spec.emtrkmichel_inputs`, the same
    ``lartpc.HitPatches`` training data): ``patch``, a (1, patch, patch) window of the raw ADC image."""
    from hepreco_lartpc.emtrkmichel_spec import emtrkmichel_inputs

    return emtrkmichel_inputs(hp)  # type: ignore[arg-type]  # only hp.patch is read


EMTRKMICHEL_FCN = ModelSpec(
    name="lartpc-emtrkmichel-fcn",
    build="hepreco_lartpc.emtrkmichel_fcn:build",
    hparams=EmTrkMichelFCNParams,
    inputs=fcn_inputs,
    task="multiclass",
    loss="hepreco_lartpc.emtrkmichel:emtrkmichel_loss",
    forward="hepreco_lartpc.emtrkmichel:joint_forward",
    doc="fully convolutional EM/track/none + Michel network (dilated 3x3 convolutions, 1x1 heads): one pass per view",
)
