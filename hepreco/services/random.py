"""This module defines RandomNumbers: per-event random streams that do not depend on batching."""

from __future__ import annotations

import zlib

import numpy as np
from pydantic import Field

from hepreco.core.events import EventIDs, Events
from hepreco.core.module import ModuleConfig
from hepreco.core.service import Service

__all__ = ["RandomNumbers", "counter_uniform", "event_seeds"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, vectorised: a bijective, well-mixing hash of uint64 values."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def event_seeds(seed: int, label: str, run: np.ndarray, subrun: np.ndarray, event: np.ndarray) -> np.ndarray:
    """One uint64 per event, a hash of (job seed, crc32 of the label, run, subrun, event).

    Examples:
        >>> s = event_seeds(1, "sim", np.array([1, 1]), np.array([0, 0]), np.array([7, 8]))
        >>> s.dtype, bool(s[0] != s[1])
        (dtype('uint64'), True)
        >>> int(event_seeds(1, "sim", np.array([1]), np.array([0]), np.array([8]))[0]) == int(s[1])
        True
    """
    with np.errstate(over="ignore"):
        h = _splitmix(np.full(len(event), np.uint64(seed) ^ (np.uint64(zlib.crc32(label.encode())) << np.uint64(32))))
        h = _splitmix(h ^ np.asarray(run, dtype=np.uint64))
        h = _splitmix(h ^ np.asarray(subrun, dtype=np.uint64))
        h = _splitmix(h ^ np.asarray(event, dtype=np.uint64))
    return h


def counter_uniform(seeds: np.ndarray, counts: np.ndarray | int, stream: int = 0) -> np.ndarray:
    """Flat uniforms in [0, 1): ``counts[i]`` of them for ``seeds[i]``, each a hash of (seed, stream, index).

    Examples:
        >>> u = counter_uniform(np.array([1, 2], dtype=np.uint64), np.array([2, 3]))
        >>> u.shape, bool(((u >= 0) & (u < 1)).all())
        ((5,), True)
        >>> bool(counter_uniform(np.array([2], dtype=np.uint64), 3)[0] == u[2])
        True
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    counts = np.broadcast_to(np.asarray(counts, dtype=np.int64), seeds.shape)
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    j = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    with np.errstate(over="ignore"):
        key = _splitmix(np.repeat(seeds, counts) ^ (np.uint64(stream) * _GOLDEN))
        x = _splitmix(key ^ j.astype(np.uint64))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


class RandomNumbers(Service):
    """Random numbers per module and per event, seeded from the job seed, the module label and the
    event ids: the same event gets the same numbers whatever the batch size, chunking or executor."""

    essential = True

    class Config(ModuleConfig):
        seed: int | None = Field(None, ge=0)
        """Overrides the job's top-level ``seed`` for random numbers."""

    @property
    def seed(self) -> int:
        return int(self.config.seed if self.config.seed is not None else self.job.seed)

    def seeds(self, label: str, ids: EventIDs | Events) -> np.ndarray:
        """One uint64 seed per event for module ``label``."""
        return event_seeds(self.seed, label, ids.run, ids.subrun, ids.event)

    def generators(self, label: str, ids: EventIDs | Events) -> list[np.random.Generator]:
        """One numpy Generator (PCG64) per event for module ``label``."""
        return [np.random.Generator(np.random.PCG64(int(s))) for s in self.seeds(label, ids)]

    def uniform(
        self, label: str, ids: EventIDs | Events, counts: np.ndarray | int = 1, *, stream: int = 0
    ) -> np.ndarray:
        """``counts[i]`` uniform numbers in [0, 1) for event i, flat (vectorised, counter-based).

        Number j of event i depends only on (job seed, label, the event's ids, ``stream``, j), so it
        is the same whatever the batch size or executor. Use different ``stream`` values for
        independent quantities; ``ak.unflatten(values, counts)`` makes them jagged.
        """
        return counter_uniform(self.seeds(label, ids), counts, stream)

    def normal(
        self, label: str, ids: EventIDs | Events, counts: np.ndarray | int = 1, *, stream: int = 0
    ) -> np.ndarray:
        """``counts[i]`` standard normal numbers for event i, flat (Box-Muller on two counter streams)."""
        seeds = self.seeds(label, ids)
        u1 = counter_uniform(seeds, counts, 2 * stream + 1)
        u2 = counter_uniform(seeds, counts, 2 * stream + 2)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

    def generator(self, label: str, name: str = "") -> np.random.Generator:
        """One Generator per module for job-level randomness (e.g. initialisation in ``begin_job``);
        NOT per event, so never use it for per-event quantities."""
        return np.random.Generator(np.random.PCG64([self.seed, zlib.crc32(f"{label}/{name}".encode())]))
