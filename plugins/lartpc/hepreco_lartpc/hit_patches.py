"""This module defines HitPatches: the EM/track/Michel CNN's training examples, ADC patches around sampled hits
(and around empty pixels, the ``none`` class) with their truth."""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco_lartpc._adc import read_hits, read_images
from hepreco_lartpc.patches import extract_patches, pad_image

__all__ = ["HitPatches", "hit_targets"]


def hit_targets(label: np.ndarray, michel: np.ndarray) -> np.ndarray:
    """The CNN's target per hit, ``class + 3 * michel``: class 0 em (shower hits: e±, photons and their descendants,
    Michel electrons included), 1 track (μ, π, p, K), 2 none (no true particle: noise).

    Examples:
        >>> hit_targets(np.array([1, 2, 0, 1]), np.array([False, False, False, True])).tolist()
        [0, 1, 2, 3]
    """
    cls = np.select([np.asarray(label) == 1, np.asarray(label) == 2], [0, 1], 2)
    return (cls + 3 * np.asarray(michel, dtype=np.int64)).astype(np.int8)


class HitPatches(hepreco.Producer):
    """LArSoft's training patches: per event, up to ``per_class`` em hits, ``per_class`` track hits, every
    Michel hit up to ``michel``, the noise hits up to ``per_class`` and ``empty`` patches centred on pixels
    with no hit within one pixel near the event's activity (``none``: LArSoft's "no particle" class), drawn with
    the module's per-event random numbers (the same whatever the batching).

    Products (jagged per event, one entry per patch): ``patches`` ((1, patch, patch) float32: the raw ADC image
    around the position, zero outside), ``target`` (int8 ``class + 3 * michel``, :func:`hit_targets`),
    ``view`` (int8).
    """

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        """The hits (``view, wire, tick, label, michel``; ``apa`` with several read-outs)."""
        images: tuple[InputTag, InputTag, InputTag] = (
            InputTag("source:adc_U"),
            InputTag("source:adc_V"),
            InputTag("source:adc_W"),
        )
        """The U, V, W ADC images (``adc_images: true`` in the source)."""
        downsample: int = Field(6, ge=1)
        """Ticks per image column: the source's ``adc_downsample``."""
        patch: int = Field(48, ge=8)
        """Patch side (LArSoft: 48)."""
        per_class: int = Field(40, ge=0)
        """Most em, track and noise hits per event (each)."""
        michel: int = Field(60, ge=0)
        """Most Michel hits per event."""
        empty: int = Field(20, ge=0)
        """Patches on empty pixels per event (class none)."""

    produces = ("patches", "target", "view")

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        images = read_images(events, c.images)
        hv = read_hits(events, c.hits, images, c.downsample, extra=("label", "michel"))
        target = hit_targets(hv.fields["label"], hv.fields["michel"])
        gens = self.event_generators(events)
        chosen: list[np.ndarray] = []
        empties: list[tuple[int, int, int, int]] = []  # (event, group, row, col)
        for e, rng in enumerate(gens):
            lo, hi = int(hv.offsets[e]), int(hv.offsets[e + 1])
            t = target[lo:hi]
            picks = []
            for mask, cap in ((t == 0, c.per_class), (t == 1, c.per_class), (t == 2, c.per_class), (t >= 3, c.michel)):
                idx = np.flatnonzero(mask)
                if len(idx) > cap:
                    idx = rng.choice(idx, cap, replace=False)
                picks.append(idx + lo)
            chosen.append(np.sort(np.concatenate(picks)))
            if hi > lo and c.empty:
                occupied = {
                    (int(g), int(r), int(q))
                    for g, r, q in zip(hv.group[lo:hi], hv.rows[lo:hi], hv.cols[lo:hi], strict=True)
                }
                made, tries = 0, 0
                while made < c.empty and tries < 20 * c.empty:
                    tries += 1
                    j = int(rng.integers(lo, hi))
                    g = int(hv.group[j])
                    r = int(hv.rows[j] + rng.integers(-c.patch // 4, c.patch // 4 + 1))
                    q = int(hv.cols[j] + rng.integers(-c.patch // 4, c.patch // 4 + 1))
                    shape = hv.image_of(images, g).shape
                    if not (0 <= r < shape[0] and 0 <= q < shape[1]):
                        continue
                    if any((g, r + dr, q + dq) in occupied for dr in (-1, 0, 1) for dq in (-1, 0, 1)):
                        continue
                    empties.append((e, g, r, q))
                    made += 1
        sel = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
        n_ev = len(hv.offsets) - 1
        ev = np.concatenate([hv.event[sel], np.array([x[0] for x in empties], np.int64)])
        grp = np.concatenate([hv.group[sel], np.array([x[1] for x in empties], np.int64)])
        rows = np.concatenate([hv.rows[sel], np.array([x[2] for x in empties], np.int64)])
        cols = np.concatenate([hv.cols[sel], np.array([x[3] for x in empties], np.int64)])
        tgt = np.concatenate([target[sel], np.full(len(empties), 2, np.int8)])
        order = np.argsort(ev, kind="stable")
        ev, grp, rows, cols, tgt = ev[order], grp[order], rows[order], cols[order], tgt[order]
        out = np.zeros((len(ev), 1, c.patch, c.patch), np.float32)
        for g in np.unique(grp):
            m = grp == g
            out[m] = extract_patches(
                pad_image(hv.image_of(images, int(g)), c.patch), rows[m], cols[m], c.patch, padded=True
            )
        counts = np.bincount(ev, minlength=n_ev)
        events.put("patches", ak.unflatten(out, counts))
        events.put("target", ak.unflatten(tgt, counts))
        events.put("view", ak.unflatten((grp % 3).astype(np.int8), counts))
