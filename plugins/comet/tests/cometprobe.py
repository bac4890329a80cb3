"""A test plugin for the COMET end-to-end tests: keeps products, and corrupts hits on purpose."""

from __future__ import annotations

import awkward as ak
import numpy as np

import hepreco
from hepreco import InputTag

#: label -> list of (event number, {product: value}) seen by Keep
KEPT: dict[str, list[tuple[int, dict]]] = {}


class Keep(hepreco.Analyzer):
    """Keep the values of some products per event."""

    class Config(hepreco.Analyzer.Config):
        src: list[InputTag]

    def begin_job(self) -> None:
        KEPT[self.label] = []

    def analyze(self, events: hepreco.Events) -> None:
        values = {str(t): events[t].to_list() for t in self.config.src}
        for i, ev in enumerate(events.event.tolist()):
            KEPT[self.label].append((ev, {k: v[i] for k, v in values.items()}))


class CorruptHits(hepreco.Producer):
    """Copy hits and spoil one hit of event ``at``: its wire id, drift time or deposit."""

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        at: int = 3
        what: str = "wire"

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        hits = events[self.config.hits]
        counts = ak.to_numpy(ak.num(hits))
        flat = {f: ak.to_numpy(ak.flatten(hits[f])).copy() for f in ak.fields(hits)}
        hit = np.flatnonzero(events.event == self.config.at)
        if hit.size:
            i = int(np.cumsum(counts)[hit[0]] - counts[hit[0]])
            if self.config.what == "wire":
                flat["wire"][i] = 9999
            elif self.config.what == "time":
                flat["drift_time"][i] = np.nan
            else:
                flat["edep"][i] = -5.0
        events.put("", ak.unflatten(ak.zip(flat), counts))


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [Keep, CorruptHits]
