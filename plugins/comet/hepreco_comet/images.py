"""This module defines the CDC hit imager: numba kernels that scatter hits into images, and the inverse maps.

Three layouts, each a lookup table from wire id to pixel (:func:`image_layout`):

- ``wire``: the talk's 71 x 71 wire-id image, wire ``w`` at row ``w // 71``, column ``w % 71`` (55 cells
  after wire 4985 are never used);
- ``xy``: the talk's 128 x 128 X-Y image, each hit at its wire's position on the downstream end plate
  (several wires can share a pixel);
- ``layercell``: 20 rows (layers) x 306 columns, a cell at column ``round(cell * 306 / n_cells)`` so that a
  column is one azimuth in every layer: real neighbourhoods.

Images have two channels, drift time and energy deposit, each greyscale-scaled to [0, 1] after dropping
hits with ``edep > edep_max`` (the talk's preprocessing). Where several hits share a pixel the pixel keeps
the earliest time and the summed deposit, its inverse map points to the earliest of them (its
*representative*), and the sharing is counted. ``hit_pixel`` maps every hit to its pixel, so a per-pixel
network output returns to the hits exactly (:func:`pixels_to_hits`).

:func:`make_images_numpy` is a pure-numpy reference (``np.minimum.at`` / ``np.add.at``) with the same
output; ``benchmarks/imager.py`` compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import numba as nb
import numpy as np

from hepreco_comet.geometry import CDCGeometry

__all__ = [
    "BAD_EDEP",
    "BAD_TIME",
    "BAD_WIRE",
    "CUT_EDEP",
    "LAYOUTS",
    "ImageLayout",
    "Images",
    "image_layout",
    "make_images",
    "make_images_numpy",
    "pixels_to_hits",
]

Layout = Literal["wire", "xy", "layercell"]
LAYOUTS: tuple[str, ...] = ("wire", "xy", "layercell")

#: per-hit status codes of :attr:`Images.status`
OK, BAD_WIRE, BAD_TIME, BAD_EDEP, CUT_EDEP = 0, 1, 2, 3, 4
STATUS_NAMES = {
    BAD_WIRE: "wire id outside the CDC",
    BAD_TIME: "NaN or negative drift time",
    BAD_EDEP: "NaN or negative energy deposit",
    CUT_EDEP: "edep above edep_max",
}


@dataclass(frozen=True, eq=False)
class ImageLayout:
    """Where each wire goes in an image.

    Attributes:
        name: ``wire``, ``xy`` or ``layercell``.
        shape: ``(height, width)``.
        wire_pixel: flat pixel index of every wire id (row-major).
        sense_mask: ``(height, width)`` bool, True where a read-out wire can put a hit.
    """

    name: str
    shape: tuple[int, int]
    wire_pixel: np.ndarray
    sense_mask: np.ndarray

    @property
    def n_pixels(self) -> int:
        return self.shape[0] * self.shape[1]


def _resolve(name: str) -> str:
    if name not in LAYOUTS:
        msg = f"unknown image layout '{name}': choose one of {', '.join(LAYOUTS)}"
        raise ValueError(msg)
    return name


@cache
def _layout(name: str, geometry: CDCGeometry, xy_size: int, wire_size: int) -> ImageLayout:
    geo = geometry
    wires = np.arange(geo.n_wires)
    layer, cell = geo.wire_layer, geo.wire_cell  # type: ignore[attr-defined]
    if name == "wire":
        if wire_size * wire_size < geo.n_wires:
            msg = f"a {wire_size}x{wire_size} image cannot hold {geo.n_wires} wires"
            raise ValueError(msg)
        shape = (wire_size, wire_size)
        pix = wires.astype(np.int64)
    elif name == "xy":
        shape = (xy_size, xy_size)
        x, y = geo.endplate_xy(wires)
        half = float(geo.radius.max()) + 1.0
        col = np.clip(np.floor((x + half) / (2 * half) * xy_size), 0, xy_size - 1).astype(np.int64)
        row = np.clip(np.floor((y + half) / (2 * half) * xy_size), 0, xy_size - 1).astype(np.int64)
        pix = row * xy_size + col
    else:
        width = geo.max_cells
        shape = (geo.n_layers, width)
        col = np.floor(cell * width / geo.n_cells[layer] + 0.5).astype(np.int64) % width
        pix = layer * width + col
    mask = np.zeros(shape[0] * shape[1], dtype=bool)
    mask[pix[geo.sense_wire_mask]] = True
    pix.flags.writeable = False
    mask = mask.reshape(shape)
    mask.flags.writeable = False
    return ImageLayout(name=name, shape=shape, wire_pixel=pix, sense_mask=mask)


def image_layout(
    name: Layout | str = "wire", geometry: CDCGeometry | None = None, *, xy_size: int = 128, wire_size: int = 71
) -> ImageLayout:
    """The layout ``name`` for ``geometry`` (cached).

    Examples:
        >>> lay = image_layout("wire")
        >>> lay.shape, int(lay.sense_mask.sum())
        ((71, 71), 4482)
        >>> image_layout("layercell").shape
        (20, 306)
    """
    return _layout(_resolve(name), geometry or _default_geometry(), xy_size, wire_size)


@cache
def _default_geometry() -> CDCGeometry:
    return CDCGeometry()


@dataclass(frozen=True, eq=False)
class Images:
    """What :func:`make_images` returns, for ``n`` events of an ``(H, W)`` layout.

    Attributes:
        image: ``(n, 2, H, W)`` float32; channel 0 drift time, channel 1 energy deposit, in [0, 1].
        pixel_hit: ``(n, H, W)`` int32: index within its event of the pixel's representative hit, -1
            for an empty pixel (empty array when not requested).
        hit_pixel: per hit (flat, like the input) int32: its flat pixel index, -1 when dropped.
        status: per hit int8: 0 imaged, else a code of :data:`STATUS_NAMES`.
        n_shared: per event: hits that landed on a pixel already holding a hit.
        target_signal: ``(n, H, W)`` uint8: 1 where the representative hit is signal (when truth given).
        target_turn: ``(n, H, W)`` uint8: 0 background, 1 first-turn signal, 2 later-turn signal.
    """

    image: np.ndarray
    pixel_hit: np.ndarray
    hit_pixel: np.ndarray
    status: np.ndarray
    n_shared: np.ndarray
    target_signal: np.ndarray
    target_turn: np.ndarray


def _check_inputs(
    offsets: np.ndarray, wire: np.ndarray, drift_time: np.ndarray, edep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    n = wire.shape[0]
    if drift_time.shape[0] != n or edep.shape[0] != n or offsets[-1] != n or offsets[0] != 0:
        msg = (
            f"inconsistent hit arrays: {n} wires, {drift_time.shape[0]} times, {edep.shape[0]} deposits, "
            f"offsets from {offsets[0]} to {offsets[-1]}"
        )
        raise ValueError(msg)
    return (
        offsets,
        np.ascontiguousarray(wire, dtype=np.int64),
        np.ascontiguousarray(drift_time, dtype=np.float32),
        np.ascontiguousarray(edep, dtype=np.float32),
    )


@nb.njit(cache=True)
def _image_kernel(
    offsets: np.ndarray,
    wire: np.ndarray,
    time: np.ndarray,
    edep: np.ndarray,
    is_signal: np.ndarray,
    turn: np.ndarray,
    wire_pixel: np.ndarray,
    n_pixels: int,
    edep_max: float,
    time_scale: float,
    edep_scale: float,
    want_targets: bool,
    image: np.ndarray,
    pixel_hit: np.ndarray,
    t_sig: np.ndarray,
    t_turn: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # image (n, 2, P) zeros, pixel_hit (n or 0, P) -1, t_sig/t_turn (n or 0, P) zeros: allocated by the caller
    # with numpy, whose large arrays get transparent huge pages (numba's allocator does not ask for them: a
    # 128x128 layout's outputs then cost one page fault per 4 kB, most of the kernel's time)
    n_events = offsets.shape[0] - 1
    n_hits = wire.shape[0]
    n_wires = wire_pixel.shape[0]
    n_ph = pixel_hit.shape[0]
    hit_pixel = np.full(n_hits, -1, dtype=np.int32)
    status = np.zeros(n_hits, dtype=np.int8)
    n_shared = np.zeros(n_events, dtype=np.int64)
    inv_t = np.float32(1.0 / time_scale)
    inv_e = np.float32(1.0 / edep_scale)
    one = np.float32(1.0)
    # per event: raw earliest time and summed deposit of the touched pixels, reset after use
    raw_t = np.full(n_pixels, np.inf, dtype=np.float32)
    raw_e = np.zeros(n_pixels, dtype=np.float32)
    first = np.full(n_pixels, -1, dtype=np.int64)
    touched = np.empty(n_pixels, dtype=np.int64)
    for ev in range(n_events):
        o0 = offsets[ev]
        n_touched = 0
        for i in range(o0, offsets[ev + 1]):
            w = wire[i]
            if w < 0 or w >= n_wires:
                status[i] = 1
                continue
            t = time[i]
            e = edep[i]
            if not t >= 0.0:
                status[i] = 2
                continue
            if not e >= 0.0:
                status[i] = 3
                continue
            if e > edep_max:
                status[i] = 4
                continue
            p = wire_pixel[w]
            hit_pixel[i] = p
            if first[p] < 0:
                touched[n_touched] = p
                n_touched += 1
                first[p] = i
                raw_t[p] = t
                raw_e[p] = e
            else:
                n_shared[ev] += 1
                raw_e[p] += e
                if t < raw_t[p]:
                    raw_t[p] = t
                    first[p] = i
        for k in range(n_touched):
            p = touched[k]
            image[ev, 0, p] = min(raw_t[p] * inv_t, one)
            image[ev, 1, p] = min(raw_e[p] * inv_e, one)
            i = first[p]
            if n_ph > 0:
                pixel_hit[ev, p] = i - o0
            if want_targets and is_signal[i]:
                t_sig[ev, p] = 1
                t_turn[ev, p] = 1 if turn[i] <= 1 else 2
            raw_t[p] = np.inf
            raw_e[p] = 0.0
            first[p] = -1
    return hit_pixel, status, n_shared


@nb.njit(cache=True)
def _zeros_image(n: int, n_pixels: int) -> np.ndarray:
    return np.zeros((n, 2, n_pixels), dtype=np.float32)


def make_images(
    offsets: np.ndarray,
    wire: np.ndarray,
    drift_time: np.ndarray,
    edep: np.ndarray,
    layout: ImageLayout | str = "wire",
    *,
    edep_max: float | None = 255.0,
    time_scale: float = 1170.0,
    edep_scale: float | None = None,
    is_signal: np.ndarray | None = None,
    turn: np.ndarray | None = None,
    pixel_hit: bool = True,
) -> Images:
    """Scatter the hits of many events into images (numba).

    Args:
        offsets: ``n_events + 1`` offsets of each event's hits in the flat arrays.
        wire, drift_time, edep: flat per-hit arrays.
        layout: an :class:`ImageLayout` or its name.
        edep_max: drop hits with a larger deposit (None keeps all).
        time_scale: drift time mapped to 1 (larger times are clipped to 1).
        edep_scale: deposit mapped to 1 (default: ``edep_max``, or 255 when that is None).
        is_signal, turn: per-hit truth; when given, the per-pixel targets are filled.
        pixel_hit: also build the pixel -> hit inverse map.

    Returns:
        The :class:`Images`.

    Examples:
        >>> out = make_images(np.array([0, 2]), np.array([0, 72]), np.array([117.0, 0.0]), np.array([10.0, 300.0]))
        >>> out.image.shape, round(float(out.image[0, 0, 0, 0]), 6), out.status.tolist()
        ((1, 2, 71, 71), 0.1, [0, 4])
    """
    lay = layout if isinstance(layout, ImageLayout) else image_layout(layout)
    offsets, wire, drift_time, edep = _check_inputs(offsets, wire, drift_time, edep)
    want_targets = is_signal is not None and turn is not None
    sig = np.ascontiguousarray(is_signal, dtype=np.bool_) if want_targets else np.zeros(0, dtype=np.bool_)
    trn = np.ascontiguousarray(turn, dtype=np.int32) if want_targets else np.zeros(0, dtype=np.int32)
    emax = np.inf if edep_max is None else float(edep_max)
    escale = float(edep_scale if edep_scale is not None else (edep_max if edep_max is not None else 255.0))
    if time_scale <= 0 or escale <= 0:
        msg = f"time_scale and edep_scale must be positive, got {time_scale} and {escale}"
        raise ValueError(msg)
    n = offsets.shape[0] - 1
    h, w = lay.shape
    n_px = lay.n_pixels
    dense = pixel_hit or want_targets
    # with the inverse map or targets, numpy's allocation (huge pages) measured faster; for the image alone,
    # written sparsely, numba's (see the plugin README's Speed)
    image = np.zeros((n, 2, n_px), dtype=np.float32) if dense else _zeros_image(n, n_px)
    ph = np.full((n if pixel_hit or want_targets else 0, n_px), -1, dtype=np.int32)
    tsig = np.zeros((n if want_targets else 0, n_px), dtype=np.uint8)
    tturn = np.zeros_like(tsig)
    hp, status, shared = _image_kernel(
        offsets, wire, drift_time, edep, sig, trn, lay.wire_pixel, n_px,
        emax, float(time_scale), escale, want_targets, image, ph, tsig, tturn,
    )  # fmt: skip
    return Images(
        image=image.reshape(n, 2, h, w),
        pixel_hit=ph.reshape(n, h, w) if pixel_hit else np.zeros((0, h, w), dtype=np.int32),
        hit_pixel=hp,
        status=status,
        n_shared=shared,
        target_signal=tsig.reshape(-1, h, w),
        target_turn=tturn.reshape(-1, h, w),
    )


def make_images_numpy(
    offsets: np.ndarray,
    wire: np.ndarray,
    drift_time: np.ndarray,
    edep: np.ndarray,
    layout: ImageLayout | str = "wire",
    *,
    edep_max: float | None = 255.0,
    time_scale: float = 1170.0,
    edep_scale: float | None = None,
    is_signal: np.ndarray | None = None,
    turn: np.ndarray | None = None,
    pixel_hit: bool = True,
) -> Images:
    """The same as :func:`make_images` in vectorised numpy (``np.minimum.at``, ``np.add.at``): the
    reference the numba kernel is tested and benchmarked against."""
    lay = layout if isinstance(layout, ImageLayout) else image_layout(layout)
    offsets, wire, drift_time, edep = _check_inputs(offsets, wire, drift_time, edep)
    n = offsets.shape[0] - 1
    npix = lay.n_pixels
    emax = np.inf if edep_max is None else float(edep_max)
    escale = float(edep_scale if edep_scale is not None else (edep_max if edep_max is not None else 255.0))
    n_wires = lay.wire_pixel.shape[0]
    status = np.zeros(wire.shape[0], dtype=np.int8)
    bad_wire = (wire < 0) | (wire >= n_wires)
    bad_time = ~bad_wire & ~(drift_time >= 0)
    bad_edep = ~bad_wire & ~bad_time & ~(edep >= 0)
    cut = ~bad_wire & ~bad_time & ~bad_edep & (edep > emax)
    status[bad_wire], status[bad_time], status[bad_edep], status[cut] = BAD_WIRE, BAD_TIME, BAD_EDEP, CUT_EDEP
    ok = status == OK
    event = np.repeat(np.arange(n), np.diff(offsets))
    idx = np.flatnonzero(ok)
    pix = lay.wire_pixel[wire[idx]]
    flat = event[idx] * npix + pix
    hit_pixel = np.full(wire.shape[0], -1, dtype=np.int32)
    hit_pixel[idx] = pix
    raw_t = np.full(n * npix, np.inf, dtype=np.float32)
    np.minimum.at(raw_t, flat, drift_time[idx])
    raw_e = np.zeros(n * npix, dtype=np.float32)
    np.add.at(raw_e, flat, edep[idx])
    filled = np.isfinite(raw_t)
    image = np.zeros((n, 2, npix), dtype=np.float32)
    image[:, 0] = np.where(filled, np.minimum(raw_t * np.float32(1.0 / time_scale), 1), 0).reshape(n, npix)
    image[:, 1] = np.minimum(raw_e * np.float32(1.0 / escale), 1).reshape(n, npix)
    # representative: the earliest hit of each pixel, the first in input order among equal times
    order = np.lexsort((idx, drift_time[idx], flat))
    uniq, first = np.unique(flat[order], return_index=True)
    rep = idx[order[first]]
    counts = np.bincount(event[idx], minlength=n)
    pixels_per_event = np.bincount(uniq // npix, minlength=n)
    ph = np.full(n * npix, -1, dtype=np.int32)
    ph[uniq] = rep - offsets[uniq // npix]
    h, w = lay.shape
    want_targets = is_signal is not None and turn is not None
    if want_targets:
        sig = np.asarray(is_signal, dtype=bool)[rep]
        trn = np.asarray(turn)[rep]
        tsig = np.zeros(n * npix, dtype=np.uint8)
        tturn = np.zeros(n * npix, dtype=np.uint8)
        tsig[uniq] = sig
        tturn[uniq] = np.where(sig, np.where(trn <= 1, 1, 2), 0)
    else:
        tsig = tturn = np.zeros(0, dtype=np.uint8)
    return Images(
        image=image.reshape(n, 2, h, w),
        pixel_hit=ph.reshape(n, h, w) if pixel_hit else np.zeros((0, h, w), dtype=np.int32),
        hit_pixel=hit_pixel,
        status=status,
        n_shared=(counts - pixels_per_event).astype(np.int64),
        target_signal=tsig.reshape(-1, h, w),
        target_turn=tturn.reshape(-1, h, w),
    )


@nb.njit(cache=True)
def _gather(values: np.ndarray, offsets: np.ndarray, hit_pixel: np.ndarray, fill: float) -> np.ndarray:
    out = np.empty(hit_pixel.shape[0], dtype=values.dtype)
    for ev in range(offsets.shape[0] - 1):
        for i in range(offsets[ev], offsets[ev + 1]):
            p = hit_pixel[i]
            out[i] = values[ev, p] if p >= 0 else fill
    return out


def pixels_to_hits(values: np.ndarray, offsets: np.ndarray, hit_pixel: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Return a per-pixel array ``(n, H, W)`` (e.g. a network's scores) to the hits: every hit gets the
    value of its pixel, ``fill`` where it was not imaged. Flat per hit, like ``hit_pixel``.

    Examples:
        >>> scores = np.zeros((1, 71, 71)); scores[0, 1, 1] = 0.9
        >>> pixels_to_hits(scores, np.array([0, 2]), np.array([72, -1], dtype=np.int32)).tolist()
        [0.9, nan]
    """
    v = np.asarray(values)
    n = v.shape[0]
    v2 = np.ascontiguousarray(v.reshape(n, -1))
    if v2.dtype.kind != "f":
        v2 = v2.astype(np.float64)
    return _gather(v2, np.ascontiguousarray(offsets, dtype=np.int64), np.ascontiguousarray(hit_pixel), fill)
