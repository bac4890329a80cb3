"""Placeholder."""

from __future__ import annotations

import hepreco

__all__ = ["EventDisplay"]


class EventDisplay(hepreco.Analyzer):
    """Placeholder."""

    def analyze(self, events: hepreco.Events) -> None:
        pass
