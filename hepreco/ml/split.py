"""This module assigns events to the train / validation / test samples by a stable hash of their ids.

An event's sample depends only on its (run, subrun, event) numbers, the fractions and a salt: never on
the batch, the file, the order or the executor. So the test events of a training are the test events
of every later evaluation, and adding events to a data set never moves old events between samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepreco.services.random import event_seeds

__all__ = ["SPLITS", "split_index", "split_mask"]

#: the sample names, in the order of their codes (0, 1, 2)
SPLITS = ("train", "valid", "test")

_LABEL = "hepreco.ml.split"


def _uniform(run: Any, subrun: Any, event: Any, salt: int) -> np.ndarray:
    h = event_seeds(int(salt), _LABEL, np.asarray(run), np.asarray(subrun), np.asarray(event))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def split_index(
    run: Any, subrun: Any, event: Any, fractions: Sequence[float] = (0.8, 0.1, 0.1), *, salt: int = 0
) -> np.ndarray:
    """The sample of each event: 0 = train, 1 = valid, 2 = test (an int8 array).

    Args:
        run, subrun, event: the event ids (arrays of equal length).
        fractions: the train, valid and test fractions (they must sum to 1).
        salt: another salt gives another, independent assignment.

    Examples:
        >>> ev = np.arange(100_000)
        >>> s = split_index(np.ones_like(ev), np.zeros_like(ev), ev, (0.8, 0.1, 0.1))
        >>> np.bincount(s).round(-3).tolist()
        [80000, 10000, 10000]
        >>> bool((split_index([1], [0], [ev[7]]) == s[7]).all())  # one event alone: the same sample
        True
    """
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.shape != (3,) or (fr < 0).any() or abs(fr.sum() - 1.0) > 1e-9:
        msg = f"split fractions are (train, valid, test), non-negative and summing to 1; got {list(fractions)}"
        raise ValueError(msg)
    u = _uniform(run, subrun, event, salt)
    edges = np.cumsum(fr)[:2]
    return np.searchsorted(edges, u, side="right").astype(np.int8)


def split_mask(
    which: str,
    run: Any,
    subrun: Any,
    event: Any,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    salt: int = 0,
) -> np.ndarray:
    """A bool mask of the events in sample ``which`` (``train``, ``valid`` or ``test``).

    Examples:
        >>> split_mask("test", [1, 1, 1], [0, 0, 0], [1, 2, 3], (0.0, 0.0, 1.0)).tolist()
        [True, True, True]
    """
    if which not in SPLITS:
        msg = f"unknown sample {which!r}; samples: {', '.join(SPLITS)}"
        raise ValueError(msg)
    return split_index(run, subrun, event, fractions, salt=salt) == SPLITS.index(which)
