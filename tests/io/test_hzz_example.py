"""The H->ZZ example (examples/hzz) as a newcomer runs it, checked against uproot reading the file directly."""

from __future__ import annotations

import filecmp
import functools
import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import hepreco
from hepreco.io import read_provenance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hzz"


@functools.cache
def expected_masses(path: Path, min_pt: float = 5.0) -> dict[int, float]:
    """Event number -> mass of the leading opposite-sign muon pair, computed event by event."""
    mu = uproot.open(path)["events"].arrays(["Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E", "Muon_Charge"]).tolist()
    out = {}
    for i, ev in enumerate(mu, start=1):
        muons = [
            (px, py, pz, e, q)
            for px, py, pz, e, q in zip(
                ev["Muon_Px"], ev["Muon_Py"], ev["Muon_Pz"], ev["Muon_E"], ev["Muon_Charge"], strict=True
            )
            if math.hypot(px, py) > min_pt
        ]
        muons.sort(key=lambda m: -math.hypot(m[0], m[1]))
        for a in range(len(muons)):
            pair = next((b for b in range(a + 1, len(muons)) if muons[a][4] * muons[b][4] < 0), None)
            if pair is not None:
                s = [muons[a][k] + muons[pair][k] for k in range(4)]
                out[i] = math.sqrt(max(s[3] ** 2 - s[0] ** 2 - s[1] ** 2 - s[2] ** 2, 0.0))
                break
    return out


def test_hzz_example_and_its_second_step(root_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example writes to the working directory and finds its input from its own folder
    r = hepreco.run(EXAMPLE / "job.yaml")
    hzz = root_files / "uproot-HZZ.root"
    expected = expected_masses(hzz)
    assert r.events == 2421
    assert r.path_events["dimuon_sel"] == len(expected) > 1000

    # the histogram, in memory and on file, equals a numpy histogram of the masses computed directly
    values = np.array(list(expected.values()), dtype=np.float32)
    counts, _ = np.histogram(values, bins=60, range=(0, 150))
    h = r.histograms["h_mass"]["h_mass"]
    assert np.array_equal(h.values(), counts)
    th1 = uproot.open(tmp_path / "hzz_hists.root")["h_mass/h_mass"]
    assert th1.member("fTitle") == "dimuon mass" and th1.member("fXaxis").member("fTitle") == "m(#mu#mu) [GeV]"
    assert np.array_equal(th1.values(), counts)

    # the selected events on file: ids, muons and masses as uproot sees them in the input
    out = uproot.open(tmp_path / "hzz_selected.root")["events"].arrays()
    events = sorted(expected)
    assert out["event"].tolist() == events
    direct = uproot.open(hzz)["events"].arrays(["Muon_Px", "Muon_Charge", "EventWeight"])
    idx = np.array(events) - 1
    assert ak.all(out["muons_Px"] == direct["Muon_Px"][idx])
    assert ak.all(out["muons_Charge"] == direct["Muon_Charge"][idx])
    assert np.array_equal(out["EventWeight"], direct["EventWeight"][idx])
    assert np.allclose(out["dimuon_mass"], [expected[e] for e in events], rtol=1e-4, atol=1e-3)  # float32 sums
    assert ak.all(out["dimuon_mass__valid"])

    # step 2 reads step 1's file and keeps its provenance
    r2 = hepreco.run(EXAMPLE / "zpeak.yaml")
    in_window = [e for e in events if 81 <= expected[e] < 101]
    assert r2.path_events["z"] == len(in_window)
    history = read_provenance(tmp_path / "hzz_zpeak.parquet")
    assert [h["process"] for h in history] == ["hzz", "zpeak"]
    # the recorded input is the HZZ file (the config's path is tried relative to the working directory first,
    # so on a machine with another copy of shared/ above the temporary directory it may be that copy)
    recorded = Path(history[0]["inputs"][0])
    assert recorded.name == hzz.name and filecmp.cmp(recorded, hzz, shallow=False)
    assert history[0]["config"]["source"]["groups"] == {"muons": "Muon_"}


@pytest.mark.slow
@pytest.mark.parametrize("batch", [50, 333, 5000])
def test_hzz_results_do_not_depend_on_the_batch_size(root_files, tmp_path, monkeypatch, batch):
    monkeypatch.chdir(tmp_path)
    r = hepreco.run(EXAMPLE / "job.yaml", set={"source.batch_size": batch, "end_paths.analysis": ["h_mass"]})
    values = np.array(list(expected_masses(root_files / "uproot-HZZ.root").values()), dtype=np.float32)
    counts, _ = np.histogram(values, bins=60, range=(0, 150))
    assert np.array_equal(r.histograms["h_mass"]["h_mass"].values(), counts)
