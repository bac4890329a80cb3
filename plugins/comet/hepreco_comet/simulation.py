"""This module defines the CDC event simulation: numba kernels that track particles through the chamber.

One function is public, :func:`simulate`: event seeds in, jagged hits out. Each event is made from its
own uint64 seed only (its own xoshiro256** stream), so an event is the same whatever batch it is in.

An event holds (all rates are means per event and scale with ``pileup``):

- the signal: one 104.97 MeV/c electron from the aluminium stopping-target disks, isotropic, re-drawn
  until it reaches the CDC and fires the CTH trigger;
- protons from muon capture in the target, and the recoil nuclei (protons from the isobutane, helium
  nuclei) that evaporation neutrons knock on in the gas by elastic scattering;
- electrons (and positrons) from Compton scattering and conversions of capture photons in the chamber;
- decay-in-orbit electrons from the target, with the Czarnecki et al. spectrum;
- uncorrelated noise hits.

Every charged particle is stepped through the 1 T field on exact helices, losing energy (Bethe /
Berger-Seltzer), scattering (Highland) and, for electrons in solid material, radiating (Bethe-Heitler),
in the gas, the inner wall, the CTH counters and the target disks. A particle that crosses a drift cell
makes a hit with the probability that at least one ionisation cluster is left; its energy deposit is
drawn from a Landau-like distribution (a Moyal core plus the Rutherford delta-ray tail) or, for slow
heavy particles, a Gaussian about the mean loss; its time is the particle's time at its closest approach
to the wire plus the drift time. One hit per wire: deposits on a wire are merged (earliest time, summed
energy; the truth of the largest deposit, except that a signal hit's ``turn`` is the pass of the electron's
earliest deposit on the wire, the one that set the hit's time). Hits outside the read-out window are
dropped. The modelling choices and their sources are in ``plugins/comet/README.md``.
"""

from __future__ import annotations

import math
from functools import cache

import awkward as ak
import numba as nb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from hepreco_comet._rng import rng_exponential, rng_gamma, rng_new, rng_normal, rng_poisson, rng_uniform
from hepreco_comet.geometry import CDCGeometry, GeometryArrays, cth_segment_kernel, locate_kernel, wire_xy_kernel
from hepreco_comet.physics import (
    ALPHA_MASS,
    ELECTRON_MASS,
    MAT_ACRYLIC,
    MAT_AL,
    MAT_CFRP,
    MAT_GAS,
    MAT_SCINT,
    MATERIALS,
    MUE_ENDPOINT_AL,
    PROTON_MASS,
    SPEED_OF_LIGHT,
    dio_spectrum,
    landau_mpv,
    proton_emission_spectrum,
    stopping_power,
    tabulate_cdf,
)

__all__ = ["ORIGINS", "SimParameters", "simulate"]

#: the ``origin`` truth field: what made a hit
ORIGINS = {
    0: "signal",
    1: "capture proton",
    2: "neutron recoil",
    3: "photon electron",
    4: "DIO electron",
    5: "noise",
}
O_SIGNAL, O_CAPTURE_P, O_RECOIL, O_PHOTON_E, O_DIO, O_NOISE = range(6)
PDG_ALPHA = 1000020040


class SimParameters(BaseModel):
    """Parameters of the CDC event simulation. Rates are mean numbers per event at ``pileup`` 1.

    The defaults are calibrated to the talk's sample: ~76 signal and ~402 background hits per event,
    and the cut ``edep > 255`` (``edep`` in units of ``edep_unit`` = 0.16 keV) keeping 99.83% of signal
    and 72.96% of background hits (plugin README, "Calibration against the talk").
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    signal: bool = True
    """Put a signal electron in every event (False: background-only events)."""
    signal_momentum: float = Field(104.97, gt=0)
    """Momentum of the signal electron (MeV/c): the mu -> e conversion energy on aluminium."""
    pileup: float = Field(1.0, ge=0)
    """Beam-intensity scale: multiplies every background rate."""
    capture_protons: float = Field(30.0, ge=0)
    """Protons from muon capture in the target per event (emitted, before the inner wall)."""
    neutron_recoils: float = Field(25.5, ge=0)
    """Elastic neutron scatters in the chamber gas per event that set a proton or a helium nucleus moving."""
    recoil_helium_fraction: float = Field(0.6, ge=0, le=1)
    """Fraction of the neutron recoils that are helium nuclei (the rest are protons): n_He sigma_He over
    n_He sigma_He + n_H sigma_H for MeV neutrons in He:iC4H10 90:10."""
    photon_electrons: float = Field(135.0, ge=0)
    """Photons converting or Compton-scattering in the chamber per event."""
    dio_electrons: float = Field(0.01, ge=0)
    """Decay-in-orbit electrons above ``dio_min_energy`` per event."""
    noise_hits: float = Field(30.0, ge=0)
    """Uncorrelated noise hits per event."""
    dio_min_energy: float = Field(60.0, gt=0, lt=MUE_ENDPOINT_AL)
    """Lowest decay-in-orbit electron energy generated (MeV); below ~60 MeV none reaches the CDC."""
    field: float = Field(1.0, gt=0)
    """Solenoid field (T)."""
    time_window: float = Field(1170.0, gt=0)
    """Read-out window after the trigger (ns); hits outside [0, time_window] are dropped. The default
    is the 1.17 us spacing of the Phase-I proton bunches."""
    drift_velocity: float = Field(0.0025, gt=0)
    """Drift velocity (cm/ns): 2.5 cm/us, so the 1.13 cm cell half-diagonal takes ~450 ns."""
    drift_resolution: float = Field(0.02, ge=0)
    """Spatial resolution of the drift distance (cm)."""
    cluster_density: float = Field(10.0, gt=0)
    """Primary ionisation clusters per cm for a minimum-ionising particle: sets the hit efficiency."""
    delta_ray_scale: float = Field(1.0, ge=0)
    """Scale of the Rutherford delta-ray tail of the energy deposit (1: the bare cross-section)."""
    edep_unit: float = Field(0.16, gt=0)
    """keV per unit of the ``edep`` product: the read-out's energy scale. The talk does not give its
    unit; 0.16 keV puts its cut at 255 where the signal's delta-ray tail (and pile-up) leaves 0.17% of
    signal hits above it."""
    chamber_radiation_length: float = Field(3.45e4, gt=0)
    """Radiation length of the chamber averaged over gas and wires (cm), for multiple scattering."""
    wire_density: float = Field(4.3e-4, ge=0)
    """Wire material averaged over a cell (g/cm^3): energy loss that does not show as a deposit."""
    neutron_temperature: float = Field(1.0, gt=0)
    """Evaporation-neutron temperature (MeV) of the spectrum ``E exp(-E/T)`` behind the recoils."""
    photon_mean_energy: float = Field(1.5, gt=0)
    """Mean photon energy (MeV) of the exponential capture-photon spectrum."""
    noise_mean_edep: float = Field(0.4, gt=0)
    """Mean energy deposit of a noise hit (keV, exponential)."""
    min_signal_hits: int = Field(25, ge=1)
    """A signal electron is accepted when it fires the CTH trigger and leaves at least this many hits."""
    max_turns: int = Field(3, ge=1)
    """Passes through the chamber a particle is followed for at most (the calibration of the signal
    hit count; see the README)."""
    max_attempts: int = Field(10000, ge=1)
    """Signal electrons drawn per event at most before giving up (the event then has no signal)."""
    step: float = Field(0.2, gt=0)
    """Largest tracking step in the gas (cm)."""
    max_steps: int = Field(200_000, gt=0)
    """Tracking steps per particle at most."""


# --- indices into the parameter vector the kernels take -----------------------------------------------
(
    P_SIGNAL,
    P_PSIG,
    P_PILEUP,
    P_N_CAPTURE,
    P_N_RECOIL,
    P_HE_FRACTION,
    P_MAX_TURNS,
    P_N_PHOTON,
    P_N_DIO,
    P_N_NOISE,
    P_FIELD,
    P_WINDOW,
    P_VDRIFT,
    P_DRIFT_RES,
    P_CLUSTERS,
    P_DELTA,
    P_X0,
    P_WIRE_RHO,
    P_T_NEUTRON,
    P_E_PHOTON,
    P_NOISE_EDEP,
    P_MIN_SIG,
    P_MAX_ATTEMPTS,
    P_STEP,
    P_MAX_STEPS,
    P_INNER_WALL,
    P_OUTER_WALL,
    N_PARAMS,
) = range(28)

# fixed geometry of the target and the bore (README: "Simulation")
TARGET_DISKS = 17
TARGET_SPACING = 5.0  # cm
TARGET_RADIUS = 10.0  # cm
TARGET_THICKNESS = 0.02  # cm
INNER_WALL_THICKNESS = 0.05  # cm of CFRP
BORE_HALF_LENGTH = 200.0  # cm: a particle in the bore beyond this leaves
STEP_VACUUM = 0.5  # cm
T_PRE = 460.0  # ns: background particles start up to this long before the window
ECUT_ELECTRON = 0.010  # MeV
ECUT_PROTON = 0.050  # MeV
MIP_DEDX = 2.15e-3 * 3.98e-4 * 1e3  # keV/cm in the gas for a minimum-ionising particle ~ 0.86
MAX_DRIFT_DISTANCE = 1.13  # cm: half-diagonal of a 1.6 cm cell

# visit (one particle crossing one cell) record
V_WIRE, V_PATH, V_XI, V_MEAN, V_DMIN, V_T, V_X, V_Y, V_Z, V_PIN, V_TURN, V_EXTRA, V_N = range(13)
# event buffer float columns (the first B_NOUT are output)
B_TIME, B_EDEP, B_X, B_Y, B_Z, B_EMAX, B_TSIG, B_NF = range(8)
B_NOUT = B_EMAX
# event buffer int columns / output int columns
I_TURN, I_PDG, I_TRACK, I_ORIGIN, I_TURNSIG, I_N = range(6)


def _param_vector(p: SimParameters, geo: CDCGeometry) -> np.ndarray:
    v = np.zeros(N_PARAMS)
    v[P_SIGNAL] = 1.0 if p.signal else 0.0
    v[P_PSIG] = p.signal_momentum
    v[P_PILEUP] = p.pileup
    v[P_N_CAPTURE] = p.capture_protons
    v[P_N_RECOIL] = p.neutron_recoils
    v[P_HE_FRACTION] = p.recoil_helium_fraction
    v[P_MAX_TURNS] = p.max_turns
    v[P_N_PHOTON] = p.photon_electrons
    v[P_N_DIO] = p.dio_electrons
    v[P_N_NOISE] = p.noise_hits
    v[P_FIELD] = p.field
    v[P_WINDOW] = p.time_window
    v[P_VDRIFT] = p.drift_velocity
    v[P_DRIFT_RES] = p.drift_resolution
    v[P_CLUSTERS] = p.cluster_density
    v[P_DELTA] = p.delta_ray_scale
    v[P_X0] = p.chamber_radiation_length
    v[P_WIRE_RHO] = p.wire_density
    v[P_T_NEUTRON] = p.neutron_temperature
    v[P_E_PHOTON] = p.photon_mean_energy
    v[P_NOISE_EDEP] = p.noise_mean_edep
    v[P_MIN_SIG] = p.min_signal_hits
    v[P_MAX_ATTEMPTS] = p.max_attempts
    v[P_STEP] = p.step
    v[P_MAX_STEPS] = p.max_steps
    v[P_INNER_WALL] = geo.inner_wall
    v[P_OUTER_WALL] = geo.outer_wall
    return v


@cache
def _spectra(dio_min_energy: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tp = np.linspace(1.4, 40.0, 4001)
    cdf_p = tabulate_cdf(proton_emission_spectrum(tp), tp)
    ed = np.linspace(dio_min_energy, MUE_ENDPOINT_AL, 4001)
    cdf_d = tabulate_cdf(dio_spectrum(ed), ed)
    return tp, cdf_p, ed, cdf_d


# --- small kernels --------------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _pmag(st: np.ndarray) -> float:
    return math.sqrt(st[3] * st[3] + st[4] * st[4] + st[5] * st[5])


@nb.njit(cache=True, inline="always")
def _set_pmag(st: np.ndarray, p_new: float) -> None:
    f = p_new / _pmag(st)
    st[3] *= f
    st[4] *= f
    st[5] *= f


@nb.njit(cache=True)
def _transport(st: np.ndarray, ds: float, curv: float) -> None:
    """Move along the exact helix by path length ``ds``; ``curv`` = -q * 0.29979 * B * 10 (1/cm * MeV)."""
    p = _pmag(st)
    theta = curv * ds / p
    ux = st[3] / p
    uy = st[4] / p
    uz = st[5] / p
    if abs(theta) < 1e-6:
        fr = 1.0 - theta * theta / 6.0
        fi = 0.5 * theta
    else:
        fr = math.sin(theta) / theta
        fi = (1.0 - math.cos(theta)) / theta
    st[0] += ds * (ux * fr - uy * fi)
    st[1] += ds * (ux * fi + uy * fr)
    st[2] += ds * uz
    c = math.cos(theta)
    s = math.sin(theta)
    px = st[3]
    py = st[4]
    st[3] = px * c - py * s
    st[4] = px * s + py * c


@nb.njit(cache=True)
def _scatter(st: np.ndarray, theta0: float, rng: np.ndarray) -> None:
    """Turn the momentum by a Gaussian multiple-scattering angle of width ``theta0`` per plane."""
    if theta0 <= 0.0:
        return
    p = _pmag(st)
    ux, uy, uz = st[3] / p, st[4] / p, st[5] / p
    if abs(uz) < 0.9:  # e1 = u x z
        e1x, e1y, e1z = uy, -ux, 0.0
    else:  # e1 = u x x
        e1x, e1y, e1z = 0.0, uz, -uy
    n1 = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
    e1x, e1y, e1z = e1x / n1, e1y / n1, e1z / n1
    e2x = uy * e1z - uz * e1y
    e2y = uz * e1x - ux * e1z
    e2z = ux * e1y - uy * e1x
    a1 = theta0 * rng_normal(rng)
    a2 = theta0 * rng_normal(rng)
    th = math.sqrt(a1 * a1 + a2 * a2)
    if th == 0.0:
        return
    c = math.cos(th)
    s = math.sin(th) / th
    st[3] = p * (ux * c + (a1 * e1x + a2 * e2x) * s)
    st[4] = p * (uy * c + (a1 * e1y + a2 * e2y) * s)
    st[5] = p * (uz * c + (a1 * e1z + a2 * e2z) * s)


@nb.njit(cache=True)
def _highland(p: float, beta: float, x_over_x0: float) -> float:
    if x_over_x0 <= 0.0:
        return 0.0
    return 13.6 / (beta * p) * math.sqrt(x_over_x0) * max(1.0 + 0.038 * math.log(x_over_x0 / (beta * beta)), 0.3)


@nb.njit(cache=True)
def _cross_material(
    st: np.ndarray,
    mat: int,
    thickness: float,
    cos_inc: float,
    mass: float,
    rng: np.ndarray,
    mats: np.ndarray,
    z2: float = 1.0,
) -> bool:
    """Pass a thin layer of material: mean energy loss, bremsstrahlung (electrons), multiple scattering.
    Returns False when the particle stops in it."""
    path = thickness / max(cos_inc, 0.05)
    rho = mats[mat, 0]
    za = mats[mat, 1]
    i_ev = mats[mat, 2]
    x0 = mats[mat, 3]
    p = _pmag(st)
    e = math.sqrt(p * p + mass * mass)
    kin = e - mass - stopping_power(p, mass, za, i_ev, z2) * rho * path
    if kin <= 0.0:
        return False
    if mass < 1.0:  # Bethe-Heitler: -ln(E'/E) ~ Gamma(t / ln 2)
        t = rho * path / x0
        e_tot = (kin + mass) * math.exp(-rng_gamma(rng, t / math.log(2.0)))
        kin = e_tot - mass
        if kin <= 0.0:
            return False
    p_new = math.sqrt(kin * (kin + 2.0 * mass))
    _set_pmag(st, p_new)
    beta = p_new / (kin + mass)
    _scatter(st, math.sqrt(z2) * _highland(p_new, beta, rho * path / x0), rng)
    return True


@nb.njit(cache=True)
def _sample_table(grid: np.ndarray, cdf: np.ndarray, u: float) -> float:
    i = np.searchsorted(cdf, u)
    if i <= 0:
        return grid[0]
    if i >= grid.shape[0]:
        return grid[-1]
    f = (u - cdf[i - 1]) / max(cdf[i] - cdf[i - 1], 1e-300)
    return grid[i - 1] + f * (grid[i] - grid[i - 1])


@nb.njit(cache=True)
def _isotropic(st: np.ndarray, p: float, rng: np.ndarray) -> None:
    c = 2.0 * rng_uniform(rng) - 1.0
    s = math.sqrt(max(0.0, 1.0 - c * c))
    phi = 2.0 * math.pi * rng_uniform(rng)
    st[3] = p * s * math.cos(phi)
    st[4] = p * s * math.sin(phi)
    st[5] = p * c


@nb.njit(cache=True)
def _target_vertex(st: np.ndarray, rng: np.ndarray) -> float:
    """A point in one of the 17 disks (uniform); returns the depth to the disk's nearer face (cm)."""
    k = int(rng_uniform(rng) * TARGET_DISKS)
    depth = rng_uniform(rng) * TARGET_THICKNESS
    r = TARGET_RADIUS * math.sqrt(rng_uniform(rng))
    phi = 2.0 * math.pi * rng_uniform(rng)
    st[0] = r * math.cos(phi)
    st[1] = r * math.sin(phi)
    st[2] = (k - 0.5 * (TARGET_DISKS - 1)) * TARGET_SPACING + depth - 0.5 * TARGET_THICKNESS
    return min(depth, TARGET_THICKNESS - depth)


@nb.njit(cache=True)
def _gas_vertex(st: np.ndarray, rng: np.ndarray, r_in: float, r_out: float, half_length: float) -> None:
    r = math.sqrt(r_in * r_in + rng_uniform(rng) * (r_out * r_out - r_in * r_in))
    phi = 2.0 * math.pi * rng_uniform(rng)
    st[0] = r * math.cos(phi)
    st[1] = r * math.sin(phi)
    st[2] = (2.0 * rng_uniform(rng) - 1.0) * half_length


@nb.njit(cache=True)
def _cth_coincidence(mask_c: np.uint64, mask_s: np.uint64, nseg: int) -> bool:
    one = np.uint64(1)
    for i in range(nseg):
        if (mask_c >> np.uint64(i)) & one:
            for d in (-1, 0, 1):
                j = (i + d) % nseg
                if (mask_s >> np.uint64(j)) & one:
                    return True
    return False


# --- hits -----------------------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _merge(w: int, t_hit: float, de: float, buf_f: np.ndarray, touched: np.ndarray, count: np.ndarray) -> None:
    """One hit per wire: the earliest time and the summed energy of all deposits on the wire."""
    if buf_f[w, B_TIME] == np.inf:
        touched[count[0]] = w
        count[0] += 1
        buf_f[w, B_TIME] = t_hit
        buf_f[w, B_EDEP] = de
        buf_f[w, B_EMAX] = -1.0
        buf_f[w, B_TSIG] = np.inf
    else:
        buf_f[w, B_TIME] = min(buf_f[w, B_TIME], t_hit)
        buf_f[w, B_EDEP] += de


@nb.njit(cache=True)
def _finalize_visit(
    vis: np.ndarray,
    p_now: float,
    mass: float,
    ids: np.ndarray,
    rng: np.ndarray,
    par: np.ndarray,
    mats: np.ndarray,
    buf_f: np.ndarray,
    buf_i: np.ndarray,
    touched: np.ndarray,
    count: np.ndarray,
) -> None:
    """Turn the current cell visit into a hit (or none) and merge it into the event's wire buffer."""
    w = int(vis[V_WIRE])
    vis[V_WIRE] = -1.0
    path = vis[V_PATH]
    if w < 0 or path <= 0.0:
        return
    p = 0.5 * (vis[V_PIN] + p_now)
    e = math.sqrt(p * p + mass * mass)
    beta2 = (p / e) ** 2
    mean = vis[V_MEAN]
    # efficiency: at least one primary cluster (their number grows with dE/dx)
    n_clusters = par[P_CLUSTERS] * path * max(1.0, mean / path / MIP_DEDX)
    if rng_uniform(rng) > 1.0 - math.exp(-n_clusters):
        return
    xi = vis[V_XI]
    kin_kev = (e - mass) * 1e3
    if mass < 1.0:
        tmax = 0.5 * kin_kev
    else:
        bg2 = (p / mass) ** 2
        r = ELECTRON_MASS / mass
        tmax = 2.0 * ELECTRON_MASS * 1e3 * bg2 / (1.0 + 2.0 * (e / mass) * r + r * r)
    if xi < 0.1 * tmax:  # thin: Landau-like (Moyal core + Rutherford delta-ray tail)
        z = rng_normal(rng)
        de = landau_mpv(xi, p, mass, mats[MAT_GAS, 2]) - xi * math.log(max(z * z, 1e-300))
        ec = 20.0 * xi
        if ec < tmax:
            n_delta = rng_poisson(rng, par[P_DELTA] * xi * (1.0 / ec - 1.0 / tmax))
            for _ in range(n_delta):
                de += 1.0 / (1.0 / ec - rng_uniform(rng) * (1.0 / ec - 1.0 / tmax))
    else:  # thick (slow heavy particles): Gaussian about the mean
        de = mean + math.sqrt(xi * tmax * (1.0 - 0.5 * beta2)) * rng_normal(rng)
    de = max(de, 0.0) + vis[V_EXTRA]
    de = min(de, (math.sqrt(vis[V_PIN] ** 2 + mass * mass) - mass) * 1e3)
    # drift distance -> time
    d = abs(vis[V_DMIN] + par[P_DRIFT_RES] * rng_normal(rng))
    d = min(d, MAX_DRIFT_DISTANCE)
    t_hit = vis[V_T] + d / par[P_VDRIFT]
    _merge(w, t_hit, de, buf_f, touched, count)
    if ids[1] == 0 and t_hit < buf_f[w, B_TSIG]:  # the signal electron's earliest deposit on the wire
        buf_f[w, B_TSIG] = t_hit
        buf_i[w, I_TURNSIG] = int(vis[V_TURN])
    if de >= buf_f[w, B_EMAX]:  # the truth of the largest deposit
        buf_f[w, B_EMAX] = de
        buf_f[w, B_X] = vis[V_X]
        buf_f[w, B_Y] = vis[V_Y]
        buf_f[w, B_Z] = vis[V_Z]
        buf_i[w, I_TURN] = int(vis[V_TURN])
        buf_i[w, I_PDG] = ids[0]
        buf_i[w, I_TRACK] = ids[1]
        buf_i[w, I_ORIGIN] = ids[2]


@nb.njit(cache=True)
def _propagate(
    st: np.ndarray,
    mass: float,
    charge: float,
    ids: np.ndarray,
    turn0: int,
    rng: np.ndarray,
    g: GeometryArrays,
    par: np.ndarray,
    mats: np.ndarray,
    buf_f: np.ndarray,
    buf_i: np.ndarray,
    touched: np.ndarray,
    count: np.ndarray,
    cth: np.ndarray,
) -> None:
    """Track one particle (state ``st``: x, y, z, px, py, pz, t) until it stops or leaves."""
    vis = np.zeros(V_N)
    vis[V_WIRE] = -1.0
    turn = turn0
    r_in = par[P_INNER_WALL]
    r_out = par[P_OUTER_WALL]
    half = g.half_length
    curv = -charge * 2.99792458 * par[P_FIELD]
    rho = mats[MAT_GAS, 0]
    za = mats[MAT_GAS, 1]
    i_ev = mats[MAT_GAS, 2]
    kin_rho = rho + par[P_WIRE_RHO]
    ecut = ECUT_ELECTRON if mass < 1.0 else ECUT_PROTON
    t_end = par[P_WINDOW]
    x0_ch = par[P_X0]
    nseg = g.cth_segments
    z2 = charge * charge
    max_turns = par[P_MAX_TURNS]
    for _ in range(int(par[P_MAX_STEPS])):
        p = _pmag(st)
        e = math.sqrt(p * p + mass * mass)
        kin = e - mass
        if kin < ecut:
            vis[V_EXTRA] += kin * 1e3
            break
        if st[6] > t_end:
            break
        beta = p / e
        s_pow = 0.0
        x0, y0, z0 = st[0], st[1], st[2]
        r0 = math.hypot(x0, y0)
        in_gas = r_in <= r0 <= r_out and abs(z0) <= half
        if in_gas:
            s_pow = stopping_power(p, mass, za, i_ev, z2)
            step = par[P_STEP]
            # a particle curling on a helix narrower than a cell stays near its guiding centre, which
            # drifts along the wire: longer (exact-helix) steps barely change which cells it crosses
            diameter = 2.0 * math.hypot(st[3], st[4]) / (2.99792458 * par[P_FIELD] * abs(charge))
            if diameter < 0.5:
                step = 5.0 * step
            elif diameter < 1.0:
                step = 3.0 * step
            ds = max(min(step, 0.05 * kin / (s_pow * kin_rho)), 1e-3)
        else:
            ds = STEP_VACUUM
        t0 = st[6]
        _transport(st, ds, curv)
        st[6] += ds / (beta * SPEED_OF_LIGHT)
        x1, y1, z1 = st[0], st[1], st[2]
        r1 = math.hypot(x1, y1)
        if in_gas:
            loss = s_pow * kin_rho * ds
            if loss >= kin:
                _set_pmag(st, 1e-6)
            else:
                kn = kin - loss
                _set_pmag(st, math.sqrt(kn * (kn + 2.0 * mass)))
            _scatter(st, abs(charge) * 13.6 / (beta * p) * math.sqrt(ds / x0_ch) * 0.78, rng)
        # thin layers: inner wall, CTH counters, target disks
        alive = True
        if (r0 - r_in) * (r1 - r_in) < 0.0 and abs(z1) <= half:
            cos_inc = abs(x1 * st[3] + y1 * st[4]) / (r1 * _pmag(st))
            alive = _cross_material(st, MAT_CFRP, INNER_WALL_THICKNESS, cos_inc, mass, rng, mats, z2)
            if r1 > r_in:
                turn += 1
                if turn > max_turns:
                    alive = False
        for k in range(2):
            rk = g.cth_radius[k]
            if alive and (r0 - rk) * (r1 - rk) < 0.0 and g.cth_z[0] <= abs(z1) <= g.cth_z[1]:
                cos_inc = abs(x1 * st[3] + y1 * st[4]) / (r1 * _pmag(st))
                mat = MAT_ACRYLIC if k == 0 else MAT_SCINT
                alive = _cross_material(st, mat, g.cth_thickness[k], cos_inc, mass, rng, mats, z2)
                if cth.shape[0] == 4:
                    ring = 1 if z1 > 0.0 else 0
                    cth[2 * ring + k] |= np.uint64(1) << np.uint64(cth_segment_kernel(x1, y1, nseg))
        if alive and r0 < TARGET_RADIUS and r1 < TARGET_RADIUS:
            off = 0.5 * (TARGET_DISKS - 1)
            k0 = z0 / TARGET_SPACING + off
            k1 = z1 / TARGET_SPACING + off
            lo = math.floor(min(k0, k1)) + 1
            hi = math.floor(max(k0, k1))
            for _ in range(max(lo, 0), min(hi, TARGET_DISKS - 1) + 1):
                if alive:
                    cos_inc = abs(st[5]) / _pmag(st)
                    alive = _cross_material(st, MAT_AL, TARGET_THICKNESS, cos_inc, mass, rng, mats, z2)
        # the drift cell at the end of the step
        w = -1
        if r_in <= r1 <= r_out and abs(z1) <= half:
            w = locate_kernel(x1, y1, z1, g)
            if w >= 0 and not g.sense[g.wire_layer[w]]:
                w = -1
        p_now = _pmag(st)
        frac = 1.0
        if w != int(vis[V_WIRE]):
            # the cell boundary lies somewhere inside this step: share the step's path between the cells
            frac = rng_uniform(rng) if in_gas else 1.0
            if vis[V_WIRE] >= 0.0:
                if in_gas:
                    part = (1.0 - frac) * ds
                    vis[V_PATH] += part
                    vis[V_XI] += 153.5 * z2 * za * rho * part / (beta * beta)
                    vis[V_MEAN] += s_pow * rho * part * 1e3
                _finalize_visit(vis, p_now, mass, ids, rng, par, mats, buf_f, buf_i, touched, count)
            if w >= 0:
                vis[V_WIRE] = w
                vis[V_PATH] = 0.0
                vis[V_XI] = 0.0
                vis[V_MEAN] = 0.0
                vis[V_DMIN] = 1e30
                vis[V_PIN] = p_now
                vis[V_TURN] = turn
                vis[V_EXTRA] = 0.0
        if w >= 0 and in_gas:
            vis[V_PATH] += frac * ds
            vis[V_XI] += 153.5 * z2 * za * rho * frac * ds / (beta * beta)
            vis[V_MEAN] += s_pow * rho * frac * ds * 1e3
            wx, wy = wire_xy_kernel(w, 0.5 * (z0 + z1), g)
            dx = x1 - x0
            dy = y1 - y0
            seg2 = dx * dx + dy * dy
            f = 0.0
            if seg2 > 0.0:
                f = min(max(((wx - x0) * dx + (wy - y0) * dy) / seg2, 0.0), 1.0)
            cx = x0 + f * dx
            cy = y0 + f * dy
            dmin = math.hypot(cx - wx, cy - wy)
            if dmin < vis[V_DMIN]:
                vis[V_DMIN] = dmin
                vis[V_T] = t0 + f * (st[6] - t0)
                vis[V_X] = cx
                vis[V_Y] = cy
                vis[V_Z] = z0 + f * (z1 - z0)
        if not alive:
            break
        if r1 > r_out or (r1 >= r_in and abs(z1) > half) or abs(z1) > BORE_HALF_LENGTH:
            break
    if vis[V_WIRE] >= 0.0:
        _finalize_visit(vis, _pmag(st), mass, ids, rng, par, mats, buf_f, buf_i, touched, count)


# --- events ---------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _clear(buf_f: np.ndarray, buf_i: np.ndarray, touched: np.ndarray, count: np.ndarray) -> None:
    for j in range(count[0]):
        w = touched[j]
        buf_f[w, B_TIME] = np.inf
        buf_f[w, B_EDEP] = 0.0
    count[0] = 0


@nb.njit(cache=True)
def _simulate_kernel(
    seeds: np.ndarray,
    g: GeometryArrays,
    par: np.ndarray,
    mats: np.ndarray,
    proton_t: np.ndarray,
    proton_cdf: np.ndarray,
    dio_e: np.ndarray,
    dio_cdf: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_events = seeds.shape[0]
    n_wires = g.wire_layer.shape[0]
    buf_f = np.zeros((n_wires, B_NF))
    buf_f[:, B_TIME] = np.inf
    buf_i = np.zeros((n_wires, I_N), dtype=np.int64)
    touched = np.empty(n_wires, dtype=np.int64)
    count = np.zeros(1, dtype=np.int64)
    cap = max(1024, 512 * n_events)
    out_f = np.empty((cap, B_NOUT), dtype=np.float32)
    out_w = np.empty(cap, dtype=np.int64)
    out_i = np.empty((cap, I_N), dtype=np.int32)
    offsets = np.zeros(n_events + 1, dtype=np.int64)
    signal = np.full((n_events, 8), np.nan)
    st = np.zeros(7)
    ids = np.zeros(3, dtype=np.int64)
    no_cth = np.zeros(0, dtype=np.uint64)
    cth = np.zeros(4, dtype=np.uint64)
    pileup = par[P_PILEUP]
    r_in = par[P_INNER_WALL]
    r_out = par[P_OUTER_WALL]
    half = g.half_length
    window = par[P_WINDOW]
    nseg = g.cth_segments
    for ev in range(n_events):
        rng = rng_new(seeds[ev])
        _clear(buf_f, buf_i, touched, count)
        track = 0
        # the signal electron, re-drawn until it fires the trigger and leaves enough hits
        if par[P_SIGNAL] > 0.0:
            ok = False
            attempts = 0
            for attempt in range(int(par[P_MAX_ATTEMPTS])):
                attempts = attempt + 1
                _clear(buf_f, buf_i, touched, count)
                cth[:] = 0
                depth = _target_vertex(st, rng)
                _isotropic(st, par[P_PSIG], rng)
                st[6] = 0.0
                vx, vy, vz = st[0], st[1], st[2]
                px, py, pz = st[3], st[4], st[5]
                if not _cross_material(st, MAT_AL, depth, abs(st[5]) / _pmag(st), ELECTRON_MASS, rng, mats):
                    continue
                ids[0] = 11
                ids[1] = 0
                ids[2] = O_SIGNAL
                _propagate(st, ELECTRON_MASS, -1.0, ids, 0, rng, g, par, mats, buf_f, buf_i, touched, count, cth)
                trig = _cth_coincidence(cth[0], cth[1], nseg) or _cth_coincidence(cth[2], cth[3], nseg)
                if trig and count[0] >= par[P_MIN_SIG]:
                    ok = True
                    break
            if ok:
                signal[ev, 0] = px
                signal[ev, 1] = py
                signal[ev, 2] = pz
                signal[ev, 3] = vx
                signal[ev, 4] = vy
                signal[ev, 5] = vz
            else:
                _clear(buf_f, buf_i, touched, count)
            signal[ev, 6] = attempts
            signal[ev, 7] = 1.0 if ok else 0.0
            track = 1
        # backgrounds, spread over the window
        t_lo = -T_PRE
        n = rng_poisson(rng, par[P_N_CAPTURE] * pileup)
        for _ in range(n):
            depth = _target_vertex(st, rng)
            kin = _sample_table(proton_t, proton_cdf, rng_uniform(rng))
            _isotropic(st, math.sqrt(kin * (kin + 2.0 * PROTON_MASS)), rng)
            st[6] = t_lo + (window - t_lo) * rng_uniform(rng)
            ids[0] = 2212
            ids[1] = track
            ids[2] = O_CAPTURE_P
            track += 1
            if _cross_material(st, MAT_AL, depth, abs(st[5]) / _pmag(st), PROTON_MASS, rng, mats):
                _propagate(st, PROTON_MASS, 1.0, ids, 0, rng, g, par, mats, buf_f, buf_i, touched, count, no_cth)
        n = rng_poisson(rng, par[P_N_RECOIL] * pileup)
        for _ in range(n):
            _gas_vertex(st, rng, r_in, r_out, half)
            e_n = par[P_T_NEUTRON] * rng_gamma(rng, 2.0)
            # isotropic in the centre of mass: the recoil energy is flat up to 4A/(1+A)^2 E_n
            if rng_uniform(rng) < par[P_HE_FRACTION]:
                mass, charge, pdg, kin = ALPHA_MASS, 2.0, PDG_ALPHA, 0.64 * e_n * rng_uniform(rng)
            else:
                mass, charge, pdg, kin = PROTON_MASS, 1.0, 2212, e_n * rng_uniform(rng)
            _isotropic(st, math.sqrt(kin * (kin + 2.0 * mass)), rng)
            st[6] = t_lo + (window - t_lo) * rng_uniform(rng)
            ids[0] = pdg
            ids[1] = track
            ids[2] = O_RECOIL
            track += 1
            _propagate(st, mass, charge, ids, 1, rng, g, par, mats, buf_f, buf_i, touched, count, no_cth)
        n = rng_poisson(rng, par[P_N_PHOTON] * pileup)
        for _ in range(n):
            e_g = min(0.1 + par[P_E_PHOTON] * rng_exponential(rng), 10.0)
            _gas_vertex(st, rng, r_in, r_out, half)
            t_g = t_lo + (window - t_lo) * rng_uniform(rng)
            gx, gy, gz = st[0], st[1], st[2]
            pair = e_g > 2.0 * ELECTRON_MASS and rng_uniform(rng) < min(0.3, 0.04 * (e_g - 2.0 * ELECTRON_MASS))
            if pair:
                share = rng_uniform(rng)
                avail = e_g - 2.0 * ELECTRON_MASS
                _isotropic(st, 1.0, rng)
                ux, uy, uz = st[3], st[4], st[5]
                for charge in (-1.0, 1.0):
                    kin = avail * (share if charge < 0 else 1.0 - share)
                    if kin < ECUT_ELECTRON:
                        continue
                    pe = math.sqrt(kin * (kin + 2.0 * ELECTRON_MASS))
                    st[0], st[1], st[2] = gx, gy, gz
                    st[3], st[4], st[5] = pe * ux, pe * uy, pe * uz
                    st[6] = t_g
                    ids[0] = 11 if charge < 0 else -11
                    ids[1] = track
                    ids[2] = O_PHOTON_E
                    track += 1
                    _propagate(
                        st, ELECTRON_MASS, charge, ids, 1, rng, g, par, mats, buf_f, buf_i, touched, count, no_cth
                    )
            else:  # Compton: flat continuum up to the Compton edge
                edge = 2.0 * e_g * e_g / (ELECTRON_MASS + 2.0 * e_g)
                kin = edge * rng_uniform(rng)
                if kin < ECUT_ELECTRON:
                    continue
                _isotropic(st, math.sqrt(kin * (kin + 2.0 * ELECTRON_MASS)), rng)
                st[6] = t_g
                ids[0] = 11
                ids[1] = track
                ids[2] = O_PHOTON_E
                track += 1
                _propagate(st, ELECTRON_MASS, -1.0, ids, 1, rng, g, par, mats, buf_f, buf_i, touched, count, no_cth)
        n = rng_poisson(rng, par[P_N_DIO] * pileup)
        for _ in range(n):
            depth = _target_vertex(st, rng)
            e_d = _sample_table(dio_e, dio_cdf, rng_uniform(rng))
            _isotropic(st, math.sqrt(e_d * e_d - ELECTRON_MASS * ELECTRON_MASS), rng)
            st[6] = t_lo + (window - t_lo) * rng_uniform(rng)
            ids[0] = 11
            ids[1] = track
            ids[2] = O_DIO
            track += 1
            if _cross_material(st, MAT_AL, depth, abs(st[5]) / _pmag(st), ELECTRON_MASS, rng, mats):
                _propagate(st, ELECTRON_MASS, -1.0, ids, 0, rng, g, par, mats, buf_f, buf_i, touched, count, no_cth)
        # noise: uniform over the sense wires and the window
        n = rng_poisson(rng, par[P_N_NOISE] * pileup)
        for _ in range(n):
            while True:
                w = int(rng_uniform(rng) * n_wires)
                if g.sense[g.wire_layer[w]]:
                    break
            t_n = window * rng_uniform(rng)
            de = par[P_NOISE_EDEP] * rng_exponential(rng)
            wx, wy = wire_xy_kernel(w, 0.0, g)
            _merge(w, t_n, de, buf_f, touched, count)
            if de >= buf_f[w, B_EMAX]:
                buf_f[w, B_EMAX] = de
                buf_f[w, B_X] = wx
                buf_f[w, B_Y] = wy
                buf_f[w, B_Z] = 0.0
                buf_i[w, I_TURN] = 0
                buf_i[w, I_PDG] = 0
                buf_i[w, I_TRACK] = -1
                buf_i[w, I_ORIGIN] = O_NOISE
        # collect the event's hits, in wire order, inside the window
        wires = np.sort(touched[: count[0]])
        n0 = offsets[ev]
        if n0 + wires.shape[0] > out_w.shape[0]:
            new_cap = 2 * out_w.shape[0] + wires.shape[0]
            f2 = np.empty((new_cap, B_NOUT), dtype=np.float32)
            f2[:n0] = out_f[:n0]
            out_f = f2
            w2 = np.empty(new_cap, dtype=np.int64)
            w2[:n0] = out_w[:n0]
            out_w = w2
            i2 = np.empty((new_cap, I_N), dtype=np.int32)
            i2[:n0] = out_i[:n0]
            out_i = i2
        k = n0
        for w in wires:
            t = buf_f[w, B_TIME]
            if t < 0.0 or t > window:
                continue
            out_w[k] = w
            for c in range(B_NOUT):
                out_f[k, c] = buf_f[w, c]
            for c in range(I_N):
                out_i[k, c] = buf_i[w, c]
            if buf_i[w, I_TRACK] == 0:  # the signal's pass that set the hit's time (issue 16)
                out_i[k, I_TURN] = buf_i[w, I_TURNSIG]
            k += 1
        offsets[ev + 1] = k
    n_tot = offsets[n_events]
    return offsets, out_w[:n_tot].copy(), out_f[:n_tot].copy(), out_i[:n_tot].copy(), signal


def simulate(
    seeds: np.ndarray, params: SimParameters | None = None, geometry: CDCGeometry | None = None
) -> tuple[ak.Array, ak.Array]:
    """Simulate one CDC event per seed.

    Args:
        seeds: one unsigned 64-bit seed per event; an event depends on its seed only.
        params: the simulation parameters (defaults: the calibrated mixture).
        geometry: the chamber (default: the Phase-I CDC).

    Returns:
        ``(hits, signal)``: ``hits`` is jagged per event with fields ``wire``, ``layer``, ``cell``,
        ``drift_time`` (ns after the trigger), ``edep`` (units of ``params.edep_unit`` keV, 0.16 by
        default), ``x``, ``y``, ``z`` (true position of
        the particle at its closest approach to the wire, cm), and the truth ``is_signal``, ``turn``
        (1 = first pass through the chamber, 0 for noise; for a wire the signal electron crossed on two
        passes, the pass that set the hit's time), ``particle`` (PDG id, 0 for noise),
        ``track_id`` (0 = the signal electron, -1 for noise) and ``origin`` (see :data:`ORIGINS`);
        ``signal`` has one record per event: the true signal momentum ``px, py, pz`` (MeV/c) and vertex
        ``vx, vy, vz`` (cm), ``attempts`` (electrons drawn until one fired the trigger) and
        ``has_signal``.

    Examples:
        >>> hits, signal = simulate(np.array([1, 2], dtype=np.uint64))
        >>> len(hits), bool(ak.all(signal.has_signal))
        (2, True)
    """
    params = params or SimParameters()
    geo = geometry or CDCGeometry()
    seeds = np.ascontiguousarray(np.asarray(seeds).astype(np.uint64, copy=False))
    if seeds.ndim != 1:
        msg = f"seeds must be one-dimensional, got shape {seeds.shape}"
        raise ValueError(msg)
    tp, cdf_p, ed, cdf_d = _spectra(float(params.dio_min_energy))
    offsets, wire, fl, it, sig = _simulate_kernel(
        seeds, geo.arrays, _param_vector(params, geo), MATERIALS, tp, cdf_p, ed, cdf_d
    )
    layer = geo.wire_layer[wire]  # type: ignore[attr-defined]
    cell = geo.wire_cell[wire]  # type: ignore[attr-defined]
    contents = {
        "wire": wire.astype(np.int32),
        "layer": layer.astype(np.int32),
        "cell": cell.astype(np.int32),
        "drift_time": fl[:, B_TIME],
        "edep": fl[:, B_EDEP] / np.float32(params.edep_unit),
        "x": fl[:, B_X],
        "y": fl[:, B_Y],
        "z": fl[:, B_Z],
        "is_signal": it[:, I_ORIGIN] == O_SIGNAL,
        "turn": it[:, I_TURN],
        "particle": it[:, I_PDG],
        "track_id": it[:, I_TRACK],
        "origin": it[:, I_ORIGIN].astype(np.int8),
    }
    flat = ak.zip({k: ak.Array(v) for k, v in contents.items()})
    hits = ak.unflatten(flat, np.diff(offsets))
    signal = ak.zip(
        {
            "px": sig[:, 0],
            "py": sig[:, 1],
            "pz": sig[:, 2],
            "vx": sig[:, 3],
            "vy": sig[:, 4],
            "vz": sig[:, 5],
            "attempts": np.nan_to_num(sig[:, 6]).astype(np.int32),
            "has_signal": sig[:, 7] > 0,
        }
    )
    return hits, signal
