"""This module defines SimValidation: the validation figures and plots of the simulated CDC events,
next to the talk's sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hist
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco_comet._hits import flat_hits
from hepreco_comet.modules.geometry_service import geometry_from
from hepreco_comet.simulation import ORIGINS

__all__ = ["TALK", "SimValidation"]

#: the talk's sample: 13,891 events with 1,062,679 signal and 5,583,905 background hits; the cut
#: "ignore edep > 255" kept 99.83% of signal and 72.96% of background hits
TALK = {
    "events": 13_891,
    "signal_hits_per_event": 1_062_679 / 13_891,
    "background_hits_per_event": 5_583_905 / 13_891,
    "signal_kept_by_edep_cut": 0.9983,
    "background_kept_by_edep_cut": 0.7296,
}

_CLASSES = ["signal", "all background", *[ORIGINS[k] for k in range(1, 6)]]
#: what the display histograms hold per hit and per event
_DISPLAY_HIT = ("x", "y", "origin")
_DISPLAY_EVENT = ("run", "subrun", "event", "signal", "background")
#: the histograms with a class axis, written per class into results/
_BY_CLASS = ("hits_per_event", "edep", "drift_time", "kept")


class SimValidation(hepreco.Analyzer):
    """Validate simulated CDC events: hits per event by class, energy deposit by class with the cut,
    drift time, turn multiplicity, event displays; the calibration figures next to the talk's.

    Every figure and plot comes from histograms booked with the Histograms service, the event displays
    included (``display_hits``, ``display_events``: the hits and ids of the first ``display_events``
    events), so the module sets ``summary_from_histograms``: under ``processes`` or ``dask`` the client
    runs ``end_job`` once on the merged histograms, and the summary and plots are the whole job's, the
    same as inline. On a worker, the displays are taken from the first events of each of the first
    ``display_events`` chunks and the client keeps the first of those in event order: the job's first
    events whenever each of those chunks has an event this module sees.
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        hits: InputTag = InputTag("source:hits")
        """The CDC hits with their truth fields."""
        edep_max: float = Field(255.0, gt=0)
        """The talk's energy cut: hits above it are ignored."""
        edep_unit: float = Field(0.16, gt=0)
        """keV per unit of ``edep`` (the source's ``edep_unit``), for the axis title."""
        plot_dir: str | None = None
        """Directory for the plots, PNG and PDF (none when null)."""
        plot_label: str = "COMET Simulation"
        """The experiment label of the plots."""
        display_events: int = Field(2, ge=0)
        """Event displays drawn (the first events seen)."""

    def begin_job(self) -> None:
        cls_axis = hist.axis.StrCategory(_CLASSES, name="cls", label="class")
        self.h = {
            "hits_per_event": hist.Hist(cls_axis, hist.axis.Regular(100, 0, 1000, name="n", label="hits per event")),
            "edep": hist.Hist(
                cls_axis, hist.axis.Regular(100, 0.1, 1e5, transform=hist.axis.transform.log, name="edep")
            ),
            "drift_time": hist.Hist(cls_axis, hist.axis.Regular(120, 0, 1200, name="t", label="drift time [ns]")),
            "kept": hist.Hist(cls_axis, hist.axis.Boolean(name="kept")),
            "signal_turns": hist.Hist(hist.axis.Integer(0, 10, name="turns", label="passes through the CDC")),
            "signal_hits_by_turn": hist.Hist(hist.axis.Integer(1, 10, name="turn", label="turn")),
        }
        for name, h in self.h.items():  # those with a class axis are accumulators: results/ has one TH1 per class
            self.book(name, h, internal=name in _BY_CLASS)
        # the event displays, as histograms so they merge: slot = chunk * display_events + rank in chunk
        self.display_hits = self.book(
            "display_hits",
            hist.Hist(
                hist.axis.IntCategory([], growth=True, name="slot"),
                hist.axis.IntCategory([], growth=True, name="hit"),
                hist.axis.StrCategory(list(_DISPLAY_HIT), name="q"),
                storage=hist.storage.Double(),
            ),
            internal=True,
        )
        self.display_events = self.book(
            "display_events",
            hist.Hist(
                hist.axis.IntCategory([], growth=True, name="slot"),
                hist.axis.StrCategory(list(_DISPLAY_EVENT), name="q"),
                storage=hist.storage.Double(),
            ),
            internal=True,
        )
        self._chunk: Any = None
        self._shown = 0
        self.geometry = geometry_from(self.services)

    def analyze(self, events: hepreco.Events) -> None:
        c = self.config
        fields = ("wire", "drift_time", "edep", "is_signal", "turn", "origin", "z")
        offsets, f = flat_hits(events[c.hits], fields, product=str(c.hits))
        n_ev = len(events)
        ev_of_hit = np.repeat(np.arange(n_ev), np.diff(offsets))
        origin = f["origin"].astype(np.int64)
        names = np.array([ORIGINS[k] for k in range(6)], dtype=object)[origin]
        sig = f["is_signal"].astype(bool)
        kept = f["edep"] <= c.edep_max
        for name in _CLASSES:
            m = ~sig if name == "all background" else names == name
            self.h["hits_per_event"].fill(cls=name, n=np.bincount(ev_of_hit[m], minlength=n_ev))
            self.h["edep"].fill(cls=name, edep=f["edep"][m])
            self.h["drift_time"].fill(cls=name, t=f["drift_time"][m])
            self.h["kept"].fill(cls=name, kept=kept[m])
        turns = np.zeros(n_ev, dtype=np.int64)
        np.maximum.at(turns, ev_of_hit[sig], f["turn"][sig])
        self.h["signal_turns"].fill(turns=turns)
        self.h["signal_hits_by_turn"].fill(turn=f["turn"][sig])
        self._fill_display(events, offsets, f, origin, sig)

    def _fill_display(
        self, events: hepreco.Events, offsets: np.ndarray, f: dict[str, np.ndarray], origin: np.ndarray, sig: np.ndarray
    ) -> None:
        d = self.config.display_events
        if self.job.chunk is not self._chunk:  # a new chunk on a worker (or a chunk run again)
            self._chunk, self._shown = self.job.chunk, 0
        index = int(self._chunk["index"]) if self._chunk is not None else 0
        if index >= d:
            return
        for i in range(min(d - self._shown, len(events))):
            slot = index * d + self._shown
            sl = slice(offsets[i], offsets[i + 1])
            x, y = self.geometry.wire_xy(f["wire"][sl], f["z"][sl])
            hit = np.arange(sl.stop - sl.start)
            for q, values in (("x", x), ("y", y), ("origin", origin[sl])):
                self.display_hits.fill(slot=slot, hit=hit, q=q, weight=np.asarray(values, dtype=np.float64))
            n_sig = int(sig[sl].sum())
            ids = (events.run[i], events.subrun[i], events.event[i], n_sig, len(hit) - n_sig)
            for q, value in zip(_DISPLAY_EVENT, ids, strict=True):
                self.display_events.fill(slot=slot, q=q, weight=float(value))
            self._shown += 1

    def display(self) -> list[dict[str, Any]]:
        """The event displays (the first ``display_events`` events seen), from the display histograms."""
        slots = sorted(int(s) for s in self.display_events.axes["slot"])[: self.config.display_events]
        hit_index = {int(h): k for k, h in enumerate(self.display_hits.axes["hit"])}
        out = []
        for slot in slots:
            run, subrun, event, n_sig, n_bkg = (int(v) for v in self.display_events[hist.loc(slot), :].values())
            values = np.zeros((0, len(_DISPLAY_HIT)))
            if n_sig + n_bkg:
                rows = [hit_index[j] for j in range(n_sig + n_bkg)]
                values = self.display_hits[hist.loc(slot), :, :].values()[rows]
            out.append(
                {
                    "x": values[:, 0],
                    "y": values[:, 1],
                    "origin": values[:, 2].astype(np.int64),
                    "title": f"run {run}, subrun {subrun}, event {event}: {n_sig} signal, {n_bkg} background hits",
                    "r_inner": self.geometry.inner_wall,
                    "r_outer": self.geometry.outer_wall,
                }
            )
        return out

    def results(self) -> dict[str, Any]:
        """The calibration figures, from the (mergeable) histograms, with the talk's beside them."""
        hpe = self.h["hits_per_event"]
        n_events = hpe["signal", :].sum(flow=True)
        if n_events == 0:
            return {"events": 0}

        mean_hits = self._mean
        kept = self.h["kept"]

        def kept_fraction(name: str) -> float:
            k, all_ = kept[name, True], kept[name, True] + kept[name, False]
            return float(k / all_) if all_ else float("nan")

        out: dict[str, Any] = {"events": int(n_events)}
        out["signal_hits_per_event"] = round(mean_hits("signal"), 2)
        out["talk_signal_hits_per_event"] = round(TALK["signal_hits_per_event"], 2)
        out["background_hits_per_event"] = round(mean_hits("all background"), 2)
        out["talk_background_hits_per_event"] = round(TALK["background_hits_per_event"], 2)
        out["signal_kept_by_edep_cut"] = round(kept_fraction("signal"), 5)
        out["talk_signal_kept_by_edep_cut"] = TALK["signal_kept_by_edep_cut"]
        out["background_kept_by_edep_cut"] = round(kept_fraction("all background"), 5)
        out["talk_background_kept_by_edep_cut"] = TALK["background_kept_by_edep_cut"]
        for k in range(1, 6):
            out[f"hits_per_event_{ORIGINS[k].replace(' ', '_')}"] = round(mean_hits(ORIGINS[k]), 2)
        return out

    def _mean(self, name: str) -> float:
        kept = self.h["kept"]
        total = kept[name, True] + kept[name, False]
        n_events = self.h["hits_per_event"]["signal", :].sum(flow=True)
        return float(total / n_events) if n_events else float("nan")

    def put_results(self) -> None:
        """What a user plots, into the histogram file's ``results/<label>/``: per class (``signal``,
        ``all_background``, ``capture_proton``, ...) ``hits_per_event_<class>``, ``edep_<class>`` and
        ``drift_time_<class>`` (TH1 with sqrt(N) errors), and the fraction of hits the energy cut keeps per
        class, ``kept_by_edep_cut`` (a graph with Wilson binomial errors, x = the class's index)."""
        from hepreco import Graph, binomial_interval

        for key in ("hits_per_event", "edep", "drift_time"):
            h = self.h[key]
            for cls in _CLASSES:
                one = h[cls, :]
                if one.sum(flow=True) <= 0:
                    continue
                out = hist.Hist(one.axes[0], storage=hist.storage.Weight(), label=f"{key.replace('_', ' ')}: {cls}")
                out.view(flow=True)["value"] = one.values(flow=True)
                out.view(flow=True)["variance"] = one.values(flow=True)
                self.put_result(f"{key}_{cls.replace(' ', '_')}", out)
        kept = self.h["kept"]
        passed = np.array([kept[c, True] for c in _CLASSES], dtype=np.float64)
        total = passed + np.array([kept[c, False] for c in _CLASSES], dtype=np.float64)
        eff, lo, hi = binomial_interval(passed, total)
        ok = total > 0
        if ok.any():
            self.put_result("kept_by_edep_cut", Graph(
                np.flatnonzero(ok), eff[ok], yerr_low=(eff - lo)[ok], yerr_high=(hi - eff)[ok],
                title="hits kept by the energy cut: " + ", ".join(f"{i} {c}" for i, c in enumerate(_CLASSES) if ok[i]),
                xlabel="class", ylabel="fraction of hits kept"))  # fmt: skip

    def end_job(self) -> None:
        self.summary(**self.results())
        self.put_results()
        if self.config.plot_dir:
            from hepreco_comet.plotting import plot_sim_validation

            geo = self.geometry
            sense = np.flatnonzero(geo.sense_wire_mask)
            plot_sim_validation(
                Path(self.config.plot_dir),
                self.label,
                self.h,
                self.display(),
                geo.wire_xy(sense, 0.0),
                edep_max=self.config.edep_max,
                edep_unit_kev=self.config.edep_unit,
                exp_label=self.config.plot_label,
            )
