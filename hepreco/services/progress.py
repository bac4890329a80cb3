"""This module defines Progress: a progress bar with events/s on long jobs."""

from __future__ import annotations

import sys
from typing import Any

from pydantic import Field

from hepreco.core.module import ModuleConfig
from hepreco.core.service import Service

__all__ = ["Progress"]


class Progress(Service):
    """A progress bar over events with the rate in events/s; quiet when stderr is not a terminal
    or the job runs with ``--quiet``."""

    essential = True

    class Config(ModuleConfig):
        enabled: bool | None = None
        """Force the bar on or off (default: on when stderr is a terminal)."""
        min_interval: float = Field(0.5, ge=0)
        """Seconds between refreshes."""

    _bar: Any = None

    def start(self, total: int | None, unit: str = "ev") -> None:
        on = self.config.enabled
        if on is None:
            on = sys.stderr.isatty()
        if not on or self.job.quiet:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, unit=unit, unit_scale=True, mininterval=self.config.min_interval, file=sys.stderr)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
