"""This module defines MemoryTracker: peak resident memory and per-module growth."""

from __future__ import annotations

import os
import resource
from typing import Any

from hepreco.core.module import ModuleConfig
from hepreco.core.service import Service

__all__ = ["MemoryTracker", "rss_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """The current resident set size of this process, in bytes."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:  # pragma: no cover - not Linux
        import psutil

        return int(psutil.Process().memory_info().rss)


class MemoryTracker(Service):
    """Peak RSS of the job and, per module, the largest RSS growth across one call (art's MemoryTracker)."""

    class Config(ModuleConfig):
        print: bool = True
        """Print the memory table at end of job."""

    def begin_job(self) -> None:
        self._start = rss_bytes()
        self._before = 0
        self.growth: dict[str, int] = {}
        self.total_growth: dict[str, int] = {}

    def pre_module(self, label: str) -> None:
        self._before = rss_bytes()

    def post_module(self, label: str, n_events: int, seconds: float) -> None:
        delta = rss_bytes() - self._before
        if delta > self.growth.get(label, 0):
            self.growth[label] = delta
        self.total_growth[label] = self.total_growth.get(label, 0) + delta

    def peak_rss(self) -> int:
        # ru_maxrss is in kB on Linux
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024

    def report(self) -> dict[str, Any]:
        return {
            "start_rss_bytes": self._start,
            "peak_rss_bytes": self.peak_rss(),
            "max_growth_per_call_bytes": dict(self.growth),
            "total_growth_bytes": dict(self.total_growth),
        }

    def format_report(self) -> str | None:
        if not self.config.print:
            return None
        mb = 1024 * 1024
        lines = ["MemReport ---------- Memory summary [MB] ----------"]
        lines.append(f"MemReport peak RSS {self.peak_rss() / mb:.1f} MB (at start {self._start / mb:.1f} MB)")
        lines.append(f"MemReport {'max growth/call':>16} {'total growth':>13}  Name")
        for label, g in self.growth.items():
            lines.append(f"MemReport {g / mb:>16.2f} {self.total_growth.get(label, 0) / mb:>13.2f}  {label}")
        return "\n".join(lines)
