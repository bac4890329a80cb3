"""This module cuts the EM/track/Michel CNN's patches out of ADC images: hit positions to image pixels and
zero-padded windows around them. Pure numpy.

An ADC image is one view of one read-out: ``(wires, ticks / downsample)`` (``lartpc.LArTPCSimSource`` with
``adc_images: true``). A hit sits at row ``wire`` and column ``tick // downsample``; its patch of side ``size``
spans rows ``wire - size // 2`` to ``wire + size // 2 - 1`` (likewise columns), zero outside the image.
"""

from __future__ import annotations

import numpy as np

__all__ = ["extract_patches", "hit_pixels", "pad_image"]


def hit_pixels(
    wire: np.ndarray, tick: np.ndarray, downsample: int, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, columns)`` of hits in an image of ``shape`` (clipped to it).

    Examples:
        >>> r, c = hit_pixels(np.array([3, 500]), np.array([13.7, 5.0]), 6, (480, 459))
        >>> r.tolist(), c.tolist()
        ([3, 479], [2, 0])
    """
    rows = np.clip(np.asarray(wire, dtype=np.int64), 0, shape[0] - 1)
    cols = np.clip((np.asarray(tick, dtype=np.float64) // downsample).astype(np.int64), 0, shape[1] - 1)
    return rows, cols


def pad_image(image: np.ndarray, size: int) -> np.ndarray:
    """The image with ``size // 2`` zero rows and columns before and ``size - size // 2`` after: a hit's patch
    is then ``padded[row : row + size, col : col + size]``."""
    h = size // 2
    return np.pad(np.asarray(image, dtype=np.float32), ((h, size - h), (h, size - h)))


def extract_patches(
    image: np.ndarray, rows: np.ndarray, cols: np.ndarray, size: int, *, padded: bool = False
) -> np.ndarray:
    """``(N, 1, size, size)`` float32 patches of ``image`` centred on ``(rows, cols)``, zero outside the image.

    Args:
        image: one view, ``(wires, columns)``; already :func:`pad_image`-ed when ``padded``.
        rows, cols: the hits' pixels (:func:`hit_pixels`).
        size: the patch side.

    Examples:
        >>> img = np.arange(12.0).reshape(3, 4)
        >>> extract_patches(img, np.array([0]), np.array([0]), 2)[0, 0].tolist()
        [[0.0, 0.0], [0.0, 0.0]]
        >>> extract_patches(img, np.array([1]), np.array([1]), 2)[0, 0].tolist()
        [[0.0, 1.0], [4.0, 5.0]]
    """
    p = image if padded else pad_image(image, size)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    k = np.arange(size)
    out = p[rows[:, None, None] + k[None, :, None], cols[:, None, None] + k[None, None, :]]
    return np.ascontiguousarray(out[:, None], dtype=np.float32)
