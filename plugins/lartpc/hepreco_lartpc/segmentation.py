"""This module computes Pandora's track/shower figures from confusion matrices: accuracy per class (the fraction
of a true class called that class, its efficiency), overall accuracy, purity. Pure numpy.

Classes are 0 null, 1 shower, 2 track; a confusion matrix ``cm[true, predicted]`` counts hits (or pixels).
Rows of true null are left out of every figure (noise hits have no truth to match); a predicted null (a hit
the network did not see) counts as wrong.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PDG_GROUPS", "figures", "pdg_group"]

#: particle groups of the by-particle figures (index -> name)
PDG_GROUPS = ("e-", "e+", "gamma", "mu", "pi+-", "proton", "kaon", "other")


def pdg_group(pdg: np.ndarray) -> np.ndarray:
    """The :data:`PDG_GROUPS` index of each PDG code.

    Examples:
        >>> pdg_group(np.array([11, -11, 22, -13, 211, 2212, 321, 0])).tolist()
        [0, 1, 2, 3, 4, 5, 6, 7]
    """
    pdg = np.asarray(pdg)
    a = np.abs(pdg)
    out = np.full(pdg.shape, 7, dtype=np.int64)
    out[pdg == 11] = 0
    out[pdg == -11] = 1
    out[a == 22] = 2
    out[a == 13] = 3
    out[a == 211] = 4
    out[a == 2212] = 5
    out[a == 321] = 6
    return out


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def figures(cm: np.ndarray, prefix: str = "") -> dict[str, float]:
    """Overall, track and shower accuracy, and purity per class, of a 3x3 confusion matrix ``cm[true, pred]``.

    Examples:
        >>> cm = np.array([[5, 0, 0], [0, 90, 10], [0, 20, 80]])
        >>> f = figures(cm)
        >>> f["overall_accuracy"], f["shower_accuracy"], f["track_accuracy"], round(f["track_purity"], 4)
        (0.85, 0.9, 0.8, 0.8889)
    """
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm[1:3]
    total = rows.sum()
    correct = cm[1, 1] + cm[2, 2]
    return {
        f"{prefix}overall_accuracy": _ratio(correct, total),
        f"{prefix}shower_accuracy": _ratio(cm[1, 1], cm[1].sum()),
        f"{prefix}track_accuracy": _ratio(cm[2, 2], cm[2].sum()),
        f"{prefix}shower_purity": _ratio(cm[1, 1], cm[1:3, 1].sum()),
        f"{prefix}track_purity": _ratio(cm[2, 2], cm[1:3, 2].sum()),
    }
