"""A one-file plugin for the H->ZZ example's second step: a mass-window filter."""

from __future__ import annotations

import numpy as np

import hepreco
from hepreco import InputTag


class MassWindow(hepreco.Filter):
    """Pass events whose mass lies in [low, high) GeV."""

    class Config(hepreco.ModuleConfig):
        mass: InputTag
        """One mass per event, in GeV."""
        low: float
        """Lower edge in GeV."""
        high: float
        """Upper edge in GeV."""

    def filter(self, events: hepreco.Events) -> np.ndarray:
        m = np.asarray(events[self.config.mass], dtype=np.float64)
        return (m >= self.config.low) & (m < self.config.high)


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [MassWindow]
