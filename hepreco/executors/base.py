"""This module defines what every executor shares: its common fields (:class:`Executor`).

The chunk list (``plan_chunks``) lives in :mod:`hepreco.core.chunks` and the executor report
(``ExecutorReport``) in :mod:`hepreco.core.reports`; both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from hepreco.core.chunks import plan_chunks, skips_chunks
from hepreco.core.reports import ExecutorCounts, ExecutorReport

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult

__all__ = ["Executor", "ExecutorCounts", "ExecutorReport", "plan_chunks", "skips_chunks"]


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
