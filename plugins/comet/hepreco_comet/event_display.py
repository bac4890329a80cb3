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
from hepreco_comet.service import geometry_from

__all__ = ["PREDICTION_CLASSES", "TRUTH_CLASSES", "EventDisplay", "draw_event", "hit_categories", "signal_circle"]

#: the truth categories of the left panel, in drawing order (index = category code of :func:`hit_categories`)
TRUTH_CLASSES = (
    "signal, turn 1",
    "signal, later turns",
    "capture proton",
    "neutron recoil",
    "photon electron",
    "DIO electron",
    "noise",
    "other background",
)
#: the prediction categories of the right panel (index = category code of :func:`hit_categories`)
PREDICTION_CLASSES = (
    "removed by energy cut",
    "rejected by the hit classifier",
    "kept, not turn 1",
    "turn-1 mask",
)
_HIT_FIELDS = ("wire", "z", "edep", "is_signal", "turn", "origin")
#: pT [MeV/c] = _CURVATURE * B [T] * R [cm]
_CURVATURE = 2.99792458


def hit_categories(
    is_signal: np.ndarray,
    turn: np.ndarray,
    origin: np.ndarray,
    edep: np.ndarray,
    *,
    selected: np.ndarray | None = None,
    turn1: np.ndarray | None = None,
    edep_max: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The truth and the prediction category of every hit of one event: indices into
    :data:`TRUTH_CLASSES` and :data:`PREDICTION_CLASSES`.

    Truth: signal hits of the first turn (``turn <= 1``), signal hits of later turns, background hits by
    their ``origin`` (1-5, see ``hepreco_comet.simulation.ORIGINS``; any other code is "other background").
    Prediction, first match wins: above the energy cut (``edep > edep_max``), in the turn-1 mask, not
    selected by the hit classifier, else kept but not turn 1. Without ``selected`` every hit below the cut
    counts as kept; without ``turn1`` no hit is in the turn-1 mask.

    Examples:
        >>> truth, pred = hit_categories(
        ...     np.array([True, True, False, False]), np.array([1, 2, 0, 0]), np.array([0, 0, 3, 5]),
        ...     np.array([10.0, 20.0, 30.0, 400.0]), selected=np.array([True, True, True, False]),
        ...     turn1=np.array([True, False, False, False]), edep_max=255.0)
        >>> [TRUTH_CLASSES[k] for k in truth]
        ['signal, turn 1', 'signal, later turns', 'photon electron', 'noise']
        >>> [PREDICTION_CLASSES[k] for k in pred]
        ['turn-1 mask', 'kept, not turn 1', 'kept, not turn 1', 'removed by energy cut']
    """
    sig = np.asarray(is_signal, dtype=bool)
    turn = np.asarray(turn)
    origin = np.asarray(origin, dtype=np.int64)
    n = sig.size
    for name, arr in (("turn", turn), ("origin", origin), ("edep", edep), ("selected", selected), ("turn1", turn1)):
        if arr is not None and np.shape(arr) != (n,):
            msg = f"hit_categories: '{name}' has shape {np.shape(arr)}, is_signal has {n} hits"
            raise ValueError(msg)
    background = np.where((origin >= 1) & (origin <= 5), origin + 1, len(TRUTH_CLASSES) - 1)
    truth = np.where(sig, np.where(turn <= 1, 0, 1), background).astype(np.int64)

    pred = np.full(n, 2, dtype=np.int64)
    if selected is not None:
        pred[~np.asarray(selected, dtype=bool)] = 1
    if turn1 is not None:
        pred[np.asarray(turn1, dtype=bool)] = 3
    if edep_max is not None:
        pred[np.asarray(edep) > edep_max] = 0
    return truth, pred


def signal_circle(px: float, py: float, vx: float, vy: float, *, field: float = 1.0) -> tuple[float, float, float]:
    """``(center_x, center_y, radius)`` in cm of the x-y circle of an electron (charge -1) of transverse
    momentum ``(px, py)`` (MeV/c) from the vertex ``(vx, vy)`` (cm) in a solenoid field of ``field`` tesla
    along +z, the simulation's convention: it turns counter-clockwise seen from +z.

    Examples:
        >>> cx, cy, r = signal_circle(104.97, 0.0, 0.0, 0.0)
        >>> round(cx, 6), round(cy, 3), round(r, 3)
        (0.0, 35.014, 35.014)
    """
    pt = float(np.hypot(px, py))
    r = pt / (_CURVATURE * field)
    if pt == 0:
        return float(vx), float(vy), 0.0
    return float(vx - r * py / pt), float(vy + r * px / pt), float(r)


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


def _class_colours() -> tuple[dict[str, str], dict[str, str]]:
    from hepreco_comet.plotting import CLASS_COLOURS

    truth = {
        "signal, turn 1": CLASS_COLOURS["signal"],
        "signal, later turns": "#e377c2",
        **{name: CLASS_COLOURS[name] for name in TRUTH_CLASSES[2:7]},
        "other background": "#8c564b",
    }
    pred = {
        "removed by energy cut": "#b0b0b0",
        "rejected by the hit classifier": "#7f7f7f",
        "kept, not turn 1": "#e377c2",
        "turn-1 mask": CLASS_COLOURS["signal"],
    }
    return truth, pred


def draw_event(
    path: Path,
    ev: dict[str, Any],
    geometry: Any,
    wires: tuple[np.ndarray, np.ndarray],
    *,
    config: EventDisplay.Config,
) -> dict[str, dict[str, int]]:
    """Draw one stored event (``EventDisplay``'s copy) to ``path``; returns the points drawn per category
    and panel: ``{"truth": {class: n}, "prediction": {class: n}}``."""
    from hepreco_comet.plotting import _plt, _save

    hp = _plt()
    truth_colours, pred_colours = _class_colours()
    with hp.figure(18, 9, ncols=2) as (fig, axs):
        # room in the corners for the text box
        lim = max(geometry.outer_wall, max(geometry.cth_radius) if config.cth else 0.0) + 14.0
        t = np.linspace(0, 2 * np.pi, 361)
        for ax in axs:
            ax.scatter(wires[0], wires[1], s=0.2, color="#dddddd", rasterized=True)
            for r in geometry.radius[geometry.sense] * np.cos(0.5 * geometry.twist[geometry.sense]):
                ax.plot(r * np.cos(t), r * np.sin(t), color="#eeeeee", lw=0.4, zorder=0)
            for r in (geometry.inner_wall, geometry.outer_wall):
                ax.plot(r * np.cos(t), r * np.sin(t), color="k", lw=0.8)
            if config.cth:
                for r, d in zip(geometry.cth_radius, geometry.cth_thickness, strict=True):
                    for rr in (r, r + d):
                        ax.plot(rr * np.cos(t), rr * np.sin(t), color="#6baed6", lw=0.6)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xlabel("x [cm]")
            ax.set_ylabel("y [cm]")

        drawn: dict[str, dict[str, int]] = {"truth": {}, "prediction": {}}
        x, y, tc, pc = ev["x"], ev["y"], ev["truth_cat"], ev["pred_cat"]
        for k, name in enumerate(TRUTH_CLASSES):
            m = tc == k
            drawn["truth"][name] = int(m.sum())
            if m.any():
                style = {"s": 14, "zorder": 5 - k} if k < 2 else {"s": 8, "zorder": 3}  # signal on top
                axs[0].scatter(x[m], y[m], color=truth_colours[name], label=f"{name} ({int(m.sum())})", **style)
        n_sig = int((tc <= 1).sum())
        axs[0].set_title(f"truth: {ev['name']}\n{n_sig} signal, {int(tc.size - n_sig)} background hits", fontsize=15)

        pred_names = dict(enumerate(PREDICTION_CLASSES))
        if not ev["has_turn1"]:
            pred_names[2] = "kept by the hit classifier"
            pred_colours[pred_names[2]] = pred_colours["turn-1 mask"]
        for k in range(len(PREDICTION_CLASSES)):
            name = pred_names[k]
            m = pc == k
            drawn["prediction"][name] = int(m.sum())
            if not m.any():
                continue
            n1, n2 = int((m & (tc == 0)).sum()), int((m & (tc == 1)).sum())
            label = f"{name} ({int(m.sum())}; signal: {n1} turn 1, {n2} later)"
            style = {"marker": "x", "s": 10, "linewidths": 0.8} if k == 0 else {"s": 14 if k >= 2 else 8}
            axs[1].scatter(x[m], y[m], color=pred_colours[name], label=label, zorder=3 + k, **style)
        stages = [str(t) for t in (config.selected, config.turn1, config.fit) if t is not None]
        axs[1].set_title(f"prediction: {', '.join(stages) or 'energy cut only'}", fontsize=15)

        truth, fit = ev["truth"], ev["fit"]
        lines = []
        true_pt = None
        if truth is not None and truth.get("has_signal", True) and {"px", "py"} <= truth.keys():
            true_pt = float(np.hypot(truth["px"], truth["py"]))
            lines.append(f"true $p_T$ = {true_pt:.2f} MeV/c")
            if {"vx", "vy"} <= truth.keys():
                cx, cy, r = signal_circle(truth["px"], truth["py"], truth["vx"], truth["vy"], field=config.field)
                for ax in axs:
                    ax.plot(cx + r * np.cos(t), cy + r * np.sin(t), color="k", ls="--", lw=1.0, label="true circle")
        if fit is not None:
            valid = bool(fit.get("valid", True))
            if valid and {"center_x", "center_y", "radius"} <= fit.keys() and np.isfinite(fit["radius"]):
                cx, cy, r = float(fit["center_x"]), float(fit["center_y"]), float(fit["radius"])
                axs[1].plot(cx + r * np.cos(t), cy + r * np.sin(t), color="#1f77b4", lw=1.5, label="fitted circle")
            if valid and fit.get("pt") is not None:
                line = f"fitted $p_T$ = {float(fit['pt']):.2f} MeV/c"
                if true_pt is not None:
                    line += f" ($\\Delta$ = {float(fit['pt']) - true_pt:+.2f})"
                lines.append(line)
                if fit.get("chi2") is not None and fit.get("ndf"):
                    lines.append(f"$\\chi^2$/ndf = {float(fit['chi2']):.1f}/{int(fit['ndf'])}")
            elif not valid:
                lines.append("fit not valid")
        lines += ev["notes"]
        if lines:
            axs[1].text(
                0.01, 0.01, "\n".join(lines), transform=axs[1].transAxes, fontsize=11, va="bottom",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#999999"},
            )  # fmt: skip
        for ax in axs:
            ax.legend(
                fontsize=12, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, markerscale=1.5, frameon=False
            )
            hp.experiment_label(ax, config.plot_label)
        _save(fig, path)
    return drawn
