"""Placeholder."""

from __future__ import annotations

import hepreco

__all__ = ["SegmentationMetrics"]


class SegmentationMetrics(hepreco.Analyzer):
    """Placeholder."""

    def analyze(self, events: hepreco.Events) -> None:
        pass
