"""This module defines EventDisplay: each view of chosen events, wire coordinate vs drift, hits coloured by their
true class and by the network's."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag

__all__ = ["EventDisplay"]


class EventDisplay(hepreco.Analyzer):
    """Draw events: per view (U, V, W), w vs drift x, hits coloured by truth (top row) and, with ``predicted``,
    by the network's label (bottom row). One PNG per event, ``<label>_<run>_<subrun>_<event>.png``.

    The events are those numbered in ``events``, else the first ``max_events`` this module sees (in each
    process of a job split over processes).
    """

    class Config(hepreco.Analyzer.Config):
        hits: InputTag = InputTag("source:hits")
        """The hits (``view, x, w, charge, label``)."""
        predicted: InputTag | None = None
        """A per-hit predicted class (e.g. ``unet:label``) for the second row; null: truth only."""
        events: list[int] = Field(default_factory=list)
        """Event numbers to draw (empty: the first ``max_events``)."""
        max_events: int = Field(2, ge=0)
        """How many events to draw when ``events`` is empty."""
        plot_dir: str = "lartpc_event_display"
        """Directory for the PNGs."""
        experiment: str = Field("ProtoDUNE-SP", min_length=1)
        """The experiment label on the plots (a simulation)."""

    def begin_job(self) -> None:
        self.drawn: list[str] = []

    def analyze(self, events: hepreco.Events) -> None:
        from hepreco_lartpc.plotting import draw_event

        c = self.config
        hits = events[c.hits]
        pred = events[c.predicted] if c.predicted is not None else None
        numbers = np.asarray(events.event)
        for i in range(len(hits)):
            if c.events:
                if int(numbers[i]) not in c.events:
                    continue
            elif len(self.drawn) >= c.max_events:
                return
            if hits[i] is None:
                continue
            h = {k: ak.to_numpy(hits[i][k]) for k in ("view", "x", "w", "charge", "label")}
            p = None
            if pred is not None and pred[i] is not None:
                p = ak.to_numpy(pred[i]).astype(np.int64)
                if len(p) != len(h["view"]):
                    msg = f"'{c.predicted}' has {len(p)} entries in event {int(numbers[i])} but '{c.hits}' has {len(h['view'])} hits"
                    raise ValueError(msg)
            run, sub, ev = int(events.run[i]), int(events.subrun[i]), int(numbers[i])
            path = Path(c.plot_dir) / f"{self.label}_{run}_{sub}_{ev}.png"
            draw_event(path, h, title=f"run {run}, subrun {sub}, event {ev}", experiment=c.experiment, predicted=p)
            self.drawn.append(str(path))

    def end_job(self) -> None:
        self.summary(events_drawn=len(self.drawn))
