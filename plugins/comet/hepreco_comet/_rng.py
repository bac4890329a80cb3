"""This module defines a small counter-free random number generator for numba kernels: xoshiro256**.

Every event gets its own 256-bit state, seeded from the event's uint64 seed with SplitMix64 (the seeding
the xoshiro authors recommend, https://prng.di.unimi.it/), so a kernel's output for an event depends on
that seed only, never on which other events share the batch.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = [
    "rng_exponential",
    "rng_gamma",
    "rng_new",
    "rng_normal",
    "rng_poisson",
    "rng_uniform",
]


@nb.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(cache=True, inline="always")
def _splitmix_next(x: np.uint64) -> tuple[np.uint64, np.uint64]:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@nb.njit(cache=True)
def rng_new(seed: np.uint64) -> np.ndarray:
    """A fresh xoshiro256** state (4 uint64) from a 64-bit seed."""
    s = np.empty(4, dtype=np.uint64)
    x = np.uint64(seed)
    for i in range(4):
        x, s[i] = _splitmix_next(x)
    return s


@nb.njit(cache=True, inline="always")
def _next(s: np.ndarray) -> np.uint64:
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@nb.njit(cache=True, inline="always")
def rng_uniform(s: np.ndarray) -> float:
    """Uniform in [0, 1) with 53 random bits."""
    return float(_next(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True, inline="always")
def rng_normal(s: np.ndarray) -> float:
    """Standard normal (Box-Muller, one of the pair)."""
    u1 = 1.0 - rng_uniform(s)
    u2 = rng_uniform(s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@nb.njit(cache=True, inline="always")
def rng_exponential(s: np.ndarray) -> float:
    """Standard exponential (mean 1)."""
    return -math.log(1.0 - rng_uniform(s))


@nb.njit(cache=True)
def rng_gamma(s: np.ndarray, shape: float) -> float:
    """Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 by the U**(1/shape) boost."""
    if shape <= 0.0:
        return 0.0
    boost = 1.0
    a = shape
    if a < 1.0:
        boost = (1.0 - rng_uniform(s)) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = rng_normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = 1.0 - rng_uniform(s)
        if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            return d * v * boost


@nb.njit(cache=True)
def rng_poisson(s: np.ndarray, lam: float) -> int:
    """Poisson(lam): multiplication method below 10, Hoermann's PTRS (1993) above."""
    if lam <= 0.0:
        return 0
    if lam < 10.0:
        limit = math.exp(-lam)
        k = 0
        prod = rng_uniform(s)
        while prod > limit:
            k += 1
            prod *= rng_uniform(s)
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = rng_uniform(s) - 0.5
        v = rng_uniform(s)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(k + 1.0):
            return int(k)
