"""The helix fit (comet.HelixFit) and its resolution analyzer (comet.MomentumResolution).

This file is also the job plugin ``helixprobe`` (``plugins: [this file]``): a source of hand-made hits on
known helices, exactly where the fit's model puts them, with drift times from their exact distances.
"""

from __future__ import annotations

import doctest
import importlib
import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import hepreco
from hepreco import ConfigError, ModuleError

PLUGIN_NAME = "helixprobe"
HERE = str(Path(__file__).resolve())
PROBE = str(Path(__file__).with_name("cometprobe.py"))
VDRIFT = 0.0025  # cm/ns
C_LIGHT = 29.9792458  # cm/ns

#: hand-made helices (xc, yc, R [cm], z0 [cm], tan lambda), one per event; the sense of rotation of an
#: electron in +1 T (anticlockwise); the perigee is near the axis, as for tracks from the target.
HELICES = [
    (20.0, 25.0, 35.0, 10.0, 0.40),
    (-30.0, 12.0, 33.0, 40.0, -0.55),
    (5.0, -36.0, 31.0, 0.0, 0.0),
    (-22.0, -26.0, 34.5, -60.0, 0.75),
]


def helix_hits(geo, xc: float, yc: float, r: float, z0: float, tl: float) -> dict[str, np.ndarray]:
    """The sense wires within 0.8 cm of a helix, each at the z the helix has there (``z = z0 + tl R psi``, psi
    the turning angle from the perigee), with the drift time of its exact distance plus the flight time."""
    from hepreco_comet.helixfit import wire_lines

    x0, y0, dx, dy = wire_lines(geo)
    wires = np.flatnonzero(geo.sense_wire_mask)
    phin = math.atan2(-yc, -xc)
    z = np.full(wires.size, z0)
    for _ in range(50):  # a contraction: |d z_new / d z| <~ 0.07 |tan lambda|
        ux = x0[wires] + z * dx[wires] - xc
        uy = y0[wires] + z * dy[wires] - yc
        psi = np.mod(np.arctan2(uy, ux) - phin, 2 * np.pi)
        z = z0 + tl * r * psi
    ux = x0[wires] + z * dx[wires] - xc
    uy = y0[wires] + z * dy[wires] - yc
    psi = np.mod(np.arctan2(uy, ux) - phin, 2 * np.pi)
    dist = np.hypot(ux, uy) - r
    keep = (np.abs(dist) < 0.8) & (np.abs(z) < geo.half_length - 4)
    w = wires[keep]
    time = np.abs(dist[keep]) / VDRIFT + r * psi[keep] * math.sqrt(1 + tl * tl) / C_LIGHT
    return {"wire": w.astype(np.int32), "drift_time": time, "z": z[keep]}


class HandMadeHits(hepreco.GeneratorSource):
    """Event ``e`` (1, 2, ...): the hits of ``HELICES[e - 1]``; then one event with 3 hits, one with none."""

    produces = ("hits",)

    def generate(self, ids: hepreco.EventIDs) -> dict:
        from hepreco_comet.modules.geometry_service import geometry_from

        geo = geometry_from(self.services)
        events = []
        for e in ids.event.tolist():
            if e <= len(HELICES):
                events.append(helix_hits(geo, *HELICES[e - 1]))
            elif e == len(HELICES) + 1:
                h = helix_hits(geo, *HELICES[0])
                events.append({k: v[:3] for k, v in h.items()})
            else:
                events.append({"wire": np.zeros(0, np.int32), "drift_time": np.zeros(0), "z": np.zeros(0)})
        counts = [len(ev["wire"]) for ev in events]
        flat = {k: np.concatenate([ev[k] for ev in events]) for k in ("wire", "drift_time", "z")}
        return {"hits": ak.unflatten(ak.zip(flat), counts)}


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [HandMadeHits]


def kept(label):
    from hepreco_userplugin_cometprobe import KEPT  # loaded by the job's plugins list

    return KEPT[label]


# --- the algebra ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["helixfit.circle", "helixfit.seeding", "helixfit.helix", "resolution"])
def test_docstring_examples(name):
    module = importlib.import_module(f"hepreco_comet.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0


@pytest.mark.parametrize("method", ["taubin", "kasa"])
def test_algebraic_circle_fits_are_exact_on_points_of_a_circle(method):
    from hepreco_comet.helixfit import fit_circles

    truth = [(20.0, 25.0, 35.0, 0.3, 2.5, 40), (-3.0, 0.5, 1.5, 0.0, 6.2, 3), (100.0, -50.0, 400.0, 1.0, 1.2, 9)]
    xs, ys, counts = [], [], []
    for xc, yc, r, a, b, n in truth:
        t = np.linspace(a, b, n)
        xs.append(xc + r * np.cos(t))
        ys.append(yc + r * np.sin(t))
        counts.append(n)
    counts += [2, 0]  # too few points: NaN
    xs += [np.array([0.0, 1.0]), np.zeros(0)]
    ys += [np.array([0.0, 1.0]), np.zeros(0)]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    out = fit_circles(offsets, np.concatenate(xs), np.concatenate(ys), method=method)
    np.testing.assert_allclose(out[:3], [t[:3] for t in truth], rtol=1e-9, atol=1e-8)
    assert np.isnan(out[3:]).all()


def test_taubin_beats_kasa_on_a_short_noisy_arc():
    """Kåsa's fit is biased towards small circles on short arcs (Chernov 2010, ch. 5); Taubin's is not."""
    from hepreco_comet.helixfit import fit_circles

    rng = np.random.default_rng(3)
    n_sets, n = 400, 30
    t = np.linspace(0.0, 1.0, n)  # a 57 degree arc of a 35 cm circle, 0.3 cm noise
    x = (35.0 * np.cos(t))[None, :] + rng.normal(0, 0.3, (n_sets, n))
    y = (35.0 * np.sin(t))[None, :] + rng.normal(0, 0.3, (n_sets, n))
    offsets = np.arange(n_sets + 1) * n
    taubin = fit_circles(offsets, x.ravel(), y.ravel())[:, 2]
    kasa = fit_circles(offsets, x.ravel(), y.ravel(), method="kasa")[:, 2]
    assert abs(np.median(taubin) - 35.0) < 0.5
    assert np.median(kasa) < np.median(taubin) - 0.5


# --- the module on hand-made helices --------------------------------------------------------------------------


def handmade_job(batch_size: int, **fit) -> dict:
    return {
        "process": "test",
        "seed": 1,
        "plugins": [HERE, PROBE],
        "source": {"module": "helixprobe.HandMadeHits", "events": len(HELICES) + 2, "batch_size": batch_size},
        "modules": {
            "fit": {"module": "comet.HelixFit", "select": None, "used": True, **fit},
            "keep": {"module": "cometprobe.Keep", "src": ["fit", "fit:used", "source:hits"]},
        },
        "paths": {"reco": ["fit"]},
        "end_paths": {"ana": ["keep"]},
    }


def test_exact_recovery_of_hand_made_helices():
    r = hepreco.run(handmade_job(batch_size=4))
    rows = kept("keep")
    assert [ev for ev, _ in rows] == list(range(1, len(HELICES) + 3))
    for (ev, p), (xc, yc, radius, z0, tl) in zip(rows, HELICES, strict=False):
        f = p["fit"]
        n = len(p["source:hits"])
        assert n >= 20, ev  # the helices cross several layers
        assert f["valid"] and f["n_hits"] == n and f["n_used"] == n and f["ndf"] == n - 5
        assert f["radius"] == pytest.approx(radius, abs=1e-5)
        assert f["center_x"] == pytest.approx(xc, abs=1e-5) and f["center_y"] == pytest.approx(yc, abs=1e-5)
        assert f["tan_lambda"] == pytest.approx(tl, abs=1e-6) and f["z0"] == pytest.approx(z0, abs=1e-4)
        pt = 2.99792458 * radius  # MeV/c in 1 T
        assert f["pt"] == pytest.approx(pt, rel=1e-7) and f["p"] == pytest.approx(pt * math.hypot(1, tl), rel=1e-6)
        assert f["chi2"] < 1e-6
        assert f["d0"] == pytest.approx(math.hypot(xc, yc) - radius, abs=1e-5)
        # the momentum at the perigee is perpendicular to the radius, anticlockwise
        assert math.cos(f["phi0"]) * xc + math.sin(f["phi0"]) * yc == pytest.approx(0, abs=1e-6)
        assert math.cos(f["phi0"]) * -yc + math.sin(f["phi0"]) * xc < 0
        assert all(p["fit:used"])
    for _, p in rows[len(HELICES) :]:  # 3 hits and no hit: not fitted, NaN, never an error
        f = p["fit"]
        assert not f["valid"] and f["n_hits"] in (3, 0) and f["ndf"] == 0
        assert all(math.isnan(f[k]) for k in ("pt", "p", "radius", "chi2", "tan_lambda"))
        assert not any(p["fit:used"])
    assert r.summaries["fit"]["valid_fits"] == len(HELICES)
    assert r.summaries["fit"]["events_fitted"] == len(HELICES)

    # the same without the drift distances: on the wires alone, a cell's resolution (no exactness)
    hepreco.run(handmade_job(batch_size=6, use_drift=False))
    for (_, p), (_, _, radius, _, tl) in zip(kept("keep"), HELICES, strict=False):
        assert p["fit"]["valid"]
        assert abs(p["fit"]["radius"] - radius) < 1.5 and abs(p["fit"]["tan_lambda"] - tl) < 0.1


def test_outliers_are_left_out():
    """Hits far from the helix (background, a later turn) leave the robust fit exact, the plain one not."""
    from hepreco_comet import CDCGeometry
    from hepreco_comet.helixfit import fit_helices

    geo = CDCGeometry()
    h = helix_hits(geo, *HELICES[0])
    noise = np.array([1000, 1500, 2400, 3300, 4100, 4400])  # wires elsewhere in the chamber
    wire = np.concatenate([h["wire"], noise])
    time = np.concatenate([h["drift_time"], np.full(noise.size, 200.0)])
    offsets = np.array([0, wire.size])
    fit, used = fit_helices(offsets, wire, time, geometry=geo, outlier_cut=0.25)
    assert fit["valid"][0] and fit["radius"][0] == pytest.approx(HELICES[0][2], abs=1e-5)
    assert used.tolist() == [True] * h["wire"].size + [False] * noise.size
    plain, used = fit_helices(offsets, wire, time, geometry=geo)
    assert abs(plain["radius"][0] - HELICES[0][2]) > 0.1 and used.all()


def test_select_picks_the_hits_to_fit():
    """A second fit of the hits the first one used (``select``, a per-hit bool product) finds the same helix;
    a select that is not per-hit stops the job naming it."""
    cfg = handmade_job(batch_size=6)
    cfg["modules"]["again"] = {"module": "comet.HelixFit", "select": "fit:used"}
    cfg["modules"]["keep"]["src"] = ["fit", "again"]
    cfg["paths"]["reco"].append("again")
    hepreco.run(cfg)
    for _, p in kept("keep"):
        if p["fit"]["valid"]:
            assert p["again"] == pytest.approx(p["fit"], rel=1e-6, abs=1e-6)
        else:  # the fit used none of the 3 hits
            assert p["again"]["n_hits"] == 0 and not p["again"]["valid"]
    cfg["modules"]["again"]["select"] = "source:hits.z"
    hepreco.run(cfg)  # a number per hit reads as true where non-zero
    cfg["modules"]["again"]["select"] = "fit.pt"
    with pytest.raises(ModuleError, match="again"):
        hepreco.run(cfg)


def test_bad_config_is_caught_before_the_first_event():
    cfg = handmade_job(batch_size=6, seed="hough")
    with pytest.raises(ConfigError, match="seed"):
        hepreco.run(cfg)
    cfg = handmade_job(batch_size=6)
    cfg["modules"]["res"] = {"module": "comet.MomentumResolution", "range": [5, -5]}
    cfg["end_paths"]["ana"].append("res")
    with pytest.raises(ConfigError, match="range must be increasing"):
        hepreco.run(cfg)


# --- on simulated events ---------------------------------------------------------------------------------


def clean_job(events: int, batch_size: int, **resolution) -> dict:
    """Signal only (pileup 0: no background, no noise); the truth first-turn signal hits fitted."""
    return {
        "process": "test",
        "seed": 7,
        "plugins": [PROBE],
        "source": {"module": "comet.CDCSimSource", "events": events, "batch_size": batch_size, "pileup": 0.0},
        "modules": {
            "fit": {"module": "comet.HelixFit", "truth": True},
            "wires": {"module": "comet.HelixFit", "truth": True, "use_drift": False},
            "res": {"module": "comet.MomentumResolution", "fit": "fit", "reference": "wires", **resolution},
            "keep": {"module": "cometprobe.Keep", "src": ["fit", "wires", "source:signal"]},
        },
        "paths": {"reco": ["fit", "wires"]},
        "end_paths": {"ana": ["res", "keep"]},
    }


def test_resolution_on_a_clean_sample(tmp_path):
    """1000 clean events (seed 7) measure here: pT residual median -0.95 MeV/c, half-width of the central 68%
    0.92, Gaussian core 0.57; p: -0.96, 0.87, 0.43 (3000 events of seed 1: 1.01 / 0.51 and 0.96 / 0.48; the
    68% half-width moves with the share of the low tail in a sample). The offset and the tail are the energy
    lost before the chamber (target disks, inner wall; the truth is at the vertex). Bounds: about twice the
    largest measured value, looser for p. On the wires alone (no drift distances) the core is wider: 0.82
    (pT) and 1.41 MeV/c (p)."""
    r = hepreco.run(clean_job(1000, 250, plot_dir=str(tmp_path)))
    s = r.summaries["res"]
    assert s["events"] == 1000 and s["valid_fraction"] >= 0.99 and s["p_fraction"] >= 0.99
    assert -2.0 < s["pt_median"] < 0 and -2.0 < s["p_median"] < 0
    assert s["pt_sigma68"] < 2.0 and s["pt_gauss_sigma"] < 1.0
    assert s["p_sigma68"] < 2.5 and s["p_gauss_sigma"] < 1.2
    # the drift distances sharpen the fit: a narrower core than the wires alone
    assert s["pt_gauss_sigma"] < s["reference_pt_gauss_sigma"]
    assert s["p_gauss_sigma"] < s["reference_p_gauss_sigma"]
    assert s["reference_pt_sigma68"] < 4.0
    assert r.summaries["fit"]["valid_fraction"] == s["valid_fraction"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["res_momentum.png", "res_residuals.png"]
    # the fitted dip and z0 match the truth: tan lambda to ~0.01, z0 near the vertex (the target disks)
    rows = kept("keep")
    fit = ak.Array([p["fit"] for _, p in rows])
    sig = ak.Array([p["source:signal"] for _, p in rows])
    tl_true = np.asarray(sig.pz / np.hypot(sig.px, sig.py))
    dtl = np.asarray(fit.tan_lambda) - tl_true
    assert np.median(np.abs(dtl)) < 0.03
    assert np.median(np.abs(np.asarray(fit.z0) - np.asarray(sig.vz))) < 3.0


def numpy_figures(rows, key: str) -> dict[str, float]:
    fit = ak.Array([p[key] for _, p in rows])
    sig = ak.Array([p["source:signal"] for _, p in rows])
    valid = np.asarray(fit.valid) & np.asarray(sig.has_signal)
    pt_true = np.hypot(np.asarray(sig.px), np.asarray(sig.py))
    p_true = np.sqrt(pt_true**2 + np.asarray(sig.pz) ** 2)
    out = {"events": len(rows), "valid_fraction": valid.mean()}
    for q, fitted, true in (("pt", np.asarray(fit.pt), pt_true), ("p", np.asarray(fit.p), p_true)):
        sel = valid & np.isfinite(fitted)
        d = fitted[sel] - true[sel]
        q16, q50, q84 = np.percentile(d, [15.865525393145707, 50, 84.13447460685429])
        out |= {f"{q}_mean": d.mean(), f"{q}_rms": d.std(), f"{q}_median": q50, f"{q}_sigma68": (q84 - q16) / 2}
        # how far apart the residuals next to each quantile are: the two interpolations may differ by that
        srt = np.sort(d)
        gap = [
            srt[k + 1] - srt[k] for k in (int(f * (srt.size - 1)) for f in (0.15865525393145707, 0.8413447460685429))
        ]
        out[f"{q}_sigma68_gap"] = (gap[0] + gap[1]) / 2
    return out


def test_resolution_figures_are_numpy_on_the_products_whatever_the_batching():
    summaries = []
    for batch_size in (300, 37):
        r = hepreco.run(clean_job(300, batch_size, bins=2000))
        s = r.summaries["res"]
        rows = kept("keep")
        assert [ev for ev, _ in rows] == list(range(1, 301))
        for prefix, key in (("", "fit"), ("reference_", "wires")):
            ref = numpy_figures(rows, key)
            assert s[f"{prefix}events"] == ref["events"]
            assert s[f"{prefix}valid_fraction"] == pytest.approx(ref["valid_fraction"], abs=1e-5)
            for q in ("pt", "p"):
                assert s[f"{prefix}{q}_mean"] == pytest.approx(ref[f"{q}_mean"], abs=1e-5)
                assert s[f"{prefix}{q}_rms"] == pytest.approx(ref[f"{q}_rms"], abs=1e-5)
                # quantiles interpolated in 0.01 MeV/c bins against numpy's between the residuals
                assert s[f"{prefix}{q}_median"] == pytest.approx(ref[f"{q}_median"], abs=0.03)
                tol = 0.03 + ref[f"{q}_sigma68_gap"]  # 300 events: sparse tails (issue 16's labels made it 0.054)
                assert s[f"{prefix}{q}_sigma68"] == pytest.approx(ref[f"{q}_sigma68"], abs=tol)
        summaries.append((s, [p for _, p in rows], r.histograms["res"]))
    (s1, rows1, h1), (s2, rows2, h2) = summaries
    np.testing.assert_equal(rows1, rows2)  # the fits themselves do not depend on the batch (NaN == NaN)
    assert s1 == pytest.approx(s2, abs=1e-9, nan_ok=True)
    for name in ("residuals", "momentum", "counts"):
        assert h1[name] == h2[name], name


def test_resolution_merges_exactly_on_processes():
    cfg = clean_job(60, 20)
    ref = hepreco.run(cfg)
    r = hepreco.run(cfg, executor={"kind": "processes", "workers": 2, "chunk_size": 20})
    assert r.summaries["res"] == pytest.approx(ref.summaries["res"], abs=1e-9, nan_ok=True)
    assert r.summaries["fit"] == ref.summaries["fit"] and r.summaries["wires"] == ref.summaries["wires"]
    assert r.histograms["res"]["residuals"] == ref.histograms["res"]["residuals"]
    # the results (issue 10 point 5) are made once on the client, from the merged histograms
    assert set(r.results["res"]) == set(ref.results["res"]) >= {"residual_pt", "residual_p", "momentum_fit_pt"}
    assert r.results["res"]["residual_pt"] == ref.results["res"]["residual_pt"]
