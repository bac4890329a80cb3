"""This module defines the U-Net of Pandora's deep-learning track/shower segmentation: the network, its loss
and its ModelSpec (``lartpc-unet``).

U-Net (O. Ronneberger, P. Fischer, T. Brox, `arXiv:1505.04597 <https://arxiv.org/abs/1505.04597>`_) as
Pandora's track/shower network (A. Chappell, "Pandora track/shower discrimination via semantic segmentation",
DUNE UK meeting, 11/12/2019): per level two [Conv3x3, ReLU, GroupNorm] blocks (the talk's BatchNorm became
GroupNorm(8) in the training code), filters doubling per level from ``filters``, 2x2 max-pooling down,
[ConvTranspose2d(3x3, stride 2), ReLU, GroupNorm] up, skip connections by concatenation, dropout, a 1x1
convolution to three classes (null, shower, track), Kaiming-normal initialisation (the talk's backup slide),
trained with cross-entropy weighted by inverse class frequencies (:func:`weighted_cross_entropy`), Adam and
a one-cycle learning rate (``hepreco train``'s ``schedule: onecycle``).

Registration never imports torch; :func:`build` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepreco.ml import InputSpec, ModelSpec

if TYPE_CHECKING:
    import torch

__all__ = ["CLASSES", "UNET", "UNetParams", "build", "unet_inputs", "weighted_cross_entropy"]

#: the output classes, in channel order
CLASSES = ("null", "shower", "track")


class UNetParams(BaseModel):
    """Hyper-parameters of the track/shower U-Net. Pandora's network is ``depth: 4, filters: 16, tile: 256``;
    the shipped checkpoint is smaller so that it trains on one CPU core in well under an hour (plugin README)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    depth: int = Field(4, ge=1, le=6)
    """Down-sampling levels (Pandora: 4)."""
    filters: int = Field(16, ge=8)
    """Filters of the first level, doubled at each level down (Pandora: 16); a multiple of ``groups``."""
    tile: int = Field(256, ge=16)
    """Tile side in pixels (Pandora: 256 at 0.5 cm); a multiple of 2**depth."""
    groups: int = Field(8, ge=1)
    """GroupNorm groups."""
    dropout: float = Field(0.1, ge=0, lt=1)
    """Dropout probability after each convolution block."""

    @model_validator(mode="after")
    def _check(self) -> UNetParams:
        if self.tile % (2**self.depth):
            msg = f"tile {self.tile} must be a multiple of 2**depth = {2**self.depth}"
            raise ValueError(msg)
        if self.filters % self.groups:
            msg = f"filters {self.filters} must be a multiple of groups {self.groups} (GroupNorm)"
            raise ValueError(msg)
        return self


def unet_inputs(hp: UNetParams) -> dict[str, InputSpec]:
    """One input: ``image``, a (1, tile, tile) charge tile from ``lartpc.ViewImager``, normalised per tile."""
    return {
        "image": InputSpec(
            shape=(1, hp.tile, hp.tile),
            doc="lartpc.ViewImager tile: hit charge in (w, x) pixels, divided by the tile's maximum",
        )
    }


def _modules() -> type:
    import torch
    from torch import nn

    def block(cin: int, cout: int, groups: int, dropout: float) -> nn.Sequential:
        layers: list[nn.Module] = []
        for c in (cin, cout):
            layers += [nn.Conv2d(c, cout, 3, padding=1), nn.ReLU(inplace=True), nn.GroupNorm(groups, cout)]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        return nn.Sequential(*layers)

    class UNet(nn.Module):
        """Pandora's track/shower U-Net (Ronneberger et al., `arXiv:1505.04597 <https://arxiv.org/abs/1505.04597>`_).

        Args:
            hp: depth, filters, tile size, GroupNorm groups, dropout.

        Shapes:
            - input: ``(B, 1, tile, tile)`` charge tile.
            - output: ``(B, 3, tile, tile)`` logits of null, shower, track.
        """

        def __init__(self, hp: UNetParams) -> None:
            super().__init__()
            f = [hp.filters * 2**i for i in range(hp.depth + 1)]
            self.down = nn.ModuleList()
            cin = 1
            for i in range(hp.depth):
                self.down.append(block(cin, f[i], hp.groups, hp.dropout))
                cin = f[i]
            self.pool = nn.MaxPool2d(2)
            self.bottom = block(f[hp.depth - 1], f[hp.depth], hp.groups, hp.dropout)
            self.up = nn.ModuleList()
            self.merge = nn.ModuleList()
            for i in reversed(range(hp.depth)):
                self.up.append(
                    nn.Sequential(
                        nn.ConvTranspose2d(f[i + 1], f[i], 3, stride=2, padding=1, output_padding=1),
                        nn.ReLU(inplace=True),
                        nn.GroupNorm(hp.groups, f[i]),
                    )
                )
                self.merge.append(block(2 * f[i], f[i], hp.groups, hp.dropout))
            self.head = nn.Conv2d(f[0], len(CLASSES), 1)
            for m in self.modules():  # Kaiming-normal, a = 0 (the talk's backup slide)
                if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            for blk in self.down:
                x = blk(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottom(x)
            for up, merge, skip in zip(self.up, self.merge, reversed(skips), strict=True):
                x = merge(torch.cat([up(x), skip], dim=1))
            return self.head(x)

    return UNet


def build(hp: UNetParams) -> torch.nn.Module:
    """The ``lartpc-unet`` network for ``hp``.

    Examples:
        >>> import torch
        >>> net = build(UNetParams(depth=2, filters=8, tile=32))
        >>> net(torch.zeros(2, 1, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """
    return _modules()(hp)


def weighted_cross_entropy(outputs: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    """Cross-entropy over every pixel with inverse-frequency class weights computed on the batch (a class
    absent from the batch gets no weight), as Pandora's training; ``mask``/``weight`` are honoured.

    Shapes:
        - outputs: ``(B, 3, H, W)`` logits; target ``(B, H, W)`` integer classes.

    Examples:
        >>> import torch
        >>> out = torch.zeros(1, 3, 1, 4)
        >>> batch = {"target": torch.tensor([[[0, 0, 0, 2]]])}
        >>> round(float(weighted_cross_entropy(out, batch)), 4)  # log 3 whatever the weights
        1.0986
    """
    import torch

    target = batch["target"].long()
    logits = outputs.float()
    n_classes = logits.shape[1]
    counts = torch.bincount(target.reshape(-1), minlength=n_classes).float()
    present = counts > 0
    weight = torch.where(present, counts.sum() / (present.sum() * counts.clamp_min(1.0)), torch.zeros_like(counts))
    per = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    w = weight[target]
    for key in ("mask", "weight"):
        t = batch.get(key)
        if t is not None:
            t = t.to(per.dtype)
            w = w * (t.reshape(t.shape + (1,) * (per.ndim - t.ndim)) if t.ndim < per.ndim else t)
    return (per * w).sum() / w.sum().clamp_min(1e-12)


UNET = ModelSpec(
    name="lartpc-unet",
    build="hepreco_lartpc.unet:build",
    hparams=UNetParams,
    inputs=unet_inputs,
    task="multiclass",
    loss="hepreco_lartpc.unet:weighted_cross_entropy",
    doc="Pandora's track/shower U-Net: per-pixel null/shower/track of a LArTPC view tile",
)
