"""This module defines the turn-1 extractor's U-Net: a receptive field that spans the chamber, periodic in
azimuth, with input channels that help tell a helix's turns apart.

In the ``layercell`` image a row is a layer and a column an azimuth; the first turn of the signal electron
and its later turns lie on the same circle in x-y and therefore on nearly the same cells. What separates
them is z: every layer is stereo, with the sign alternating from layer to layer, so a track at z sits a
z-dependent number of cells to one side in even layers and to the other in odd layers, a zig-zag whose
amplitude grows with |z|; the first turn starts at the target (|z| < 40 cm) and the later ones further along
the helix. Seeing that needs the whole arc (the 8-layer DnCNN sees 17 x 17 pixels of a track that spans all
20 rows and up to ~100 columns) and knowing which rows are which stereo sign (a translation-invariant
convolution cannot). The network:

- input features (``Turn1Params.features``), computed from the 2-channel image inside the network so the
  module's input stays the imager's image: ``occupancy`` (the pixel holds a kept hit), ``relative_time``
  (drift time minus the event's earliest kept hit's), ``stereo`` (the row's stereo sign, +1 / -1
  alternating) and ``layer`` (the row's index over the number of rows);
- a U-Net (O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional Networks for Biomedical Image
  Segmentation", MICCAI 2015, `arXiv:1505.04597 <https://arxiv.org/abs/1505.04597>`_): ``blocks`` Conv3x3 +
  BatchNorm + ReLU per level, 2x2 max-pooling between levels (``widths`` filters, finest first), nearest
  upsampling and skip connections on the way up, a 1x1 convolution to the three class logits;
- azimuth-periodic padding (``circular``): the last column of a ``layercell`` row is next to its first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hepreco_comet.models import TURN1_CLASSES, Turn1Params

__all__ = ["AzimuthConv", "Turn1UNet", "turn1_features"]


class AzimuthConv(nn.Module):
    """Conv3x3 (+ BatchNorm) + ReLU, padded periodically along the width (azimuth) when ``circular``,
    with zeros along the height (layers).

    Shapes:
        - input: ``(B, C_in, H, W)``.
        - output: ``(B, C_out, H, W)``.

    Examples:
        >>> conv = AzimuthConv(2, 4).eval()
        >>> x = torch.rand(1, 2, 5, 12)
        >>> bool(torch.allclose(conv(x.roll(3, -1)), conv(x).roll(3, -1), atol=1e-6))
        True
    """

    def __init__(self, c_in: int, c_out: int, *, circular: bool = True, batch_norm: bool = True) -> None:
        super().__init__()
        self.circular = circular
        self.conv = nn.Conv2d(c_in, c_out, 3, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(c_out) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 0, 0), mode="circular" if self.circular else "constant")
        x = self.conv(F.pad(x, (0, 0, 1, 1)))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x)


def turn1_features(image: torch.Tensor, features: tuple[str, ...]) -> torch.Tensor:
    """The network's input: the image (drift time, deposit) and the extra channels ``features`` names, in the
    order occupancy, relative_time, stereo, layer.

    Shapes:
        - image: ``(B, 2, H, W)`` in [0, 1].
        - output: ``(B, 2 + len(features), H, W)``.

    Examples:
        >>> x = torch.zeros(1, 2, 4, 3); x[0, :, 1, 1] = 0.5; x[0, :, 2, 0] = 0.75
        >>> f = turn1_features(x, ("occupancy", "relative_time", "stereo"))
        >>> f[0, 3, 2, 0].item(), f[0, 3, 1, 1].item(), f[0, 4, :, 0].tolist()
        (0.25, 0.0, [-1.0, 1.0, -1.0, 1.0])
    """
    n, _, h, w = image.shape
    out = [image]
    occ = ((image[:, 0] > 0) | (image[:, 1] > 0)).unsqueeze(1).to(image.dtype)
    if "occupancy" in features:
        out.append(occ)
    if "relative_time" in features:
        t = image[:, :1]
        t_min = torch.where(occ > 0, t, torch.full_like(t, 2.0)).flatten(1).amin(1).view(n, 1, 1, 1)
        out.append((t - t_min).clamp(0, 1) * occ)
    rows = torch.arange(h, device=image.device, dtype=image.dtype).view(1, 1, h, 1)
    if "stereo" in features:
        out.append(((rows % 2) * 2 - 1).expand(n, 1, h, w))
    if "layer" in features:
        out.append((rows / max(h - 1, 1)).expand(n, 1, h, w))
    return torch.cat(out, 1)


class Turn1UNet(nn.Module):
    """The turn-1 extractor's U-Net (``comet-turn1`` with ``arch: unet``; Ronneberger et al.,
    `arXiv:1505.04597 <https://arxiv.org/abs/1505.04597>`_): extra input features, ``len(widths)`` levels
    of ``blocks`` azimuth-periodic Conv3x3 + BatchNorm + ReLU, a 1x1 convolution to three class logits.

    Args:
        hp: ``widths``, ``blocks``, ``circular``, ``features``, ``layout``.

    Shapes:
        - input: ``(B, 2, H, W)`` image of the kept hits (any H, W; odd sizes are pooled with ceil mode).
        - output: ``(B, 3, H, W)`` logits of background, turn-1, turn>1.
    """

    def __init__(self, hp: Turn1Params) -> None:
        super().__init__()
        self.features = tuple(hp.features)
        c_in = 2 + len(self.features)
        circ = hp.circular
        self.enc = nn.ModuleList()
        for w in hp.widths:
            self.enc.append(
                nn.Sequential(*[AzimuthConv(c_in if b == 0 else w, w, circular=circ) for b in range(hp.blocks)])
            )
            c_in = w
        self.dec = nn.ModuleList()
        for w in reversed(hp.widths[:-1]):
            self.dec.append(
                nn.Sequential(
                    AzimuthConv(c_in + w, w, circular=circ),
                    *[AzimuthConv(w, w, circular=circ) for _ in range(hp.blocks - 1)],
                )
            )
            c_in = w
        self.head = nn.Conv2d(c_in, len(TURN1_CLASSES), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = turn1_features(x, self.features)
        skips = []
        for level, enc in enumerate(self.enc):
            if level > 0:
                x = F.max_pool2d(x, 2, ceil_mode=True)
            x = enc(x)
            skips.append(x)
        skips.pop()
        for dec in self.dec:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = dec(torch.cat([x, skip], 1))
        return self.head(x)
