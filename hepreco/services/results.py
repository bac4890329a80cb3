"""This module defines the result objects a module hands the Histograms service at end of job: graphs
(written as ROOT ``TGraph`` / ``TGraphAsymmErrors``) and efficiencies with binomial errors.

A *result* is what a user plots or fits: a ROC curve, an efficiency versus a cut, a residual distribution.
Modules compute them from their (mergeable) accumulators in ``end_job`` and put them with
:meth:`hepreco.Module.put_result`; they are written under ``results/<label>/<name>`` in the histogram file,
where ROOT (``TFile::Get``) and uproot read them. A result is a :class:`Graph` or a ``hist.Hist`` (written
as a TH1/TH2/TH3; give it ``hist.storage.Weight()`` so that its errors are right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Graph", "binomial_interval", "efficiency_graph", "suggest_bins"]


@dataclass
class Graph:
    """Points ``(x, y)`` with optional asymmetric errors: a ROOT ``TGraph`` (no errors) or
    ``TGraphAsymmErrors`` once written.

    Attributes:
        x, y: the points (1-d, same length).
        xerr_low, xerr_high, yerr_low, yerr_high: the errors below and above each point (None: no errors).
        title: the graph's title; ``xlabel``, ``ylabel``: its axis titles (ROOT's ``"title;x;y"``).

    Examples:
        >>> g = Graph([0.1, 0.5], [0.9, 0.7], title="ROC", xlabel="signal acceptance")
        >>> g.has_errors, len(g)
        (False, 2)
    """

    x: Any
    y: Any
    xerr_low: Any = None
    xerr_high: Any = None
    yerr_low: Any = None
    yerr_high: Any = None
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    #: extra figures (e.g. the fitted width of a residual distribution), written into the title
    notes: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=np.float64).ravel()
        self.y = np.asarray(self.y, dtype=np.float64).ravel()
        if self.x.shape != self.y.shape:
            msg = f"a graph needs as many x ({self.x.size}) as y ({self.y.size}) values"
            raise ValueError(msg)
        for name in ("xerr_low", "xerr_high", "yerr_low", "yerr_high"):
            v = getattr(self, name)
            if v is not None:
                arr = np.broadcast_to(np.asarray(v, dtype=np.float64), self.x.shape).copy()
                setattr(self, name, arr)

    def __len__(self) -> int:
        return int(self.x.size)

    @property
    def has_errors(self) -> bool:
        return any(getattr(self, n) is not None for n in ("xerr_low", "xerr_high", "yerr_low", "yerr_high"))

    def errors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(xerr_low, xerr_high, yerr_low, yerr_high)``, zeros where not given."""
        z = np.zeros_like(self.x)
        return tuple(z if getattr(self, n) is None else getattr(self, n)
                     for n in ("xerr_low", "xerr_high", "yerr_low", "yerr_high"))  # fmt: skip

    def root_title(self) -> str:
        """The ROOT title: ``"title;x title;y title"`` (what ``TGraph::SetTitle`` takes)."""
        return f"{self.title};{self.xlabel};{self.ylabel}"


def binomial_interval(
    passed: Any, total: Any, *, method: Literal["wilson", "clopper-pearson"] = "wilson", cl: float = 0.682689492137086
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The efficiency ``passed / total`` and its binomial confidence interval ``(eff, low, high)``.

    ``wilson`` (the default) is the Wilson score interval; ``clopper-pearson`` the exact interval
    (ROOT's ``TEfficiency`` default, needs scipy). With ``total == 0`` the efficiency is NaN and the
    interval ``[0, 1]``. Non-integer counts (weighted, or effective entries) are used as they are.

    Examples:
        >>> eff, lo, hi = binomial_interval([8], [10])
        >>> float(eff[0]), round(float(lo[0]), 4), round(float(hi[0]), 4)
        (0.8, 0.6491, 0.8964)
        >>> eff, lo, hi = binomial_interval([10], [10], method="clopper-pearson")
        >>> round(float(lo[0]), 4), float(hi[0])
        (0.8319, 1.0)
    """
    k = np.asarray(passed, dtype=np.float64)
    n = np.asarray(total, dtype=np.float64)
    k, n = np.broadcast_arrays(k, n)
    if np.any(k < 0) or np.any(k > n * (1 + 1e-12)):
        msg = "binomial_interval needs 0 <= passed <= total"
        raise ValueError(msg)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(n > 0, k / n, np.nan)
        if method == "wilson":
            z = math.sqrt(2.0) * _erfinv(cl)
            p = np.where(n > 0, k / n, 0.5)
            denom = 1 + z * z / np.maximum(n, 1e-300)
            centre = (p + z * z / (2 * np.maximum(n, 1e-300))) / denom
            half = z * np.sqrt(p * (1 - p) / np.maximum(n, 1e-300) + z * z / (4 * np.maximum(n, 1e-300) ** 2)) / denom
            low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
        elif method == "clopper-pearson":
            try:
                from scipy.stats import beta
            except ImportError as err:
                msg = "the Clopper-Pearson interval needs scipy (pip install scipy); method='wilson' does not"
                raise ImportError(msg) from err
            a = (1 - cl) / 2
            low = np.where(k > 0, beta.ppf(a, k, n - k + 1), 0.0)
            high = np.where(k < n, beta.ppf(1 - a, k + 1, n - k), 1.0)
        else:
            msg = f"unknown method {method!r}: use 'wilson' or 'clopper-pearson'"
            raise ValueError(msg)
    low = np.where(n > 0, low, 0.0)
    high = np.where(n > 0, high, 1.0)
    return eff, np.minimum(low, np.nan_to_num(eff, nan=0.0)), np.maximum(high, np.nan_to_num(eff, nan=1.0))


def _erfinv(y: float) -> float:
    """Inverse error function (Newton on math.erf), enough for confidence levels."""
    x = 0.0
    for _ in range(60):
        err = math.erf(x) - y
        x -= err / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        if abs(err) < 1e-15:
            break
    return x


def efficiency_graph(
    x: Any,
    passed: Any,
    total: Any,
    *,
    method: Literal["wilson", "clopper-pearson"] = "wilson",
    xerr: Any = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "efficiency",
) -> Graph:
    """A :class:`Graph` of ``passed / total`` at each ``x`` with binomial errors (:func:`binomial_interval`);
    points with ``total == 0`` are left out.

    Examples:
        >>> g = efficiency_graph([0.5, 1.5], [5, 0], [10, 0], xlabel="cut")
        >>> g.y.tolist(), len(g)
        ([0.5], 1)
    """
    xs = np.asarray(x, dtype=np.float64)
    eff, low, high = binomial_interval(passed, total, method=method)
    ok = np.asarray(total, dtype=np.float64) > 0
    xe = None if xerr is None else np.broadcast_to(np.asarray(xerr, dtype=np.float64), xs.shape)[ok]
    return Graph(
        xs[ok], eff[ok], xerr_low=xe, xerr_high=xe, yerr_low=(eff - low)[ok], yerr_high=(high - eff)[ok],
        title=title, xlabel=xlabel, ylabel=ylabel,
    )  # fmt: skip


def suggest_bins(entries: float, *, low: int = 10, high: int = 100) -> int:
    """A number of bins for a histogram of ``entries`` entries: about 2 sqrt(n) (some ten entries per bin
    where the sample is small), kept within ``[low, high]``, so that a small sample is not drawn in a hundred
    nearly empty bins.

    Examples:
        >>> suggest_bins(50), suggest_bins(1_000), suggest_bins(10**6)
        (14, 63, 100)
    """
    n = max(float(entries), 0.0)
    return int(min(max(round(2.0 * n**0.5), low), high))
