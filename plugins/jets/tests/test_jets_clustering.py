"""Clustering, the selection and N-subjettiness on hand-made particles (known answers)."""

from __future__ import annotations

import awkward as ak
import numpy as np
from hepreco_jets.clustering import cluster, leading_jet, leading_record, nsubjettiness, select_jets


def _particle(pt, eta, phi, m=0.0, pdg=211):
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return {"px": px, "py": py, "pz": pz, "E": float(np.sqrt(px**2 + py**2 + pz**2 + m**2)), "pdg": pdg}


def test_antikt_merges_within_r_and_sorts_by_pt():
    ev = [
        _particle(100, 0.0, 0.0),
        _particle(60, 0.3, 0.4),  # dR 0.5 from the first: one R=1.0 jet
        _particle(120, 0.0, 3.0),  # back to back: its own jet, below the other (~157 GeV)
    ]
    jets = cluster(ak.Array([ev, []]), radius=1.0)
    assert ak.num(jets).tolist() == [2, 0]
    lead = leading_jet(jets)
    assert abs(float(jets[0, 1].pt) - 120.0) < 1e-3
    assert 150 < float(lead[0].pt) < 160
    assert ak.to_list(ak.num(jets.constituents, axis=2)) == [[2, 1], []]
    # the pdg field travels with the constituents; constituents by decreasing pT
    assert ak.to_list(jets[0, 0].constituents.pdg) == [211, 211]
    cpt = np.hypot(ak.to_numpy(jets[0, 0].constituents.px), ak.to_numpy(jets[0, 0].constituents.py))
    assert cpt[0] > cpt[1]
    # four-momentum conservation: the jet is the sum of its constituents
    assert abs(float(ak.sum(jets[0, 0].constituents.px)) - float(jets[0, 0].px)) < 1e-3
    rec = leading_record(lead)
    assert ak.to_list(rec.n_constituents) == [2, None]
    # with R = 0.4 the two close particles are two jets
    assert ak.num(cluster(ak.Array([ev]), radius=0.4)).tolist() == [3]


def test_selection_windows():
    jets = ak.Array([
        {"pt": 275.0, "mass": 80.0, "eta": 1.0},
        {"pt": 240.0, "mass": 80.0, "eta": 1.0},  # pT below
        {"pt": 275.0, "mass": 120.0, "eta": 1.0},  # mass above
        {"pt": 275.0, "mass": 80.0, "eta": -2.6},  # too forward
        None,
    ])  # fmt: skip
    assert select_jets(jets).tolist() == [True, False, False, False, False]


def test_nsubjettiness_two_prong_vs_one_prong():
    # a two-prong jet (two hard, well separated clusters) has tau21 well below a one-prong jet's
    two = [_particle(120, 0.0, 0.0), _particle(5, 0.05, 0.0), _particle(110, 0.0, 0.6), _particle(5, 0.0, 0.65)]
    one = [_particle(200, 0.0, 0.0), _particle(20, 0.3, 0.2), _particle(15, -0.2, 0.3), _particle(10, 0.25, -0.3)]
    tau = nsubjettiness(ak.Array([two, one]), n_max=2)
    t21 = tau[:, 1] / tau[:, 0]
    assert t21[0] < 0.2 < t21[1]
    # tau1 of the two-prong jet: by hand, the axis is the kt jet (all particles), sum pT dR / sum pT
    c = ak.Array([two])
    p = ak.to_numpy(ak.flatten(c.px)), ak.to_numpy(ak.flatten(c.py)), ak.to_numpy(ak.flatten(c.pz))
    e = ak.to_numpy(ak.flatten(c.E))
    ax = np.array([p[0].sum(), p[1].sum(), p[2].sum()])
    pt = np.hypot(p[0], p[1])
    eta = np.arcsinh(p[2] / pt)
    phi = np.arctan2(p[1], p[0])
    ax_eta, ax_phi = np.arcsinh(ax[2] / np.hypot(ax[0], ax[1])), np.arctan2(ax[1], ax[0])
    dr = np.hypot(eta - ax_eta, (phi - ax_phi + np.pi) % (2 * np.pi) - np.pi)
    assert abs(tau[0, 0] - (pt * dr).sum() / pt.sum()) < 1e-4
    assert e.size == 4
