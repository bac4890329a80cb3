"""This module defines the circle fits of the helix fit, in x-y: Taubin's and Kåsa's algebraic fits, the
circle through three points, the turning angle along a circle, and :func:`fit_circles` (many point sets at once).

Taubin: G. Taubin, IEEE Trans. PAMI 13 (1991) 1115, in N. Chernov's Newton-iteration form ("Circular and
Linear Regression: Fitting Circles and Lines by Least Squares", CRC 2010, ch. 5). Kåsa: I. Kåsa, IEEE Trans.
Instrum. Meas. 25 (1976) 8 (linear, but biased towards small circles on short arcs). The kernels are numba
functions, called from the other stages' kernels.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["TWO_PI", "circle_through", "fit_circles", "kasa", "taubin", "turning_angle"]

TWO_PI = 2.0 * math.pi


@nb.njit(cache=True)
def taubin(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, bool]:
    """Taubin's algebraic circle fit (Chernov's Newton form) of the points ``(x, y)``: ``(xc, yc, r, ok)``,
    not ok (NaN) for fewer than three points or a degenerate set (numba)."""
    n = x.shape[0]
    if n < 3:
        return np.nan, np.nan, np.nan, False
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += x[i]
        my += y[i]
    mx /= n
    my /= n
    mxx = myy = mxy = mxz = myz = mzz = 0.0
    for i in range(n):
        xi = x[i] - mx
        yi = y[i] - my
        zi = xi * xi + yi * yi
        mxy += xi * yi
        mxx += xi * xi
        myy += yi * yi
        mxz += xi * zi
        myz += yi * zi
        mzz += zi * zi
    mxx /= n
    myy /= n
    mxy /= n
    mxz /= n
    myz /= n
    mzz /= n
    mz = mxx + myy
    cov_xy = mxx * myy - mxy * mxy
    var_z = mzz - mz * mz
    a3 = 4.0 * mz
    a2 = -3.0 * mz * mz - mzz
    a1 = var_z * mz + 4.0 * cov_xy * mz - mxz * mxz - myz * myz
    a0 = mxz * (mxz * myy - myz * mxy) + myz * (myz * mxx - mxz * mxy) - var_z * cov_xy
    a22 = a2 + a2
    a33 = a3 + a3 + a3
    xn = 0.0
    yn = a0
    for _ in range(99):
        dy = a1 + xn * (a22 + a33 * xn)
        if dy == 0.0:
            break
        xnew = xn - yn / dy
        if xnew == xn or not np.isfinite(xnew):
            break
        ynew = a0 + xnew * (a1 + xnew * (a2 + xnew * a3))
        if abs(ynew) >= abs(yn):
            break
        xn = xnew
        yn = ynew
    det = xn * xn - xn * mz + cov_xy
    if det == 0.0 or not np.isfinite(det):
        return np.nan, np.nan, np.nan, False
    xc = (mxz * (myy - xn) - myz * mxy) / det / 2.0
    yc = (myz * (mxx - xn) - mxz * mxy) / det / 2.0
    r = math.sqrt(xc * xc + yc * yc + mz)
    ok = np.isfinite(r) and r > 0.0
    return xc + mx, yc + my, r, ok


@nb.njit(cache=True)
def kasa(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, bool]:
    """Kåsa's algebraic circle fit: least squares of ``x^2 + y^2 + a x + b y + c``: ``(xc, yc, r, ok)`` (numba)."""
    n = x.shape[0]
    if n < 3:
        return np.nan, np.nan, np.nan, False
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += x[i]
        my += y[i]
    mx /= n
    my /= n
    suu = svv = suv = suuu = svvv = suvv = svuu = 0.0
    for i in range(n):
        u = x[i] - mx
        v = y[i] - my
        suu += u * u
        svv += v * v
        suv += u * v
        suuu += u * u * u
        svvv += v * v * v
        suvv += u * v * v
        svuu += v * u * u
    det = suu * svv - suv * suv
    if det == 0.0:
        return np.nan, np.nan, np.nan, False
    bu = 0.5 * (suuu + suvv)
    bv = 0.5 * (svvv + svuu)
    uc = (bu * svv - bv * suv) / det
    vc = (bv * suu - bu * suv) / det
    r = math.sqrt(uc * uc + vc * vc + (suu + svv) / n)
    return uc + mx, vc + my, r, np.isfinite(r) and r > 0.0


@nb.njit(cache=True)
def circle_through(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float
) -> tuple[float, float, float, bool]:
    """The circle through three points: ``(xc, yc, r, ok)`` (not ok when they are collinear; numba)."""
    d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    if abs(d) < 1e-9:
        return 0.0, 0.0, 0.0, False
    a2 = ax * ax + ay * ay
    b2 = bx * bx + by * by
    c2 = cx * cx + cy * cy
    xc = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    yc = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    return xc, yc, math.hypot(ax - xc, ay - yc), True


@nb.njit(cache=True, inline="always")
def turning_angle(ux: float, uy: float, phin: float, sense: float) -> float:
    """Turning angle in [0, 2 pi) along the motion (``sense`` +1 anticlockwise, -1 clockwise) from the
    perigee azimuth ``phin`` to the point at ``(ux, uy)`` from the centre (numba)."""
    a = sense * (math.atan2(uy, ux) - phin)
    a = a % TWO_PI
    return a


@nb.njit(cache=True)
def _circle_kernel(offsets: np.ndarray, x: np.ndarray, y: np.ndarray, use_kasa: bool) -> np.ndarray:
    n_ev = offsets.shape[0] - 1
    out = np.full((n_ev, 3), np.nan)
    for ev in range(n_ev):
        a = offsets[ev]
        b = offsets[ev + 1]
        if use_kasa:
            xc, yc, r, ok = kasa(x[a:b], y[a:b])
        else:
            xc, yc, r, ok = taubin(x[a:b], y[a:b])
        if ok:
            out[ev, 0] = xc
            out[ev, 1] = yc
            out[ev, 2] = r
    return out


def fit_circles(offsets: np.ndarray, x: np.ndarray, y: np.ndarray, *, method: str = "taubin") -> np.ndarray:
    """Algebraic circle fits of many point sets at once: ``(n_sets, 3)`` rows ``(xc, yc, r)``, NaN where
    a set has fewer than 3 points or is degenerate (collinear).

    Args:
        offsets: ``n_sets + 1`` offsets into ``x`` and ``y``.
        x, y: the points.
        method: ``taubin`` (Taubin 1991, Chernov's form) or ``kasa`` (Kåsa 1976).

    Examples:
        >>> t = np.linspace(0.0, 2.0, 7)
        >>> x, y = 3.0 + 35.0 * np.cos(t), -2.0 + 35.0 * np.sin(t)
        >>> np.round(fit_circles(np.array([0, 7]), x, y), 9).tolist()
        [[3.0, -2.0, 35.0]]
    """
    if method not in ("taubin", "kasa"):
        msg = f"method must be 'taubin' or 'kasa', not {method!r}"
        raise ValueError(msg)
    off = np.ascontiguousarray(offsets, dtype=np.int64)
    xx = np.ascontiguousarray(x, dtype=np.float64)
    yy = np.ascontiguousarray(y, dtype=np.float64)
    return _circle_kernel(off, xx, yy, method == "kasa")
