"""The COMET simulation and its validation on processes: summaries and plots of the whole job, as inline."""

from __future__ import annotations

import re

import numpy as np

import hepreco


def job(plot_dir: str) -> dict:
    return {
        "process": "sim",
        "seed": 5,
        "source": {"module": "comet.CDCSimSource", "events": 6, "batch_size": 2, "pileup": 0.3},
        "modules": {"validation": {"module": "comet.SimValidation", "plot_dir": plot_dir, "display_events": 3}},
        "end_paths": {"ana": ["validation"]},
    }


def test_sim_validation_and_source_summaries_on_processes(tmp_path, monkeypatch):
    """CDCSimSource's and SimValidation's figures come from booked histograms: exact on any executor and
    chunk size; the event displays (drawn on the client) are the job's first events, as inline."""
    import hepreco_comet.plotting as plotting

    drawn: list[list[dict]] = []
    monkeypatch.setattr(
        plotting, "plot_sim_validation", lambda _dir, _label, _h, display, *a, **k: drawn.append(display)
    )
    ref = hepreco.run(job(str(tmp_path)), quiet=True)
    r = hepreco.run(job(str(tmp_path)), executor={"kind": "processes", "workers": 2, "chunk_size": 1}, quiet=True)
    assert r.executor["chunks"] == 6
    for label in ("source", "validation"):
        assert r.summaries[label] == ref.summaries[label]
    assert ref.summaries["source"]["signal_electrons_drawn_per_event"] > 1
    assert r.histograms["source"]["signal_attempts"] == ref.histograms["source"]["signal_attempts"]
    for name, h in ref.histograms["validation"].items():
        if not name.startswith("display_"):
            assert r.histograms["validation"][name] == h, name
    inline, chunked = drawn
    assert [d["title"] for d in chunked] == [d["title"] for d in inline]
    assert [d["title"].split(":")[0] for d in inline] == [f"run 1, subrun 0, event {e}" for e in (1, 2, 3)]
    for a, b in zip(inline, chunked, strict=True):
        for key in ("x", "y", "origin"):
            np.testing.assert_array_equal(a[key], b[key])
        n_sig, n_bkg = re.search(r": (\d+) signal, (\d+) background hits$", a["title"]).groups()
        assert len(a["x"]) == int(n_sig) + int(n_bkg) > 0
