"""This module defines the result of the helix fit: the kernel's output row per event (column indices
``O_*``) and the record per event it becomes (:data:`FIT_FIELDS`, :func:`fit_record`).

``pT [MeV/c] = 2.998 B [T] R [cm]`` (:data:`PT_PER_T_CM`), ``p = pT sqrt(1 + tan^2 lambda)``; ``d0 = |centre| -
R`` (negative when the circle encloses the axis), ``phi0`` the azimuth of the momentum at the perigee.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FIT_FIELDS",
    "O_CHI2",
    "O_N",
    "O_NDF",
    "O_NHITS",
    "O_NUSED",
    "O_R",
    "O_TL",
    "O_VALID",
    "O_XC",
    "O_YC",
    "O_Z0",
    "O_ZFIT",
    "PT_PER_T_CM",
    "fit_record",
]

#: MeV/c per T per cm: pT = PT_PER_T_CM * B * R
PT_PER_T_CM = 2.99792458

#: the fields of the fit record, in order (one entry per event)
FIT_FIELDS = (
    "pt",
    "p",
    "radius",
    "center_x",
    "center_y",
    "d0",
    "phi0",
    "tan_lambda",
    "z0",
    "chi2",
    "ndf",
    "n_hits",
    "n_used",
    "valid",
)

#: the columns of the kernel's output row per event: centre, radius, z0, tan lambda, chi2, ndf, hits given,
#: hits used, valid, z fitted (1) or not (0); ``O_N`` columns in all
(O_XC, O_YC, O_R, O_Z0, O_TL, O_CHI2, O_NDF, O_NHITS, O_NUSED, O_VALID, O_ZFIT, O_N) = range(12)


def fit_record(out: np.ndarray, field: float, sense: float) -> dict[str, np.ndarray]:
    """The fit record (:data:`FIT_FIELDS` -> one value per event) of the kernel's output rows ``out``, for the
    field ``field`` (T) and the sense of rotation ``sense`` (+1 anticlockwise seen from +z)."""
    xc, yc, r = out[:, O_XC], out[:, O_YC], out[:, O_R]
    tl = out[:, O_TL]
    pt = PT_PER_T_CM * abs(field) * r
    dist = np.hypot(xc, yc)
    with np.errstate(invalid="ignore", divide="ignore"):
        ux, uy = -xc / dist, -yc / dist  # from the centre to the perigee
    valid = out[:, O_VALID] > 0
    return {
        "pt": pt,
        "p": pt * np.sqrt(1.0 + tl * tl),
        "radius": r,
        "center_x": xc,
        "center_y": yc,
        "d0": dist - r,
        "phi0": np.arctan2(sense * ux, -sense * uy),
        "tan_lambda": tl,
        "z0": out[:, O_Z0],
        "chi2": out[:, O_CHI2],
        "ndf": out[:, O_NDF].astype(np.int32),
        "n_hits": out[:, O_NHITS].astype(np.int32),
        "n_used": np.nan_to_num(out[:, O_NUSED]).astype(np.int32),
        "valid": valid,
    }
