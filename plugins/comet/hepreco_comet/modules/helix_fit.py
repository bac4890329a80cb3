"""This module defines HelixFit: the helix fit of each event's selected CDC hits in a job
(:func:`hepreco_comet.helixfit.fit_helices`)."""

from __future__ import annotations

import math
from typing import Literal

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

import hepreco
from hepreco import InputTag
from hepreco_comet._hits import event_name, flat_hits, per_hit
from hepreco_comet.helixfit import FIT_FIELDS, fit_helices, wire_lines
from hepreco_comet.modules.geometry_service import geometry_from

__all__ = ["HelixFit"]

#: the counts histogram of HelixFit
_COUNTS = ("events", "fitted", "valid", "valid_with_z")


class HelixFit(hepreco.Producer):
    """Fit a helix to each event's selected CDC hits: transverse momentum from the circle's radius,
    momentum from the dip the stereo wires measure.

    Per event: a Taubin (or Kåsa) circle on the wires at z = 0; z per hit where each stereo wire meets the
    circle and a scan of (z0, tan lambda) start a Levenberg-Marquardt helix fit of the wire distances to the
    helix (each wire at the helix's z), refined with the drift distances (``use_drift``); with
    ``outlier_cut`` a robust seed and only the hits near the helix (background, later turns left out).
    ``pT [MeV/c] = 2.998 B [T] R [cm]``, ``p = pT sqrt(1 + tan^2 lambda)``. Method and references: the
    package docstring of :mod:`hepreco_comet.helixfit`.

    Product (under the label, one record per event): ``pt``, ``p`` (MeV/c; ``p`` NaN without a z fit),
    ``radius``, ``center_x``, ``center_y``, ``d0`` (cm), ``phi0`` (rad), ``tan_lambda``, ``z0`` (cm, at the
    perigee, the point of the circle closest to the axis), ``chi2``, ``ndf``, ``n_hits`` (hits given),
    ``n_used`` (hits in the final fit), ``valid`` (enough hits, the fit converged, the helix inside the
    chamber at every hit). Events with too few hits get NaN and ``valid`` False. With ``used`` also
    ``used`` (per hit, jagged like the hits: the hit is in the final fit).

    Summary (from the booked histogram ``counts``, so exact on any executor): ``events_fitted`` (with at
    least ``min_hits`` hits), ``valid_fits``, ``valid_fraction`` and ``valid_with_z_fraction`` (per event).
    """

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        """The CDC hits (``wire``; ``drift_time`` with ``use_drift``; ``is_signal`` and ``turn`` with ``truth``)."""
        select: InputTag | None = InputTag("turn1:mask")
        """A per-hit bool product (jagged like the hits): the hits to fit, e.g. the turn-1 extractor's mask
        (null: all hits)."""
        truth: bool = False
        """Fit the truth first-turn signal hits (``is_signal & turn == 1``) instead of ``select``: the
        reference of the resolution plots."""
        field: float = 1.0
        """Solenoid field (T; its sign with ``charge`` sets the sense of rotation)."""
        charge: Literal[-1, 1] = -1
        """Charge of the particle (the conversion electron: -1)."""
        min_hits: int = Field(5, ge=3)
        """Events with fewer selected hits are not fitted (NaN, ``valid`` False)."""
        fit_z: bool = True
        """Fit z0 and tan(lambda) from the stereo wires (else the hits sit at z = 0 and ``p`` is NaN)."""
        use_drift: bool = True
        """Refine the fit with the drift distances from ``drift_time``: the simulation's drift time is the
        drift distance over ``drift_velocity`` plus the particle's flight time since the trigger, which the
        fit subtracts (``t0``, ``time_of_flight``)."""
        drift_velocity: float = Field(0.0025, gt=0)
        """Drift velocity (cm/ns; the simulation's ``drift_velocity``)."""
        t0: float = 0.0
        """Time of the particle at the perigee after the trigger (ns; the simulated signal leaves the target
        at 0)."""
        time_of_flight: bool = True
        """Subtract the flight time from the perigee along the helix (at the speed of light)."""
        max_drift: float = Field(1.13, gt=0)
        """Drift distances are clipped to this (cm; the cell's half-diagonal)."""
        wire_resolution: float = Field(1.6 / math.sqrt(12.0), gt=0)
        """Resolution of a wire position across the track (cm; cell size / sqrt 12), for the chi2."""
        drift_resolution: float = Field(0.02, gt=0)
        """Resolution of a drift distance (cm), for the chi2."""
        outlier_cut: float | None = Field(0.25, gt=0)
        """Robust fit: a robust (MSAC) seed circle, and after each fit only the hits within this distance (cm)
        of the helix (3 ``wire_resolution`` in the wire-only stage) are kept and the fit repeated (null: every
        selected hit, plain Taubin seed). 0.25 cm is ~7 times the drift residuals' spread on clean tracks
        (0.035 cm: the 0.02 cm drift resolution and multiple scattering)."""
        outlier_rounds: int = Field(5, ge=0)
        """Select-and-refit rounds per fit stage at most."""
        max_iterations: int = Field(50, ge=1)
        """Levenberg-Marquardt iterations per fit stage."""
        seed: Literal["taubin", "kasa"] = "taubin"
        """The algebraic circle fit that seeds the helix fit."""
        used: bool = False
        """Also put ``used``: per hit, whether it is in the final fit."""

        @model_validator(mode="after")
        def _check(self) -> HelixFit.Config:
            if self.field == 0:
                msg = "field must not be 0"
                raise ValueError(msg)
            return self

    produces = ("", "used")
    summary_from_histograms = True

    def products(self) -> tuple[str, ...]:
        return ("", "used") if self.config.used else ("",)

    def consumes(self) -> list[InputTag]:
        tags = super().consumes()
        if self.config.truth and self.config.select is not None:
            tags = [t for t in tags if t != self.config.select]
        return tags

    def begin_job(self) -> None:
        self.geometry = geometry_from(self.services)
        self.lines = wire_lines(self.geometry)
        import hist

        self.counts = self.book(
            "counts",
            hist.Hist(hist.axis.StrCategory(list(_COUNTS), name="count"), storage=hist.storage.Double()),
            internal=True,  # a counter: the summary's figures come from it
        )

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        fields = ("wire",) + (("drift_time",) if c.use_drift else ()) + (("is_signal", "turn") if c.truth else ())
        offsets, flat = flat_hits(events[c.hits], fields, product=str(c.hits))
        n_all = int(offsets[-1])
        if c.truth:
            chosen = np.flatnonzero(flat["is_signal"].astype(bool) & (flat["turn"] == 1))
        elif c.select is not None:
            chosen = np.flatnonzero(per_hit(events, c.select, offsets, hits=c.hits).astype(bool))
        else:
            chosen = np.arange(n_all)
        ev_of = np.repeat(np.arange(len(events)), np.diff(offsets))[chosen]
        sel_off = np.zeros(len(events) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ev_of, minlength=len(events)), out=sel_off[1:])
        wire = flat["wire"][chosen].astype(np.int64)
        bad = (wire < 0) | (wire >= self.geometry.n_wires)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            msg = f"{event_name(events, int(ev_of[i]))}: wire id {int(wire[i])} outside the CDC in '{c.hits}'"
            raise ValueError(msg)
        fit, used = fit_helices(
            sel_off,
            wire,
            flat["drift_time"][chosen] if c.use_drift else None,
            geometry=self.geometry,
            field=c.field,
            charge=c.charge,
            min_hits=c.min_hits,
            fit_z=c.fit_z,
            drift_velocity=c.drift_velocity,
            t0=c.t0,
            time_of_flight=c.time_of_flight,
            max_drift=c.max_drift,
            wire_resolution=c.wire_resolution,
            drift_resolution=c.drift_resolution,
            outlier_cut=c.outlier_cut,
            outlier_rounds=c.outlier_rounds,
            max_iterations=c.max_iterations,
            seed=c.seed,
            lines=self.lines,
        )
        events.put("", ak.zip({k: fit[k] for k in FIT_FIELDS}))
        if c.used:
            used_hits = np.zeros(n_all, dtype=bool)
            used_hits[chosen] = used
            events.put("used", ak.unflatten(used_hits, np.diff(offsets)))
        self.counts.view()[:] += [
            len(events),
            int(np.sum(np.diff(sel_off) >= c.min_hits)),
            int(fit["valid"].sum()),
            int(np.sum(fit["valid"] & np.isfinite(fit["p"]))),
        ]

    def end_job(self) -> None:
        events, fitted, valid, with_z = (int(v) for v in self.counts.view())
        figures: dict[str, float | int] = {"events_fitted": fitted, "valid_fits": valid}
        if events:
            figures["valid_fraction"] = round(valid / events, 5)
            figures["valid_with_z_fraction"] = round(with_z / events, 5)
        self.summary(**figures)
