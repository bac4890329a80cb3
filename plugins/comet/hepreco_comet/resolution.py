"""This module defines the figures of a momentum resolution from histograms: quantiles of a histogram with flow
bins, a Gaussian fit of its core, and the figures of one residual histogram (``comet.MomentumResolution``).

:func:`resolution_figures` turns a residual histogram into the figures: mean and RMS (exact, from the sums),
median and the half-width of the central 68% interval (interpolated in the cumulative histogram, flow bins
included), and a Gaussian fit of the core. Everything is computed from mergeable sums and counts, so it is
exact across batches and processes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["QUANTITIES", "gaussian_core", "histogram_quantile", "resolution_figures"]

#: the momentum quantities of a helix fit whose resolution is measured (transverse and total momentum)
QUANTITIES = ["pt", "p"]


def histogram_quantile(counts: np.ndarray, edges: np.ndarray, q: float) -> float:
    """The ``q`` quantile of a histogram with flow bins: ``counts`` has ``len(edges) + 1`` entries (underflow,
    the bins, overflow); linear inside a bin, NaN when the quantile lies in a flow bin or there are no entries.

    Examples:
        >>> histogram_quantile(np.array([0, 1, 1, 1, 1, 0]), np.array([0.0, 1, 2, 3, 4]), 0.5)
        2.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    target = q * total
    cum = np.cumsum(counts)
    i = int(np.searchsorted(cum, target, side="left"))
    if i == 0 or i >= len(counts) - 1:
        return float("nan")
    below = cum[i - 1]
    frac = (target - below) / counts[i] if counts[i] > 0 else 0.0
    return float(edges[i - 1] + frac * (edges[i] - edges[i - 1]))


def gaussian_core(counts: np.ndarray, edges: np.ndarray, mean: float, sigma: float) -> tuple[float, float]:
    """``(mean, sigma)`` of a Gaussian fitted to the core of a histogram (no flow bins): a parabola in
    ``log(counts)`` weighted by the counts over the bins within 1.5 sigma of the mean, iterated from the
    given start three times; NaN when fewer than three bins are filled or the parabola opens upwards.

    Examples:
        >>> edges = np.linspace(-5, 5, 51)
        >>> x = 0.5 * (edges[1:] + edges[:-1])
        >>> mu, s = gaussian_core(1e4 * np.exp(-0.5 * ((x - 0.3) / 1.2) ** 2), edges, 0.0, 1.0)
        >>> round(mu, 6), round(s, 6)
        (0.3, 1.2)
    """
    counts = np.asarray(counts, dtype=np.float64)
    x = 0.5 * (edges[1:] + edges[:-1])
    nan = (float("nan"), float("nan"))
    if not (np.isfinite(mean) and np.isfinite(sigma) and sigma > 0):
        return nan
    for _ in range(3):
        m = (np.abs(x - mean) <= 1.5 * sigma) & (counts > 0)
        if m.sum() < 3:
            return nan
        # log n = c0 + c1 x + c2 x^2 with weights n (the variance of log n is ~1/n)
        xs = x[m] - mean
        w = np.sqrt(counts[m])
        a = np.stack([np.ones_like(xs), xs, xs * xs], axis=1) * w[:, None]
        c = np.linalg.lstsq(a, np.log(counts[m]) * w, rcond=None)[0]
        if c[2] >= 0:
            return nan
        sigma_new = float(np.sqrt(-0.5 / c[2]))
        mean = float(mean - 0.5 * c[1] / c[2])
        if not (np.isfinite(mean) and np.isfinite(sigma_new)):
            return nan
        sigma = sigma_new
    return mean, sigma


def resolution_figures(counts: np.ndarray, edges: np.ndarray, n: float, total: float, total2: float) -> dict:
    """The figures of one residual histogram (``counts`` with flow bins) and its exact sums."""
    nan = float("nan")
    mean = total / n if n > 0 else nan
    rms = float(np.sqrt(max(total2 / n - mean * mean, 0.0))) if n > 0 else nan
    q16, q50, q84 = (histogram_quantile(counts, edges, q) for q in (0.15865525393145707, 0.5, 0.8413447460685429))
    sigma68 = 0.5 * (q84 - q16)
    g_mean, g_sigma = gaussian_core(counts[1:-1], edges, q50, sigma68)
    outside = float(counts[0] + counts[-1]) / n if n > 0 else nan
    return {
        "mean": mean,
        "rms": rms,
        "median": q50,
        "sigma68": sigma68,
        "gauss_mean": g_mean,
        "gauss_sigma": g_sigma,
        "outside_range": outside,
    }
