"""This module defines JetSelection: the MPNN paper's jet selection (pT and mass windows, |eta|) as a filter."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

import hepreco
from hepreco import InputTag

__all__ = ["JetSelection"]


class JetSelection(hepreco.Filter):
    """Keep events whose leading jet has ``pt_min < pT < pt_max``, ``mass_min < m < mass_max`` and
    ``|eta| < max_abs_eta`` (the paper's 250 < pT < 300 GeV, 50 < m < 110 GeV, |eta| < 2.5).

    The modules after it on a path see only the selected events. Its summary counts the events seen and
    selected, from a booked histogram (so it merges across batches and processes). With ``label`` it also
    books ``pt_selected``, the pT spectrum of the selected jets per class: what ``jets.PtFlatteningWeights``
    reads to flatten the spectra for training.
    """

    summary_from_histograms = True

    class Config(hepreco.ModuleConfig):
        jet: InputTag = InputTag("antikt:leading")
        """The (leading) jet of each event, a record with ``pt, eta, mass`` (None = no jet)."""
        pt_min: float = Field(250.0, ge=0)
        pt_max: float = Field(300.0, gt=0)
        mass_min: float = Field(50.0, ge=0)
        mass_max: float = Field(110.0, gt=0)
        max_abs_eta: float = Field(2.5, gt=0)
        label: InputTag | None = None
        """The truth label per event (1 = W, 0 = QCD): book the selected jets' pT per class (``pt_selected``)."""
        pt_bins: int = Field(25, ge=1)
        """Bins of ``pt_selected`` across the pT window."""

        @model_validator(mode="after")
        def _windows(self) -> Any:
            if not (self.pt_min < self.pt_max and self.mass_min < self.mass_max):
                msg = f"empty window: pt {self.pt_min}-{self.pt_max}, mass {self.mass_min}-{self.mass_max}"
                raise ValueError(msg)
            return self

    def begin_job(self) -> None:
        import hist

        self.counts = self.book(
            "selection",
            hist.Hist(hist.axis.StrCategory(["seen", "selected"], name="count"), storage=hist.storage.Double()),
        )
        c = self.config
        self.spectrum = None
        if c.label is not None:
            self.spectrum = self.book(
                "pt_selected",
                hist.Hist(
                    hist.axis.Regular(c.pt_bins, c.pt_min, c.pt_max, name="pt", label="jet pT [GeV]"),
                    hist.axis.Integer(0, 2, name="label", label="truth (1 = W)", underflow=False, overflow=False),
                    storage=hist.storage.Double(),
                ),
            )

    def filter(self, events: hepreco.Events) -> np.ndarray:
        from hepreco_jets.clustering import select_jets

        c = self.config
        ok = select_jets(
            events[c.jet], pt=(c.pt_min, c.pt_max), mass=(c.mass_min, c.mass_max), max_abs_eta=c.max_abs_eta
        )
        view = self.counts.view()
        view[0] += len(ok)
        view[1] += int(ok.sum())
        if self.spectrum is not None and ok.any():
            import awkward as ak

            jet = events[c.jet][ok]
            label = np.asarray(ak.to_numpy(events[c.label]), dtype=np.int64)[ok]
            self.spectrum.fill(pt=np.asarray(ak.to_numpy(jet.pt), dtype=np.float64), label=label)
        return ok

    def end_job(self) -> None:
        seen, selected = (float(x) for x in self.counts.view())
        self.summary(events_seen=int(seen), events_selected=int(selected),
                     efficiency=round(selected / seen, 5) if seen else float("nan"))  # fmt: skip
