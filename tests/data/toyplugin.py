"""A small plugin used by the core tests: producers, filters and an analyzer on EmptySource events."""

from __future__ import annotations

import os
import signal
from typing import Literal

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

    def merge_files(self, parts, final) -> None:
        """Executors: the per-chunk files one after the other."""
        with open(final, "w") as out:
            for part in parts:
                with open(part) as f:
                    out.write(f.read())


class FakeFiles(hepreco.Source):
    """``files`` fake input files of ``entries`` events each (one chunk per file); event numbers go on
    from file to file. Reading a file listed in ``bad`` raises OSError."""

    class Config(hepreco.Source.Config):
        files: int = Field(3, ge=1)
        entries: int = Field(10, ge=1)
        bad: list[int] = Field(default_factory=list)
        skip_bad_files: bool = False

    def chunks(self) -> list[hepreco.Chunk]:
        out, left = [], self.config.events
        for i in range(self.config.files):
            n = self.config.entries if left is None else min(self.config.entries, left)
            if n > 0:
                out.append(hepreco.Chunk(0, n, f"fake{i}.dat"))
            if left is not None:
                left -= n
        return out

    def read(self, chunk):
        i = int(chunk.file.removeprefix("fake").removesuffix(".dat"))
        if i in self.config.bad:
            raise OSError(f"{chunk.file}: not a valid file")
        first = i * self.config.entries + 1
        step = self.config.batch_size
        for a in range(chunk.start, chunk.stop, step):
            b = min(a + step, chunk.stop)
            ev = np.arange(first + a, first + b, dtype=np.uint64)
            n = len(ev)
            yield hepreco.SourceBatch(
                hepreco.EventIDs(np.ones(n, np.uint32), np.full(n, i, np.uint32), ev), {"w": ev.astype(np.float64)}
            )

    def products(self) -> tuple[str, ...]:
        return ("w",)


class MeanOf(hepreco.Analyzer):
    """The mean and count of a product, kept in booked histograms only (``summary_from_histograms``)."""

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        src: InputTag

    def begin_job(self) -> None:
        import hist

        self.h = self.book(
            "sums", hist.Hist(hist.axis.StrCategory(["n", "sum"], name="q"), storage=hist.storage.Double())
        )

    def analyze(self, events: hepreco.Events) -> None:
        x = ak.to_numpy(ak.flatten(events[self.config.src], axis=None)).astype(np.float64)
        v = self.h.view()
        v[0] += len(x)
        v[1] += x.sum()

    def end_job(self) -> None:
        n, total = self.h.view()
        self.summary(entries=int(n), mean=round(float(total / n), 9) if n else float("nan"))


class Flaky(hepreco.Producer):
    """Fails on the batch holding event ``at``: ``once`` fails the first time only (leaving ``marker``),
    ``until`` fails until ``marker`` exists, ``kill`` kills its worker process once (only in a worker)."""

    class Config(hepreco.ModuleConfig):
        at: int = 5
        marker: str
        mode: Literal["once", "until", "kill"] = "once"

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        if (events.event == self.config.at).any() and not os.path.exists(self.config.marker):
            mode = self.config.mode
            if mode == "kill" and self.job.executor in ("processes", "dask"):
                open(self.config.marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            elif mode == "once":
                open(self.config.marker, "w").close()
                raise RuntimeError("flaky failure")
            elif mode == "until":
                raise RuntimeError("failing until the marker exists")
        events.put("", events.event)


class CountEvents(hepreco.Analyzer):
    """Counts events in plain attributes and records them in ``end_job`` (once per process)."""

    def begin_job(self) -> None:
        self.n = 0
        self.pid = os.getpid()

    def analyze(self, events: hepreco.Events) -> None:
        self.n += len(events)

    def end_job(self) -> None:
        self.summary(events=self.n, processes=1, where="end_job")


class Slow(hepreco.Producer):
    """Sleeps ``seconds`` per batch (to interrupt a job while it runs)."""

    class Config(hepreco.ModuleConfig):
        seconds: float = Field(0.1, ge=0)

    def produce(self, events: hepreco.Events) -> None:
        import time

        time.sleep(self.config.seconds)


COLLECTED: dict[str, list] = {}


class Budget(hepreco.Producer):
    """Per event: the thread budget of the process that ran the event (``hepreco.thread_budget()``)."""

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        events.put("", np.full(len(events), hepreco.thread_budget(), dtype=np.int64))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [Numbers, Scale, Modulo, Collect, Boom, TextOutput, MeanOf, Flaky, Slow, CountEvents, Budget]


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [FakeFiles]
