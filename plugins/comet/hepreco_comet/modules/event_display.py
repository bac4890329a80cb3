"""This module defines EventDisplay: PNG displays of single CDC events of the reconstruction chain, the hits
coloured by truth and by the chain's decisions, with the fitted circle of the turn-1 hits."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

import hepreco
from hepreco import InputTag
from hepreco_comet._hits import event_name
from hepreco_comet.hit_categories import hit_categories
from hepreco_comet.modules.geometry_service import geometry_from

__all__ = ["EventDisplay"]

_HIT_FIELDS = ("wire", "z", "edep", "is_signal", "turn", "origin")


class EventDisplay(hepreco.Analyzer):
    """Draw single events of the reconstruction chain as PNGs: the CDC in x-y, every hit at its wire's
    position, in two panels.

    The chamber: the sense wires at z = 0 as faint grey dots, faint circles at the sense layers' radii at
    z = 0, the inner and outer walls (black) and, with ``cth``, the two CTH counter layers (light blue).

    Left panel, the truth: first-turn signal hits red, later-turn signal hits pink, background hits by
    origin in the plugin's class colours (capture protons blue, neutron recoils purple, photon electrons
    green, DIO electrons orange, noise grey). With a ``truth`` product, the true circle of the signal
    electron (from its momentum and vertex, dashed black).

    Right panel, the prediction: hits above the energy cut (``edep > edep_max``) light grey crosses,
    hits the hit classifier (``selected``) rejected grey, hits it kept that are not in the turn-1 mask
    pink (red when no ``turn1`` is configured), hits in the turn-1 mask (``turn1``) red; the legend gives
    how many of each category are true signal. With a ``fit`` product, the fitted circle (``center_x,
    center_y, radius``) when the fit is ``valid`` (solid blue) and the true circle (dashed black); a text
    box compares the true pT (from ``truth``'s ``px, py``) with the fitted ``pt`` (MeV/c).

    Only the events to draw are copied (to numpy) in ``analyze``; the PNGs are drawn in ``end_job``. An
    event number in ``events`` that the job never saw draws nothing and is listed in the summary
    (``events_not_found``) and the log; the job goes on. In a job split over processes each worker draws
    the events it saw (with ``events`` empty: its own first event) and reports the ones it did not.
    Summary: ``files`` (the PNGs written), ``events_drawn``.
    """

    class Config(hepreco.Analyzer.Config):
        hits: InputTag = InputTag("source:hits")
        """The CDC hits with their truth (``wire, z, edep, is_signal, turn, origin``)."""
        selected: InputTag | None = InputTag("dncnn:selected")
        """Per-hit bool: kept by the hit classifier (null: no hit-classifier stage drawn)."""
        turn1: InputTag | None = InputTag("turn1:mask")
        """Per-hit bool: the turn-1 mask (null: no turn-1 stage drawn)."""
        fit: InputTag | None = None
        """The helix fit, one record per event with ``center_x, center_y, radius`` (cm), ``pt`` (MeV/c)
        and ``valid`` (null: no fitted circle)."""
        truth: InputTag | None = InputTag("source:signal")
        """The true signal electron, one record per event with ``px, py`` (MeV/c), ``vx, vy`` (cm)
        and ``has_signal`` (null: no true circle, no true pT)."""
        events: list[int] = Field(default_factory=list)
        """Event numbers to draw (every run and subrun); empty: the first event this module sees."""
        plot_dir: str = "comet_plots"
        """Directory for the PNGs (150 dpi) and the PDFs beside them."""
        filename: str = "event_display_{run}_{subrun}_{event}.png"
        """File name pattern of a display, with ``{run}``, ``{subrun}``, ``{event}`` and ``{label}``."""
        plot_label: str = "COMET Simulation"
        """The experiment label of the displays."""
        edep_max: float | None = Field(255.0, gt=0)
        """The energy cut: hits above it are drawn as "removed by energy cut" (null: no cut)."""
        hit_z: Literal["zero", "truth"] = "zero"
        """Where along its (stereo) wire a hit is drawn: ``zero`` at z = 0, the wire position the
        reconstruction knows without z; ``truth`` at the hit's true z, where the track really crossed."""
        field: float = Field(1.0, gt=0)
        """Solenoid field (T), for the true circle: the source's ``field``."""
        cth: bool = True
        """Draw the CTH counter rings."""

        @model_validator(mode="after")
        def _check_filename(self) -> EventDisplay.Config:
            try:
                name = self.filename.format(run=1, subrun=0, event=1, label="display")
            except (KeyError, IndexError, ValueError) as err:
                msg = (
                    f"filename {self.filename!r} is not a valid pattern ({err!r}); the fields are "
                    "{run}, {subrun}, {event} and {label}"
                )
                raise ValueError(msg) from None
            if not name.endswith(".png") or "/" in name:
                msg = f"filename {self.filename!r} must name a .png file inside plot_dir"
                raise ValueError(msg)
            return self

    def begin_job(self) -> None:
        self.geometry = geometry_from(self.services)
        self.stored: list[dict[str, Any]] = []
        self._wanted = np.asarray(sorted(set(self.config.events)), dtype=np.uint64)

    def analyze(self, events: hepreco.Events) -> None:
        if len(events) == 0:
            return
        if self.config.events:
            idx = np.flatnonzero(np.isin(events.event, self._wanted)).tolist()
        else:
            idx = [] if self.stored else [0]
        for i in idx:
            self.stored.append(self._copy_event(events, i))

    # --- one event to numpy ------------------------------------------------------------------------
    def _copy_event(self, events: hepreco.Events, i: int) -> dict[str, Any]:
        c = self.config
        hits = events[c.hits][i]
        if hits is None:  # the hits were made on a filtered subset that excludes this event
            hits = ak.Array([{f: 0 for f in _HIT_FIELDS}])[:0]
        missing = [f for f in _HIT_FIELDS if f not in ak.fields(hits)]
        if missing:
            msg = f"product '{c.hits}' has no field(s) {', '.join(missing)} (fields: {', '.join(ak.fields(hits))})"
            raise ValueError(msg)
        f = {name: ak.to_numpy(hits[name]) for name in _HIT_FIELDS}
        n = f["wire"].size
        notes: list[str] = []
        per_hit = {}
        for name in ("selected", "turn1"):
            tag = getattr(c, name)
            per_hit[name] = None if tag is None else self._per_hit(events, tag, i, n, notes)
        truth_cat, pred_cat = hit_categories(
            f["is_signal"], f["turn"], f["origin"], f["edep"], edep_max=c.edep_max, **per_hit
        )
        wire = f["wire"].astype(np.int64)
        z = f["z"].astype(np.float64) if c.hit_z == "truth" else np.zeros(n)
        x, y = self.geometry.wire_xy(wire, z)
        return {
            "run": int(events.run[i]),
            "subrun": int(events.subrun[i]),
            "event": int(events.event[i]),
            "name": event_name(events, i),
            "x": np.asarray(x),
            "y": np.asarray(y),
            "truth_cat": truth_cat,
            "pred_cat": pred_cat,
            "has_selected": per_hit["selected"] is not None,
            "has_turn1": per_hit["turn1"] is not None,
            "fit": self._record(events, c.fit, i, notes),
            "truth": self._record(events, c.truth, i, notes),
            "notes": notes,
        }

    def _per_hit(self, events: hepreco.Events, tag: InputTag, i: int, n: int, notes: list[str]) -> np.ndarray | None:
        value = events[tag][i]
        if value is None:
            notes.append(f"'{tag}' not made for this event")
            return None
        if not isinstance(value, ak.Array):
            msg = f"{event_name(events, i)}: '{tag}' is one value per event ({value!r}), not one per hit"
            raise ValueError(msg)
        arr = np.asarray(ak.to_numpy(value)).astype(bool)
        if arr.shape != (n,):
            msg = f"{event_name(events, i)}: '{tag}' has {arr.size} entries but '{self.config.hits}' has {n} hits"
            raise ValueError(msg)
        return arr

    def _record(self, events: hepreco.Events, tag: InputTag | None, i: int, notes: list[str]) -> dict | None:
        if tag is None:
            return None
        value = events[tag][i]
        if value is None:
            notes.append(f"'{tag}' not made for this event")
            return None
        rec = value.to_list() if isinstance(value, ak.Record) else value
        if not isinstance(rec, dict):
            msg = f"'{tag}' must be one record per event, got {type(rec).__name__} for {event_name(events, i)}"
            raise ValueError(msg)
        return rec

    # --- drawing -----------------------------------------------------------------------------------
    def end_job(self) -> None:
        c = self.config
        found = {ev["event"] for ev in self.stored}
        not_found = [e for e in dict.fromkeys(c.events) if e not in found]
        files: list[str] = []
        if self.stored:
            from hepreco_comet.plotting import draw_event

            geo = self.geometry
            sense = np.flatnonzero(geo.sense_wire_mask)
            wires = geo.wire_xy(sense, 0.0)
            for ev in self.stored:
                path = Path(c.plot_dir) / c.filename.format(
                    run=ev["run"], subrun=ev["subrun"], event=ev["event"], label=self.label
                )
                draw_event(path, ev, geo, wires, config=c)
                files.append(str(path))
        figures: dict[str, Any] = {"events_drawn": len(files), "files": files}
        if not_found:
            figures["events_not_found"] = not_found
            self.log.warning("event display '%s': event(s) %s never seen, not drawn", self.label, not_found)
        elif not self.stored:
            figures["events_not_found"] = "no event reached this module"
        self.summary(**figures)
