"""This module defines helpers the LArTPC modules share: jagged hits to flat arrays, per-hit products, event names."""

from __future__ import annotations

import awkward as ak
import numpy as np

import hepreco

__all__ = ["event_name", "flat_hits", "per_hit"]


def event_name(events: hepreco.Events, i: int) -> str:
    """``run R, subrun S, event E`` of the i-th event of a batch."""
    return f"run {int(events.run[i])}, subrun {int(events.subrun[i])}, event {int(events.event[i])}"


def flat_hits(hits: ak.Array, fields: tuple[str, ...], *, product: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(offsets, {field: flat numpy array})`` of jagged per-event hits; events that are None have no hits.
    A missing field is an error naming the product, the field and the fields it has."""
    have = ak.fields(hits)
    missing = [f for f in fields if f not in have]
    if missing:
        msg = f"product '{product}' has no field(s) {', '.join(missing)} (fields: {', '.join(have) or 'none'})"
        raise ValueError(msg)
    n = len(hits)
    none = ak.to_numpy(ak.is_none(hits, axis=0))
    present = hits[~none] if none.any() else hits
    counts = np.zeros(n, dtype=np.int64)
    counts[~none] = ak.to_numpy(ak.num(present, axis=1))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = {f: ak.to_numpy(ak.flatten(present[f], axis=1)) for f in fields}
    return offsets, flat


def per_hit(events: hepreco.Events, tag: object, offsets: np.ndarray, *, hits: object) -> np.ndarray:
    """The flat values of the per-hit product ``tag`` (jagged like the hits ``hits``); an event where the counts
    differ is an error naming it, the product and the hits."""
    s_off, s_flat = flat_hits(ak.zip({"v": events[tag]}), ("v",), product=str(tag))
    if not np.array_equal(s_off, offsets):
        ev = int(np.flatnonzero(np.diff(s_off) != np.diff(offsets))[0])
        msg = (
            f"{event_name(events, ev)}: '{tag}' has {int(s_off[ev + 1] - s_off[ev])} entries but "
            f"'{hits}' has {int(offsets[ev + 1] - offsets[ev])} hits"
        )
        raise ValueError(msg)
    return s_flat["v"]
