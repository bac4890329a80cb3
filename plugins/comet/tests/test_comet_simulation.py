"""The CDC event simulation: determinism per event, truth consistency, calibration, options."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hepreco_comet import ORIGINS, CDCGeometry, SimParameters, simulate

GEO = CDCGeometry()
LIGHT = SimParameters(pileup=0.3)


@pytest.fixture(scope="module")
def sample():
    return simulate(np.arange(100, 112, dtype=np.uint64))


def test_an_event_depends_on_its_seed_only():
    seeds = np.array([11, 2**64 - 5, 42, 7], dtype=np.uint64)
    hits, signal = simulate(seeds, LIGHT)
    alone, sig_alone = simulate(seeds[2:3], LIGHT)
    assert ak.to_list(hits[2]) == ak.to_list(alone[0])
    assert ak.to_list(signal[2]) == ak.to_list(sig_alone[0])
    again, _ = simulate(seeds[::-1], LIGHT)
    assert ak.to_list(again[1]) == ak.to_list(hits[2])
    assert ak.to_list(hits[0]) != ak.to_list(hits[3])


def test_hits_are_consistent(sample):
    hits, _signal = sample
    flat = ak.flatten(hits)
    wire = ak.to_numpy(flat.wire)
    layer, cell = GEO.layer_cell(wire)
    assert np.array_equal(layer, ak.to_numpy(flat.layer)) and np.array_equal(cell, ak.to_numpy(flat.cell))
    assert GEO.sense_wire_mask[wire].all()  # only read-out wires
    for ev in hits:  # one hit per wire, in wire order
        w = ak.to_numpy(ev.wire)
        assert np.all(np.diff(w) > 0)
    t = ak.to_numpy(flat.drift_time)
    assert t.min() >= 0 and t.max() <= SimParameters().time_window
    assert ak.all(flat.edep >= 0)
    sig = ak.to_numpy(flat.is_signal)
    origin = ak.to_numpy(flat.origin)
    assert np.array_equal(sig, origin == 0)
    assert set(np.unique(origin)) <= set(ORIGINS)
    assert np.all(ak.to_numpy(flat.particle)[sig] == 11)
    assert np.all(ak.to_numpy(flat.track_id)[sig] == 0)
    assert np.all(ak.to_numpy(flat.turn)[sig] >= 1)
    noise = origin == 5
    assert np.all(ak.to_numpy(flat.particle)[noise] == 0) and np.all(ak.to_numpy(flat.track_id)[noise] == -1)
    # the true position is inside the wire's cell
    x, y, z = (ak.to_numpy(flat[f]) for f in ("x", "y", "z"))
    wx, wy = GEO.wire_xy(wire[~noise], z[~noise])
    assert np.percentile(np.hypot(wx - x[~noise], wy - y[~noise]), 99) < 1.2
    # signal drift times reflect the 1.13 cm cell half-diagonal at 2.5 cm/us
    assert np.percentile(t[sig], 99) < 470


def test_every_event_has_a_triggering_signal_electron(sample):
    _hits, signal = sample
    assert ak.all(signal.has_signal)
    p = np.sqrt(signal.px**2 + signal.py**2 + signal.pz**2)
    assert np.allclose(ak.to_numpy(p), 104.97)
    assert ak.all(np.hypot(signal.vx, signal.vy) <= 10.0) and ak.all(abs(signal.vz) <= 40.2)
    assert ak.all(signal.attempts >= 1)
    # the acceptance counts the electron's own hits, before backgrounds share its wires
    alone, _ = simulate(np.arange(100, 112, dtype=np.uint64), SimParameters(pileup=0.0))
    assert ak.all(ak.num(alone) >= SimParameters().min_signal_hits)


def test_calibration_is_near_the_talk(sample):
    # 12 events only: loose bounds; the README's figures come from 3000 events
    hits, _ = sample
    n_sig = ak.mean(ak.sum(hits.is_signal, axis=1))
    n_bkg = ak.mean(ak.sum(~hits.is_signal, axis=1))
    assert 40 < n_sig < 130
    assert 330 < n_bkg < 470
    bkg = ak.flatten(hits[~hits.is_signal])
    kept = ak.mean(bkg.edep <= 255)
    assert 0.66 < kept < 0.80
    sig = ak.flatten(hits[hits.is_signal])
    assert ak.mean(sig.edep <= 255) > 0.99


def test_background_only_and_signal_only():
    hits, signal = simulate(np.arange(3, dtype=np.uint64), SimParameters(signal=False, pileup=0.3))
    assert not ak.any(hits.is_signal) and not ak.any(signal.has_signal)
    assert np.all(np.isnan(ak.to_numpy(signal.px)))
    hits, _ = simulate(np.arange(3, dtype=np.uint64), SimParameters(pileup=0.0))
    assert ak.all(hits.is_signal)


def test_pileup_scales_the_background():
    seeds = np.arange(20, 26, dtype=np.uint64)
    low, _ = simulate(seeds, SimParameters(pileup=0.25))
    high, _ = simulate(seeds, SimParameters(pileup=1.0))
    n_low = ak.sum(~low.is_signal)
    n_high = ak.sum(~high.is_signal)
    assert 3.0 < n_high / n_low < 5.0


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="pileup"):
        SimParameters(pileup=-1)
    with pytest.raises(ValueError, match="extra"):
        SimParameters(pilup=2)
    with pytest.raises(ValueError, match="one-dimensional"):
        simulate(np.zeros((2, 2), dtype=np.uint64))
