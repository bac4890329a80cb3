"""This module defines how the EM/track/Michel modules read the source's ADC images and the hits' pixels."""

from __future__ import annotations

from collections.abc import Sequence

import awkward as ak
import numpy as np

import hepreco
from hepreco_lartpc._hits import flat_hits

__all__ = ["HitViews", "read_hits", "read_images"]


def read_images(events: hepreco.Events, tags: Sequence[object]) -> list[np.ndarray]:
    """The three views' ADC images of a batch as numpy arrays ``(events, readouts, wires, columns)`` (one
    read-out when the product is ``(events, wires, columns)``)."""
    out = []
    for tag in tags:
        a = np.asarray(ak.to_numpy(events[tag]), dtype=np.float32)
        if a.ndim == 3:
            a = a[:, None]
        if a.ndim != 4:
            msg = f"ADC image '{tag}' has shape {a.shape}: expected (events, wires, ticks) or (events, APAs, wires, ticks)"
            raise ValueError(msg)
        out.append(a)
    return out


class HitViews:
    """The hits of a batch, flat, with the image (event, read-out, view) and pixel of each.

    Attributes:
        offsets: per-event hit offsets; ``fields``: the flat hit fields read; ``rows``, ``cols``: pixels;
        ``group``: one integer per (event, read-out, view) image, ``event * readouts * 3 + readout * 3 + view``.
    """

    def __init__(self, events: hepreco.Events, hits: object, images: list[np.ndarray], downsample: int,
                 extra: tuple[str, ...] = ()) -> None:  # fmt: skip
        h = events[hits]
        have = ak.fields(h)
        fields = ("view", "wire", "tick", *extra, *(("apa",) if "apa" in have else ()))
        self.offsets, self.fields = flat_hits(h, fields, product=str(hits))
        n_events, n_ro = images[0].shape[:2]
        counts = np.diff(self.offsets)
        ev = np.repeat(np.arange(len(counts)), counts)
        view = self.fields["view"].astype(np.int64)
        apa = self.fields["apa"].astype(np.int64) if "apa" in self.fields else np.zeros(len(view), np.int64)
        if len(apa) and apa.max() >= n_ro:
            msg = f"hits of '{hits}' point at read-out {int(apa.max())} but the ADC images hold {n_ro}"
            raise ValueError(msg)
        self.rows = np.zeros(len(view), np.int64)
        self.cols = np.zeros(len(view), np.int64)
        for v in range(3):
            m = view == v
            shape = images[v].shape[2:]
            self.rows[m] = np.clip(self.fields["wire"][m].astype(np.int64), 0, shape[0] - 1)
            self.cols[m] = np.clip(
                (self.fields["tick"][m].astype(np.float64) // downsample).astype(np.int64), 0, shape[1] - 1
            )
        self.event = ev
        self.group = (ev * n_ro + apa) * 3 + view
        self.n_readouts = n_ro
        self.n_events = n_events

    def image_of(self, images: list[np.ndarray], group: int) -> np.ndarray:
        """The image ``(wires, columns)`` of one group."""
        ev, rest = divmod(int(group), self.n_readouts * 3)
        ro, view = divmod(rest, 3)
        return images[view][ev, ro]


def read_hits(events: hepreco.Events, hits: object, images: list[np.ndarray], downsample: int,
              extra: tuple[str, ...] = ()) -> HitViews:  # fmt: skip
    """:class:`HitViews` of the batch."""
    return HitViews(events, hits, images, downsample, extra)
