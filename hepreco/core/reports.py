"""This module defines the end-of-job reports, art's TrigReport and TimeReport, as mergeable accumulators,
and the executor's report (chunks run, retried, failed, skipped).

Each report has an identity (an empty report) and an ``add`` (``a + b``), so reports from batches,
chunks and worker processes merge exactly, coffea-style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ExecutorCounts", "ExecutorReport", "ModuleCounts", "TimeReport", "TrigReport"]


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


@dataclass
class ExecutorCounts:
    """Chunks of one executor: run to the end, retried (run more than once), failed, skipped."""

    chunks: int = 0
    events: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    def __iadd__(self, other: ExecutorCounts) -> ExecutorCounts:
        self.chunks += other.chunks
        self.events += other.events
        self.retried += other.retried
        self.failed += other.failed
        self.skipped += other.skipped
        return self


@dataclass
class ExecutorReport:
    """What the executor did: per executor (a resumed job lists the earlier runs' too) the chunks run,
    retried, failed and skipped; workers lost; and the client's serial time (merging, journal, outputs).

    Attributes:
        executor: the executor of this run, with its workers (``processes (2 workers)``).
        chunks: the job's chunks.
        resumed: chunks taken from the journal, not run again.
        rows: ``{executor: ExecutorCounts}``; earlier runs' rows are marked ``(journal)``.
        lost_workers: worker processes that died (killed, out of memory) while the job ran.
        skipped_chunks: ``{"chunk", "file", "start", "stop", "error"}`` of every skipped chunk.
        client_seconds: the client's serial time by activity, and the job's wall time (``wall``).
        dashboard: the Dask dashboard address, when there is one.
    """

    executor: str
    chunks: int = 0
    resumed: int = 0
    rows: dict[str, ExecutorCounts] = field(default_factory=dict)
    lost_workers: int = 0
    skipped_chunks: list[dict[str, Any]] = field(default_factory=list)
    client_seconds: dict[str, float] = field(default_factory=dict)
    dashboard: str | None = None

    def row(self, name: str) -> ExecutorCounts:
        return self.rows.setdefault(name, ExecutorCounts())

    @property
    def client_share(self) -> float:
        """The client's serial time (merging, journal, outputs) as a fraction of the wall time."""
        wall = self.client_seconds.get("wall", 0.0)
        serial = sum(v for k, v in self.client_seconds.items() if k != "wall")
        return serial / wall if wall > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "executor": self.executor,
            "chunks": self.chunks,
            "resumed": self.resumed,
            "rows": {k: vars(v) for k, v in self.rows.items()},
            "lost_workers": self.lost_workers,
            "skipped_chunks": list(self.skipped_chunks),
            "client_seconds": dict(self.client_seconds),
            "client_share": self.client_share,
            "dashboard": self.dashboard,
        }

    def format(self) -> str:
        lines = ["ExecReport ---------- Executor summary ----------"]
        lines.append(f"ExecReport {'Chunks':>8} {'Events':>10} {'Retried':>8} {'Failed':>7} {'Skipped':>8}  Executor")
        for name, r in self.rows.items():
            lines.append(f"ExecReport {r.chunks:>8} {r.events:>10} {r.retried:>8} {r.failed:>7} {r.skipped:>8}  {name}")
        extra = [f"{self.chunks} chunks"]
        if self.resumed:
            extra.append(f"{self.resumed} resumed from the journal")
        if self.lost_workers:
            extra.append(f"{self.lost_workers} worker(s) lost")
        lines.append("ExecReport " + ", ".join(extra))
        for s in self.skipped_chunks:
            where = f"{s['file']} " if s.get("file") else ""
            lines.append(
                f"ExecReport skipped chunk {s['chunk']} ({where}entries {s['start']}..{s['stop']}): {s['error']}"
            )
        cs = self.client_seconds
        if cs.get("wall"):
            parts = ", ".join(f"{k} {v:.3f} s" for k, v in cs.items() if k != "wall")
            lines.append(
                f"ExecReport client serial time: {parts} ({100 * self.client_share:.1f}% of {cs['wall']:.2f} s)"
            )
        return "\n".join(lines)
