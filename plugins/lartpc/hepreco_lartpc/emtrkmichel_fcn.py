"""This module defines the fully convolutional EM/track/none + Michel network (model ``lartpc-emtrkmichel-fcn``)
and its one-pass-per-view inference. It imports torch; registration uses ``emtrkmichel_fcn_spec`` instead.

The network: the ADC image scaled and clipped as for LArSoft's network, then ``len(channels)`` 3 x 3
convolutions with dilations ``dilations`` (default 1, 2, 4, 8, 4, 2), each with a ReLU and **no padding**
("valid"), so a pixel's features depend on the image within ``radius = sum(dilations)`` pixels of it and on
nothing else (no zero padding of feature maps, no strides, no normalisation over the image): the network is
exactly translation equivariant. Then, per pixel, a 1 x 1 layer of ``hidden`` units (ReLU, dropout) and the two
heads: em/track/none logits (softmax) and the Michel logit (sigmoid), the four outputs of LArSoft's network.

Training (``hepreco train``, the same ``lartpc.HitPatches`` patches and targets as ``lartpc-emtrkmichel``): the
network reads the ``2 radius + 1`` square at the centre of each 48 x 48 patch (centred on the hit pixel,
index ``patch // 2``) and its valid convolutions reduce it to one pixel: the hit's output.

Inference (:func:`run_view`): the view is zero-padded by ``radius`` (as the patches are zero outside the view)
and the convolutions run once over it, each layer computed only at the pixels that the hits' outputs depend on
(or, ``tile`` > 0, densely over the tiles that hold hits), the heads at the hit pixels only. A hit's output is
then the same computation as on its patch (tested to float tolerance).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from hepreco_lartpc.emtrkmichel_fcn_spec import EmTrkMichelFCNParams

__all__ = ["EmTrackMichelFCN", "build", "run_view"]


class EmTrackMichelFCN(nn.Module):
    """The fully convolutional EM/track/none + Michel network.

    Args:
        hp: channels and dilations of the 3 x 3 convolutions, the hidden width, dropout, ADC scale and clip.

    Shapes:
        - :meth:`forward`: ``(B, 1, P, P)`` ADC patches centred on hits (``P >= 2 radius + 1``) -> ``(B, 4)``
          logits: em, track, none (softmax over the three) and Michel (sigmoid), as LArSoft's network.
        - :meth:`features`: ``(B, 1, H, W)`` -> ``(B, C, H - 2 radius, W - 2 radius)``.
        - :meth:`head`: ``(N, C)`` features at N pixels -> ``(N, 4)`` logits.
    """

    def __init__(self, hp: EmTrkMichelFCNParams) -> None:
        super().__init__()
        self.hp = hp
        layers: list[nn.Module] = []
        c_in = 1
        for c, d in zip(hp.channels, hp.dilations, strict=True):
            layers += [nn.Conv2d(c_in, c, 3, dilation=d), nn.ReLU()]
            c_in = c
        self.trunk = nn.Sequential(*layers)
        self.hidden = nn.Linear(c_in, hp.hidden)
        self.drop = nn.Dropout(hp.dropout)
        self.em_trk_none = nn.Linear(hp.hidden, 3)
        self.michel = nn.Linear(hp.hidden, 1)

    @property
    def radius(self) -> int:
        return self.hp.radius

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """The ADC values as the network sees them: scaled and clipped (zero stays zero)."""
        return torch.clamp(x * self.hp.adc_scale, -self.hp.adc_clip, self.hp.adc_clip)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutions over ``(B, 1, H, W)`` raw ADC values (valid: the output is ``2 radius`` smaller)."""
        return self.trunk(self.prepare(x))

    def head(self, f: torch.Tensor) -> torch.Tensor:
        """The 1 x 1 layers on ``(N, C)`` features: ``(N, 4)`` logits."""
        h = self.drop(torch.relu(self.hidden(f)))
        return torch.cat([self.em_trk_none(h), self.michel(h)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, r = x.shape[-1], self.radius
        c = p // 2  # the hit pixel of a lartpc.HitPatches patch
        if x.shape[-2] != p or c - r < 0 or c + r >= p:
            msg = (
                f"patches of {tuple(x.shape[-2:])} pixels do not hold the receptive field of radius {r} at their centre"
            )
            raise ValueError(msg)
        f = self.features(x[..., c - r : c + r + 1, c - r : c + r + 1])  # (B, C, 1, 1)
        return self.head(f.flatten(1))


def build(hp: EmTrkMichelFCNParams) -> EmTrackMichelFCN:
    """The ``lartpc-emtrkmichel-fcn`` network for ``hp``.

    Examples:
        >>> net = build(EmTrkMichelFCNParams())
        >>> net(torch.zeros(2, 1, 48, 48)).shape, net.radius, sum(p.numel() for p in net.parameters())
        (torch.Size([2, 4]), 21, 11204)
    """
    return EmTrackMichelFCN(hp)


def _pieces(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, max(1, size)):
        yield start, min(n, start + max(1, size))


def _sparse(model: EmTrackMichelFCN, image: np.ndarray, rows: np.ndarray, cols: np.ndarray, chunk: int) -> torch.Tensor:
    """Every layer at the pixels the hits' outputs need, and nowhere else: going back from the hit pixels, a
    layer of dilation d needs its input at the 3 x 3 pixels d apart around each pixel it outputs (a mask dilated
    by a max-pool); going forward, each layer is one matrix product of the gathered 3 x 3 neighbourhoods
    ``(pixels, 9 C_in)`` with the kernel ``(9 C_in, C_out)``: the convolution's arithmetic at those pixels."""
    rad = model.radius
    dev = next(model.parameters()).device
    x = model.prepare(torch.from_numpy(np.pad(np.asarray(image, np.float32), rad)).to(dev))
    hp_, wp = x.shape
    convs = [m for m in model.trunk if isinstance(m, nn.Conv2d)]
    masks = [torch.zeros(hp_, wp, dtype=torch.bool, device=dev)]
    masks[0][torch.from_numpy(rows + rad).to(dev), torch.from_numpy(cols + rad).to(dev)] = True
    for conv in reversed(convs):  # the pixels each layer's input is needed at: the mask dilated by the kernel
        d, m = conv.dilation[0], masks[-1]
        wide = m.clone()
        wide[:, d:] |= m[:, :-d]
        wide[:, :-d] |= m[:, d:]
        tall = wide.clone()
        tall[d:] |= wide[:-d]
        tall[:-d] |= wide[d:]
        masks.append(tall)
    masks.reverse()  # masks[l]: where layer l's input is needed
    index = torch.full((hp_ * wp,), -1, dtype=torch.long, device=dev)
    where = torch.nonzero(masks[0].reshape(-1)).reshape(-1)
    feat = x.reshape(-1)[where][:, None]  # (pixels, 1)
    for layer, conv in enumerate(convs):
        index[where] = torch.arange(len(where), device=dev)
        d = conv.dilation[0]
        out_where = torch.nonzero(masks[layer + 1].reshape(-1)).reshape(-1)
        offs = torch.tensor([dy * d * wp + dx * d for dy in (-1, 0, 1) for dx in (-1, 0, 1)], device=dev)
        w = conv.weight.permute(2, 3, 1, 0).reshape(-1, conv.out_channels)  # (9 C_in, C_out), (ky, kx, c) order
        bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels, device=dev)
        out = torch.empty(len(out_where), conv.out_channels, device=dev, dtype=feat.dtype)
        for a in range(0, len(out_where), chunk):
            nb = index.index_select(0, (out_where[a : a + chunk, None] + offs).reshape(-1))  # rows of feat
            g = feat.index_select(0, nb).reshape(-1, 9 * feat.shape[1])
            out[a : a + chunk] = torch.relu(torch.addmm(bias, g, w))
        index[where] = -1
        feat, where = out, out_where
    index[where] = torch.arange(len(where), device=dev)
    return feat[index[torch.from_numpy((rows + rad) * wp + cols + rad).to(dev)]]


def run_view(
    model: EmTrackMichelFCN,
    image: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    tile: int = 0,
    tiles_per_pass: int = 8,
    chunk: int = 65536,
) -> np.ndarray:
    """The network's ``(N, 4)`` float32 logits for the hits at ``(rows, cols)`` of one view ``image``, in one
    pass of the convolutions over the view, computed where the hits need them.

    Args:
        model: an ``EmTrackMichelFCN`` in eval mode.
        image: ``(wires, columns)`` ADC image.
        rows, cols: the hits' pixels (``hepreco_lartpc.patches.hit_pixels``).
        tile: 0 (default): each layer at exactly the pixels the hits' outputs depend on (for sparse views such
            as a ProtoDUNE event's, a fraction of the view); else the side of square output tiles computed
            densely where they hold hits (each read with its ``radius`` margins).
        tiles_per_pass: tiles stacked into one convolution call (``tile`` > 0).
        chunk: pixels per gathered matrix product (``tile`` 0): bounds the memory.

    Examples:
        >>> net = build(EmTrkMichelFCNParams(patch=16, channels=(3, 4), dilations=(1, 2))).eval()
        >>> img = np.random.default_rng(1).normal(size=(30, 40)).astype(np.float32) * 1e4
        >>> r, c = np.array([0, 5, 29, 5]), np.array([39, 20, 0, 20])
        >>> from hepreco_lartpc.patches import extract_patches
        >>> with torch.no_grad():
        ...     ref = net(torch.from_numpy(extract_patches(img, r, c, 16))).numpy()
        >>> bool(np.allclose(run_view(net, img, r, c), ref, atol=1e-5))
        True
        >>> bool(np.allclose(run_view(net, img, r, c, tile=8), ref, atol=1e-5))
        True
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if len(rows) == 0:
        return np.zeros((0, 4), np.float32)
    if tile <= 0:
        with torch.inference_mode():
            f = _sparse(model, image, rows, cols, max(1, int(chunk)))
            return model.head(f).float().cpu().numpy()
    rad, t = model.radius, int(tile)
    tr, tc = rows // t, cols // t
    ntc = int(tc.max()) + 1
    key = tr * ntc + tc
    uniq, which = np.unique(key, return_inverse=True)
    which = which.reshape(-1)
    n_tr = int(tr.max()) + 1
    # the view zero-padded by the radius (as patches are zero outside it) and up to whole tiles
    padded = np.zeros((n_tr * t + 2 * rad, ntc * t + 2 * rad), np.float32)
    h, w = min(image.shape[0], n_tr * t), min(image.shape[1], ntc * t)
    padded[rad : rad + h, rad : rad + w] = image[:h, :w]
    dev = next(model.parameters()).device
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(uniq) + 1))
    out = torch.empty(len(rows), 4)
    side = t + 2 * rad
    with torch.inference_mode():
        for a, b in _pieces(len(uniq), tiles_per_pass):
            x = np.stack([padded[(k // ntc) * t : (k // ntc) * t + side, (k % ntc) * t : (k % ntc) * t + side]
                          for k in uniq[a:b].tolist()])  # fmt: skip
            f = model.features(torch.from_numpy(x[:, None]).to(dev))  # (T, C, tile, tile)
            sel = order[bounds[a] : bounds[b]]
            bi = torch.from_numpy(which[sel] - a)
            rr = torch.from_numpy(rows[sel] - tr[sel] * t)
            cc = torch.from_numpy(cols[sel] - tc[sel] * t)
            out[torch.from_numpy(sel)] = model.head(f[bi, :, rr, cc]).float().cpu()
    return out.numpy()
