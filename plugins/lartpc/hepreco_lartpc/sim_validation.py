"""This module defines SimValidation: the figures a LArTPC physicist checks a simulation with: dE/dx vs residual
range of stopping muons and protons (Bragg peaks, from collection hits with the calorimetry of a real
experiment), range vs momentum against the CSDA range, shower longitudinal profiles, hits per view."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco_lartpc.geometry import DetectorParams, detector

__all__ = ["SimValidation"]

RHO = 1.396  # g/cm3, liquid argon
X0 = 14.0  # cm
E_CRIT = 32.84  # MeV, electrons in liquid argon (PDG)


class SimValidation(hepreco.Analyzer):
    """Validation histograms and plots of ``lartpc.LArTPCSimSource``.

    - ``dedx``: dE/dx vs residual range of contained, stopping primary muons and protons, per collection (W)
      hit: dQ/dx from the hit charge and the track's angle to the wires, corrected for the electron lifetime,
      converted to dE/dx by inverting the modified box model (as ProtoDUNE's calorimetry does), beside the
      Bethe mean.
    - ``range``: start-to-end distance vs initial momentum of contained, non-interacting primary muons and
      protons, beside the CSDA range integrated from the Bethe loss.
    - ``shower_profile``: collection charge along the axis of primary electrons and photons above 300 MeV, in radiation
      lengths from the start (conversion point for photons), beside the Gamma-function parametrisation.
    - ``hits_per_event``: hits per event in each view.

    The detector fields must be the source's (same preset and overrides). Every sum is in booked histograms
    (merged exactly across executors; they are in the Histograms service's ROOT file).
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config, DetectorParams):  # type: ignore[misc]
        hits: InputTag = InputTag("source:hits")
        """The hits with their truth."""
        particles: InputTag = InputTag("source:particles")
        """The truth particles."""
        recombination_alpha: float = Field(0.93, gt=0)
        """Modified box alpha used to invert the charge (the source's)."""
        recombination_beta: float = Field(0.212, gt=0)
        """Modified box beta (the source's)."""
        w_ion: float = Field(23.6, gt=0)
        """eV per ionisation electron (the source's)."""
        plot_dir: str | None = None
        """Directory for PNG plots."""
        experiment: str = Field("ProtoDUNE-SP", min_length=1)
        """The experiment label on the plots (a simulation)."""

    def begin_job(self) -> None:
        self.det = detector(DetectorParams(**{k: getattr(self.config, k) for k in DetectorParams.model_fields}))
        part = hist.axis.Integer(0, 2, name="particle", label="0 muon, 1 proton", underflow=False, overflow=False)
        d = hist.storage.Double()
        self.h_dedx = self.book("dedx", hist.Hist(
            part, hist.axis.Regular(100, 0, 100, name="rr", label="residual range [cm]"),
            hist.axis.Regular(100, 0, 50, name="dedx", label="dE/dx [MeV/cm]"), storage=d))  # fmt: skip
        self.h_range = self.book("range", hist.Hist(
            part, hist.axis.Regular(40, 0, 1200, name="p", label="momentum [MeV/c]"),
            hist.axis.Regular(40, 0, 400, name="range", label="start-end distance [cm]"), storage=d))  # fmt: skip
        self.h_prof = self.book("shower_profile", hist.Hist(
            hist.axis.Regular(30, 0, 15, name="t", label="depth [X0]"), storage=hist.storage.Weight()))  # fmt: skip
        self.h_showers = self.book("showers", hist.Hist(
            hist.axis.StrCategory(["count", "energy"], name="what"), storage=d))  # fmt: skip
        self.h_nhits = self.book("hits_per_event", hist.Hist(
            hist.axis.Integer(0, 3, name="view", underflow=False, overflow=False),
            hist.axis.Regular(60, 0, 3000, name="hits", label="hits per event"), storage=d))  # fmt: skip

    def analyze(self, events: hepreco.Events) -> None:
        c = self.config
        hits = events[c.hits]
        parts = events[c.particles]
        for v in range(3):
            self.h_nhits.fill(view=np.full(len(hits), v), hits=ak.to_numpy(ak.sum(hits.view == v, axis=1)))
        det = self.det
        lx, ly, lz = det.drift_length, det.height, det.length
        pitch_w = det.pitch[2]
        beta_p = c.recombination_beta / (RHO * det.efield)
        w_mev = c.w_ion * 1e-6
        for e in range(len(hits)):
            if hits[e] is None or parts[e] is None:
                continue
            P = {k: ak.to_numpy(parts[e][k]) for k in ("parent", "pdg", "process", "start_x", "start_y", "start_z",
                                                      "end_x", "end_y", "end_z", "px", "py", "pz", "energy")}  # fmt: skip
            H = {k: ak.to_numpy(hits[e][k]) for k in ("view", "x", "w", "charge", "particle")}
            prim = np.flatnonzero(P["parent"] == -1)
            had_daughter = np.zeros(len(P["pdg"]), dtype=bool)
            dau = P["parent"][(P["process"] == 6) & (P["parent"] >= 0)]
            had_daughter[dau] = True
            for i in prim:
                a = abs(int(P["pdg"][i]))
                s = np.array([P["start_x"][i], P["start_y"][i], P["start_z"][i]])
                en = np.array([P["end_x"][i], P["end_y"][i], P["end_z"][i]])
                p = math.sqrt(P["px"][i] ** 2 + P["py"][i] ** 2 + P["pz"][i] ** 2)
                if a in (13, 2212):
                    m = 0 if a == 13 else 1
                    inside = (5 < en[0] < lx - 5) and (5 < en[1] < ly - 5) and (5 < en[2] < lz - 5)
                    if not inside or had_daughter[i]:
                        continue
                    L = float(np.linalg.norm(en - s))
                    self.h_range.fill(particle=m, p=p, range=L)
                    if L < 2.0:
                        continue
                    dzds = (en[2] - s[2]) / L
                    if abs(dzds) < 0.3:
                        continue
                    sel = (H["particle"] == i) & (H["view"] == 2)
                    rr = np.abs(en[2] - H["w"][sel]) / abs(dzds)
                    dqdx = H["charge"][sel] * abs(dzds) / pitch_w
                    dqdx = dqdx * np.exp(H["x"][sel] / det.drift_velocity / det.lifetime)
                    dedx = (np.exp(beta_p * w_mev * dqdx) - c.recombination_alpha) / beta_p
                    self.h_dedx.fill(particle=np.full(len(rr), m), rr=rr, dedx=dedx)
                elif a in (11, 22) and P["energy"][i] > 300.0:
                    # the shower starts where the photon converts: its first daughter
                    start = s
                    if a == 22:
                        d = np.flatnonzero(P["parent"] == i)
                        if not len(d):
                            continue
                        start = np.array([P["start_x"][d[0]], P["start_y"][d[0]], P["start_z"][d[0]]])
                    u = np.array([P["px"][i], P["pz"][i]])
                    nrm = np.linalg.norm(u)
                    if nrm / max(p, 1e-9) < 0.5:  # mostly along y: its W-view projection is too short
                        continue
                    # hits of this primary's descendants on the collection view
                    anc = np.arange(len(P["pdg"]))
                    par = P["parent"].astype(np.int64)
                    top = anc.copy()
                    for _ in range(200):
                        nxt = np.where(par[top] >= 0, par[top], top)
                        if np.array_equal(nxt, top):
                            break
                        top = nxt
                    mine = (H["particle"] >= 0) & (H["view"] == 2)
                    mine[mine] = top[H["particle"][mine]] == i
                    # 2D (x, z) projection, scaled back to 3D by the direction's (x, z) share
                    dx = H["x"][mine] - start[0]
                    dz = H["w"][mine] - start[2]
                    t2 = (dx * u[0] + dz * u[1]) / nrm
                    t3 = t2 / (nrm / max(p, 1e-9))
                    self.h_prof.fill(t=t3 / X0, weight=H["charge"][mine])
                    sv = self.h_showers.view()
                    sv[0] += 1
                    sv[1] += float(P["energy"][i])

    def results(self) -> dict[str, Any]:
        n = float(self.h_showers.view()[0])
        prof = self.h_prof.values()
        centres = self.h_prof.axes[0].centers
        out: dict[str, Any] = {
            "stopping_muon_hits": int(self.h_dedx.view()[0].sum()),
            "stopping_proton_hits": int(self.h_dedx.view()[1].sum()),
            "showers_profiled": int(n),
        }
        if prof.sum() > 0:
            out["shower_max_depth_x0"] = round(float(centres[int(np.argmax(prof))]), 2)
        rr = self.h_dedx.axes["rr"].centers
        de = self.h_dedx.axes["dedx"].centers
        v = self.h_dedx.values()
        mip = v[0][(rr > 50) & (rr < 100)].sum(axis=0)
        if mip.sum():
            # the most probable dE/dx of muon hits 50-100 cm before the end (close to minimum ionising)
            out["muon_mpv_dedx_rr_50_100cm"] = round(float(de[int(np.argmax(mip))]), 2)
        bragg = v[1][rr < 2].sum(axis=0)
        if bragg.sum():
            # the Bragg peak: the mean dE/dx of proton hits in their last 2 cm
            out["proton_mean_dedx_rr_0_2cm"] = round(float((bragg * de).sum() / bragg.sum()), 2)
        return out

    def end_job(self) -> None:
        res = self.results()
        self.summary(**res)
        if self.config.plot_dir:
            from hepreco_lartpc.plotting import plot_sim_validation

            hists = {"dedx": self.h_dedx, "range": self.h_range, "shower_profile": self.h_prof,
                     "showers": self.h_showers, "hits_per_event": self.h_nhits}  # fmt: skip
            n = float(self.h_showers.view()[0])
            e_mean = float(self.h_showers.view()[1]) / n if n else 1000.0
            plot_sim_validation(Path(self.config.plot_dir), self.label, hists, experiment=self.config.experiment,
                                curves=reference_curves(e_mean))  # fmt: skip


def reference_curves(shower_energy: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The reference curves: Bethe mean dE/dx vs residual range and CSDA range vs momentum (muon, proton),
    integrated from the simulation's own Bethe loss; the Gamma longitudinal profile (PDG eq. 34.36) with
    ``t_max = ln(E/Ec) - 0.5``, ``b = 0.5``."""
    from hepreco_lartpc._transport import MMU, MP, bethe_dedx

    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, m in (("muon", MMU), ("proton", MP)):
        t = 0.0
        rr = 0.0
        ts, rs, ds = [], [], []
        while t < 1500.0:
            dt = 0.1 if t < 10 else 1.0
            dedx = bethe_dedx(max(t, 0.05) + 0.5 * dt, m, -1.0)
            rr += dt / dedx
            t += dt
            ts.append(t)
            rs.append(rr)
            ds.append(dedx)
        ts_a, rs_a, ds_a = np.array(ts), np.array(rs), np.array(ds)
        keep = rs_a <= 100
        out[f"dedx_{name}"] = (rs_a[keep], ds_a[keep])
        pm = np.sqrt(ts_a * (ts_a + 2 * m))
        keep = pm <= 1200
        out[f"range_{name}"] = (pm[keep], rs_a[keep])
    b = 0.5
    tmax = max(math.log(max(shower_energy, 40.0) / E_CRIT) - 0.5, 0.5)
    a = 1.0 + b * tmax
    t = np.linspace(0.0, 15.0, 151)
    y = b * (b * t) ** (a - 1) * np.exp(-b * t) / math.gamma(a)
    out["longitudinal"] = (t, y)
    return out
