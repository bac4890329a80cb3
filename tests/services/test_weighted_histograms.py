"""Issue 10, point 1: a histogram filled with weights has the errors sqrt(sum w^2), in memory and in the file
(ROOT's fSumw2), as ``hist`` filled directly gives them."""

from __future__ import annotations

import logging
from pathlib import Path

import awkward as ak
import hist
import numpy as np
import pytest
import uproot

import hepreco

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def weighted_job(toy_plugin: str, tmp_path: Path, **histfill: object) -> dict:
    return {
        "process": "w",
        "plugins": [toy_plugin],
        "source": {"module": "EmptySource", "events": 40, "batch_size": 7},
        "services": {"Histograms": {"file": str(tmp_path / "hists.root")}},
        "modules": {
            "nums": {"module": "toy.Numbers", "scale": 0.5},
            "h": {
                "module": "HistFill",
                "weight": "nums:x",
                "axes": [{"fill": "nums:hits", "bins": 8, "start": -2, "stop": 2}],
                **histfill,
            },
            "gx": {"module": "Collect", "src": "nums:x"},
            "gh": {"module": "Collect", "src": "nums:hits"},
        },
        "paths": {"p": ["nums"]},
        "end_paths": {"e": ["h", "gx", "gh"]},
    }


def test_0010_weighted_histfill_writes_sumw2(toy_plugin, tmp_path, collected):
    r = hepreco.run(weighted_job(toy_plugin, tmp_path), quiet=True)
    # the same entries filled straight into hist, with weights broadcast to the hits
    x = ak.Array([v for _, v in collected["gx"]])
    hits = ak.Array([v for _, v in collected["gh"]])
    xb, hb = ak.broadcast_arrays(x, hits)
    direct = hist.Hist(hist.axis.Regular(8, -2, 2), storage=hist.storage.Weight())
    direct.fill(ak.to_numpy(ak.flatten(hb)), weight=ak.to_numpy(ak.flatten(xb)))
    assert direct.sum().value > 0

    h = r.histograms["h"]["h"]
    assert h.storage_type is hist.storage.Weight
    np.testing.assert_allclose(h.variances(flow=True), direct.variances(flow=True))

    with uproot.open(tmp_path / "hists.root") as f:
        th1 = f["h/h"]
        assert len(th1.member("fSumw2")) == 10  # the bins and the two flow bins
        np.testing.assert_allclose(th1.values(), direct.values())
        np.testing.assert_allclose(th1.errors(), np.sqrt(direct.variances()))
        # not sqrt(sum w), which is what a file without fSumw2 shows
        assert not np.allclose(th1.errors(), np.sqrt(direct.values()))


@pytest.mark.parametrize("storage", ["double", "int"])
def test_0010_weighted_histfill_refuses_a_storage_without_variances(toy_plugin, tmp_path, storage):
    with pytest.raises(hepreco.ConfigError, match="storage: weight"):
        hepreco.run(weighted_job(toy_plugin, tmp_path, storage=storage), quiet=True)


def test_0010_double_storage_filled_with_weights_is_reported(tmp_path, caplog):
    from hepreco.services.histograms import write_histograms

    h = hist.Hist(hist.axis.Regular(2, 0, 2), storage=hist.storage.Double())
    h.fill([0.5, 1.5], weight=[0.5, 2.0])
    with caplog.at_level(logging.WARNING, logger="hepreco.histograms"):
        write_histograms(tmp_path / "h.root", {"mod": {"w": h}})
    assert "mod/w" in caplog.text and "hist.storage.Weight()" in caplog.text


def test_0010_zpeak_example_errors(root_files, tmp_path, monkeypatch):
    """examples/hzz/zpeak.yaml: the weighted Z peak's errors are sqrt(sum w^2) (0.018), not sqrt(sum w) (0.19)."""
    monkeypatch.chdir(tmp_path)
    hepreco.run(EXAMPLES / "hzz" / "job.yaml", quiet=True)
    hepreco.run(EXAMPLES / "hzz" / "zpeak.yaml", quiet=True)
    tree = uproot.open(tmp_path / "hzz_selected.root")["events"]
    arrays = tree.arrays(["dimuon_mass", "EventWeight"], library="np")
    m, w = arrays["dimuon_mass"], arrays["EventWeight"]
    ok = np.isfinite(m) & (m >= 81) & (m <= 101)
    direct = hist.Hist(hist.axis.Regular(40, 81, 101), storage=hist.storage.Weight())
    direct.fill(m[ok], weight=w[ok])
    with uproot.open(tmp_path / "hzz_zpeak_hists.root") as f:
        th1 = f["h_z/h_z"]
        np.testing.assert_allclose(th1.values(), direct.values(), rtol=1e-6)
        np.testing.assert_allclose(th1.errors(), np.sqrt(direct.variances()), rtol=1e-6)
        assert np.all(th1.errors() < 0.5 * np.sqrt(th1.values()))  # sqrt(sum w) would be far larger
        assert th1.errors()[0] == pytest.approx(0.018, abs=0.001)  # the bin: 0.19 before the fix
