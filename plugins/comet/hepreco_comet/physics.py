"""This module defines the physics inputs of the simulation: materials, energy loss, spectra.

Energy loss follows the PDG Review, "Passage of particles through matter" (Bethe for heavy particles,
eq. 34.5; Berger-Seltzer for electrons; the Landau most probable value, eq. 34.12; the Highland
multiple-scattering width, eq. 34.16). Spectra: the proton emission after muon capture (the Hungerford
fit to Sobottka & Wills' silicon data, used by Mu2e and COMET), and the decay-in-orbit electron spectrum
of Czarnecki, Garcia i Tormo & Marciano, Phys. Rev. D 84 (2011) 013006, arXiv:1106.4756.
Units: MeV, cm, g/cm^3, ns; energy deposits in keV.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = [
    "ALPHA_MASS",
    "ELECTRON_MASS",
    "MATERIALS",
    "MUE_ENDPOINT_AL",
    "PROTON_MASS",
    "dio_spectrum",
    "electron_stopping_power",
    "heavy_stopping_power",
    "landau_mpv",
    "proton_emission_spectrum",
    "tabulate_cdf",
]

ELECTRON_MASS = 0.51099895  # MeV
PROTON_MASS = 938.27209  # MeV
ALPHA_MASS = 3727.3794  # MeV
K_BETHE = 0.307075  # MeV cm^2 / mol (PDG)
SPEED_OF_LIGHT = 29.9792458  # cm / ns
#: energy of the mu -> e conversion electron on aluminium (MeV), the signal
MUE_ENDPOINT_AL = 104.973

# Material table: density (g/cm^3), Z/A, mean excitation energy I (eV), radiation length (g/cm^2).
# Values from the PDG "Atomic and nuclear properties of materials" tables; the gas is the He:iC4H10
# 90:10 (by volume) mixture at 20 C, 1 atm, mixed by mass fractions (I by Bragg additivity of ln I).
MAT_GAS, MAT_AL, MAT_CFRP, MAT_ACRYLIC, MAT_SCINT = 0, 1, 2, 3, 4
MATERIALS = np.array(
    [
        [3.98e-4, 0.553, 46.0, 56.2],  # He:iC4H10 90:10
        [2.699, 0.48181, 166.0, 24.01],  # aluminium (stopping-target disks)
        [1.57, 0.49955, 78.0, 42.70],  # CFRP ~ carbon (CDC inner wall)
        [1.19, 0.53937, 74.0, 40.55],  # acrylic (CTH Cherenkov radiator)
        [1.032, 0.54141, 64.7, 43.90],  # polyvinyltoluene (CTH scintillator)
    ]
)


@nb.njit(cache=True)
def heavy_stopping_power(p: float, mass: float, za: float, i_ev: float, z2: float = 1.0) -> float:
    """Mean collision stopping power of a heavy particle of charge^2 ``z2`` (Bethe, PDG eq. 34.5, no
    density, shell or effective-charge corrections), MeV cm^2/g. The logarithm is floored at 0.5, where
    Bethe stops being valid."""
    e = math.sqrt(p * p + mass * mass)
    beta2 = (p / e) ** 2
    bg2 = (p / mass) ** 2
    gamma = e / mass
    r = ELECTRON_MASS / mass
    tmax = 2.0 * ELECTRON_MASS * bg2 / (1.0 + 2.0 * gamma * r + r * r)
    i_mev = i_ev * 1e-6
    log_term = 0.5 * math.log(2.0 * ELECTRON_MASS * bg2 * tmax / (i_mev * i_mev)) - beta2
    return K_BETHE * z2 * za / beta2 * max(log_term, 0.5)


@nb.njit(cache=True)
def electron_stopping_power(kinetic: float, za: float, i_ev: float) -> float:
    """Mean collision stopping power of an electron (Berger-Seltzer / ICRU 37 formula, no density
    effect), MeV cm^2/g; used for positrons too."""
    tau = kinetic / ELECTRON_MASS
    beta2 = 1.0 - 1.0 / ((tau + 1.0) * (tau + 1.0))
    i_rel = i_ev * 1e-6 / ELECTRON_MASS
    f = 1.0 - beta2 + (tau * tau / 8.0 - (2.0 * tau + 1.0) * math.log(2.0)) / ((tau + 1.0) * (tau + 1.0))
    bracket = math.log(tau * tau * (tau + 2.0) / (2.0 * i_rel * i_rel)) + f
    return 0.5 * K_BETHE * za / beta2 * max(bracket, 1.0)


@nb.njit(cache=True)
def stopping_power(p: float, mass: float, za: float, i_ev: float, z2: float = 1.0) -> float:
    """Mean collision stopping power (MeV cm^2/g) of an electron/positron or a heavy particle."""
    if mass < 1.0:
        return electron_stopping_power(math.sqrt(p * p + mass * mass) - mass, za, i_ev)
    return heavy_stopping_power(p, mass, za, i_ev, z2)


@nb.njit(cache=True)
def landau_mpv(xi_kev: float, p: float, mass: float, i_ev: float) -> float:
    """Most probable energy loss (keV) for Landau parameter ``xi`` (keV), PDG eq. 34.12 without the
    density effect."""
    e = math.sqrt(p * p + mass * mass)
    beta2 = (p / e) ** 2
    bg2 = (p / mass) ** 2
    i_kev = i_ev * 1e-3
    return xi_kev * (
        math.log(2.0 * ELECTRON_MASS * 1e3 * bg2 / i_kev) + math.log(max(xi_kev, 1e-12) / i_kev) + 0.2 - beta2
    )


def proton_emission_spectrum(
    kinetic: np.ndarray, *, threshold: float = 1.4, alpha: float = 1.3279, temperature: float = 3.1
) -> np.ndarray:
    """Kinetic-energy spectrum (arbitrary normalisation) of protons emitted after muon capture:
    ``(1 - T_th/T)^alpha exp(-T/T0)``, the fit to Sobottka & Wills (PRL 20 (1968) 596) used by the
    Mu2e and COMET background studies. ``kinetic`` in MeV."""
    t = np.asarray(kinetic, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(t > threshold, (1.0 - threshold / t) ** alpha * np.exp(-t / temperature), 0.0)
    return out


#: Czarnecki et al. (2011), aluminium: coefficients of (E_mue - E)^5..8, MeV^-6..MeV^-9, for the spectrum
#: normalised to the free muon decay rate, 1/Gamma_0 dGamma/dE.
CZARNECKI_AL = (8.6434e-17, 1.16874e-17, -1.87828e-19, 9.16327e-20)


def dio_spectrum(energy: np.ndarray, *, endpoint: float = MUE_ENDPOINT_AL) -> np.ndarray:
    """Decay-in-orbit electron spectrum on aluminium near its endpoint, 1/Gamma_0 dGamma/dE (MeV^-1):
    the polynomial of Czarnecki et al. (arXiv:1106.4756, eq. 22 with the Al coefficients), exact to
    a few per cent above 85 MeV; used here down to the lowest energy that can reach the CDC."""
    d = np.clip(endpoint - np.asarray(energy, dtype=np.float64), 0.0, None)
    a5, a6, a7, a8 = CZARNECKI_AL
    return d**5 * (a5 + d * (a6 + d * (a7 + d * a8)))


def tabulate_cdf(pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Cumulative distribution of ``pdf`` on ``grid`` (trapezoids), normalised to end at 1."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    if cdf[-1] <= 0:
        msg = "the spectrum is zero over the requested range"
        raise ValueError(msg)
    return cdf / cdf[-1]
