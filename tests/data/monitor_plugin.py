"""A toy plugin for the Monitor's tests: deterministic hits per event, a throttle, an event display, and a display
that fails (drawn only from ``MonitorBoomHits``'s product)."""

from __future__ import annotations

import time
from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco.monitor import Display


def toy_hits(event: np.ndarray) -> ak.Array:
    """Event k has k % 7 + 1 hits at x = ((37 k + 11 j) % 100) / 100, y = x^2, e = j + 1."""
    counts = (event % 7 + 1).astype(np.int64)
    k = np.repeat(event, counts)
    j = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    x = ((37 * k + 11 * j) % 100) / 100.0
    flat = ak.zip({"x": x, "y": x**2, "e": (j + 1).astype(np.float64)})
    return ak.unflatten(flat, counts)


class MonitorToyHits(hepreco.Producer):
    """Deterministic hits (x, y, e) per event: see ``toy_hits``."""

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        events.put("", toy_hits(np.asarray(events.ids.event)))


class MonitorBoomHits(hepreco.Producer):
    """A product only the broken display ``toy.broken`` draws (records with a field ``boom``)."""

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        n = len(events)
        events.put("", ak.unflatten(ak.zip({"boom": np.ones(n)}), np.ones(n, dtype=np.int64)))


class MonitorThrottle(hepreco.Analyzer):
    """Sleeps ``seconds`` per batch, so that a test can watch a job run."""

    class Config(hepreco.Analyzer.Config):
        seconds: float = Field(0.05, ge=0)

    def analyze(self, events: hepreco.Events) -> None:
        time.sleep(self.config.seconds)


class MonitorFailAt(hepreco.Analyzer):
    """Raises at batch ``batch`` (a job that fails while it runs)."""

    class Config(hepreco.Analyzer.Config):
        batch: int = 3

    def begin_job(self) -> None:
        self.seen = 0

    def analyze(self, events: hepreco.Events) -> None:
        self.seen += 1
        if self.seen >= self.config.batch:
            raise RuntimeError("MonitorFailAt: this batch fails")


def render_xy(hits: Any) -> dict[str, Any]:
    return {
        "kind": "scatter",
        "panels": [{"title": "toy hits", "x": np.asarray(hits.x).tolist(), "y": np.asarray(hits.y).tolist(),
                    "c": np.asarray(hits.e).tolist(), "xlabel": "x"}],
    }  # fmt: skip


def render_broken(boom: Any) -> dict[str, Any]:
    raise RuntimeError("this display always fails")


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [MonitorToyHits, MonitorBoomHits, MonitorThrottle, MonitorFailAt]


@hepreco.hookimpl
def hepreco_displays() -> list[Display]:
    return [
        Display("toy.xy", "toy hits, x-y", render_xy, fields=("x", "y", "e")),
        Display("toy.broken", "a display that fails", render_broken, fields=("boom",)),
    ]
