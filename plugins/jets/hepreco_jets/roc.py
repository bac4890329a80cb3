"""This module computes a tagger's ROC figures from score histograms (mergeable): the AUC, the background
rejection 1/eps_B at a signal efficiency, and their bootstrap uncertainties; and lists the paper's points.

The ROC itself is ``hepreco.ml.roc_curve`` on the bin centres weighted by the bin contents (scores in one
bin are tied), so the figures merge exactly across batches and processes: only the histograms travel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PAPER", "RocFigures", "binned_roc", "inv_eps_b", "roc_figures"]

#: The MPNN paper's numbers (Henrion et al., arXiv:1711.09059, table 1; tau21 + mass from Louppe et al.,
#: arXiv:1702.00748): name -> (ROC AUC, its error, 1/eps_B at eps_S = 50%, its error)
PAPER: dict[str, tuple[float, float, float, float]] = {
    "MPNN (directed, 2 it.)": (0.9223, 0.0008, 98.26, 4.28),
    "RecNN-desc-pT (gated)": (0.9212, 0.0005, 83.3, 3.1),
    "tau21 + mass": (0.8207, 0.0, 11.1, 0.0),
}


@dataclass(frozen=True)
class RocFigures:
    """A tagger's figures: AUC, 1/eps_B at ``eps_s`` and their bootstrap standard deviations."""

    auc: float
    auc_err: float
    inv_eps_b: float
    inv_eps_b_err: float
    eps_s: float
    n_signal: float
    n_background: float


def binned_roc(pos: np.ndarray, neg: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The ROC of a score histogrammed for signal (``pos``) and background (``neg``) in bins of centres
    ``centres``: signal efficiencies, background efficiencies and the AUC."""
    from hepreco.ml import roc_curve

    keep = (pos > 0) | (neg > 0)
    s = np.concatenate([centres[keep], centres[keep]])
    y = np.concatenate([np.ones(keep.sum(), bool), np.zeros(keep.sum(), bool)])
    w = np.concatenate([pos[keep], neg[keep]])
    roc = roc_curve(s, y, w)
    return roc.signal_acceptance, roc.background_efficiency, roc.auc()


def inv_eps_b(eff_s: np.ndarray, eff_b: np.ndarray, eps_s: float = 0.5) -> float:
    """1/eps_B where the ROC (increasing ``eff_s``, ``eff_b``) reaches signal efficiency ``eps_s``
    (linear interpolation between its points; inf when no background passes).

    Examples:
        >>> round(inv_eps_b(np.array([0.0, 0.4, 0.6, 1.0]), np.array([0.0, 0.01, 0.03, 1.0])), 6)
        50.0
    """
    i = int(np.searchsorted(eff_s, eps_s, side="left"))
    if i <= 0:
        b = float(eff_b[0])
    elif i >= len(eff_s):
        b = float(eff_b[-1])
    else:
        s0, s1, b0, b1 = eff_s[i - 1], eff_s[i], eff_b[i - 1], eff_b[i]
        b = float(b0 + (b1 - b0) * (eps_s - s0) / (s1 - s0)) if s1 > s0 else float(b1)
    return float("inf") if b <= 0 else 1.0 / b


def roc_figures(
    pos: np.ndarray,
    neg: np.ndarray,
    edges: np.ndarray,
    *,
    pos_var: np.ndarray | None = None,
    neg_var: np.ndarray | None = None,
    eps_s: float = 0.5,
    bootstrap: int = 200,
    seed: int = 0,
) -> RocFigures:
    """The figures of score histograms of signal (``pos``) and background (``neg``) over ``edges``.

    Uncertainties: a Poisson bootstrap of the histograms (each bin drawn again with its effective number of
    entries ``sumw^2 / sumw2``; ``*_var`` are the sums of squared weights, None = unit weights).

    Examples:
        >>> edges = np.linspace(0, 1, 5)
        >>> f = roc_figures(np.array([0, 0, 10, 30.0]), np.array([30, 10, 0, 0.0]), edges, bootstrap=0)
        >>> f.auc, f.inv_eps_b
        (1.0, inf)
    """
    pos = np.asarray(pos, dtype=np.float64)
    neg = np.asarray(neg, dtype=np.float64)
    centres = 0.5 * (edges[1:] + edges[:-1])
    es, eb, auc = binned_roc(pos, neg, centres)
    inv = inv_eps_b(es, eb, eps_s)
    aucs, invs = [], []
    if bootstrap:
        rng = np.random.default_rng(seed)

        def draw(h: np.ndarray, var: np.ndarray | None) -> np.ndarray:
            if var is None:
                return rng.poisson(h).astype(np.float64)
            n_eff = np.divide(h * h, var, out=np.zeros_like(h), where=var > 0)
            scale = np.divide(h, n_eff, out=np.zeros_like(h), where=n_eff > 0)
            return rng.poisson(n_eff) * scale

        for _ in range(bootstrap):
            p, n = draw(pos, pos_var), draw(neg, neg_var)
            if p.sum() <= 0 or n.sum() <= 0:
                continue
            a, b, au = binned_roc(p, n, centres)
            aucs.append(au)
            invs.append(inv_eps_b(a, b, eps_s))
    finite = [v for v in invs if np.isfinite(v)]
    return RocFigures(
        auc=float(auc),
        auc_err=float(np.std(aucs)) if aucs else float("nan"),
        inv_eps_b=float(inv),
        inv_eps_b_err=float(np.std(finite)) if len(finite) > 1 else float("nan"),
        eps_s=eps_s,
        n_signal=float(pos.sum()),
        n_background=float(neg.sum()),
    )
