"""This module defines the seeding stage of the helix fit: the wires as lines in x-y, the robust seed circle
that selects the hits (MSAC), and the two starts of z (the wires' crossings of the seed circle; a scan of
(z0, tan lambda) over the chamber).

MSAC: P. Torr and A. Zisserman, CVIU 78 (2000) 138. A stereo wire is the line ``P0 + z D`` in x-y (``D`` along
the layer, ~0.065 cm per cm of z, :func:`wire_lines`), so the wire positions along a track tell its z.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from hepreco_comet.geometry import CDCGeometry
from hepreco_comet.helixfit.circle import circle_through, taubin, turning_angle

__all__ = ["SCAN_TL_STEP", "SCAN_Z_STEP", "msac_circle", "seed_z_from_crossings", "seed_z_from_scan", "wire_lines"]

#: steps of the (z0, tan lambda) scan that seeds z (cm, 1)
SCAN_Z_STEP = 8.0
SCAN_TL_STEP = 0.1


def wire_lines(geometry: CDCGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every wire as a line in x-y: ``(x0, y0, dx, dy)`` per wire id, the wire at z is ``(x0 + z dx, y0 + z dy)``.

    A wire is straight between its end-plate points, so its x-y position is exactly linear in z.

    Examples:
        >>> geo = CDCGeometry()
        >>> x0, y0, dx, dy = wire_lines(geo)
        >>> x, y = geo.wire_xy(1234, 31.0)
        >>> bool(np.isclose(x0[1234] + 31.0 * dx[1234], x) and np.isclose(y0[1234] + 31.0 * dy[1234], y))
        True
    """
    w = np.arange(geometry.n_wires)
    h = float(geometry.half_length)
    x0, y0 = geometry.wire_xy(w, 0.0)
    xp, yp = geometry.wire_xy(w, h)
    xm, ym = geometry.wire_xy(w, -h)
    return x0, y0, (xp - xm) / (2 * h), (yp - ym) / (2 * h)


@nb.njit(cache=True)
def msac_circle(x: np.ndarray, y: np.ndarray, use: np.ndarray, tol: float, trials: int, theta: np.ndarray) -> bool:
    """A circle robust to outliers (MSAC: P. Torr, A. Zisserman, CVIU 78 (2000) 138): of the circles through
    ``trials`` triples of used points, the one minimising the sum of ``min(d^2, tol^2)``; then ``use`` keeps
    the points within ``tol`` of it and ``theta[:3]`` gets the Taubin circle of those. The triples come from
    a fixed-seed generator, so the result depends on the hits only."""
    n = x.shape[0]
    idx = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if use[i]:
            idx[m] = i
            m += 1
    if m < 3:
        return False
    state = np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(m)
    best = 1e300
    bx = by = br = 0.0
    found = False
    tol2 = tol * tol
    for _ in range(trials):
        pick = np.empty(3, dtype=np.int64)
        for q in range(3):
            state ^= state << np.uint64(13)
            state ^= state >> np.uint64(7)
            state ^= state << np.uint64(17)
            pick[q] = idx[int(state % np.uint64(m))]
        if pick[0] == pick[1] or pick[0] == pick[2] or pick[1] == pick[2]:
            continue
        a, b, c = pick[0], pick[1], pick[2]
        xc, yc, r, ok = circle_through(x[a], y[a], x[b], y[b], x[c], y[c])
        if not ok:
            continue
        score = 0.0
        for k in range(m):
            i = idx[k]
            d = math.hypot(x[i] - xc, y[i] - yc) - r
            score += min(d * d, tol2)
            if score >= best:
                break
        if score < best:
            best = score
            bx, by, br = xc, yc, r
            found = True
    if not found:
        return False
    xs = np.empty(m)
    ys = np.empty(m)
    k = 0
    for i in range(n):
        if use[i]:
            if abs(math.hypot(x[i] - bx, y[i] - by) - br) < tol:
                xs[k] = x[i]
                ys[k] = y[i]
                k += 1
            else:
                use[i] = False
    xc, yc, r, ok = taubin(xs[:k], ys[:k])
    if not ok:
        return False
    theta[0] = xc
    theta[1] = yc
    theta[2] = r
    return True


@nb.njit(cache=True)
def seed_z_from_crossings(
    theta: np.ndarray,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    use: np.ndarray,
    sense: float,
    half: float,
) -> bool:
    """Set ``theta[3:5]`` (z0, tan lambda) from the stereo wires' crossings of the circle ``theta[:3]``: each
    ``use`` wire (the line ``P0 + z D``) at the z where it meets the circle (the root nearest the current
    line), a straight line of z against the arc length weighted by ``(D . n)^2``, three times; False when
    fewer than three wires or no lever arm (numba). ``sense``: +1 anticlockwise; ``half``: the chamber's
    half length (cm)."""
    xc, yc, r = theta[0], theta[1], theta[2]
    phin = math.atan2(-yc, -xc)
    n = p0x.shape[0]
    zz = np.zeros(n)
    ss = np.zeros(n)
    ww = np.zeros(n)
    z0 = 0.0
    tl = 0.0
    ok = False
    for _ in range(3):
        wmax = 0.0
        for i in range(n):
            ww[i] = 0.0
            if not use[i]:
                continue
            qx = p0x[i] - xc
            qy = p0y[i] - yc
            a = dx[i] * dx[i] + dy[i] * dy[i]
            if a == 0.0:  # an axial wire says nothing about z
                continue
            b = 2.0 * (qx * dx[i] + qy * dy[i])
            c = qx * qx + qy * qy - r * r
            # the prediction of the current line (z0 + tl R psi at the wire's z = 0 position)
            zp = z0 + tl * r * turning_angle(qx, qy, phin, sense)
            disc = b * b - 4.0 * a * c
            if disc >= 0.0:
                sq = math.sqrt(disc)
                z1 = (-b - sq) / (2.0 * a)
                z2 = (-b + sq) / (2.0 * a)
                z = z1 if abs(z1 - zp) <= abs(z2 - zp) else z2
            else:
                z = -b / (2.0 * a)
            if abs(z) > half:
                continue
            ux = qx + z * dx[i]
            uy = qy + z * dy[i]
            rho = math.sqrt(ux * ux + uy * uy)
            dn = (ux * dx[i] + uy * dy[i]) / rho
            zz[i] = z
            ss[i] = r * turning_angle(ux, uy, phin, sense)
            ww[i] = dn * dn
            wmax = max(wmax, ww[i])
        # weighted straight line z = z0 + tl s over the hits with some weight
        sw = sws = swz = 0.0
        count = 0
        for i in range(n):
            if ww[i] > 0.05 * wmax:
                sw += ww[i]
                sws += ww[i] * ss[i]
                swz += ww[i] * zz[i]
                count += 1
        if count < 3 or sw <= 0.0:
            return False
        ms = sws / sw
        mz = swz / sw
        vss = vsz = 0.0
        for i in range(n):
            if ww[i] > 0.05 * wmax:
                vss += ww[i] * (ss[i] - ms) ** 2
                vsz += ww[i] * (ss[i] - ms) * (zz[i] - mz)
        if vss <= 1e-6 * sw:  # no lever arm
            return False
        tl = vsz / vss
        z0 = mz - tl * ms
        ok = True
    theta[3] = z0
    theta[4] = tl
    return ok


@nb.njit(cache=True)
def seed_z_from_scan(
    theta: np.ndarray,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    use: np.ndarray,
    sense: float,
    half: float,
    tl_max: float,
) -> bool:
    """Set ``theta`` from a scan of (z0, tan lambda) over the chamber (``|z0| <= half``, ``|tan lambda| <=
    tl_max``, steps :data:`SCAN_Z_STEP`, :data:`SCAN_TL_STEP`): the wires placed at the z each candidate line
    gives them (turning angles from the circle ``theta[:3]``), the candidate whose Taubin circle fits best;
    False when none does (numba)."""
    xc, yc, r = theta[0], theta[1], theta[2]
    phin = math.atan2(-yc, -xc)
    n = p0x.shape[0]
    m = 0
    for i in range(n):
        if use[i]:
            m += 1
    arc = np.empty(m)
    px = np.empty(m)
    py = np.empty(m)
    ex = np.empty(m)
    ey = np.empty(m)
    xs = np.empty(m)
    ys = np.empty(m)
    k = 0
    s_min = 1e30
    s_max = -1e30
    for i in range(n):
        if use[i]:
            arc[k] = r * turning_angle(p0x[i] - xc, p0y[i] - yc, phin, sense)
            px[k] = p0x[i]
            py[k] = p0y[i]
            ex[k] = dx[i]
            ey[k] = dy[i]
            s_min = min(s_min, arc[k])
            s_max = max(s_max, arc[k])
            k += 1
    n_tl = 2 * math.ceil(tl_max / SCAN_TL_STEP) + 1
    n_z = 2 * math.ceil(half / SCAN_Z_STEP) + 1
    best = 1e300
    found = False
    for a in range(n_z):
        z0 = -half + 2.0 * half * a / (n_z - 1)
        for b in range(n_tl):
            tl = -tl_max + 2.0 * tl_max * b / (n_tl - 1)
            z_lo = z0 + tl * (s_min if tl > 0 else s_max)
            z_hi = z0 + tl * (s_max if tl > 0 else s_min)
            if z_lo < -half - 10.0 or z_hi > half + 10.0:  # the hits would lie outside the chamber
                continue
            for j in range(m):
                z = z0 + tl * arc[j]
                xs[j] = px[j] + z * ex[j]
                ys[j] = py[j] + z * ey[j]
            cx, cy, cr, ok = taubin(xs, ys)
            if not ok:
                continue
            score = 0.0
            for j in range(m):
                d = math.hypot(xs[j] - cx, ys[j] - cy) - cr
                score += d * d
            if score < best:
                best = score
                found = True
                theta[0] = cx
                theta[1] = cy
                theta[2] = cr
                theta[3] = z0
                theta[4] = tl
    return found
