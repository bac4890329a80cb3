"""A small plugin used by the core tests: producers, filters and an analyzer on EmptySource events."""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag

PLUGIN_NAME = "toy"


class Numbers(hepreco.Producer):
    """Per event: ``x`` = event number, ``hits`` = a jagged list of (event % 4) random values."""

    class Config(hepreco.ModuleConfig):
        scale: float = Field(1.0, gt=0)
        """Multiplies every value."""

    produces = ("x", "hits")

    def produce(self, events: hepreco.Events) -> None:
        ev = events.event.astype(np.float64)
        events.put("x", ev * self.config.scale)
        counts = (events.event % 4).astype(np.int64)
        rngs = self.event_generators(events)
        flat = np.concatenate([g.normal(size=c) for g, c in zip(rngs, counts, strict=True)] + [np.zeros(0)])
        events.put("hits", ak.unflatten(flat * self.config.scale, counts))


class Scale(hepreco.Producer):
    """``out`` = ``factor`` * the input."""

    class Config(hepreco.ModuleConfig):
        src: InputTag
        factor: float = 2.0

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        events.put("", events[self.config.src] * self.config.factor)


class Modulo(hepreco.Filter):
    """Pass events whose number modulo ``divisor`` is ``remainder``."""

    class Config(hepreco.ModuleConfig):
        divisor: int = Field(2, gt=0)
        remainder: int = 0

    def filter(self, events: hepreco.Events) -> np.ndarray:
        return (events.event % self.config.divisor) == self.config.remainder


class Collect(hepreco.Analyzer):
    """Keeps (event, value) pairs of a product in order, to compare runs."""

    class Config(hepreco.Analyzer.Config):
        src: InputTag

    def begin_job(self) -> None:
        self.seen: list[tuple[int, object]] = []

    def analyze(self, events: hepreco.Events) -> None:
        vals = events[self.config.src].to_list()
        self.seen.extend(zip(events.event.tolist(), vals, strict=True))
        self.job.summaries.setdefault(self.label, {})["n"] = len(self.seen)
        COLLECTED[self.label] = self.seen


class Boom(hepreco.Producer):
    """Raises on the event given."""

    class Config(hepreco.ModuleConfig):
        at: int = 5

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        if (events.event == self.config.at).any():
            raise ZeroDivisionError("boom")
        events.put("", events.event)


class TextOutput(hepreco.Output):
    """Writes one line per event: the event number and the kept product names."""

    class Config(hepreco.Output.Config):
        file: str

    def begin_job(self) -> None:
        self.tmp = self.atomic_path(self.config.file)
        self.fh = open(self.tmp, "w")

    def write(self, events: hepreco.Events) -> None:
        names = ",".join(self.kept_products(events))
        for e in events.event.tolist():
            self.fh.write(f"{e} {names}\n")
        self.fh.flush()

    def end_job(self) -> None:
        self.fh.close()

    def abort(self) -> None:
        self.fh.close()


COLLECTED: dict[str, list] = {}


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [Numbers, Scale, Modulo, Collect, Boom, TextOutput]
