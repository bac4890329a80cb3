"""This module defines the end-of-job reports, art's TrigReport and TimeReport, as mergeable accumulators.

Each report has an identity (an empty report) and an ``add`` (``a + b``), so reports from batches,
chunks and worker processes merge exactly, coffea-style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ModuleCounts", "TimeReport", "TrigReport"]


@dataclass
class ModuleCounts:
    """Events that reached a module on a path (visited), and passed or failed it."""

    label: str
    kind: str
    visited: int = 0
    passed: int = 0
    failed: int = 0
    error: int = 0

    def __iadd__(self, other: ModuleCounts) -> ModuleCounts:
        self.visited += other.visited
        self.passed += other.passed
        self.failed += other.failed
        self.error += other.error
        return self


@dataclass
class _PathCounts:
    name: str
    end_path: bool
    visited: int = 0
    passed: int = 0
    modules: list[ModuleCounts] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.visited - self.passed


@dataclass
class TrigReport:
    """Events read, and visited/passed/failed per path and per module on each path (art's TrigReport)."""

    events: int = 0
    batches: int = 0
    paths: dict[str, _PathCounts] = field(default_factory=dict)

    def ensure_path(self, name: str, modules: list[tuple[str, str]], *, end_path: bool = False) -> None:
        if name not in self.paths:
            self.paths[name] = _PathCounts(name, end_path, modules=[ModuleCounts(lab, kind) for lab, kind in modules])

    def __iadd__(self, other: TrigReport) -> TrigReport:
        self.events += other.events
        self.batches += other.batches
        for name, pc in other.paths.items():
            if name not in self.paths:
                self.paths[name] = _PathCounts(
                    name, pc.end_path, modules=[ModuleCounts(m.label, m.kind) for m in pc.modules]
                )
            mine = self.paths[name]
            mine.visited += pc.visited
            mine.passed += pc.passed
            for a, b in zip(mine.modules, pc.modules, strict=True):
                a += b
        return self

    def __add__(self, other: TrigReport) -> TrigReport:
        out = TrigReport()
        out += self
        out += other
        return out

    def passed(self, path: str) -> int:
        return self.paths[path].passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "batches": self.batches,
            "paths": {
                name: {
                    "end_path": pc.end_path,
                    "visited": pc.visited,
                    "passed": pc.passed,
                    "failed": pc.failed,
                    "modules": [
                        {
                            "label": m.label,
                            "kind": m.kind,
                            "visited": m.visited,
                            "passed": m.passed,
                            "failed": m.failed,
                            "error": m.error,
                        }
                        for m in pc.modules
                    ],
                }
                for name, pc in self.paths.items()
            },
        }

    def format(self) -> str:
        lines = ["TrigReport ---------- Event summary ----------"]
        lines.append(f"TrigReport Events total = {self.events} in {self.batches} batches")
        trig = [p for p in self.paths.values() if not p.end_path]
        if trig:
            lines.append("TrigReport ---------- Path summary ----------")
            lines.append(f"TrigReport {'Visited':>10} {'Passed':>10} {'Failed':>10}  Name")
            for p in trig:
                lines.append(f"TrigReport {p.visited:>10} {p.passed:>10} {p.failed:>10}  {p.name}")
        for p in self.paths.values():
            kind = "EndPath" if p.end_path else "Path"
            lines.append(f"TrigReport ---------- Modules in {kind}: {p.name} ----------")
            lines.append(f"TrigReport {'Visited':>10} {'Passed':>10} {'Failed':>10} {'Error':>6}  Name")
            for m in p.modules:
                lines.append(f"TrigReport {m.visited:>10} {m.passed:>10} {m.failed:>10} {m.error:>6}  {m.label}")
        return "\n".join(lines)


@dataclass
class _ModuleTimes:
    label: str
    kind: str
    events: int = 0
    seconds: list[float] = field(default_factory=list)

    @property
    def total(self) -> float:
        return float(sum(self.seconds))


@dataclass
class TimeReport:
    """Wall time per module: total, per event, and min/median/max over batches (art's TimeReport)."""

    modules: dict[str, _ModuleTimes] = field(default_factory=dict)
    wall: float = 0.0

    def add(self, label: str, kind: str, n_events: int, seconds: float) -> None:
        mt = self.modules.get(label)
        if mt is None:
            mt = self.modules[label] = _ModuleTimes(label, kind)
        mt.events += n_events
        mt.seconds.append(seconds)

    def __iadd__(self, other: TimeReport) -> TimeReport:
        for label, mt in other.modules.items():
            mine = self.modules.get(label)
            if mine is None:
                mine = self.modules[label] = _ModuleTimes(label, mt.kind)
            mine.events += mt.events
            mine.seconds.extend(mt.seconds)
        self.wall += other.wall
        return self

    def __add__(self, other: TimeReport) -> TimeReport:
        out = TimeReport()
        out += self
        out += other
        return out

    def stats(self, label: str) -> dict[str, float]:
        mt = self.modules[label]
        s = np.asarray(mt.seconds) if mt.seconds else np.zeros(1)
        return {
            "batches": len(mt.seconds),
            "events": mt.events,
            "total_s": float(s.sum()),
            "per_event_s": float(s.sum() / mt.events) if mt.events else 0.0,
            "min_s": float(s.min()),
            "median_s": float(np.median(s)),
            "max_s": float(s.max()),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall,
            "modules": {lab: {"kind": mt.kind, **self.stats(lab)} for lab, mt in self.modules.items()},
        }

    def format(self) -> str:
        lines = ["TimeReport ---------- Time summary [s] ----------"]
        lines.append(f"TimeReport wall clock: {self.wall:.3f} s")
        lines.append(
            f"TimeReport {'total':>10} {'per event':>11} {'min/batch':>10} {'median':>10} {'max/batch':>10} "
            f"{'batches':>8}  Name"
        )
        for label in self.modules:
            st = self.stats(label)
            lines.append(
                f"TimeReport {st['total_s']:>10.4f} {st['per_event_s']:>11.3e} {st['min_s']:>10.4f} "
                f"{st['median_s']:>10.4f} {st['max_s']:>10.4f} {st['batches']:>8}  {label}"
            )
        return "\n".join(lines)
