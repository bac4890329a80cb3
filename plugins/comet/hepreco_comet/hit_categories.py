"""This module defines what an event display of the reconstruction chain shows, without drawing it: the
category of every hit by truth and by the chain's decisions, and the true x-y circle of the signal electron
(``comet.EventDisplay`` draws them, :mod:`hepreco_comet.modules.event_display`)."""

from __future__ import annotations

import numpy as np

__all__ = ["PREDICTION_CLASSES", "TRUTH_CLASSES", "hit_categories", "signal_circle"]

#: the truth categories of the left panel, in drawing order (index = category code of :func:`hit_categories`)
TRUTH_CLASSES = (
    "signal, turn 1",
    "signal, later turns",
    "capture proton",
    "neutron recoil",
    "photon electron",
    "DIO electron",
    "noise",
    "other background",
)
#: the prediction categories of the right panel (index = category code of :func:`hit_categories`)
PREDICTION_CLASSES = (
    "removed by energy cut",
    "rejected by the hit classifier",
    "kept, not turn 1",
    "turn-1 mask",
)
#: pT [MeV/c] = PT_PER_T_CM * B [T] * R [cm]
PT_PER_T_CM = 2.99792458


def hit_categories(
    is_signal: np.ndarray,
    turn: np.ndarray,
    origin: np.ndarray,
    edep: np.ndarray,
    *,
    selected: np.ndarray | None = None,
    turn1: np.ndarray | None = None,
    edep_max: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The truth and the prediction category of every hit of one event: indices into
    :data:`TRUTH_CLASSES` and :data:`PREDICTION_CLASSES`.

    Truth: signal hits of the first turn (``turn <= 1``), signal hits of later turns, background hits by
    their ``origin`` (1-5, see ``hepreco_comet.simulation.ORIGINS``; any other code is "other background").
    Prediction, first match wins: above the energy cut (``edep > edep_max``), in the turn-1 mask, not
    selected by the hit classifier, else kept but not turn 1. Without ``selected`` every hit below the cut
    counts as kept; without ``turn1`` no hit is in the turn-1 mask.

    Examples:
        >>> truth, pred = hit_categories(
        ...     np.array([True, True, False, False]), np.array([1, 2, 0, 0]), np.array([0, 0, 3, 5]),
        ...     np.array([10.0, 20.0, 30.0, 400.0]), selected=np.array([True, True, True, False]),
        ...     turn1=np.array([True, False, False, False]), edep_max=255.0)
        >>> [TRUTH_CLASSES[k] for k in truth]
        ['signal, turn 1', 'signal, later turns', 'photon electron', 'noise']
        >>> [PREDICTION_CLASSES[k] for k in pred]
        ['turn-1 mask', 'kept, not turn 1', 'kept, not turn 1', 'removed by energy cut']
    """
    sig = np.asarray(is_signal, dtype=bool)
    turn = np.asarray(turn)
    origin = np.asarray(origin, dtype=np.int64)
    n = sig.size
    for name, arr in (("turn", turn), ("origin", origin), ("edep", edep), ("selected", selected), ("turn1", turn1)):
        if arr is not None and np.shape(arr) != (n,):
            msg = f"hit_categories: '{name}' has shape {np.shape(arr)}, is_signal has {n} hits"
            raise ValueError(msg)
    background = np.where((origin >= 1) & (origin <= 5), origin + 1, len(TRUTH_CLASSES) - 1)
    truth = np.where(sig, np.where(turn <= 1, 0, 1), background).astype(np.int64)

    pred = np.full(n, 2, dtype=np.int64)
    if selected is not None:
        pred[~np.asarray(selected, dtype=bool)] = 1
    if turn1 is not None:
        pred[np.asarray(turn1, dtype=bool)] = 3
    if edep_max is not None:
        pred[np.asarray(edep) > edep_max] = 0
    return truth, pred


def signal_circle(px: float, py: float, vx: float, vy: float, *, field: float = 1.0) -> tuple[float, float, float]:
    """``(center_x, center_y, radius)`` in cm of the x-y circle of an electron (charge -1) of transverse
    momentum ``(px, py)`` (MeV/c) from the vertex ``(vx, vy)`` (cm) in a solenoid field of ``field`` tesla
    along +z, the simulation's convention: it turns counter-clockwise seen from +z.

    Examples:
        >>> cx, cy, r = signal_circle(104.97, 0.0, 0.0, 0.0)
        >>> round(cx, 6), round(cy, 3), round(r, 3)
        (0.0, 35.014, 35.014)
    """
    pt = float(np.hypot(px, py))
    r = pt / (PT_PER_T_CM * field)
    if pt == 0:
        return float(vx), float(vy), 0.0
    return float(vx - r * py / pt), float(vy + r * px / pt), float(r)
