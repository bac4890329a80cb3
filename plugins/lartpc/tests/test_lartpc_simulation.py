"""The simulation: deterministic per event (batch- and executor-invariant), and its physics where a number is known."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hepreco_lartpc.simulation import SimParameters, simulate

import hepreco


def _same(a, b):
    return ak.to_list(a) == ak.to_list(b)


def test_an_event_depends_on_its_seed_only(nu_events):
    again = simulate(np.array([4, 2], dtype=np.uint64))
    assert _same(again["hits"][0], nu_events["hits"][3])
    assert _same(again["particles"][1], nu_events["particles"][1])
    other = simulate(np.array([7], dtype=np.uint64))
    assert not _same(other["hits"][0], nu_events["hits"][0])


def test_products_have_the_documented_fields(nu_events):
    hits, parts = nu_events["hits"], nu_events["particles"]
    assert set(ak.fields(hits)) == {"view", "wire", "tick", "x", "w", "charge", "width", "particle", "pdg", "label",
                                    "michel"}  # fmt: skip
    assert {"id", "parent", "pdg", "process", "start_x", "end_z", "px", "energy"} <= set(ak.fields(parts))
    flat = ak.flatten(hits)
    assert set(np.unique(ak.to_numpy(flat.view)).tolist()) == {0, 1, 2}
    assert ak.all(flat.charge > 0) and ak.all(flat.width > 0)
    # a hit's truth points at a particle of its event with that pdg, and the label follows Pandora's classes
    for e in range(len(hits)):
        h, p = hits[e], parts[e]
        real = h[h.particle >= 0]
        assert ak.all(p.pdg[real.particle] == real.pdg)
        shower = (abs(real.pdg) == 11) | (real.pdg == 22)
        assert ak.all((real.label == 1) == shower) and ak.all((real.label == 2) == ~shower)


def test_batch_and_executor_invariance(tmp_path):
    import uproot

    files = {}
    for name, bs, ex in (
        ("b4", 4, None),
        ("b1", 1, None),
        ("proc", 2, {"kind": "processes", "workers": 2, "chunk_size": 2}),
    ):
        out = tmp_path / f"{name}.root"
        cfg = {
            "process": "inv",
            "seed": 3,
            "source": {"module": "lartpc.LArTPCSimSource", "events": 4, "batch_size": bs},
            "modules": {"out": {"module": "RootOutput", "file": str(out), "keep": ["source:hits"]}},
            "end_paths": {"o": ["out"]},
        }
        hepreco.run(cfg, executor=ex)
        files[name] = uproot.open(out)["events"].arrays()
    ref = ak.to_list(files["b4"])
    assert len(ref) == 4 and sum(len(e["hits_charge"]) for e in ref) > 100
    assert ak.to_list(files["b1"]) == ref
    assert ak.to_list(files["proc"]) == ref


def _single(pdg, p, n=8, **kw):
    return simulate(np.arange(1, n + 1, dtype=np.uint64),
                    SimParameters(mode="single", single_pdg=[pdg], single_momentum=(p, p), fiducial=60, **kw))  # fmt: skip


def test_a_mip_along_the_beam_gives_the_box_model_charge_per_collection_wire():
    out = _single(13, 1.0, single_isotropic=False)
    h = out["hits"]
    q = ak.to_numpy(ak.flatten(h[(h.view == 2) & (h.particle == 0)].charge))
    # restricted dE/dx (delta rays above 1 MeV tracked apart) ~1.75 MeV/cm for a 1 GeV/c muon (Bethe), modified
    # box recombination at 500 V/cm -> ~0.7, 23.6 eV per electron, 4.79 mm per wire: ~25k electrons (MPV ~median)
    assert 21_000 < np.median(q) < 31_000


def test_a_stopping_proton_ranges_out_near_its_csda_range():
    out = _single(2212, 0.6, n=16)  # T = 176 MeV: CSDA range ~ 22 cm in liquid argon (PSTAR: 30.9 g/cm2)
    p = out["particles"]
    prim = p[p.parent == -1]
    # protons that did not interact (no hadronic daughter)
    had = ak.any((p.process == 6) & (p.parent == 0), axis=1)
    L = ak.to_numpy(ak.flatten(np.sqrt((prim.end_x - prim.start_x) ** 2 + (prim.end_y - prim.start_y) ** 2
                                       + (prim.end_z - prim.start_z) ** 2)[~had]))  # fmt: skip
    assert len(L) >= 5
    assert 19.0 < np.median(L) < 24.0


def test_stopping_mu_plus_decay_to_michel_electrons_below_the_endpoint():
    out = _single(-13, 0.25, n=20)  # T ~ 150 MeV: range ~ 60 cm, stops inside
    p = ak.flatten(out["particles"])
    michel = p[(p.process == 1) & (p.pdg == -11)]
    assert len(michel) >= 15  # every mu+ that stops decays
    assert ak.all(michel.energy <= 52.83 + 1e-3) and ak.all(michel.michel)
    h = ak.flatten(out["hits"])
    assert ak.any(h.michel) and ak.all(h.label[h.michel] == 1)


def test_an_electron_makes_a_shower_a_photon_converts_and_a_pi0_gives_two_photons():
    e = _single(11, 1.0, n=4)
    h = ak.flatten(e["hits"])
    assert ak.mean(h.label[h.particle >= 0] == 1) > 0.99
    assert ak.mean(ak.num(e["particles"])) > 100  # a cascade, not one track
    g = _single(22, 1.0, n=4)
    first = g["particles"][:, 1:3]
    assert ak.all(first.process == 2)  # the photon's first daughters are its conversion pair
    pi0 = _single(111, 0.5, n=4)
    daughters = pi0["particles"][pi0["particles"].parent == 0]
    assert ak.all(ak.num(daughters) == 2) and ak.all(daughters.pdg == 22)


def test_cosmics_are_overlaid_at_a_rate_and_noise_alone_makes_few_hits():
    out = simulate(np.arange(1, 11, dtype=np.uint64), SimParameters(mode="cosmics", cosmics=3.0))
    n = ak.to_numpy(ak.num(out["particles"][out["particles"].process == 9]))
    assert 15 <= n.sum() <= 50  # Poisson(3) x 10
    assert set(np.unique(ak.to_numpy(out["interaction"])).tolist()) == {4}
    none = simulate(np.arange(1, 4, dtype=np.uint64), SimParameters(mode="cosmics", cosmics=0.0))
    assert ak.sum(ak.num(none["hits"])) == 0


def test_microboone_preset_and_adc_images():
    out = simulate(np.array([1], dtype=np.uint64), SimParameters(detector="microboone", adc_images=True))
    from hepreco_lartpc.geometry import DetectorParams, detector

    d = detector(DetectorParams(detector="microboone"))
    assert out["adc_W"].to_numpy().shape[1] == d.n_wires()[2]
    h = out["hits"][0]
    w = h[h.view == 2]
    assert np.allclose(ak.to_numpy(w.w), d.pitch[2] * ak.to_numpy(w.wire) + d.views()[2, 2], atol=1e-3)
    assert float(np.abs(out["adc_W"].to_numpy()).sum()) > 0


@pytest.mark.parametrize("mode", ["neutrino"])
def test_interaction_codes(mode, nu_events):
    codes = set(ak.to_numpy(nu_events["interaction"]).tolist())
    assert codes <= {1, 2, 3} and codes
