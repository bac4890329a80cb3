"""This module runs the EM/track/Michel CNN over the hits of one view image in five ways that give the same
scores (to float rounding): ``patch``, ``batched``, ``shared``, ``dense`` and ``auto``.

- ``patch``: one 48 x 48 patch at a time through the network, as LArSoft's C++ ``EmTrackMichelId`` did.
- ``batched``: every hit's patch cut out, then the network on ``batch_size`` patches per forward pass.
- ``shared``: the 5 x 5 convolution (and its ReLU) once over the view, as the seed's talk asks ("feature maps
  should be done once per event, not redone for each patch"), channels-last; the dense layers on the
  44 x 44 x 48 windows of the feature map gathered at the hit positions only (each window 44 runs of 44 x 48
  contiguous values; the first dense layer's weight permuted to that order once).
- ``dense``: the network fully convolutional over the occupied part of the view: the first dense layer is a
  44 x 44 x 48 -> 128 correlation over the feature map, computed with FFTs on ``fft`` x ``fft`` blocks
  (overlap-save) that hold hits, so a pixel costs ~48 x 128 complex multiply-adds per frequency instead of the
  ~12 M multiply-adds of a direct 44 x 44 convolution; the layers after it at the hit positions only.
- ``auto``: per view, ``dense`` when the view's occupied blocks hold at least ``hits_per_block`` hits on
  average, else ``shared``.

``shared``, ``dense`` and ``auto`` score each occupied pixel once: hits in one pixel (one wire, the same six
ticks) have the same patch, hence the same scores. ``patch`` and ``batched`` run every hit, as LArSoft did.

Every function takes the network (:class:`~hepreco_lartpc.emtrkmichel.EmTrackMichelNet`, eval mode, on its
device), one image ``(wires, columns)`` and the hits' pixels, and returns ``(N, 4)`` float32 logits
(em, track, none, Michel); :func:`hepreco_lartpc.emtrkmichel.scores` turns them into probabilities.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from hepreco_lartpc.patches import extract_patches, pad_image

__all__ = ["MODES", "auto_choice", "run_view"]

MODES = ("patch", "batched", "shared", "dense", "auto")


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _pieces(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, max(1, size)):
        yield start, min(n, start + max(1, size))


def _patch(model: Any, image: np.ndarray, rows: np.ndarray, cols: np.ndarray, **_: Any) -> torch.Tensor:
    size = model.hp.patch
    padded = pad_image(image, size)
    dev = _device(model)
    outs = [
        model(torch.from_numpy(extract_patches(padded, rows[i : i + 1], cols[i : i + 1], size, padded=True)).to(dev))
        for i in range(len(rows))
    ]
    return torch.cat(outs)


def _batched(
    model: Any, image: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, batch_size: int, **_: Any
) -> torch.Tensor:
    size = model.hp.patch
    padded = pad_image(image, size)
    dev = _device(model)
    outs = []
    for a, b in _pieces(len(rows), batch_size):
        x = torch.from_numpy(extract_patches(padded, rows[a:b], cols[a:b], size, padded=True)).to(dev)
        outs.append(model(x))
    return torch.cat(outs)


def _conv_view(model: Any, x: torch.Tensor) -> torch.Tensor:
    """``model.features`` over one large single-channel image ``(H, W)`` as one matrix product: the 5 x 5 valid
    convolution of one input channel is ``W (filters x 25) @ im2col (25 x pixels)``, several times faster here
    than ``conv2d`` with a single input channel (equal to float rounding)."""
    conv = model.conv
    k = conv.kernel_size[0]
    x = model.prepare(x)
    h, w = x.shape[0] - k + 1, x.shape[1] - k + 1
    cols = torch.stack([x[u : u + h, v : v + w] for u in range(k) for v in range(k)]).reshape(k * k, h * w)
    out = torch.addmm(conv.bias[:, None], conv.weight.reshape(conv.out_channels, k * k), cols)
    return torch.relu(out).reshape(conv.out_channels, h, w)


def _feature_map(model: Any, image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[torch.Tensor, int, int]:
    """The convolution's output over the hits' bounding box (with the patch margins): ``(filters, H, W)`` and
    the padded-image offsets ``(r0, c0)`` of its corner; a hit's window is ``fmap[:, r - r0 : +44, c - c0 : +44]``."""
    size = model.hp.patch
    padded = pad_image(image, size)
    r0, r1 = int(rows.min()), int(rows.max()) + size
    c0, c1 = int(cols.min()), int(cols.max()) + size
    x = torch.from_numpy(np.ascontiguousarray(padded[r0:r1, c0:c1])).to(_device(model))
    if model.conv.in_channels == 1 and model.conv.kernel_size[0] == model.conv.kernel_size[1]:
        return _conv_view(model, x), r0, c0
    return model.features(x[None, None])[0], r0, c0


def _features_hwc(model: Any, image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[torch.Tensor, int, int]:
    """As :func:`_feature_map` but channels-last, ``(H, W, filters)``: the im2col product written as
    ``im2col^T (pixels x 25) @ W^T (25 x filters)`` gives that layout directly."""
    size = model.hp.patch
    padded = pad_image(image, size)
    r0, r1 = int(rows.min()), int(rows.max()) + size
    c0, c1 = int(cols.min()), int(cols.max()) + size
    x = model.prepare(torch.from_numpy(np.ascontiguousarray(padded[r0:r1, c0:c1])).to(_device(model)))
    conv = model.conv
    k = conv.kernel_size[0]
    h, w = x.shape[0] - k + 1, x.shape[1] - k + 1
    cols_ = torch.stack([x[u : u + h, v : v + w] for u in range(k) for v in range(k)], dim=-1).reshape(h * w, k * k)
    out = torch.addmm(conv.bias[None, :], cols_, conv.weight.reshape(conv.out_channels, k * k).t())
    return torch.relu(out).reshape(h, w, conv.out_channels), r0, c0


_DENSE1_HWC: dict[tuple[int, str], torch.Tensor] = {}


def _dense1_hwc(model: Any) -> torch.Tensor:
    """The first dense layer's weight with its inputs in (row, column, filter) order, ``(dense1, win*win*filters)``:
    it multiplies windows gathered from a channels-last feature map (cached per network)."""
    w = model.dense1.weight
    key = (id(model), str(w.device))
    got = _DENSE1_HWC.get(key)
    if got is None or got.shape != w.shape:
        hp = model.hp
        got = w.detach().reshape(hp.dense1, hp.filters, hp.window, hp.window).permute(0, 2, 3, 1).reshape(hp.dense1, -1)
        _DENSE1_HWC.clear()
        _DENSE1_HWC[key] = got = got.contiguous()
    return got


def _shared(
    model: Any, image: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, batch_size: int, **_: Any
) -> torch.Tensor:
    if model.conv.in_channels != 1 or model.conv.kernel_size[0] != model.conv.kernel_size[1]:
        fmap, r0, c0 = _feature_map(model, image, rows, cols)
        fmap = fmap.permute(1, 2, 0).contiguous()
    else:
        fmap, r0, c0 = _features_hwc(model, image, rows, cols)
    h, w, c = fmap.shape
    win = model.hp.window
    # every window as a strided view (rows, columns, win, win * filters): a window is win runs of
    # win * filters contiguous values, gathered by indexing the first two axes
    view = fmap.as_strided((h - win + 1, w - win + 1, win, win * c), (w * c, c, w * c, 1))
    weight = _dense1_hwc(model)
    r = torch.from_numpy(rows - r0).to(fmap.device)
    q = torch.from_numpy(cols - c0).to(fmap.device)
    outs = []
    for a, b in _pieces(len(rows), batch_size):
        x = view[r[a:b], q[a:b]].reshape(b - a, -1)
        outs.append(model.after_dense1(x @ weight.t().to(x.dtype)))
    return torch.cat(outs)


_SPECTRA: dict[tuple[int, int, str], torch.Tensor] = {}


def _kernel_spectrum(model: Any, fft: int) -> torch.Tensor:
    """``conj(rfft2(W1))`` of the first dense layer seen as a (dense1, filters, win, win) kernel, laid out
    ``(bins, filters, dense1)``; cached per network and block size."""
    w = model.dense1.weight
    key = (id(model), fft, str(w.device))
    got = _SPECTRA.get(key)
    if got is not None and got.shape[1] == model.hp.filters:
        return got
    hp = model.hp
    kern = w.detach().float().reshape(hp.dense1, hp.filters, hp.window, hp.window)
    spec = torch.conj(torch.fft.rfft2(kern, s=(fft, fft)))  # (dense1, filters, fft, fft//2+1)
    spec = spec.reshape(hp.dense1, hp.filters, -1).permute(2, 1, 0).contiguous()  # (bins, filters, dense1)
    _SPECTRA.clear()  # one network's spectra at a time: they are large (409 MB at fft 128)
    _SPECTRA[key] = spec
    return spec


def _blocks(rows: np.ndarray, cols: np.ndarray, out_side: int) -> tuple[np.ndarray, np.ndarray]:
    """The occupied output blocks ``(n_blocks, 2)`` (block row, block column) and each hit's block index."""
    br, bc = rows // out_side, cols // out_side
    keys = br * (int(bc.max()) + 1) + bc
    uniq, inv = np.unique(keys, return_inverse=True)
    nb = int(bc.max()) + 1
    return np.stack([uniq // nb, uniq % nb], axis=1), inv


def _dense(model: Any, image: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, fft: int, blocks_per_pass: int,
           **_: Any) -> torch.Tensor:  # fmt: skip
    hp = model.hp
    win = hp.window
    out_side = fft - win + 1
    if out_side < 1:
        msg = f"dense mode: fft {fft} must exceed the window {win}"
        raise ValueError(msg)
    fmap, r0, c0 = _feature_map(model, image, rows, cols)
    lr, lc = rows - r0, cols - c0  # hit positions in feature-map coordinates
    blocks, which = _blocks(lr, lc, out_side)
    need_r = int(blocks[:, 0].max()) * out_side + fft
    need_c = int(blocks[:, 1].max()) * out_side + fft
    fmap = torch.nn.functional.pad(fmap, (0, max(0, need_c - fmap.shape[2]), 0, max(0, need_r - fmap.shape[1])))
    spec = _kernel_spectrum(model, fft)
    h = torch.empty(len(rows), hp.dense1, device=fmap.device)
    for a, b in _pieces(len(blocks), blocks_per_pass):
        tiles = torch.stack([fmap[:, br * out_side : br * out_side + fft, bc * out_side : bc * out_side + fft]
                             for br, bc in blocks[a:b].tolist()])  # fmt: skip
        x = torch.fft.rfft2(tiles)  # (T, filters, fft, fft//2+1)
        t = x.shape[0]
        xb = x.reshape(t, hp.filters, -1).permute(2, 0, 1)  # (bins, T, filters)
        yb = torch.matmul(xb, spec)  # (bins, T, dense1)
        y = torch.fft.irfft2(yb.permute(1, 2, 0).reshape(t, hp.dense1, fft, fft // 2 + 1), s=(fft, fft))
        sel = np.flatnonzero((which >= a) & (which < b))
        bi = torch.from_numpy(which[sel] - a)
        rr = torch.from_numpy(lr[sel] - blocks[which[sel], 0] * out_side)
        cc = torch.from_numpy(lc[sel] - blocks[which[sel], 1] * out_side)
        h[torch.from_numpy(sel)] = y[bi, :, rr, cc]
    return model.after_dense1(h)


def auto_choice(rows: np.ndarray, cols: np.ndarray, *, fft: int, window: int, hits_per_block: float) -> str:
    """``dense`` when the hits fill their occupied ``fft``-blocks with at least ``hits_per_block`` hits on
    average, else ``shared``.

    Examples:
        >>> r = np.arange(200) % 10
        >>> auto_choice(r, r, fft=128, window=44, hits_per_block=50), auto_choice(r[:20], r[:20], fft=128, window=44, hits_per_block=50)
        ('dense', 'shared')
    """
    if len(rows) == 0:
        return "shared"
    blocks, _ = _blocks(np.asarray(rows), np.asarray(cols), fft - window + 1)
    return "dense" if len(rows) / len(blocks) >= hits_per_block else "shared"


_RUN = {"patch": _patch, "batched": _batched, "shared": _shared, "dense": _dense}


def run_view(
    model: Any,
    image: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    mode: str = "auto",
    *,
    batch_size: int = 256,
    fft: int = 128,
    blocks_per_pass: int = 8,
    hits_per_block: float = 150.0,
    autocast: contextlib.AbstractContextManager[Any] | None = None,
) -> tuple[np.ndarray, str]:
    """The network's ``(N, 4)`` logits for the hits at ``(rows, cols)`` of one view ``image`` and the mode used.

    Args:
        model: an ``EmTrackMichelNet`` in eval mode.
        image: ``(wires, columns)`` ADC image.
        rows, cols: the hits' pixels (``hepreco_lartpc.patches.hit_pixels``).
        mode: one of :data:`MODES`.
        batch_size: patches (``batched``) or windows (``shared``) per forward pass.
        fft: ``dense``: the FFT block side (its output blocks are ``fft - 43`` pixels wide).
        blocks_per_pass: ``dense``: blocks transformed together (memory: ~20 MB each at fft 128).
        hits_per_block: ``auto``: the average hits per occupied block above which ``dense`` is used.
        autocast: a context (mixed precision on a GPU) for the convolution and the dense layers; the FFTs of
            ``dense`` always run in float32.

    Examples:
        >>> from hepreco_lartpc.emtrkmichel import build
        >>> from hepreco_lartpc.emtrkmichel_spec import EmTrkMichelParams
        >>> net = build(EmTrkMichelParams(patch=16, filters=4, dense1=8, dense2=4)).eval()
        >>> img = np.random.default_rng(1).normal(size=(30, 40)).astype(np.float32) * 1e4
        >>> r, c = np.array([0, 5, 29]), np.array([39, 20, 0])
        >>> a = run_view(net, img, r, c, "patch")[0]
        >>> all(np.allclose(a, run_view(net, img, r, c, m, fft=24)[0], atol=1e-5) for m in MODES)
        True
    """
    if mode not in MODES:
        msg = f"unknown mode {mode!r}; choose one of {', '.join(MODES)}"
        raise ValueError(msg)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if len(rows) == 0:
        return np.zeros((0, 4), np.float32), mode
    inverse = None
    if mode in ("shared", "dense", "auto"):  # hits in one pixel have one patch: score each pixel once
        key = rows * (int(cols.max()) + 1) + cols
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        if len(uniq) < len(key):
            rows, cols = rows[first], cols[first]
        else:
            inverse = None
    if mode == "auto":
        mode = auto_choice(rows, cols, fft=fft, window=model.hp.window, hits_per_block=hits_per_block)
    ctx = autocast if autocast is not None and mode != "dense" else contextlib.nullcontext()
    with torch.inference_mode(), ctx:
        out = _RUN[mode](model, image, rows, cols, batch_size=batch_size, fft=fft, blocks_per_pass=blocks_per_pass)
    logits = out.float().cpu().numpy()
    return (logits if inverse is None else logits[inverse.reshape(-1)]), mode
