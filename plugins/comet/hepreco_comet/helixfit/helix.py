"""This module defines the helix fit itself: the residuals of the wires (and drift distances) to a helix, the
Levenberg-Marquardt minimisation, the outlier rounds, the fit of one event from its starts, and
:func:`fit_helices` (every event of a batch). The method is described in :mod:`hepreco_comet.helixfit`.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from hepreco_comet.geometry import CDCGeometry
from hepreco_comet.helixfit.circle import kasa, taubin, turning_angle
from hepreco_comet.helixfit.result import (
    O_CHI2,
    O_N,
    O_NDF,
    O_NHITS,
    O_NUSED,
    O_R,
    O_TL,
    O_VALID,
    O_XC,
    O_YC,
    O_Z0,
    O_ZFIT,
    fit_record,
)
from hepreco_comet.helixfit.seeding import msac_circle, seed_z_from_crossings, seed_z_from_scan, wire_lines

__all__ = ["Z_MARGIN", "fit_helices"]

SPEED_OF_LIGHT = 29.9792458  # cm/ns
#: a fit that puts a hit farther than this beyond the end plates (cm) has run away (short arcs without drift)
Z_MARGIN = 20.0

# the kernel's option vector (``par``): its indices
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


@nb.njit(cache=True)
def residuals(
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
            psi = turning_angle(ux, uy, phin, sense)
            psi_z = sense * (ux * dy[i] - uy * dx[i]) / rho2
            step = (z - z0 - g * psi) / (1.0 - g * psi_z)
            z -= step
            if abs(step) < 1e-10:
                break
        ux = p0x[i] + z * dx[i] - xc
        uy = p0y[i] + z * dy[i] - yc
        rho2 = ux * ux + uy * uy
        rho = math.sqrt(rho2)
        psi = turning_angle(ux, uy, phin, sense)
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
        c_try = residuals(trial, npar, p0x, p0y, dx, dy, tdrift, use, drift, par, f, jac, zs_t, dist_t)
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
def _inside(theta: np.ndarray, npar: int, use: np.ndarray, zs: np.ndarray, par: np.ndarray) -> bool:
    """Every used hit's z on the helix lies in the chamber (within ``Z_MARGIN``): the fit has not run away."""
    if npar < 5:
        return True
    for i in range(zs.shape[0]):
        if use[i] and abs(zs[i]) > par[Q_HALF] + Z_MARGIN:
            return False
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
        residuals(theta, npar, p0x, p0y, dx, dy, tdrift, use, drift, par, f, jac, zs, dist)
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
        ok = msac_circle(p0x, p0y, use, stereo + 1.0, 200, circle)
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
            xc, yc, r, ok = kasa(xs, ys)
        else:
            xc, yc, r, ok = taubin(xs, ys)
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
        if seed_z_from_scan(starts[n_starts], p0x, p0y, dx, dy, seed_use, par[Q_SENSE], par[Q_HALF], par[Q_TL_MAX]):
            npars[n_starts] = 5
            n_starts += 1
        starts[n_starts] = circle
        if seed_z_from_crossings(starts[n_starts], p0x, p0y, dx, dy, seed_use, par[Q_SENSE], par[Q_HALF]):
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
    """Fit a helix to the hits of each event (see :mod:`hepreco_comet.helixfit` for the method).

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
    return fit_record(out, field, par[Q_SENSE]), used
