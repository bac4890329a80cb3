"""comet.EventDisplay: the hit categories (pure), the true circle, and the PNGs of a small job.

This file is also the job's plugin (``plugins: [__file__]``): truth stand-ins for the turn-1 extractor and
the helix fit, so the display is tested without the networks' checkpoints.
"""

from __future__ import annotations

import doctest
import struct
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import hepreco
from hepreco import ConfigError, InputTag


class Turn1Truth(hepreco.Producer):
    """The turn-1 mask from the truth: first-turn signal hits that ``selected`` kept."""

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        selected: InputTag = InputTag("source:hits.is_signal")

    produces = ("mask",)

    def produce(self, events: hepreco.Events) -> None:
        h = events[self.config.hits]
        events.put("mask", h.is_signal & (h.turn <= 1) & events[self.config.selected])


class FitTruth(hepreco.Producer):
    """A helix-fit record per event made from the true circle, pT off by 1%; event 3's fit is not valid."""

    class Config(hepreco.ModuleConfig):
        signal: InputTag = InputTag("source:signal")

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        from hepreco_comet.hit_categories import signal_circle

        s = events[self.config.signal]
        recs = []
        for ev, px, py, vx, vy in zip(
            events.event, *(ak.to_numpy(s[f]) for f in ("px", "py", "vx", "vy")), strict=True
        ):
            cx, cy, r = signal_circle(px, py, vx, vy)
            recs.append({"pt": 0.99 * float(np.hypot(px, py)), "radius": r, "center_x": cx, "center_y": cy,
                         "chi2": 10.0, "ndf": 20, "n_hits": 23, "valid": bool(ev != 3)})  # fmt: skip
        events.put("", ak.Array(recs))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [Turn1Truth, FitTruth]


PLUGIN = Path(__file__).stem


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _sim_event(seed: int = 11):
    from hepreco_comet.simulation import simulate

    hits, signal = simulate(np.array([seed], dtype=np.uint64))
    return {f: ak.to_numpy(hits[0][f]) for f in ak.fields(hits)}, signal[0].to_list()


# --- pure functions -----------------------------------------------------------------------------------
def test_docstring_examples():
    import hepreco_comet.hit_categories as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_categories_match_the_truth_counts():
    from hepreco_comet.hit_categories import PREDICTION_CLASSES, TRUTH_CLASSES, hit_categories

    h, _ = _sim_event()
    sig, turn, origin, edep = h["is_signal"], h["turn"], h["origin"], h["edep"]
    rng = np.random.default_rng(1)
    selected = sig ^ (rng.random(sig.size) < 0.05)  # a classifier with a few mistakes
    turn1 = selected & sig & (turn <= 1)
    truth, pred = hit_categories(sig, turn, origin, edep, selected=selected, turn1=turn1, edep_max=255.0)

    counts = dict(zip(TRUTH_CLASSES, np.bincount(truth, minlength=len(TRUTH_CLASSES)).tolist(), strict=True))
    assert counts["signal, turn 1"] == int((sig & (turn <= 1)).sum()) > 0
    assert counts["signal, later turns"] == int((sig & (turn > 1)).sum())
    for code, name in [(1, "capture proton"), (2, "neutron recoil"), (3, "photon electron"), (4, "DIO electron"),
                       (5, "noise")]:  # fmt: skip
        assert counts[name] == int((~sig & (origin == code)).sum())
    assert counts["other background"] == 0
    assert sum(counts.values()) == sig.size

    cut = edep > 255.0
    p = dict(zip(PREDICTION_CLASSES, np.bincount(pred, minlength=4).tolist(), strict=True))
    assert p["removed by energy cut"] == int(cut.sum()) > 0
    assert p["turn-1 mask"] == int((turn1 & ~cut).sum())
    assert p["rejected by the hit classifier"] == int((~selected & ~cut).sum())
    assert p["kept, not turn 1"] == int((selected & ~turn1 & ~cut).sum())


def test_categories_without_the_stages():
    from hepreco_comet.hit_categories import hit_categories

    sig = np.array([True, False, False])
    truth, pred = hit_categories(sig, np.array([3, 0, 0]), np.array([0, 9, 2]), np.array([1.0, 2.0, 900.0]))
    assert truth.tolist() == [1, 7, 3]  # later turn, unknown origin -> "other background", neutron recoil
    assert pred.tolist() == [2, 2, 2]  # no cut, no classifier: everything is kept
    _, pred = hit_categories(sig, np.zeros(3), np.zeros(3), np.array([1.0, 2.0, 900.0]), edep_max=255.0)
    assert pred.tolist() == [2, 2, 0]
    with pytest.raises(ValueError, match="'selected' has shape"):
        hit_categories(sig, np.zeros(3), np.zeros(3), np.zeros(3), selected=np.ones(2, bool))


def test_true_circle_goes_through_the_first_turn_hits():
    from hepreco_comet.hit_categories import signal_circle

    for seed in (3, 4):
        h, s = _sim_event(seed)
        cx, cy, r = signal_circle(s["px"], s["py"], s["vx"], s["vy"])
        m = h["is_signal"] & (h["turn"] <= 1)
        d = np.hypot(h["x"][m] - cx, h["y"][m] - cy) - r
        assert np.median(np.abs(d)) < 1.0, (seed, d)


def test_drawn_points_match_the_categories(tmp_path):
    pytest.importorskip("matplotlib")
    from hepreco_comet.geometry import CDCGeometry
    from hepreco_comet.hit_categories import hit_categories
    from hepreco_comet.modules.event_display import EventDisplay
    from hepreco_comet.plotting import draw_event

    h, s = _sim_event()
    geo = CDCGeometry()
    sig, turn = h["is_signal"], h["turn"]
    truth_cat, pred_cat = hit_categories(
        sig, turn, h["origin"], h["edep"], selected=sig, turn1=sig & (turn <= 1), edep_max=255.0
    )
    x, y = geo.wire_xy(h["wire"].astype(np.int64), 0.0)
    ev = {"name": "event 1", "x": x, "y": y, "truth_cat": truth_cat, "pred_cat": pred_cat, "has_turn1": True,
          "truth": s, "fit": None, "notes": []}  # fmt: skip
    sense = np.flatnonzero(geo.sense_wire_mask)
    drawn = draw_event(tmp_path / "e.png", ev, geo, geo.wire_xy(sense, 0.0), config=EventDisplay.Config())
    cut = h["edep"] > 255
    assert drawn["truth"]["signal, turn 1"] == int((sig & (turn <= 1)).sum())
    assert drawn["truth"]["signal, later turns"] == int((sig & (turn > 1)).sum())
    assert drawn["truth"]["photon electron"] == int((~sig & (h["origin"] == 3)).sum())
    assert sum(drawn["truth"].values()) == sig.size
    assert drawn["prediction"]["turn-1 mask"] == int((sig & (turn <= 1) & ~cut).sum())
    assert drawn["prediction"]["rejected by the hit classifier"] == int((~sig & ~cut).sum())
    assert drawn["prediction"]["removed by energy cut"] == int(cut.sum())
    assert sum(drawn["prediction"].values()) == sig.size
    assert _png_size(tmp_path / "e.png")[0] > 800


# --- in a job -------------------------------------------------------------------------------------------
def job(tmp_path, **modules):
    return {
        "process": "test",
        "seed": 5,
        "plugins": [__file__],
        "source": {"module": "comet.CDCSimSource", "events": 3, "batch_size": 2},
        "modules": {
            "turn1": {"module": f"{PLUGIN}.Turn1Truth"},
            "fit": {"module": f"{PLUGIN}.FitTruth"},
            **modules,
        },
        "paths": {"reco": ["turn1", "fit"]},
        "end_paths": {"ana": [m for m in modules]},
    }


def test_job_draws_the_requested_events(tmp_path, caplog):
    out = tmp_path / "plots"
    cfg = job(
        tmp_path,
        display={
            "module": "comet.EventDisplay",
            "selected": "source:hits.is_signal",
            "fit": "fit",
            "events": [3, 2, 99],
            "plot_dir": str(out),
        },
        first={
            "module": "comet.EventDisplay",
            "selected": None,
            "turn1": None,
            "truth": None,
            "hit_z": "truth",
            "plot_dir": str(out),
            "filename": "{label}_{event}.png",
        },
    )
    r = hepreco.run(cfg)
    s = r.summaries["display"]
    assert s["files"] == [str(out / "event_display_1_0_2.png"), str(out / "event_display_1_0_3.png")]
    assert s["events_drawn"] == 2
    assert s["events_not_found"] == [99]
    assert "[99] never seen" in caplog.text
    for f in s["files"]:
        w, h = _png_size(Path(f))
        assert 800 < w < 3000 and 400 < h < 2000, (w, h)
    assert r.summaries["first"] == {"events_drawn": 1, "files": [str(out / "first_1.png")]}
    assert _png_size(out / "first_1.png")[0] > 800


def test_no_event_seen_is_reported(tmp_path):
    cfg = job(tmp_path, display={"module": "comet.EventDisplay", "selected": None, "plot_dir": str(tmp_path)})
    r = hepreco.run(cfg, events=0)
    assert r.summaries["display"]["events_drawn"] == 0
    assert r.summaries["display"]["events_not_found"] == "no event reached this module"
    assert not list(tmp_path.glob("*.png"))


def test_bad_filename_pattern_is_a_config_error(tmp_path):
    cfg = job(tmp_path, display={"module": "comet.EventDisplay", "filename": "{evt}.png", "plot_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"\{run\}, \{subrun\}, \{event\}"):
        hepreco.run(cfg)


def test_hit_count_mismatch_is_an_error(tmp_path):
    cfg = job(
        tmp_path,
        display={"module": "comet.EventDisplay", "selected": "source:signal.has_signal", "plot_dir": str(tmp_path)},
    )
    with pytest.raises(hepreco.ModuleError):
        hepreco.run(cfg)
