"""This module defines what every executor shares: its common fields, the chunk list and the executor report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hepreco.core.module import Chunk

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult
    from hepreco.core.module import Source

__all__ = ["Executor", "ExecutorCounts", "ExecutorReport", "plan_chunks", "skips_chunks"]


def plan_chunks(source: Source, *, chunk_size: int | None = None, limit: int | None = None) -> list[Chunk]:
    """The job's units of work in event order: the source's chunks, split into entry ranges of at most
    ``chunk_size`` events and cut after ``limit`` events in all (``-n``).

    Chunks of unknown length (``stop < 0``) are kept whole and end the cut.

    Examples:
        >>> from types import SimpleNamespace
        >>> src = SimpleNamespace(chunks=lambda: [Chunk(0, 10, "a"), Chunk(0, 5, "b")])
        >>> [(c.file, c.start, c.stop) for c in plan_chunks(src, chunk_size=4, limit=12)]
        [('a', 0, 4), ('a', 4, 8), ('a', 8, 10), ('b', 0, 2)]
    """
    out: list[Chunk] = []
    left = limit
    for c in source.chunks():
        if left is not None and left <= 0:
            break
        if c.stop < 0:
            out.append(c)
            left = 0 if left is not None else None
            continue
        stop = c.stop if left is None else min(c.stop, c.start + left)
        if stop <= c.start:
            continue
        if chunk_size:
            out.extend(Chunk(a, min(a + chunk_size, stop), c.file) for a in range(c.start, stop, chunk_size))
        else:
            out.append(c if stop == c.stop else Chunk(c.start, stop, c.file))
        if left is not None:
            left -= stop - c.start
    return out


def skips_chunks(source: Source) -> bool:
    """Whether ``skip_bad_files`` is set: then a chunk that fails (generated events that cannot be made, a
    file that turns out corrupt after its first batch) is skipped whole, so such a job runs chunk by chunk
    even inline and skips the same chunks on every executor. (Files that cannot be opened at all are
    skipped by the file sources before the first event.)"""
    return bool(getattr(source.config, "skip_bad_files", False))


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


@dataclass
class Executor:
    """Base of the executors: the fields every one has. Each executor is a dataclass whose fields are
    its config; ``run(plan)`` runs a checked job and returns its result.

    Attributes:
        chunk_size: split the source's chunks into entry ranges of at most this many events.
        retries: times a failing chunk is run again.
        journal: folder recording finished chunks (resume).
        merge: merge per-chunk output files into the requested files (else keep file sets).
        workdir: folder for per-chunk files while the job runs.
    """

    name: ClassVar[str] = ""

    chunk_size: int | None = None
    retries: int = 1
    journal: Path | None = None
    merge: bool = True
    workdir: Path | None = None

    @property
    def label(self) -> str:
        """The executor as reports show it."""
        return self.name

    def run(self, plan: JobPlan, *, report: str | Path | None = None) -> JobResult:
        raise NotImplementedError
