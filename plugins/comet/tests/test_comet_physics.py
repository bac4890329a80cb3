"""Physics inputs: stopping powers against PDG values, spectra, the random number generator."""

from __future__ import annotations

import numpy as np
import pytest
from hepreco_comet._rng import rng_exponential, rng_gamma, rng_new, rng_normal, rng_poisson, rng_uniform
from hepreco_comet.physics import (
    ELECTRON_MASS,
    MATERIALS,
    MUE_ENDPOINT_AL,
    PROTON_MASS,
    dio_spectrum,
    electron_stopping_power,
    heavy_stopping_power,
    landau_mpv,
    proton_emission_spectrum,
)


def test_minimum_ionisation_matches_pdg():
    # PDG tables: minimum dE/dx of aluminium 1.615 MeV cm2/g at beta*gamma ~ 3.5 (no density effect here:
    # the formula without it is a few per cent above)
    _rho, za, i_ev, _ = MATERIALS[1]
    mip = min(heavy_stopping_power(p, 105.66, za, i_ev) for p in np.linspace(200, 600, 41))
    assert mip == pytest.approx(1.615, rel=0.04)
    # a 1 MeV electron in aluminium: ESTAR collision stopping power 1.465 MeV cm2/g
    assert electron_stopping_power(1.0, za, i_ev) == pytest.approx(1.465, rel=0.05)


def test_proton_stopping_power_rises_as_it_slows():
    _, za, i_ev, _ = MATERIALS[0]
    s = [heavy_stopping_power(np.sqrt(t * (t + 2 * PROTON_MASS)), PROTON_MASS, za, i_ev) for t in (20, 5, 1)]
    assert s[0] < s[1] < s[2]
    # PSTAR (carbon-like gas) at 5 MeV: ~ 80 MeV cm2/g
    assert s[1] == pytest.approx(80, rel=0.2)


def test_signal_electron_deposit_in_a_cell_is_about_a_kev():
    _, za, i_ev, _ = MATERIALS[0]
    rho = MATERIALS[0, 0]
    xi = 153.5 * za * rho * 1.6  # keV, beta = 1
    mpv = landau_mpv(xi, 104.97, ELECTRON_MASS, i_ev)
    assert 0.8 < mpv < 1.4


def test_dio_spectrum_vanishes_at_the_endpoint_and_falls():
    e = np.linspace(60, MUE_ENDPOINT_AL, 200)
    s = dio_spectrum(e)
    assert s[-1] == 0
    assert np.all(np.diff(s) <= 0)
    # Czarnecki et al.: ~1e-16 of the decays within 1.5 MeV of the endpoint (per free-muon width)
    fine = np.linspace(MUE_ENDPOINT_AL - 1.5, MUE_ENDPOINT_AL, 1000)
    frac = np.trapezoid(dio_spectrum(fine), fine)
    assert 1e-17 < frac < 1e-15


def test_proton_spectrum_has_its_threshold():
    t = np.array([1.0, 1.4, 2.0, 4.0, 30.0])
    p = proton_emission_spectrum(t)
    assert p[0] == 0 and p[1] == 0 and p[2] > 0 and p[3] > p[4]


def test_rng_moments_and_determinism():
    s = rng_new(np.uint64(2**63 + 12345))
    u = np.array([rng_uniform(s) for _ in range(20000)])
    assert u.min() >= 0 and u.max() < 1
    assert u.mean() == pytest.approx(0.5, abs=0.01)
    n = np.array([rng_normal(s) for _ in range(20000)])
    assert n.mean() == pytest.approx(0, abs=0.03) and n.std() == pytest.approx(1, abs=0.03)
    e = np.array([rng_exponential(s) for _ in range(20000)])
    assert e.mean() == pytest.approx(1, abs=0.03)
    for shape in (0.3, 2.5):
        g = np.array([rng_gamma(s, shape) for _ in range(20000)])
        assert g.mean() == pytest.approx(shape, rel=0.05)
    for lam in (3.2, 402.0):
        k = np.array([rng_poisson(s, lam) for _ in range(20000)])
        assert k.mean() == pytest.approx(lam, rel=0.02) and k.var() == pytest.approx(lam, rel=0.06)
    a, b = rng_new(np.uint64(7)), rng_new(np.uint64(7))
    assert [rng_uniform(a) for _ in range(5)] == [rng_uniform(b) for _ in range(5)]
    assert rng_uniform(rng_new(np.uint64(8))) != rng_uniform(rng_new(np.uint64(7)))
