"""This module defines TimeTracker: the per-module time table (art's TimeReport) and where it goes."""

from __future__ import annotations

from pydantic import Field

from hepreco.core.module import ModuleConfig
from hepreco.core.service import Service

__all__ = ["TimeTracker"]


class TimeTracker(Service):
    """Per-module wall time per batch and per event: total, min/median/max over batches.

    The schedule measures every module call; this service decides what is shown.
    """

    essential = True

    class Config(ModuleConfig):
        print: bool = True
        """Print the TimeReport table at end of job."""
        top: int = Field(0, ge=0)
        """Show only the N slowest modules (0 = all)."""
