"""The example plugin's own test: run its job through hepreco."""

from pathlib import Path

import awkward as ak

import hepreco


def test_smear_job():
    result = hepreco.run(Path(__file__).parents[1] / "job.yaml", events=200)
    assert result.events == 200
    assert result.histograms["h"]["h"].sum(flow=True) > 0


def test_smear_keeps_structure():
    from hepreco_smear.smear import Smear

    assert Smear.Config(src="tracks.pt").resolution == 0.05
    assert ak.Array([[1.0], []]).ndim == 2
