"""This module holds the numba kernels of the particle transport in liquid argon: event generation (neutrino-like
vertices, single particles, cosmic muons) and the stepping of every particle, to energy deposits.

Imported only when events are simulated (it compiles numba code). Units: cm, MeV, MeV/c, µs. Every choice
and its source is listed in ``plugins/lartpc/README.md``; the constants below are the PDG's for liquid argon.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from hepreco_lartpc._rng import rng_exponential, rng_gamma, rng_normal, rng_poisson, rng_uniform

# --- liquid argon (PDG "Atomic and nuclear properties of materials", liquid argon) ---------------------------
RHO = 1.396  # g/cm3 (at 87 K)
Z_OVER_A = 18.0 / 39.948
I_EXC = 188.0e-6  # MeV, mean excitation energy
X0 = 14.0  # cm, radiation length (19.55 g/cm2 / 1.396)
LAMBDA_I = 85.77  # cm, nuclear interaction length
K_BETHE = 0.307075  # MeV cm2/mol
ME = 0.51099895  # MeV
# Sternheimer density-effect parameters of liquid argon (PDG table)
DE_C = 5.2146
DE_X0 = 0.2000
DE_X1 = 3.0000
DE_A = 0.19559
DE_K = 3.0000
MMU = 105.6583755
MPI = 139.57039
MPI0 = 134.9768
MP = 938.27208816
MK = 493.677
MN = 939.56542052
MICHEL_EMAX = 52.83  # MeV, (m_mu^2 + m_e^2) / 2 m_mu

# process codes of the ``particles`` product
P_PRIMARY, P_DECAY, P_CONV, P_COMPT, P_BREM, P_DELTA, P_HADRON, P_ANNIHIL, P_PHOT, P_COSMIC = range(10)
PROCESS_NAMES = ("primary", "decay", "conversion", "compton", "brems", "delta", "hadronic", "annihilation",
                 "photoelectric", "cosmic")  # fmt: skip

# particle float columns
F_X, F_Y, F_Z, F_EX, F_EY, F_EZ, F_PX, F_PY, F_PZ, F_E, F_T0 = range(11)
NF = 11
# particle int columns
I_PDG, I_PARENT, I_PROC, I_FLAGS = range(4)
NI = 4
FLAG_SHOWER, FLAG_MICHEL = 1, 2
# deposit columns
D_X, D_Y, D_Z, D_E, D_DX, D_T0 = range(6)
ND = 6

# simulation parameter vector (filled by hepreco_lartpc.simulation from SimParameters + the geometry)
(K_XMIN, K_XMAX, K_YMIN, K_YMAX, K_ZMIN, K_ZMAX, K_FID, K_MODE, K_F_NUMU, K_F_NUE, K_F_NC, K_E_MEAN,
 K_E_MIN, K_E_MAX, K_E_SHAPE, K_SINGLE_PMIN, K_SINGLE_PMAX, K_COSMICS, K_DRIFT_WINDOW, K_DELTA_CUT,
 K_STEP, K_E_CUT, K_GAMMA_CUT, K_N_SINGLE, K_SINGLE_ISO, K_LAMBDA_HAD, K_MU_CAPTURE, K_DRIFT_V,
 NPARAM) = range(29)  # fmt: skip

# NIST XCOM, argon: photon energy (MeV), total mass attenuation without coherent scattering (cm2/g),
# and the fraction of it that is pair production (nuclear + electron field)
XCOM_E = np.array([0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0,
                   80.0, 100.0, 300.0, 1000.0, 1.0e5])  # fmt: skip
XCOM_MU = np.array([0.1550, 0.1220, 0.1070, 0.0922, 0.0758, 0.0626, 0.0568, 0.0468, 0.0408, 0.0346, 0.0296,
                    0.0279, 0.0278, 0.0285, 0.0294, 0.0312, 0.0333, 0.0350, 0.0357, 0.0380, 0.0392, 0.0398])  # fmt: skip
XCOM_PAIR = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.004, 0.022, 0.073, 0.190, 0.330, 0.400, 0.520,
                      0.600, 0.700, 0.800, 0.860, 0.880, 0.950, 0.980, 1.0])  # fmt: skip
# photoelectric share below 0.2 MeV: treated as absorption (photon -> electron of its energy)
PHOT_E = 0.15


@nb.njit(cache=True)
def _interp_loglog(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    if x <= xs[0]:
        return ys[0]
    n = xs.size
    if x >= xs[n - 1]:
        return ys[n - 1]
    i = np.searchsorted(xs, x) - 1
    lx0, lx1 = math.log(xs[i]), math.log(xs[i + 1])
    t = (math.log(x) - lx0) / (lx1 - lx0)
    y0, y1 = ys[i], ys[i + 1]
    if y0 > 0.0 and y1 > 0.0:
        return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
    return y0 + t * (y1 - y0)


@nb.njit(cache=True)
def mass_of(pdg: int) -> float:
    a = abs(pdg)
    if a == 11:
        return ME
    if a == 13:
        return MMU
    if a == 211:
        return MPI
    if a == 111:
        return MPI0
    if a == 2212:
        return MP
    if a == 321:
        return MK
    if a == 2112:
        return MN
    return 0.0


@nb.njit(cache=True)
def _density_effect(bg: float) -> float:
    x = math.log10(bg)
    if x >= DE_X1:
        return 2.0 * math.log(10.0) * x - DE_C
    if x >= DE_X0:
        return 2.0 * math.log(10.0) * x - DE_C + DE_A * (DE_X1 - x) ** DE_K
    return 0.0


@nb.njit(cache=True)
def bethe_dedx(t: float, mass: float, tcut: float) -> float:
    """Mean (restricted to energy transfers below ``tcut``; ``tcut<=0``: unrestricted) collision loss of a heavy
    charged particle of kinetic energy ``t`` (MeV) in liquid argon, MeV/cm (Bethe with density effect, PDG eq. 34.5/34.12)."""
    if t <= 0.0:
        return 0.0
    gamma = 1.0 + t / mass
    b2 = 1.0 - 1.0 / (gamma * gamma)
    bg2 = gamma * gamma - 1.0
    r = ME / mass
    tmax = 2.0 * ME * bg2 / (1.0 + 2.0 * gamma * r + r * r)
    tup = tmax if tcut <= 0.0 else min(tcut, tmax)
    delta = _density_effect(math.sqrt(bg2))
    arg = 2.0 * ME * bg2 * tup / (I_EXC * I_EXC)
    f = 0.5 * math.log(arg) - 0.5 * b2 * (1.0 + tup / tmax) - 0.5 * delta
    d = K_BETHE * Z_OVER_A * RHO / b2 * f
    # below ~0.5 MeV/u the Bethe formula fails; the loss is capped at the Bragg peak's ~ (PSTAR) value
    return min(max(d, 0.0), 250.0 if mass > 500.0 else 120.0)


@nb.njit(cache=True)
def electron_dedx(t: float) -> float:
    """Mean collision loss of an electron of kinetic energy ``t`` in liquid argon, MeV/cm (Rohrlich-Carlson
    formula, ICRU 37 / PDG eq. 34.24 form with the density effect)."""
    if t <= 0.0:
        return 0.0
    tau = t / ME
    gamma = tau + 1.0
    b2 = 1.0 - 1.0 / (gamma * gamma)
    f = 1.0 - b2 + (tau * tau / 8.0 - (2.0 * tau + 1.0) * math.log(2.0)) / (gamma * gamma)
    delta = _density_effect(math.sqrt(gamma * gamma - 1.0))
    arg = tau * tau * (tau + 2.0) / (2.0 * (I_EXC / ME) ** 2)
    d = 0.5 * K_BETHE * Z_OVER_A * RHO / b2 * (math.log(arg) + f - delta)
    return min(max(d, 1.0), 40.0)


@nb.njit(cache=True)
def highland(p: float, beta: float, step: float) -> float:
    """Highland's width of the projected multiple-scattering angle (PDG eq. 34.15) for a step in argon."""
    xr = step / X0
    if xr <= 0.0:
        return 0.0
    t = 13.6 / (beta * p) * math.sqrt(xr) * (1.0 + 0.038 * math.log(xr / (beta * beta)))
    return max(t, 0.0)


@nb.njit(cache=True)
def _rotate(d: np.ndarray, theta: float, phi: float) -> None:
    """Turn unit vector ``d`` by polar angle ``theta`` about itself, azimuth ``phi``."""
    ux, uy, uz = d[0], d[1], d[2]
    st, ct = math.sin(theta), math.cos(theta)
    sp, cp = math.sin(phi), math.cos(phi)
    if abs(uz) < 0.99999:
        s = math.sqrt(1.0 - uz * uz)
        nx = ux * ct + st * (ux * uz * cp - uy * sp) / s
        ny = uy * ct + st * (uy * uz * cp + ux * sp) / s
        nz = uz * ct - st * s * cp
    else:
        sg = 1.0 if uz > 0 else -1.0
        nx = st * cp
        ny = st * sp
        nz = sg * ct
    n = math.sqrt(nx * nx + ny * ny + nz * nz)
    d[0], d[1], d[2] = nx / n, ny / n, nz / n


@nb.njit(cache=True)
def _isotropic(d: np.ndarray, rng: np.ndarray) -> None:
    c = 2.0 * rng_uniform(rng) - 1.0
    phi = 2.0 * math.pi * rng_uniform(rng)
    s = math.sqrt(max(0.0, 1.0 - c * c))
    d[0], d[1], d[2] = s * math.cos(phi), s * math.sin(phi), c


@nb.njit(cache=True)
def _add_particle(pf: np.ndarray, pi: np.ndarray, n: np.ndarray, pdg: int, parent: int, proc: int,
                  x: float, y: float, z: float, d: np.ndarray, t: float, t0: float, flags: int) -> int:  # fmt: skip
    """Append a particle with kinetic energy ``t`` along unit vector ``d``; returns its index (-1 when full)."""
    k = n[0]
    if k >= pf.shape[0]:
        n[2] += 1
        return -1
    m = mass_of(pdg)
    p = math.sqrt(t * (t + 2.0 * m))
    pf[k, F_X], pf[k, F_Y], pf[k, F_Z] = x, y, z
    pf[k, F_EX], pf[k, F_EY], pf[k, F_EZ] = x, y, z
    pf[k, F_PX], pf[k, F_PY], pf[k, F_PZ] = p * d[0], p * d[1], p * d[2]
    pf[k, F_E] = t + m
    pf[k, F_T0] = t0
    pi[k, I_PDG], pi[k, I_PARENT], pi[k, I_PROC] = pdg, parent, proc
    f = flags
    a = abs(pdg)
    if a == 11 or a == 22:
        f |= FLAG_SHOWER
    pi[k, I_FLAGS] = f
    n[0] = k + 1
    return k


@nb.njit(cache=True)
def _deposit(dep: np.ndarray, dpart: np.ndarray, n: np.ndarray, x: float, y: float, z: float, e: float,
             dx: float, t0: float, part: int) -> None:  # fmt: skip
    if e <= 0.0:
        return
    k = n[1]
    if k >= dep.shape[0]:
        n[3] += 1
        return
    dep[k, D_X], dep[k, D_Y], dep[k, D_Z] = x, y, z
    dep[k, D_E], dep[k, D_DX], dep[k, D_T0] = e, dx, t0
    dpart[k] = part
    n[1] = k + 1


@nb.njit(cache=True)
def _in_argon(P: np.ndarray, x: float, y: float, z: float) -> bool:
    return (P[K_XMIN] <= x <= P[K_XMAX]) and (P[K_YMIN] <= y <= P[K_YMAX]) and (P[K_ZMIN] <= z <= P[K_ZMAX])


# --- charged tracks -------------------------------------------------------------------------------------
@nb.njit(cache=True)
def _track_heavy(k: int, P: np.ndarray, pf: np.ndarray, pi: np.ndarray, n: np.ndarray, dep: np.ndarray,
                 dpart: np.ndarray, rng: np.ndarray) -> None:  # fmt: skip
    """Step a muon, pion, proton or kaon: restricted Bethe loss with Bohr straggling, explicit delta rays
    above the cut, Highland scattering, hadronic interactions (pi, p, K) and what happens when it stops."""
    pdg = pi[k, I_PDG]
    a = abs(pdg)
    m = mass_of(pdg)
    x, y, z = pf[k, F_X], pf[k, F_Y], pf[k, F_Z]
    pmag = math.sqrt(pf[k, F_PX] ** 2 + pf[k, F_PY] ** 2 + pf[k, F_PZ] ** 2)
    d = np.empty(3)
    if pmag <= 0.0:
        _isotropic(d, rng)
    else:
        d[0], d[1], d[2] = pf[k, F_PX] / pmag, pf[k, F_PY] / pmag, pf[k, F_PZ] / pmag
    t = pf[k, F_E] - m
    t0 = pf[k, F_T0]
    tcut = P[K_DELTA_CUT]
    hadron = a == 211 or a == 2212 or a == 321
    to_interaction = rng_exponential(rng) * P[K_LAMBDA_HAD] if hadron else 1e30
    flags = pi[k, I_FLAGS] & FLAG_MICHEL
    stopped = False
    interacted = False
    t_stop = 0.5 if a != 2212 else 1.0
    while True:
        if not _in_argon(P, x, y, z):
            break
        if t <= t_stop:
            # the rest of the energy is lost within ~0.1 mm
            _deposit(dep, dpart, n, x, y, z, t, 0.02, t0, k)
            t = 0.0
            stopped = True
            break
        dedx = bethe_dedx(t, m, tcut)
        step = min(P[K_STEP], 0.1 * t / max(dedx, 1e-3))
        step = max(step, 0.005)
        if to_interaction <= step:
            step = max(to_interaction, 1e-4)
            interacted = True
        gamma = 1.0 + t / m
        b2 = 1.0 - 1.0 / (gamma * gamma)
        bg2 = gamma * gamma - 1.0
        r = ME / m
        tmax = 2.0 * ME * bg2 / (1.0 + 2.0 * gamma * r + r * r)
        # restricted loss + Bohr straggling (Gaussian; PDG eq. 34.33 with the restricted energy transfer)
        tup = min(tcut, tmax)
        sig2 = 0.5 * K_BETHE * Z_OVER_A * RHO * tup * (1.0 - 0.5 * b2) / b2 * step
        de = dedx * step + math.sqrt(max(sig2, 0.0)) * rng_normal(rng)
        de = min(max(de, 0.0), t)
        loss = de  # the particle's loss: the local deposit plus the delta rays' kinetic energy
        # delta rays above the cut: 1/T^2 spectrum with the spin-0 term (PDG eq. 34.6)
        if tmax > tcut:
            nd = 0.5 * K_BETHE * Z_OVER_A * RHO / b2 * (1.0 / tcut - 1.0 / tmax) * step
            ndelta = rng_poisson(rng, nd)
            for _ in range(ndelta):
                td = 1.0 / (1.0 / tcut - rng_uniform(rng) * (1.0 / tcut - 1.0 / tmax))
                if rng_uniform(rng) > 1.0 - b2 * td / tmax:
                    continue
                if td >= t - loss:
                    continue
                pd = math.sqrt(td * (td + 2.0 * ME))
                e_in = t + m
                p_in = math.sqrt(t * (t + 2.0 * m))
                ct = min(1.0, td / pd * (e_in + ME) / p_in)
                dd = d.copy()
                _rotate(dd, math.acos(ct), 2.0 * math.pi * rng_uniform(rng))
                fx = rng_uniform(rng) * step
                _add_particle(pf, pi, n, 11, k, P_DELTA, x + d[0] * fx, y + d[1] * fx, z + d[2] * fx, dd, td, t0,
                              flags)  # fmt: skip
                loss += td
        mx, my, mz = x + 0.5 * step * d[0], y + 0.5 * step * d[1], z + 0.5 * step * d[2]
        _deposit(dep, dpart, n, mx, my, mz, de, step, t0, k)
        t -= loss
        x, y, z = x + step * d[0], y + step * d[1], z + step * d[2]
        if t > 0.0:
            p = math.sqrt(t * (t + 2.0 * m))
            beta = p / (t + m)
            th0 = highland(p, beta, step)
            if th0 > 0.0:
                tx, ty = th0 * rng_normal(rng), th0 * rng_normal(rng)
                _rotate(d, math.sqrt(tx * tx + ty * ty), 2.0 * math.pi * rng_uniform(rng))
        to_interaction -= step
        if interacted and t > 0.0:
            break
    pf[k, F_EX], pf[k, F_EY], pf[k, F_EZ] = x, y, z
    if not _in_argon(P, x, y, z):
        return
    if interacted and t > 5.0:
        _hadronic(k, pdg, t, x, y, z, d, t0, P, pf, pi, n, rng)
        return
    if stopped or t <= t_stop:
        _at_rest(k, pdg, x, y, z, t0, P, pf, pi, n, rng)


@nb.njit(cache=True)
def _hadronic(k: int, pdg: int, t: float, x: float, y: float, z: float, d: np.ndarray, t0: float, P: np.ndarray,
              pf: np.ndarray, pi: np.ndarray, n: np.ndarray, rng: np.ndarray) -> None:  # fmt: skip
    """A hadronic interaction of a pion, proton or kaon of kinetic energy ``t``: a kink (the hadron goes on,
    slower and deflected, knocking out a proton), absorption (protons only) or, for pions, charge exchange."""
    a = abs(pdg)
    u = rng_uniform(rng)
    binding = 20.0
    dd = np.empty(3)
    if a == 211 and u < 0.15 and t > 60.0:  # charge exchange: a forward pi0
        dd[:] = d
        _rotate(dd, abs(0.5 * rng_normal(rng)), 2.0 * math.pi * rng_uniform(rng))
        _add_particle(pf, pi, n, 111, k, P_HADRON, x, y, z, dd, max(t - binding - MPI0 + MPI, 1.0) * 0.9, t0, 0)
        return
    if (a == 211 and u < 0.45) or (a != 211 and u < 0.4):  # absorption: the energy goes to 1-3 protons
        avail = t - binding + (MPI if a == 211 else 0.0)
        npr = 1 + min(rng_poisson(rng, 0.8), 2)
        w = np.empty(npr)
        s = 0.0
        for j in range(npr):
            w[j] = rng_exponential(rng)
            s += w[j]
        for j in range(npr):
            tp = avail * w[j] / s
            if tp > 2.0:
                _isotropic(dd, rng)
                if dd[0] * d[0] + dd[1] * d[1] + dd[2] * d[2] < 0.0:  # forward-peaked
                    _isotropic(dd, rng)
                _add_particle(pf, pi, n, 2212, k, P_HADRON, x, y, z, dd, tp, t0, 0)
        return
    # kink: the hadron continues with 50-95% of its energy, deflected; a proton takes part of the rest
    frac = 0.5 + 0.45 * rng_uniform(rng)
    t1 = t * frac
    dd[:] = d
    theta = min(abs(0.6 * rng_normal(rng)), math.pi)
    _rotate(dd, theta, 2.0 * math.pi * rng_uniform(rng))
    _add_particle(pf, pi, n, pdg, k, P_HADRON, x, y, z, dd, t1, t0, 0)
    tp = (t - t1 - binding) * rng_uniform(rng)
    if tp > 2.0:
        _isotropic(dd, rng)
        _add_particle(pf, pi, n, 2212, k, P_HADRON, x, y, z, dd, tp, t0, 0)


@nb.njit(cache=True)
def _michel_energy(rng: np.ndarray) -> float:
    """Michel spectrum without radiative corrections, dN/dx = x^2 (3 - 2x), x = E / 52.83 MeV."""
    while True:
        xx = rng_uniform(rng)
        if rng_uniform(rng) <= xx * xx * (3.0 - 2.0 * xx):
            return max(xx * MICHEL_EMAX - ME, 0.01)


@nb.njit(cache=True)
def _at_rest(k: int, pdg: int, x: float, y: float, z: float, t0: float, P: np.ndarray, pf: np.ndarray,
             pi: np.ndarray, n: np.ndarray, rng: np.ndarray) -> None:  # fmt: skip
    """Stopped particles: mu+ decays, mu- decays or is captured (P[K_MU_CAPTURE]); pi+ -> mu+ (4.1 MeV);
    K+ -> mu+ nu (63.6%) or pi+ pi0 (20.7%); pi- and protons are absorbed without visible products here."""
    d = np.empty(3)
    if pdg == -13 or (pdg == 13 and rng_uniform(rng) >= P[K_MU_CAPTURE]):
        _isotropic(d, rng)
        e_pdg = -11 if pdg == -13 else 11
        _add_particle(pf, pi, n, e_pdg, k, P_DECAY, x, y, z, d, _michel_energy(rng), t0, FLAG_MICHEL)
    elif pdg == 211:
        _isotropic(d, rng)
        _add_particle(pf, pi, n, -13, k, P_DECAY, x, y, z, d, 4.12, t0, 0)
    elif pdg == 321:
        u = rng_uniform(rng)
        _isotropic(d, rng)
        if u < 0.636:
            _add_particle(pf, pi, n, -13, k, P_DECAY, x, y, z, d, math.sqrt(235.5**2 + MMU**2) - MMU, t0, 0)
        elif u < 0.843:
            _add_particle(pf, pi, n, 211, k, P_DECAY, x, y, z, d, math.sqrt(205.1**2 + MPI**2) - MPI, t0, 0)
            d2 = -d
            _add_particle(pf, pi, n, 111, k, P_DECAY, x, y, z, d2, math.sqrt(205.1**2 + MPI0**2) - MPI0, t0, 0)


# --- electromagnetic ------------------------------------------------------------------------------------
@nb.njit(cache=True)
def _brems_count(ymin: float) -> float:
    """Photons per radiation length with energy fraction above ymin (complete screening, PDG eq. 34.29)."""
    return 4.0 / 3.0 * math.log(1.0 / ymin) - 4.0 / 3.0 * (1.0 - ymin) + 0.5 * (1.0 - ymin * ymin)


@nb.njit(cache=True)
def _track_electron(k: int, P: np.ndarray, pf: np.ndarray, pi: np.ndarray, n: np.ndarray, dep: np.ndarray,
                    dpart: np.ndarray, rng: np.ndarray) -> None:  # fmt: skip
    """Step an electron or positron: collision loss (Rohrlich-Carlson), bremsstrahlung photons above the photon
    cut (complete-screening spectrum), Highland scattering; a positron annihilates at rest into two photons."""
    pdg = pi[k, I_PDG]
    x, y, z = pf[k, F_X], pf[k, F_Y], pf[k, F_Z]
    pmag = math.sqrt(pf[k, F_PX] ** 2 + pf[k, F_PY] ** 2 + pf[k, F_PZ] ** 2)
    d = np.empty(3)
    d[0], d[1], d[2] = pf[k, F_PX] / pmag, pf[k, F_PY] / pmag, pf[k, F_PZ] / pmag
    t = pf[k, F_E] - ME
    t0 = pf[k, F_T0]
    flags = pi[k, I_FLAGS] & FLAG_MICHEL
    kcut = P[K_GAMMA_CUT]
    ecut = P[K_E_CUT]
    dd = np.empty(3)
    while True:
        if not _in_argon(P, x, y, z):
            break
        if t <= ecut:
            _deposit(dep, dpart, n, x, y, z, t, 0.02, t0, k)
            t = 0.0
            break
        dedx = electron_dedx(t)
        step = min(P[K_STEP], 0.1 * t / dedx, 0.05 * X0)
        step = max(step, 0.005)
        de = dedx * step
        e_tot = t + ME
        ymin = kcut / e_tot
        if ymin < 1.0 and t > kcut:
            nb_ = rng_poisson(rng, _brems_count(ymin) * step / X0)
            for _ in range(nb_):
                while True:
                    yy = ymin * math.exp(rng_uniform(rng) * math.log(1.0 / ymin))
                    if rng_uniform(rng) * (4.0 / 3.0) <= 4.0 / 3.0 * (1.0 - yy) + yy * yy:
                        break
                kg = yy * e_tot
                if kg >= t - de:
                    continue
                dd[:] = d
                _rotate(dd, ME / e_tot * rng_exponential(rng), 2.0 * math.pi * rng_uniform(rng))
                _add_particle(pf, pi, n, 22, k, P_BREM, x, y, z, dd, kg, t0, flags)
                t -= kg
        de = min(de, t)
        _deposit(dep, dpart, n, x + 0.5 * step * d[0], y + 0.5 * step * d[1], z + 0.5 * step * d[2], de, step,
                 t0, k)  # fmt: skip
        t -= de
        x, y, z = x + step * d[0], y + step * d[1], z + step * d[2]
        if t > 0.0:
            p = math.sqrt(t * (t + 2.0 * ME))
            th0 = highland(p, p / (t + ME), step)
            tx, ty = th0 * rng_normal(rng), th0 * rng_normal(rng)
            _rotate(d, min(math.sqrt(tx * tx + ty * ty), math.pi), 2.0 * math.pi * rng_uniform(rng))
    pf[k, F_EX], pf[k, F_EY], pf[k, F_EZ] = x, y, z
    if pdg == -11 and _in_argon(P, x, y, z):
        _isotropic(dd, rng)
        _add_particle(pf, pi, n, 22, k, P_ANNIHIL, x, y, z, dd, ME, t0, flags)
        dd = -dd
        _add_particle(pf, pi, n, 22, k, P_ANNIHIL, x, y, z, dd, ME, t0, flags)


@nb.njit(cache=True)
def _track_photon(k: int, P: np.ndarray, pf: np.ndarray, pi: np.ndarray, n: np.ndarray, dep: np.ndarray,
                  dpart: np.ndarray, rng: np.ndarray) -> None:  # fmt: skip
    """Fly a photon to its interaction point (NIST XCOM attenuation) and convert it (pair production, the
    Bethe-Heitler sharing), Compton-scatter it (Klein-Nishina, Butcher-Messel sampling, as Geant4's
    G4KleinNishinaCompton) or absorb it (photoelectric below 0.15 MeV); repeated until it is absorbed or leaves."""
    x, y, z = pf[k, F_X], pf[k, F_Y], pf[k, F_Z]
    e = pf[k, F_E]
    d = np.empty(3)
    d[0], d[1], d[2] = pf[k, F_PX] / e, pf[k, F_PY] / e, pf[k, F_PZ] / e
    nrm = math.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2)
    d /= nrm
    t0 = pf[k, F_T0]
    flags = pi[k, I_FLAGS] & FLAG_MICHEL
    dd = np.empty(3)
    for _ in range(200):
        mu = _interp_loglog(e, XCOM_E, XCOM_MU) * RHO
        s = rng_exponential(rng) / mu
        x, y, z = x + s * d[0], y + s * d[1], z + s * d[2]
        if not _in_argon(P, x, y, z):
            break
        if e < PHOT_E:
            dd[:] = d
            _add_particle(pf, pi, n, 11, k, P_PHOT, x, y, z, dd, e, t0, flags)
            break
        fpair = _interp_loglog(e, XCOM_E, XCOM_PAIR) if e > 2.0 * ME else 0.0
        if rng_uniform(rng) < fpair:
            avail = e - 2.0 * ME
            while True:
                u = rng_uniform(rng)
                if rng_uniform(rng) <= 1.0 - 4.0 / 3.0 * u * (1.0 - u):
                    break
            for sgn in (11, -11):
                te = u * avail if sgn == 11 else (1.0 - u) * avail
                dd[:] = d
                _rotate(dd, ME / max(te + ME, ME) * rng_exponential(rng), 2.0 * math.pi * rng_uniform(rng))
                _add_particle(pf, pi, n, sgn, k, P_CONV, x, y, z, dd, te, t0, flags)
            break
        # Compton
        kk = e / ME
        eps0 = 1.0 / (1.0 + 2.0 * kk)
        eps0sq = eps0 * eps0
        alpha1 = -math.log(eps0)
        alpha2 = alpha1 + 0.5 * (1.0 - eps0sq)
        while True:
            if alpha1 > alpha2 * rng_uniform(rng):
                eps = math.exp(-alpha1 * rng_uniform(rng))
                epssq = eps * eps
            else:
                epssq = eps0sq + (1.0 - eps0sq) * rng_uniform(rng)
                eps = math.sqrt(epssq)
            onecost = (1.0 - eps) / (eps * kk)
            sint2 = onecost * (2.0 - onecost)
            if 1.0 - eps * sint2 / (1.0 + epssq) >= rng_uniform(rng):
                break
        e_new = eps * e
        te = e - e_new
        cost = 1.0 - onecost
        phi = 2.0 * math.pi * rng_uniform(rng)
        # electron direction from momentum conservation
        pg_old = e
        pe = math.sqrt(te * (te + 2.0 * ME))
        dd[:] = d
        _rotate(dd, math.acos(max(-1.0, min(1.0, cost))), phi)
        ex = pg_old * d[0] - e_new * dd[0]
        ey = pg_old * d[1] - e_new * dd[1]
        ez = pg_old * d[2] - e_new * dd[2]
        en = math.sqrt(ex * ex + ey * ey + ez * ez)
        de = np.empty(3)
        if en > 0.0 and pe > 0.0:
            de[0], de[1], de[2] = ex / en, ey / en, ez / en
            _add_particle(pf, pi, n, 11, k, P_COMPT, x, y, z, de, te, t0, flags)
        d[:] = dd
        e = e_new
    pf[k, F_EX], pf[k, F_EY], pf[k, F_EZ] = x, y, z


@nb.njit(cache=True)
def _decay_pi0(k: int, P: np.ndarray, pf: np.ndarray, pi: np.ndarray, n: np.ndarray, rng: np.ndarray) -> None:
    """pi0 -> gamma gamma, isotropic in the rest frame, boosted (the 1.2% Dalitz decay is left out)."""
    e = pf[k, F_E]
    px, py, pz = pf[k, F_PX], pf[k, F_PY], pf[k, F_PZ]
    p = math.sqrt(px * px + py * py + pz * pz)
    d = np.empty(3)
    _isotropic(d, rng)
    eg = 0.5 * MPI0
    b = p / e
    gam = e / MPI0
    bx, by, bz = (px / p, py / p, pz / p) if p > 0 else (0.0, 0.0, 1.0)
    for sgn in (1.0, -1.0):
        kx, ky, kz = sgn * eg * d[0], sgn * eg * d[1], sgn * eg * d[2]
        kpar = kx * bx + ky * by + kz * bz
        e_lab = gam * (eg + b * kpar)
        kpar_lab = gam * (kpar + b * eg)
        lx = kx + (kpar_lab - kpar) * bx
        ly = ky + (kpar_lab - kpar) * by
        lz = kz + (kpar_lab - kpar) * bz
        ln = math.sqrt(lx * lx + ly * ly + lz * lz)
        dd = np.array([lx / ln, ly / ln, lz / ln])
        _add_particle(pf, pi, n, 22, k, P_DECAY, pf[k, F_X], pf[k, F_Y], pf[k, F_Z], dd, e_lab, pf[k, F_T0], 0)


# --- generators -------------------------------------------------------------------------------------------
@nb.njit(cache=True)
def _vertex(P: np.ndarray, rng: np.ndarray) -> tuple[float, float, float]:
    f = P[K_FID]
    x = P[K_XMIN] + f + rng_uniform(rng) * (P[K_XMAX] - P[K_XMIN] - 2 * f)
    y = P[K_YMIN] + f + rng_uniform(rng) * (P[K_YMAX] - P[K_YMIN] - 2 * f)
    z = P[K_ZMIN] + f + rng_uniform(rng) * (P[K_ZMAX] - P[K_ZMIN] - 2 * f)
    return x, y, z


@nb.njit(cache=True)
def _nu_energy(P: np.ndarray, rng: np.ndarray) -> float:
    """A Gamma(shape, mean) spectrum truncated to [min, max] (GeV -> MeV)."""
    for _ in range(1000):
        e = rng_gamma(rng, P[K_E_SHAPE]) * P[K_E_MEAN] / P[K_E_SHAPE]
        if P[K_E_MIN] <= e <= P[K_E_MAX]:
            return e * 1000.0
    return P[K_E_MEAN] * 1000.0


@nb.njit(cache=True)
def _neutrino(P: np.ndarray, rng: np.ndarray, pf: np.ndarray, pi: np.ndarray, n: np.ndarray) -> int:
    """A neutrino-like vertex (not a neutrino generator: see the README): returns the interaction code
    (1 numu CC, 2 nue CC, 3 NC with a pi0). The beam goes along +z."""
    u = rng_uniform(rng) * (P[K_F_NUMU] + P[K_F_NUE] + P[K_F_NC])
    code = 1 if u < P[K_F_NUMU] else (2 if u < P[K_F_NUMU] + P[K_F_NUE] else 3)
    x, y, z = _vertex(P, rng)
    enu = _nu_energy(P, rng)
    d = np.empty(3)
    # quasi-elastic-like (one proton) or inelastic (pions); y = hadronic energy fraction, Q^2 from x and y
    qe = rng_uniform(rng) < 0.3 and code != 3
    if qe:
        q2 = min(rng_exponential(rng) * 0.3e6, 2.0 * MP * enu * 0.9)  # MeV^2, dipole-like fall-off
        nu = q2 / (2.0 * MP)
    else:
        yy = 0.05 + 0.9 * rng_uniform(rng)
        xb = 0.05 + 0.6 * rng_uniform(rng)
        nu = yy * enu
        q2 = 2.0 * MP * enu * xb * yy
    nu = min(nu, enu - 1.0)
    e_l = enu - nu
    cos_l = max(-1.0, min(1.0, 1.0 - q2 / (2.0 * enu * max(e_l, 1.0))))
    phi = 2.0 * math.pi * rng_uniform(rng)
    sin_l = math.sqrt(max(0.0, 1.0 - cos_l * cos_l))
    d[0], d[1], d[2] = sin_l * math.cos(phi), sin_l * math.sin(phi), cos_l
    # the momentum transfer q = k - l sets the hadrons' direction
    qx, qy, qz = -e_l * d[0], -e_l * d[1], enu - e_l * d[2]
    qn = math.sqrt(qx * qx + qy * qy + qz * qz)
    if code == 1:
        lp = 13
        _add_particle(pf, pi, n, lp, -1, P_PRIMARY, x, y, z, d, max(e_l - MMU, 1.0), 0.0, 0)
    elif code == 2:
        _add_particle(pf, pi, n, 11, -1, P_PRIMARY, x, y, z, d, max(e_l - ME, 1.0), 0.0, 0)
    binding = 25.0
    if qe:
        tp = nu - binding
        if tp > 1.0:
            d[0], d[1], d[2] = qx / qn, qy / qn, qz / qn
            _rotate(d, abs(0.2 * rng_normal(rng)), 2.0 * math.pi * rng_uniform(rng))
            _add_particle(pf, pi, n, 2212, -1, P_PRIMARY, x, y, z, d, tp, 0.0, 0)
        return code
    w2 = MP * MP + 2.0 * MP * nu - q2
    w = math.sqrt(max(w2, MP * MP))
    npi = 1 + rng_poisson(rng, max(0.0, (w - 1200.0) / 450.0))
    npr = 1 + rng_poisson(rng, 0.6)
    pdgs = np.empty(npi + npr, np.int64)
    has_pi0 = False
    for j in range(npi):
        c = rng_uniform(rng)
        if code == 1 or code == 2:
            pdgs[j] = 211 if c < 0.5 else (111 if c < 0.8 else -211)
        else:
            pdgs[j] = 111 if c < 0.5 else (211 if c < 0.75 else -211)
        has_pi0 |= pdgs[j] == 111
    if code == 3 and not has_pi0:
        pdgs[0] = 111
    for j in range(npr):
        pdgs[npi + j] = 2212
    avail = nu - binding
    for j in range(npi):
        avail -= mass_of(pdgs[j])
    if avail <= 2.0:  # not enough energy for the pions: one proton takes it
        if nu - binding > 1.0:
            d[0], d[1], d[2] = qx / qn, qy / qn, qz / qn
            _add_particle(pf, pi, n, 2212, -1, P_PRIMARY, x, y, z, d, nu - binding, 0.0, 0)
        return code
    wts = np.empty(npi + npr)
    s = 0.0
    for j in range(npi + npr):
        wts[j] = rng_exponential(rng) * (0.5 if pdgs[j] == 2212 else 1.0)
        s += wts[j]
    for j in range(npi + npr):
        th = avail * wts[j] / s
        if th < 1.0:
            continue
        # forward-boosted along q: isotropic smeared around the q direction, narrower for large |q|
        spread = min(1.2, 400.0 / max(qn, 1.0))
        d[0], d[1], d[2] = qx / qn, qy / qn, qz / qn
        _rotate(d, min(abs(spread * rng_normal(rng)), math.pi), 2.0 * math.pi * rng_uniform(rng))
        _add_particle(pf, pi, n, pdgs[j], -1, P_PRIMARY, x, y, z, d, th, 0.0, 0)
    return code


@nb.njit(cache=True)
def _single(P: np.ndarray, rng: np.ndarray, pdgs: np.ndarray, pf: np.ndarray, pi: np.ndarray, n: np.ndarray) -> int:
    """One particle of a pdg drawn from ``pdgs``, momentum uniform in [pmin, pmax] (MeV/c), isotropic (or
    along +z), from a vertex in the fiducial volume. Returns the pdg."""
    j = int(rng_uniform(rng) * pdgs.size)
    pdg = pdgs[min(j, pdgs.size - 1)]
    p = P[K_SINGLE_PMIN] + rng_uniform(rng) * (P[K_SINGLE_PMAX] - P[K_SINGLE_PMIN])
    m = mass_of(pdg)
    t = math.sqrt(p * p + m * m) - m
    x, y, z = _vertex(P, rng)
    d = np.empty(3)
    if P[K_SINGLE_ISO] > 0:
        _isotropic(d, rng)
    else:
        d[0], d[1], d[2] = 0.0, 0.0, 1.0
    _add_particle(pf, pi, n, pdg, -1, P_PRIMARY, x, y, z, d, t, 0.0, 0)
    return pdg


@nb.njit(cache=True)
def _cosmics(P: np.ndarray, rng: np.ndarray, pf: np.ndarray, pi: np.ndarray, n: np.ndarray) -> None:
    """Cosmic muons through the top face: Poisson(rate) per read-out, E^-2.7 above 1 GeV (to 100 GeV), zenith
    cos^2, mu+/mu- = 1.27, at a random time in the read-out window (their charge arrives shifted in drift)."""
    nc = rng_poisson(rng, P[K_COSMICS])
    d = np.empty(3)
    for _ in range(nc):
        u = rng_uniform(rng)
        e = (1.0**-1.7 - u * (1.0**-1.7 - 100.0**-1.7)) ** (-1.0 / 1.7) * 1000.0
        while True:
            c = rng_uniform(rng)
            if rng_uniform(rng) <= c * c:
                break
        s = math.sqrt(1.0 - c * c)
        phi = 2.0 * math.pi * rng_uniform(rng)
        d[0], d[1], d[2] = s * math.cos(phi), -c, s * math.sin(phi)
        span = P[K_XMAX] - P[K_XMIN]
        t0 = (2.0 * rng_uniform(rng) - 1.0) * span / P[K_DRIFT_V]
        x = P[K_XMIN] + rng_uniform(rng) * span
        z = P[K_ZMIN] + rng_uniform(rng) * (P[K_ZMAX] - P[K_ZMIN])
        pdg = -13 if rng_uniform(rng) < 1.27 / 2.27 else 13
        _add_particle(pf, pi, n, pdg, -1, P_COSMIC, x, P[K_YMAX] - 1e-6, z, d, e - MMU, t0, 0)


@nb.njit(cache=True)
def transport_event(P: np.ndarray, rng: np.ndarray, pdgs: np.ndarray, pf: np.ndarray, pi: np.ndarray,
                    n: np.ndarray, dep: np.ndarray, dpart: np.ndarray) -> int:  # fmt: skip
    """Generate one event's primaries and transport every particle; ``n`` = [particles, deposits, particles
    dropped, deposits dropped]. Returns the interaction code (0 single particle, 1-3 neutrino-like)."""
    n[:] = 0
    if P[K_MODE] == 0:
        code = _neutrino(P, rng, pf, pi, n)
    elif P[K_MODE] == 1:
        _single(P, rng, pdgs, pf, pi, n)
        code = 0
    else:
        code = 4
    _cosmics(P, rng, pf, pi, n)
    k = 0
    while k < n[0]:
        pdg = pi[k, I_PDG]
        a = abs(pdg)
        # a daughter inherits the Michel flag; shower flags are set by _add_particle
        par = pi[k, I_PARENT]
        if par >= 0 and (pi[par, I_FLAGS] & FLAG_MICHEL):
            pi[k, I_FLAGS] |= FLAG_MICHEL
        if a == 13 or a == 211 or a == 2212 or a == 321:
            _track_heavy(k, P, pf, pi, n, dep, dpart, rng)
        elif a == 11:
            _track_electron(k, P, pf, pi, n, dep, dpart, rng)
        elif a == 22:
            _track_photon(k, P, pf, pi, n, dep, dpart, rng)
        elif a == 111:
            _decay_pi0(k, P, pf, pi, n, rng)
        k += 1
    return code
