"""This module defines the CDC helix fit: a track's momentum from its hits (``comet.HelixFit``).

In the uniform solenoid field a charged particle moves on a helix: a circle of radius ``R`` in x-y, and z
growing linearly with the arc length. The transverse momentum follows from the radius,
``pT [GeV/c] = 0.3 B [T] R [m]`` (``pT [MeV/c] = 2.998 B [T] R [cm]``), and the momentum from the dip,
``p = pT / cos(lambda) = pT sqrt(1 + tan^2 lambda)``. The CDC measures x-y only, at the wires; every wire is
stereo (its x-y position moves linearly with z), so the wire positions along a track also tell its z.

The method, per event (numba kernels over the flat hits of a whole batch, one event after another):

1. **Seed circle**: an algebraic circle fit to the wires' x-y positions at z = 0: Taubin's (G. Taubin,
   IEEE Trans. PAMI 13 (1991) 1115, in N. Chernov's Newton-iteration form: "Circular and Linear Regression:
   Fitting Circles and Lines by Least Squares", CRC 2010, ch. 5), or Kåsa's (I. Kåsa, IEEE Trans. Instrum.
   Meas. 25 (1976) 8: linear, but biased towards small circles on short arcs). With ``outlier_cut`` the
   seed is robust: MSAC (P. Torr and A. Zisserman, CVIU 78 (2000) 138) over circles through triples of
   hits, keeping the hits within the largest stereo shift (+1 cm) of the best one, then Taubin on those.
2. **Seed z**: a stereo wire is the line ``P0 + z D`` in x-y (``D`` along the layer, ~0.065 cm per cm of z).
   Two starts: (a) a scan of (z0, tan lambda) over the chamber, placing every wire at the z the candidate
   gives it and keeping the candidate whose Taubin circle fits best; (b) the z where each wire's line meets
   the seed circle (the root nearest the current prediction), fitted by a straight line of z against the
   arc length ``R psi``, each hit weighted by ``(D . n)^2`` (``n``: the circle's normal), the sensitivity
   of its distance to the circle to its z.
3. **Helix fit**: Levenberg-Marquardt least squares of the five helix parameters (centre, radius, ``z0``,
   ``tan lambda``) on the distances of the wires, each taken at the z the helix has there, to the circle:
   first on the wire positions alone (resolution ``wire_resolution``, the cell size over sqrt 12), then,
   with ``use_drift``, on the drift distances (``|distance| - drift distance``, resolution
   ``drift_resolution``: the side of the wire the track passes is the side the wire lies on, which resolves
   the left-right ambiguity). A hit's z is solved exactly for every trial helix (``z = z0 + tan(lambda) R
   psi(z)``, by Newton), and enters the Jacobian by implicit differentiation. From each start the drift
   fit runs from the wire-only result and from the start itself; the lowest (robust) chi2 wins.
4. **Outliers** (``outlier_cut``): after each fit the hits are those within ``outlier_cut`` of the helix
   (within 3 ``wire_resolution`` in the wire-only stage) and the fit is repeated until that set is stable.
   Starts are compared by the sum of ``min(chi_i^2, (cut / resolution)^2)``.

A fit whose helix puts a hit more than 20 cm beyond the end plates has run away (short arcs, two or three
layers, without drift distances); when every helix does, the circle alone is fitted with the hits at
z = 0 (``p`` and ``tan_lambda`` are then NaN).

Helix parameters: ``psi`` is the turning angle along the motion from the *perigee*, the point of the circle
closest to the z axis (near the stopping target); ``z = z0 + tan(lambda) R psi``, so ``z0`` is the z at the
perigee, ``d0 = |centre| - R`` the signed distance of closest approach (negative when the circle encloses the
axis) and ``phi0`` the azimuth of the momentum at the perigee. The sense of rotation follows from ``charge``
and the field's sign: a negative particle in a field along +z turns anticlockwise seen from +z.

Drift distances: the simulation's ``drift_time`` is the time after the trigger (the signal electron leaves
the target at t = 0) of the particle's closest approach to the wire plus the x-y distance (smeared by
200 um) over the drift velocity (2.5 cm/us). The fit subtracts ``t0`` and the flight time along the helix
from the perigee (at the speed of light; up to ~7 ns, i.e. ~0.015 cm) before converting with
``drift_velocity``.

Units: lengths in cm, momenta in MeV/c, field in T, times in ns.
"""

from __future__ import annotations

import math
from typing import Literal

import awkward as ak
import numba as nb
import numpy as np
from pydantic import Field, model_validator

import hepreco
from hepreco import InputTag
from hepreco_comet._hits import event_name, flat_hits, per_hit
from hepreco_comet.geometry import CDCGeometry
from hepreco_comet.service import geometry_from

__all__ = ["FIT_FIELDS", "HelixFit", "fit_circles", "fit_helices", "wire_lines"]

#: MeV/c per T per cm: pT = PT_PER_T_CM * B * R
PT_PER_T_CM = 2.99792458
SPEED_OF_LIGHT = 29.9792458  # cm/ns
TWO_PI = 2.0 * math.pi
#: a fit that puts a hit farther than this beyond the end plates (cm) has run away (short arcs without drift)
Z_MARGIN = 20.0
#: steps of the (z0, tan lambda) scan that seeds z (cm, 1)
SCAN_Z_STEP = 8.0
SCAN_TL_STEP = 0.1

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

#: the counts histogram of HelixFit
_COUNTS = ("events", "fitted", "valid", "valid_with_z")

# output columns of the kernel
(O_XC, O_YC, O_R, O_Z0, O_TL, O_CHI2, O_NDF, O_NHITS, O_NUSED, O_VALID, O_ZFIT, O_N) = range(12)
# parameter vector of the kernel
(
    Q_SENSE,
    Q_MIN_HITS,
    Q_USE_DRIFT,
    Q_FIT_Z,
    Q_VDRIFT,
    Q_T0,
    Q_TOF,
    Q_DMAX,
    Q_SIG_WIRE,
    Q_SIG_DRIFT,
    Q_OUTLIER,
    Q_ROUNDS,
    Q_MAX_IT,
    Q_KASA,
    Q_HALF,
    Q_TL_MAX,
    Q_N,
) = range(17)


# --- algebraic circle fits ----------------------------------------------------------------------------


@nb.njit(cache=True)
def _taubin(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, bool]:
    """Taubin's algebraic circle fit (Chernov's Newton form): ``(xc, yc, r, ok)``."""
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
def _kasa(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, bool]:
    """Kåsa's algebraic circle fit: least squares of ``x^2 + y^2 + a x + b y + c``: ``(xc, yc, r, ok)``."""
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
def _circle_kernel(offsets: np.ndarray, x: np.ndarray, y: np.ndarray, kasa: bool) -> np.ndarray:
    n_ev = offsets.shape[0] - 1
    out = np.full((n_ev, 3), np.nan)
    for ev in range(n_ev):
        a = offsets[ev]
        b = offsets[ev + 1]
        if kasa:
            xc, yc, r, ok = _kasa(x[a:b], y[a:b])
        else:
            xc, yc, r, ok = _taubin(x[a:b], y[a:b])
        if ok:
            out[ev, 0] = xc
            out[ev, 1] = yc
            out[ev, 2] = r
    return out


# --- the helix model ----------------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _angle(ux: float, uy: float, phin: float, sense: float) -> float:
    """Turning angle in [0, 2 pi) along the motion from the perigee azimuth ``phin`` (seen from the centre)."""
    a = sense * (math.atan2(uy, ux) - phin)
    a = a % TWO_PI
    return a


@nb.njit(cache=True)
def _model(
    theta: np.ndarray,
    npar: int,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    tdrift: np.ndarray,
    use: np.ndarray,
    drift: float,
    par: np.ndarray,
    f: np.ndarray,
    jac: np.ndarray,
    zs: np.ndarray,
    dist: np.ndarray,
) -> float:
    """Residuals ``f`` (in units of their resolution), their Jacobian ``jac`` over the first ``npar``
    parameters (xc, yc, R, z0, tan lambda), each hit's z ``zs`` and signed distance from the circle ``dist``;
    returns chi2 over the used hits. With ``npar`` 3 the hits sit at z = 0."""
    xc, yc, r, z0, tl = theta[0], theta[1], theta[2], theta[3], theta[4]
    if npar < 5:
        z0 = 0.0
        tl = 0.0
    sense = par[Q_SENSE]
    phin = math.atan2(-yc, -xc)
    c2 = xc * xc + yc * yc
    g = tl * r
    sig = par[Q_SIG_DRIFT] if drift > 0.0 else par[Q_SIG_WIRE]
    chi2 = 0.0
    for i in range(p0x.shape[0]):
        # the hit's z on the helix: z = z0 + tl R psi(P0 + z D), by Newton
        z = z0
        ux = uy = rho2 = psi_z = 0.0
        psi = 0.0
        for _ in range(6):
            ux = p0x[i] + z * dx[i] - xc
            uy = p0y[i] + z * dy[i] - yc
            rho2 = ux * ux + uy * uy
            psi = _angle(ux, uy, phin, sense)
            psi_z = sense * (ux * dy[i] - uy * dx[i]) / rho2
            step = (z - z0 - g * psi) / (1.0 - g * psi_z)
            z -= step
            if abs(step) < 1e-10:
                break
        ux = p0x[i] + z * dx[i] - xc
        uy = p0y[i] + z * dy[i] - yc
        rho2 = ux * ux + uy * uy
        rho = math.sqrt(rho2)
        psi = _angle(ux, uy, phin, sense)
        psi_z = sense * (ux * dy[i] - uy * dx[i]) / rho2
        zs[i] = z
        s = rho - r
        dist[i] = s
        # d s / d theta, with z(theta) implicit: dz (1 - g psi_z) = dz0 + R psi dtl + tl psi dR + g dpsi|_z
        s_z = (ux * dx[i] + uy * dy[i]) / rho
        k = 1.0 / (1.0 - g * psi_z)
        psi_xc = sense * (uy / rho2 + yc / c2)
        psi_yc = sense * (-ux / rho2 - xc / c2)
        j0 = -ux / rho + s_z * k * g * psi_xc
        j1 = -uy / rho + s_z * k * g * psi_yc
        j2 = -1.0 + s_z * k * tl * psi
        j3 = s_z * k
        j4 = s_z * k * r * psi
        if drift > 0.0:
            path = r * psi * math.sqrt(1.0 + tl * tl)
            t = tdrift[i] - par[Q_T0] - (path / SPEED_OF_LIGHT if par[Q_TOF] > 0.0 else 0.0)
            d = min(max(t * par[Q_VDRIFT], 0.0), par[Q_DMAX])
            sgn = 1.0 if s >= 0.0 else -1.0
            f[i] = (abs(s) - d) / sig
        else:
            sgn = 1.0
            f[i] = s / sig
        sc = sgn / sig
        jac[i, 0] = j0 * sc
        jac[i, 1] = j1 * sc
        jac[i, 2] = j2 * sc
        jac[i, 3] = j3 * sc
        jac[i, 4] = j4 * sc
        if use[i]:
            chi2 += f[i] * f[i]
    return chi2


@nb.njit(cache=True)
def _solve(a: np.ndarray, b: np.ndarray, n: int, x: np.ndarray) -> bool:
    """Solve the symmetric positive definite ``a[:n, :n] x = b[:n]`` by Cholesky; False when singular."""
    lo = np.zeros((5, 5))
    for i in range(n):
        for j in range(i + 1):
            s = a[i, j]
            for k in range(j):
                s -= lo[i, k] * lo[j, k]
            if i == j:
                if s <= 0.0 or not np.isfinite(s):
                    return False
                lo[i, i] = math.sqrt(s)
            else:
                lo[i, j] = s / lo[j, j]
    y = np.zeros(5)
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= lo[i, k] * y[k]
        y[i] = s / lo[i, i]
    for i in range(n - 1, -1, -1):
        s = y[i]
        for k in range(i + 1, n):
            s -= lo[k, i] * x[k]
        x[i] = s / lo[i, i]
    return True


@nb.njit(cache=True)
def _levenberg_marquardt(
    theta: np.ndarray,
    npar: int,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    tdrift: np.ndarray,
    use: np.ndarray,
    drift: float,
    par: np.ndarray,
    zs: np.ndarray,
    dist: np.ndarray,
) -> tuple[float, bool]:
    """Minimise chi2 over the first ``npar`` helix parameters in place; ``(chi2, converged)``.

    One model evaluation per pass (a trial step is accepted when it does not raise chi2, else the damping
    grows tenfold); converged when a step changes chi2 or the parameters by a relative 1e-10 or 1e-9, or
    when no damping finds a lower chi2."""
    n = p0x.shape[0]
    f = np.empty(n)
    jac = np.empty((n, 5))
    zs_t = np.empty(n)
    dist_t = np.empty(n)
    trial = theta.copy()
    step = np.zeros(5)
    a = np.zeros((5, 5))
    am = np.zeros((5, 5))
    gv = np.zeros(5)
    chi2 = np.inf
    lam = 1e-3
    have = False
    converged = False
    for _ in range(4 * int(par[Q_MAX_IT]) + 1):
        c_try = _model(trial, npar, p0x, p0y, dx, dy, tdrift, use, drift, par, f, jac, zs_t, dist_t)
        if not have:
            if not np.isfinite(c_try):
                return c_try, False
        elif not (np.isfinite(c_try) and c_try <= chi2):  # rejected: more damping, the same gradient
            lam *= 10.0
            if lam > 1e12:  # no step lowers chi2: at the minimum to the precision of the arithmetic
                converged = True
                break
        else:
            small = True
            for p in range(npar):
                if abs(step[p]) > 1e-9 * (1.0 + abs(theta[p])):
                    small = False
            gain = chi2 - c_try
            lam = max(lam * 0.1, 1e-9)
            if small or gain <= 1e-10 * (1.0 + c_try):
                converged = True
        if not have or c_try <= chi2:  # accepted: the normal equations at the new point
            theta[:] = trial
            zs[:] = zs_t
            dist[:] = dist_t
            chi2 = c_try
            have = True
            if converged:
                break
            a[:, :] = 0.0
            gv[:] = 0.0
            for i in range(n):
                if not use[i]:
                    continue
                for p in range(npar):
                    gv[p] -= jac[i, p] * f[i]
                    for q in range(p + 1):
                        a[p, q] += jac[i, p] * jac[i, q]
            for p in range(npar):
                for q in range(p):
                    a[q, p] = a[p, q]
        solved = False
        while lam <= 1e12:
            am[:, :] = a
            for p in range(npar):
                am[p, p] = a[p, p] * (1.0 + lam) + 1e-12
            if _solve(am, gv, npar, step):
                trial[:] = theta
                for p in range(npar):
                    trial[p] += step[p]
                if trial[2] > 0.0:
                    solved = True
                    break
            lam *= 10.0
        if not solved:
            converged = True
            break
    return chi2, converged


@nb.njit(cache=True)
def _seed_z(
    theta: np.ndarray,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    use: np.ndarray,
    par: np.ndarray,
) -> bool:
    """Set ``theta[3:5]`` (z0, tan lambda) from the stereo wires' crossings of the circle ``theta[:3]``."""
    xc, yc, r = theta[0], theta[1], theta[2]
    sense = par[Q_SENSE]
    half = par[Q_HALF]
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
            zp = z0 + tl * r * _angle(qx, qy, phin, sense)
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
            ss[i] = r * _angle(ux, uy, phin, sense)
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
def _grid_seed(
    theta: np.ndarray,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    use: np.ndarray,
    par: np.ndarray,
) -> bool:
    """Set ``theta`` from a scan of (z0, tan lambda) over the chamber: the wires placed at the z each candidate
    line gives them (turning angles from the circle ``theta[:3]``), the candidate whose circle fits best."""
    xc, yc, r = theta[0], theta[1], theta[2]
    sense = par[Q_SENSE]
    half = par[Q_HALF]
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
            arc[k] = r * _angle(p0x[i] - xc, p0y[i] - yc, phin, sense)
            px[k] = p0x[i]
            py[k] = p0y[i]
            ex[k] = dx[i]
            ey[k] = dy[i]
            s_min = min(s_min, arc[k])
            s_max = max(s_max, arc[k])
            k += 1
    n_tl = 2 * math.ceil(par[Q_TL_MAX] / SCAN_TL_STEP) + 1
    n_z = 2 * math.ceil(half / SCAN_Z_STEP) + 1
    best = 1e300
    found = False
    for a in range(n_z):
        z0 = -half + 2.0 * half * a / (n_z - 1)
        for b in range(n_tl):
            tl = -par[Q_TL_MAX] + 2.0 * par[Q_TL_MAX] * b / (n_tl - 1)
            z_lo = z0 + tl * (s_min if tl > 0 else s_max)
            z_hi = z0 + tl * (s_max if tl > 0 else s_min)
            if z_lo < -half - 10.0 or z_hi > half + 10.0:  # the hits would lie outside the chamber
                continue
            for j in range(m):
                z = z0 + tl * arc[j]
                xs[j] = px[j] + z * ex[j]
                ys[j] = py[j] + z * ey[j]
            cx, cy, cr, ok = _taubin(xs, ys)
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


@nb.njit(cache=True)
def _inside(theta: np.ndarray, npar: int, use: np.ndarray, zs: np.ndarray, par: np.ndarray) -> bool:
    """Every used hit's z on the helix lies in the chamber (within ``Z_MARGIN``): the fit has not run away."""
    if npar < 5:
        return True
    for i in range(zs.shape[0]):
        if use[i] and abs(zs[i]) > par[Q_HALF] + Z_MARGIN:
            return False
    return True


@nb.njit(cache=True)
def _circle3(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> tuple[float, float, float, bool]:
    """The circle through three points: ``(xc, yc, r, ok)`` (not ok when they are collinear)."""
    d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    if abs(d) < 1e-9:
        return 0.0, 0.0, 0.0, False
    a2 = ax * ax + ay * ay
    b2 = bx * bx + by * by
    c2 = cx * cx + cy * cy
    xc = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    yc = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    return xc, yc, math.hypot(ax - xc, ay - yc), True


@nb.njit(cache=True)
def _msac_circle(x: np.ndarray, y: np.ndarray, use: np.ndarray, tol: float, trials: int, theta: np.ndarray) -> bool:
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
        xc, yc, r, ok = _circle3(x[a], y[a], x[b], y[b], x[c], y[c])
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
    xc, yc, r, ok = _taubin(xs[:k], ys[:k])
    if not ok:
        return False
    theta[0] = xc
    theta[1] = yc
    theta[2] = r
    return True


@nb.njit(cache=True)
def _stage(
    theta: np.ndarray,
    npar: int,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    tdrift: np.ndarray,
    ok_hit: np.ndarray,
    use: np.ndarray,
    drift: float,
    cut: float,
    par: np.ndarray,
    zs: np.ndarray,
    dist: np.ndarray,
    f: np.ndarray,
) -> tuple[float, bool, float]:
    """One fit stage: Levenberg-Marquardt on the ``use`` hits; with ``cut`` > 0 then ``use`` becomes the
    ``ok_hit`` hits within ``cut`` (cm) of the helix and the fit is repeated until that set is stable (at most
    ``Q_ROUNDS`` times). Returns ``(chi2, converged, robust cost)``, ``f`` the residuals of every hit; the
    robust cost, the sum over the ``ok_hit`` hits of ``min(f^2, (cut / resolution)^2)``, compares fits of
    different hit sets (without a cut: chi2)."""
    n = p0x.shape[0]
    sig = par[Q_SIG_DRIFT] if drift > 0.0 else par[Q_SIG_WIRE]
    jac = np.empty((n, 5))
    chi2 = np.inf
    conv = False
    rounds = int(par[Q_ROUNDS]) if cut > 0.0 else 0
    for rnd in range(rounds + 1):
        chi2, conv = _levenberg_marquardt(theta, npar, p0x, p0y, dx, dy, tdrift, use, drift, par, zs, dist)
        if not np.isfinite(chi2):
            return chi2, False, np.inf
        _model(theta, npar, p0x, p0y, dx, dy, tdrift, use, drift, par, f, jac, zs, dist)
        if rnd == rounds:
            break
        changed = False
        n_in = 0
        for i in range(n):
            inside = ok_hit[i] and abs(f[i]) * sig < cut
            if inside != use[i]:
                changed = True
            if inside:
                n_in += 1
        if not changed or n_in < max(int(par[Q_MIN_HITS]), npar + 1):
            break
        for i in range(n):
            use[i] = ok_hit[i] and abs(f[i]) * sig < cut
    if cut <= 0.0:
        return chi2, conv, chi2
    c2 = (cut / sig) ** 2
    cost = 0.0
    for i in range(n):
        if ok_hit[i]:
            cost += min(f[i] * f[i], c2)
    return chi2, conv, cost


@nb.njit(cache=True)
def _fit_event(
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    tdrift: np.ndarray,
    par: np.ndarray,
    out: np.ndarray,
    use: np.ndarray,
) -> None:
    """Fit one event's hits; ``out`` gets the kernel's output row, ``use`` the hits kept in the fit."""
    n = p0x.shape[0]
    out[O_NHITS] = n
    drift = par[Q_USE_DRIFT] > 0.0
    robust = par[Q_OUTLIER] > 0.0
    ok_hit = np.empty(n, dtype=np.bool_)
    n_ok = 0
    stereo = 0.0
    for i in range(n):
        ok_hit[i] = not (drift and not np.isfinite(tdrift[i]))
        use[i] = ok_hit[i]
        if ok_hit[i]:
            n_ok += 1
        stereo = max(stereo, math.hypot(dx[i], dy[i]) * par[Q_HALF])
    out[O_NUSED] = n_ok
    min_hits = int(par[Q_MIN_HITS])
    if n_ok < max(min_hits, 3):
        use[:] = False
        return
    # 1. the seed circle on the wires at z = 0 (robust: MSAC, hits within the largest stereo shift + 1 cm)
    circle = np.zeros(5)
    if robust:
        ok = _msac_circle(p0x, p0y, use, stereo + 1.0, 200, circle)
    else:
        xs = np.empty(n_ok)
        ys = np.empty(n_ok)
        k = 0
        for i in range(n):
            if use[i]:
                xs[k] = p0x[i]
                ys[k] = p0y[i]
                k += 1
        if par[Q_KASA] > 0.0:
            xc, yc, r, ok = _kasa(xs, ys)
        else:
            xc, yc, r, ok = _taubin(xs, ys)
        circle[0] = xc
        circle[1] = yc
        circle[2] = r
    if not ok:
        use[:] = False
        return
    seed_use = use.copy()
    n_seed = 0
    for i in range(n):
        if seed_use[i]:
            n_seed += 1
    # 2. starting points: z from the (z0, tan lambda) scan and from the wire crossings; last, the circle alone
    starts = np.zeros((3, 5))
    npars = np.zeros(3, dtype=np.int64)
    n_starts = 0
    if par[Q_FIT_Z] > 0.0 and n_seed >= max(min_hits, 6):
        starts[n_starts] = circle
        if _grid_seed(starts[n_starts], p0x, p0y, dx, dy, seed_use, par):
            npars[n_starts] = 5
            n_starts += 1
        starts[n_starts] = circle
        if _seed_z(starts[n_starts], p0x, p0y, dx, dy, seed_use, par):
            npars[n_starts] = 5
            n_starts += 1
    starts[n_starts] = circle
    npars[n_starts] = 3
    n_starts += 1
    zs = np.zeros(n)
    dist = np.zeros(n)
    f = np.zeros(n)
    theta = np.zeros(5)
    best = np.zeros(5)
    best_use = use.copy()
    best_f = np.zeros(n)
    best_zs = np.zeros(n)
    best_cost = np.inf
    best_chi2 = np.inf
    best_npar = 0
    conv = False
    wire_cut = 3.0 * par[Q_SIG_WIRE] if robust else 0.0
    final_cut = par[Q_OUTLIER] if drift else wire_cut
    # 3. from each start: the wire-only fit, then (with drift distances) the drift fit from its result, and
    # the drift fit from the start itself; the lowest robust cost wins. The circle alone (hits at z = 0)
    # only when no helix stays in the chamber (short arcs without drift distances).
    for s in range(n_starts):
        npar = npars[s]
        if npar == 3 and np.isfinite(best_cost):
            break
        for variant in range(2 if drift else 1):
            theta[:] = starts[s]
            use[:] = seed_use
            chi2 = np.inf
            c = False
            cost = np.inf
            for st in range(2):
                if (st == 0 and variant == 1) or (st == 1 and not drift):
                    continue
                chi2, c, cost = _stage(
                    theta, npar, p0x, p0y, dx, dy, tdrift, ok_hit, use, float(st), wire_cut if st == 0 else final_cut,
                    par, zs, dist, f,
                )  # fmt: skip
                if not (np.isfinite(chi2) and _inside(theta, npar, use, zs, par)):
                    cost = np.inf
                    break
            if cost < best_cost:
                best_cost = cost
                best_chi2 = chi2
                best_npar = npar
                best[:] = theta
                best_use[:] = use
                best_f[:] = f
                best_zs[:] = zs
                conv = c
    if not np.isfinite(best_cost):
        use[:] = False
        return
    npar = best_npar
    use[:] = best_use
    n_use = 0
    for i in range(n):
        if use[i]:
            n_use += 1
    out[O_NUSED] = n_use
    out[O_XC] = best[0]
    out[O_YC] = best[1]
    out[O_R] = best[2]
    if npar == 5:
        out[O_Z0] = best[3]
        out[O_TL] = best[4]
    out[O_ZFIT] = 1.0 if npar == 5 else 0.0
    out[O_CHI2] = best_chi2
    out[O_NDF] = n_use - npar
    ok = conv and n_use >= min_hits and n_use > npar and best[2] > 0.0
    out[O_VALID] = 1.0 if ok else 0.0


@nb.njit(cache=True)
def _helix_kernel(
    offsets: np.ndarray,
    p0x: np.ndarray,
    p0y: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    tdrift: np.ndarray,
    par: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    n_ev = offsets.shape[0] - 1
    out = np.full((n_ev, O_N), np.nan)
    used = np.zeros(p0x.shape[0], dtype=np.bool_)
    for ev in range(n_ev):
        a = offsets[ev]
        b = offsets[ev + 1]
        out[ev, O_VALID] = 0.0
        out[ev, O_ZFIT] = 0.0
        out[ev, O_NDF] = 0.0
        _fit_event(p0x[a:b], p0y[a:b], dx[a:b], dy[a:b], tdrift[a:b], par, out[ev], used[a:b])
    return out, used


# --- the public functions -----------------------------------------------------------------------------


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


def fit_helices(
    offsets: np.ndarray,
    wire: np.ndarray,
    drift_time: np.ndarray | None = None,
    *,
    geometry: CDCGeometry | None = None,
    field: float = 1.0,
    charge: int = -1,
    min_hits: int = 5,
    fit_z: bool = True,
    drift_velocity: float = 0.0025,
    t0: float = 0.0,
    time_of_flight: bool = True,
    max_drift: float = 1.13,
    wire_resolution: float = 1.6 / math.sqrt(12.0),
    drift_resolution: float = 0.02,
    outlier_cut: float | None = None,
    outlier_rounds: int = 5,
    max_iterations: int = 50,
    max_tan_lambda: float = 1.5,
    seed: str = "taubin",
    lines: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Fit a helix to the hits of each event (see the module docstring for the method).

    Args:
        offsets: ``n_events + 1`` offsets into the flat hit arrays.
        wire: wire id per hit.
        drift_time: drift time per hit (ns after the trigger); with it the drift distances refine the fit.
        geometry: the chamber (default: the Phase-I CDC).
        field: solenoid field (T).
        charge: the particle's charge (its sign sets the sense of rotation).
        min_hits: events with fewer hits are not fitted (NaN, ``valid`` False).
        fit_z: fit z0 and tan(lambda) from the stereo wires (else the hits sit at z = 0 and p is NaN).
        drift_velocity: cm/ns.
        t0: the time of the particle at the perigee (ns).
        time_of_flight: subtract the flight time along the helix from the perigee (at c).
        max_drift: drift distances are clipped to this (cm).
        wire_resolution: resolution of the wire positions (cm), for the chi2 of the wire-only fit.
        drift_resolution: resolution of the drift distances (cm), for the chi2 of the drift fit.
        outlier_cut: robust fit: an MSAC seed circle, and only the hits within this distance of the helix (cm)
            in the drift fit (3 ``wire_resolution`` in the wire-only fit), refitted until stable (None: all hits).
        outlier_rounds: select-and-refit rounds per fit stage at most.
        max_iterations: Levenberg-Marquardt iterations per fit stage.
        max_tan_lambda: the scan of the z seed covers tan(lambda) up to this (the fit itself is not bounded).
        seed: the seed circle fit: ``taubin`` or ``kasa``.
        lines: the wire lines of :func:`wire_lines` (computed from the geometry when not given).

    Returns:
        ``(fit, used)``: ``fit`` maps each name of :data:`FIT_FIELDS` to one value per event, ``used`` is a
        bool per hit, True for the hits of the final fit.

    Examples:
        >>> geo = CDCGeometry()
        >>> fit, used = fit_helices(np.array([0, 2]), np.array([300, 500]), geometry=geo)
        >>> bool(fit["valid"][0]), bool(np.isnan(fit["pt"][0])), int(fit["n_hits"][0])
        (False, True, 2)
    """
    geo = geometry or CDCGeometry()
    if seed not in ("taubin", "kasa"):
        msg = f"seed must be 'taubin' or 'kasa', not {seed!r}"
        raise ValueError(msg)
    off = np.ascontiguousarray(offsets, dtype=np.int64)
    w = np.ascontiguousarray(wire, dtype=np.int64)
    if w.size:
        geo.check_wires(w)
    x0, y0, dx, dy = lines if lines is not None else wire_lines(geo)
    use_drift = drift_time is not None
    t = np.ascontiguousarray(drift_time, dtype=np.float64) if use_drift else np.zeros(w.size)
    if t.shape != w.shape:
        msg = f"drift_time has {t.size} entries, wire has {w.size}"
        raise ValueError(msg)
    par = np.zeros(Q_N)
    par[Q_SENSE] = 1.0 if charge * field < 0 else -1.0
    par[Q_MIN_HITS] = min_hits
    par[Q_USE_DRIFT] = 1.0 if use_drift else 0.0
    par[Q_FIT_Z] = 1.0 if fit_z else 0.0
    par[Q_VDRIFT] = drift_velocity
    par[Q_T0] = t0
    par[Q_TOF] = 1.0 if time_of_flight else 0.0
    par[Q_DMAX] = max_drift
    par[Q_SIG_WIRE] = wire_resolution
    par[Q_SIG_DRIFT] = drift_resolution
    par[Q_OUTLIER] = 0.0 if outlier_cut is None else outlier_cut
    par[Q_ROUNDS] = outlier_rounds
    par[Q_MAX_IT] = max_iterations
    par[Q_KASA] = 1.0 if seed == "kasa" else 0.0
    par[Q_HALF] = geo.half_length
    par[Q_TL_MAX] = max_tan_lambda
    out, used = _helix_kernel(
        off,
        np.ascontiguousarray(x0[w]),
        np.ascontiguousarray(y0[w]),
        np.ascontiguousarray(dx[w]),
        np.ascontiguousarray(dy[w]),
        t,
        par,
    )
    return _results(out, field, par[Q_SENSE]), used


def _results(out: np.ndarray, field: float, sense: float) -> dict[str, np.ndarray]:
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


# --- the module ---------------------------------------------------------------------------------------


class HelixFit(hepreco.Producer):
    """Fit a helix to each event's selected CDC hits: transverse momentum from the circle's radius,
    momentum from the dip the stereo wires measure.

    Per event: a Taubin (or Kåsa) circle on the wires at z = 0; z per hit where each stereo wire meets the
    circle and a scan of (z0, tan lambda) start a Levenberg-Marquardt helix fit of the wire distances to the
    helix (each wire at the helix's z), refined with the drift distances (``use_drift``); with
    ``outlier_cut`` a robust seed and only the hits near the helix (background, later turns left out).
    ``pT [MeV/c] = 2.998 B [T] R [cm]``, ``p = pT sqrt(1 + tan^2 lambda)``. Method and references: the
    module docstring of ``hepreco_comet.helix_fit``.

    Product (under the label, one record per event): ``pt``, ``p`` (MeV/c; ``p`` NaN without a z fit),
    ``radius``, ``center_x``, ``center_y``, ``d0`` (cm), ``phi0`` (rad), ``tan_lambda``, ``z0`` (cm, at the
    perigee, the point of the circle closest to the axis), ``chi2``, ``ndf``, ``n_hits`` (hits given),
    ``n_used`` (hits in the final fit), ``valid`` (enough hits, the fit converged, the helix inside the
    chamber at every hit). Events with too few hits get NaN and ``valid`` False. With ``used`` also
    ``used`` (per hit, jagged like the hits: the hit is in the final fit).

    Summary (from the booked histogram ``counts``, so exact on any executor): ``events_fitted`` (with at
    least ``min_hits`` hits), ``valid_fits``, ``valid_fraction`` and ``valid_with_z_fraction`` (per event).
    """

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        """The CDC hits (``wire``; ``drift_time`` with ``use_drift``; ``is_signal`` and ``turn`` with ``truth``)."""
        select: InputTag | None = InputTag("turn1:mask")
        """A per-hit bool product (jagged like the hits): the hits to fit, e.g. the turn-1 extractor's mask
        (null: all hits)."""
        truth: bool = False
        """Fit the truth first-turn signal hits (``is_signal & turn == 1``) instead of ``select``: the
        reference of the resolution plots."""
        field: float = 1.0
        """Solenoid field (T; its sign with ``charge`` sets the sense of rotation)."""
        charge: Literal[-1, 1] = -1
        """Charge of the particle (the conversion electron: -1)."""
        min_hits: int = Field(5, ge=3)
        """Events with fewer selected hits are not fitted (NaN, ``valid`` False)."""
        fit_z: bool = True
        """Fit z0 and tan(lambda) from the stereo wires (else the hits sit at z = 0 and ``p`` is NaN)."""
        use_drift: bool = True
        """Refine the fit with the drift distances from ``drift_time``: the simulation's drift time is the
        drift distance over ``drift_velocity`` plus the particle's flight time since the trigger, which the
        fit subtracts (``t0``, ``time_of_flight``)."""
        drift_velocity: float = Field(0.0025, gt=0)
        """Drift velocity (cm/ns; the simulation's ``drift_velocity``)."""
        t0: float = 0.0
        """Time of the particle at the perigee after the trigger (ns; the simulated signal leaves the target
        at 0)."""
        time_of_flight: bool = True
        """Subtract the flight time from the perigee along the helix (at the speed of light)."""
        max_drift: float = Field(1.13, gt=0)
        """Drift distances are clipped to this (cm; the cell's half-diagonal)."""
        wire_resolution: float = Field(1.6 / math.sqrt(12.0), gt=0)
        """Resolution of a wire position across the track (cm; cell size / sqrt 12), for the chi2."""
        drift_resolution: float = Field(0.02, gt=0)
        """Resolution of a drift distance (cm), for the chi2."""
        outlier_cut: float | None = Field(0.25, gt=0)
        """Robust fit: a robust (MSAC) seed circle, and after each fit only the hits within this distance (cm)
        of the helix (3 ``wire_resolution`` in the wire-only stage) are kept and the fit repeated (null: every
        selected hit, plain Taubin seed). 0.25 cm is ~7 times the drift residuals' spread on clean tracks
        (0.035 cm: the 0.02 cm drift resolution and multiple scattering)."""
        outlier_rounds: int = Field(5, ge=0)
        """Select-and-refit rounds per fit stage at most."""
        max_iterations: int = Field(50, ge=1)
        """Levenberg-Marquardt iterations per fit stage."""
        seed: Literal["taubin", "kasa"] = "taubin"
        """The algebraic circle fit that seeds the helix fit."""
        used: bool = False
        """Also put ``used``: per hit, whether it is in the final fit."""

        @model_validator(mode="after")
        def _check(self) -> HelixFit.Config:
            if self.field == 0:
                msg = "field must not be 0"
                raise ValueError(msg)
            return self

    produces = ("", "used")
    summary_from_histograms = True

    def products(self) -> tuple[str, ...]:
        return ("", "used") if self.config.used else ("",)

    def consumes(self) -> list[InputTag]:
        tags = super().consumes()
        if self.config.truth and self.config.select is not None:
            tags = [t for t in tags if t != self.config.select]
        return tags

    def begin_job(self) -> None:
        self.geometry = geometry_from(self.services)
        self.lines = wire_lines(self.geometry)
        import hist

        self.counts = self.book(
            "counts",
            hist.Hist(hist.axis.StrCategory(list(_COUNTS), name="count"), storage=hist.storage.Double()),
            internal=True,  # a counter: the summary's figures come from it
        )

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        fields = ("wire",) + (("drift_time",) if c.use_drift else ()) + (("is_signal", "turn") if c.truth else ())
        offsets, flat = flat_hits(events[c.hits], fields, product=str(c.hits))
        n_all = int(offsets[-1])
        if c.truth:
            chosen = np.flatnonzero(flat["is_signal"].astype(bool) & (flat["turn"] == 1))
        elif c.select is not None:
            chosen = np.flatnonzero(per_hit(events, c.select, offsets, hits=c.hits).astype(bool))
        else:
            chosen = np.arange(n_all)
        ev_of = np.repeat(np.arange(len(events)), np.diff(offsets))[chosen]
        sel_off = np.zeros(len(events) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ev_of, minlength=len(events)), out=sel_off[1:])
        wire = flat["wire"][chosen].astype(np.int64)
        bad = (wire < 0) | (wire >= self.geometry.n_wires)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            msg = f"{event_name(events, int(ev_of[i]))}: wire id {int(wire[i])} outside the CDC in '{c.hits}'"
            raise ValueError(msg)
        fit, used = fit_helices(
            sel_off,
            wire,
            flat["drift_time"][chosen] if c.use_drift else None,
            geometry=self.geometry,
            field=c.field,
            charge=c.charge,
            min_hits=c.min_hits,
            fit_z=c.fit_z,
            drift_velocity=c.drift_velocity,
            t0=c.t0,
            time_of_flight=c.time_of_flight,
            max_drift=c.max_drift,
            wire_resolution=c.wire_resolution,
            drift_resolution=c.drift_resolution,
            outlier_cut=c.outlier_cut,
            outlier_rounds=c.outlier_rounds,
            max_iterations=c.max_iterations,
            seed=c.seed,
            lines=self.lines,
        )
        events.put("", ak.zip({k: fit[k] for k in FIT_FIELDS}))
        if c.used:
            used_hits = np.zeros(n_all, dtype=bool)
            used_hits[chosen] = used
            events.put("used", ak.unflatten(used_hits, np.diff(offsets)))
        self.counts.view()[:] += [
            len(events),
            int(np.sum(np.diff(sel_off) >= c.min_hits)),
            int(fit["valid"].sum()),
            int(np.sum(fit["valid"] & np.isfinite(fit["p"]))),
        ]

    def end_job(self) -> None:
        events, fitted, valid, with_z = (int(v) for v in self.counts.view())
        figures: dict[str, float | int] = {"events_fitted": fitted, "valid_fits": valid}
        if events:
            figures["valid_fraction"] = round(valid / events, 5)
            figures["valid_with_z_fraction"] = round(with_z / events, 5)
        self.summary(**figures)
