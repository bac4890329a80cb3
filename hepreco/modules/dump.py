"""This module defines DumpProducts, art's EventContentAnalyzer: prints the products of the first events."""

from __future__ import annotations

import sys

import awkward as ak
from pydantic import Field

from hepreco.core.events import Events
from hepreco.core.module import Analyzer, EndPathConfig
from hepreco.core.selection import select_products

__all__ = ["DumpProducts"]


class DumpProducts(Analyzer):
    """Print the event ids, product names, types and values of the first ``events`` events."""

    class Config(EndPathConfig):
        events: int = Field(3, ge=0)
        """How many events to print (in total over the job)."""
        products: list[str] = Field(default_factory=lambda: ["*"])
        """Which products (InputTag patterns with wildcards)."""
        width: int = Field(100, gt=10)
        """Characters per printed value."""

    def begin_job(self) -> None:
        self.printed = 0

    def analyze(self, events: Events) -> None:
        todo = min(self.config.events - self.printed, len(events))
        if todo <= 0:
            return
        names = select_products(events.products(), self.config.products, [])
        arrays = {name: events[name] for name in names}
        out = sys.stdout
        for i in range(todo):
            out.write(
                f"{self.label}: run {events.run[i]} subrun {events.subrun[i]} event {events.event[i]}: "
                f"{len(names)} products\n"
            )
            for name, arr in arrays.items():
                value = arr[i]
                text = str(value.tolist() if isinstance(value, ak.Array | ak.Record) else value)
                if len(text) > self.config.width:
                    text = text[: self.config.width - 3] + "..."
                out.write(f"  {name:<30} {ak.type(arr).content!s:<30} {text}\n")
        self.printed += todo
