"""Placeholder."""

from __future__ import annotations

import hepreco

__all__ = ["SimValidation"]


class SimValidation(hepreco.Analyzer):
    """Placeholder."""

    def analyze(self, events: hepreco.Events) -> None:
        pass
