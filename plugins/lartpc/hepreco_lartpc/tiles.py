"""This module makes Pandora's U-Net images: per view, hits binned in (drift x, wire coordinate w) pixels
into square tiles laid over the hit region, with the pixel -> hit map and the truth image. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tiles", "make_tiles", "pixels_to_hits"]


@dataclass
class Tiles:
    """The tiles of a batch of events.

    Attributes:
        image: ``(T, 1, N, N)`` float32, charge per pixel divided by the tile's largest pixel charge
            (rows: w, columns: x).
        truth: ``(T, N, N)`` uint8, the class of the pixel's largest-charge hit (0 null, 1 shower, 2 track);
            None without labels.
        counts: tiles per event.
        view, x0, w0: per tile, its view and the (x, w) of its corner (cm); ``hits`` its number of hits.
        hit_tile: per hit (flat), the index of its tile within its event, -1 when not imaged.
        hit_pixel: per hit, its flat pixel index ``row * N + column`` in that tile, -1 when not imaged.
    """

    image: np.ndarray
    truth: np.ndarray | None
    counts: np.ndarray
    view: np.ndarray
    x0: np.ndarray
    w0: np.ndarray
    hits: np.ndarray
    hit_tile: np.ndarray
    hit_pixel: np.ndarray


def make_tiles(
    offsets: np.ndarray,
    view: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    charge: np.ndarray,
    label: np.ndarray | None = None,
    *,
    size: int = 256,
    pixel: float = 0.5,
    min_hits: int = 1,
    n_views: int = 3,
) -> Tiles:
    """Bin flat hits (events by ``offsets``) into ``size`` x ``size`` tiles of ``pixel`` cm per view.

    The tile grid of a view starts at the smallest x and w of the event's hits in that view; a tile is made
    where it holds at least ``min_hits`` hits (others' hits get tile -1). Pandora's images are 256 x 256
    pixels of 0.5 cm (128 cm tiles).

    Examples:
        >>> t = make_tiles(np.array([0, 3]), np.array([2, 2, 2]), np.array([0.0, 0.2, 70.0]),
        ...                np.array([0.0, 0.7, 1.0]), np.array([1.0, 3.0, 2.0]), np.array([2, 2, 1]), size=128)
        >>> t.counts.tolist(), t.hit_tile.tolist(), t.hit_pixel.tolist(), float(t.image.max())
        ([2], [0, 0, 1], [0, 128, 268], 1.0)
    """
    n_hits = len(view)
    n_ev = len(offsets) - 1
    ev = np.repeat(np.arange(n_ev), np.diff(offsets))
    view = np.asarray(view, dtype=np.int64)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    span = size * pixel
    key_ev_view = ev * n_views + view
    # origin of each (event, view): the smallest x and w of its hits
    n_keys = n_ev * n_views
    xmin = np.full(n_keys, np.inf)
    wmin = np.full(n_keys, np.inf)
    np.minimum.at(xmin, key_ev_view, x)
    np.minimum.at(wmin, key_ev_view, w)
    ox = xmin[key_ev_view]
    ow = wmin[key_ev_view]
    tx = np.floor((x - ox) / span).astype(np.int64)
    tw = np.floor((w - ow) / span).astype(np.int64)
    px = np.clip(np.floor((x - ox - tx * span) / pixel).astype(np.int64), 0, size - 1)
    pw = np.clip(np.floor((w - ow - tw * span) / pixel).astype(np.int64), 0, size - 1)
    big = int(max(tx.max(initial=0), tw.max(initial=0))) + 1
    tile_key = (key_ev_view * big + tx) * big + tw
    uniq, inverse, n_in = np.unique(tile_key, return_inverse=True, return_counts=True)
    keep = n_in >= min_hits
    # tiles in (event, view, tx, tw) order; index within the event
    kept_keys = uniq[keep]
    new_index = np.full(len(uniq), -1, dtype=np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    tile_of_hit = new_index[inverse] if n_hits else np.zeros(0, np.int64)
    t_ev = kept_keys // (n_views * big * big)
    counts = np.bincount(t_ev, minlength=n_ev).astype(np.int64)
    first = np.zeros(n_ev + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    n_tiles = len(kept_keys)
    t_view = (kept_keys // (big * big)) % n_views
    t_tx = (kept_keys // big) % big
    t_tw = kept_keys % big
    t_key_ev_view = kept_keys // (big * big)
    x0 = xmin[t_key_ev_view] + t_tx * span if n_tiles else np.zeros(0)
    w0 = wmin[t_key_ev_view] + t_tw * span if n_tiles else np.zeros(0)

    imaged = tile_of_hit >= 0
    pix = pw * size + px
    flat = tile_of_hit * size * size + pix
    image = np.zeros(n_tiles * size * size, dtype=np.float64)
    np.add.at(image, flat[imaged], np.asarray(charge, dtype=np.float64)[imaged])
    image = image.reshape(n_tiles, size * size)
    peak = image.max(axis=1, initial=0.0)
    image = (image / np.where(peak > 0, peak, 1.0)[:, None]).astype(np.float32).reshape(n_tiles, 1, size, size)
    truth = None
    if label is not None:
        lab = np.asarray(label, dtype=np.int64)
        per_class = np.zeros((n_tiles * size * size, 3))
        np.add.at(per_class, (flat[imaged], lab[imaged]), np.asarray(charge, dtype=np.float64)[imaged] + 1e-9)
        occupied = per_class.sum(axis=1) > 0
        truth = np.where(occupied, np.argmax(per_class, axis=1), 0).astype(np.uint8).reshape(n_tiles, size, size)
    hit_tile = np.where(imaged, tile_of_hit - first[ev] if n_hits else tile_of_hit, -1)
    hit_pixel = np.where(imaged, pix, -1)
    n_hits_tile = np.bincount(tile_of_hit[imaged], minlength=n_tiles)
    return Tiles(
        image=image,
        truth=truth,
        counts=counts,
        view=t_view.astype(np.int8),
        x0=x0.astype(np.float32),
        w0=w0.astype(np.float32),
        hits=n_hits_tile.astype(np.int32),
        hit_tile=hit_tile.astype(np.int32),
        hit_pixel=hit_pixel.astype(np.int32),
    )


def pixels_to_hits(per_pixel: np.ndarray, tile_first: np.ndarray, offsets: np.ndarray, hit_tile: np.ndarray,
                   hit_pixel: np.ndarray, fill: float = np.nan) -> np.ndarray:  # fmt: skip
    """Per-pixel values ``(T, ..., N*N)`` (tiles of all events in order) back to the flat hits.

    Args:
        per_pixel: ``(T, C, N*N)`` values per tile and pixel.
        tile_first: index of each event's first tile (``T`` = ``tile_first[-1]``), length events + 1.
        offsets: hit offsets per event.
        hit_tile, hit_pixel: the imager's maps (tile within the event, pixel; -1: not imaged).
        fill: the value of hits that are not in any tile.

    Returns:
        ``(n_hits, C)``.
    """
    n_hits = len(hit_tile)
    ev = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    out = np.full((n_hits, per_pixel.shape[1]), fill, dtype=np.float32)
    ok = (hit_tile >= 0) & (hit_pixel >= 0)
    tiles = tile_first[ev[ok]] + hit_tile[ok]
    out[ok] = per_pixel[tiles, :, hit_pixel[ok]]
    return out
