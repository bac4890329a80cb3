"""Modules for the I/O tests: products of every layout an output must write, a filter, a failing module,
an analyzer that keeps everything it sees, and a producer that puts arrays a test hands it."""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco

PLUGIN_NAME = "iotest"

#: label -> {product name or "_event"/"_run"/"_subrun": [arrays per batch]}, filled by Grab
GRABBED: dict[str, dict[str, list]] = {}
#: name -> an array with one entry per event (event number - 1), put by Given
GIVEN: dict[str, ak.Array] = {}


def grabbed(label: str) -> dict[str, ak.Array]:
    """What Grab ``label`` saw, each product concatenated over the batches."""
    seen = GRABBED[label]
    return {k: ak.concatenate(v) if len(v) > 1 else v[0] for k, v in seen.items()}


class Layouts(hepreco.Producer):
    """Per event (e = the event number): a number, a jagged array, an image, a list of records, a record,
    a string, a bool and a uint8 — every layout RootOutput writes to a TTree."""

    class Config(hepreco.ModuleConfig):
        image: list[int] = Field(default_factory=lambda: [3, 4, 2])
        """Shape of the per-event image."""

    produces = ("x", "hits", "image", "tracks", "vertex", "name", "flag", "small")

    def produce(self, events: hepreco.Events) -> None:
        e = events.event.astype(np.int64)
        n = len(e)
        counts = e % 4
        total = int(counts.sum())
        events.put("x", e * 1.5)
        events.put("hits", ak.unflatten(np.arange(total, dtype=np.float32) + 0.25, counts))
        shape = tuple(self.config.image)
        img = (e[:, None] * 100 + np.arange(int(np.prod(shape)))[None, :]).astype(np.float32)
        events.put("image", img.reshape((n, *shape)))
        events.put(
            "tracks",
            ak.zip(
                {
                    "pt": ak.unflatten(np.linspace(1, 2, total), counts),
                    "q": ak.unflatten(np.where(np.arange(total) % 2 == 0, 1, -1).astype(np.int32), counts),
                }
            ),
        )
        events.put(
            "vertex",
            ak.zip(
                {"z": e * 0.5, "ntrk": counts.astype(np.int32), "w": ak.unflatten(np.ones(total), counts)},
                depth_limit=1,
            ),
        )
        events.put("name", [f"event-{v}" for v in e.tolist()])
        events.put("flag", (e % 3) == 0)
        events.put("small", (e % 200).astype(np.uint8))


class Every(hepreco.Filter):
    """Pass events whose number is divisible by ``n``."""

    class Config(hepreco.ModuleConfig):
        n: int = Field(2, gt=0)

    def filter(self, events: hepreco.Events) -> np.ndarray:
        return (events.event % self.config.n) == 0


class Derived(hepreco.Producer):
    """After a filter: ``y`` = 2 * event, ``lst`` = a jagged list, ``img`` = a 2x2 image."""

    produces = ("y", "lst", "img")

    def produce(self, events: hepreco.Events) -> None:
        e = events.event.astype(np.int64)
        events.put("y", e * 2.0)
        events.put("lst", ak.unflatten(np.arange(int((e % 3).sum()), dtype=np.float32), e % 3))
        events.put("img", np.repeat(e.astype(np.float32), 4).reshape(len(e), 2, 2))


class FailAt(hepreco.Producer):
    """Raises ValueError in the batch holding event ``at``."""

    class Config(hepreco.ModuleConfig):
        at: int = 10

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        if (events.event == self.config.at).any():
            msg = f"deliberate failure at event {self.config.at}"
            raise ValueError(msg)
        events.put("", events.event)


class Given(hepreco.Producer):
    """Puts ``GIVEN[name]`` (indexed by event number - 1) for each name in ``names``."""

    class Config(hepreco.ModuleConfig):
        names: list[str]

    def products(self) -> tuple[str, ...]:
        return tuple(self.config.names)

    def produce(self, events: hepreco.Events) -> None:
        index = events.event.astype(np.int64) - 1
        for name in self.config.names:
            events.put(name, GIVEN[name][index])


class Grab(hepreco.Analyzer):
    """Keeps every product it sees and the event ids, per batch, in ``GRABBED[label]``."""

    def begin_job(self) -> None:
        GRABBED[self.label] = {}

    def analyze(self, events: hepreco.Events) -> None:
        seen = GRABBED[self.label]
        for name in events.products():
            seen.setdefault(name, []).append(events[name])
        for key in ("run", "subrun", "event"):
            seen.setdefault(f"_{key}", []).append(ak.Array(getattr(events, key)))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [Layouts, Every, Derived, FailAt, Given, Grab]
