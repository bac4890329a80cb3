"""This module plans a job's units of work: the source's chunks, split by ``--chunk-size`` or for the workers,
cut after ``-n`` events, and whether a failing chunk may be skipped (``skip_bad_files``).

Every executor plans its chunks here, so a job has the same chunks (and gives the same outputs) whichever
runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hepreco.core.module import Chunk

if TYPE_CHECKING:
    from hepreco.core.module import Source

__all__ = ["CHUNKS_PER_WORKER", "plan_chunks", "skip_covers", "skips_chunks", "split_for_workers"]

#: chunks each worker gets when the chunk size is chosen for the workers (so that they finish together)
CHUNKS_PER_WORKER = 4


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


def split_for_workers(chunks: list[Chunk], workers: int, source: Any) -> list[Chunk]:
    """``chunks`` split into entry ranges so that ``workers`` get about ``CHUNKS_PER_WORKER`` chunks each
    (a single file no longer runs on one worker while the others idle); a chunk is never cut below the
    source's batch size nor below 1000 entries (10 000 when the source chooses its batches by bytes): a small
    job is not worth cutting.

    Examples:
        >>> from types import SimpleNamespace
        >>> src = SimpleNamespace(config=SimpleNamespace(batch_size=1000))
        >>> [len(c) for c in split_for_workers([Chunk(0, 20_000, "a")], 2, src)]
        [2500, 2500, 2500, 2500, 2500, 2500, 2500, 2500]
    """
    known = [c for c in chunks if c.stop >= 0]
    total = sum(len(c) for c in known)
    if total <= 0 or len(chunks) >= workers * CHUNKS_PER_WORKER:
        return chunks
    cfg = getattr(source, "config", None)
    batch = int(getattr(cfg, "batch_size", 10_000) or 10_000)
    fields_set: set[str] = getattr(cfg, "model_fields_set", set())
    if cfg is not None and "batch_size" not in fields_set and hasattr(cfg, "batch_bytes"):
        batch = 10_000
    size = max(-(-total // (workers * CHUNKS_PER_WORKER)), batch, 1000)
    out: list[Chunk] = []
    for c in chunks:
        if c.stop < 0 or len(c) <= size:
            out.append(c)
            continue
        pieces = -(-len(c) // size)
        step = -(-len(c) // pieces)  # equal pieces
        out.extend(Chunk(a, min(a + step, c.stop), c.file) for a in range(c.start, c.stop, step))
    return out


def skips_chunks(source: Source) -> bool:
    """Whether a chunk that fails may be skipped whole: ``skip_bad_files`` is set and the source's class says
    which failures it covers (:attr:`hepreco.Source.skippable_failures`). Such a job runs chunk by chunk even
    inline, so that it skips the same chunks on every executor. (Files that cannot be opened at all are
    skipped by the file sources before the first event.)"""
    return bool(type(source).skippable_failures) and bool(getattr(source.config, "skip_bad_files", False))


def skip_covers(source: Source, *, failed_label: str | None, fatal: bool) -> bool:
    """Whether ``skip_bad_files`` covers a chunk of ``source`` that still fails after its retries: with
    ``skippable_failures = "any"`` (generated events) any failure, with ``"read"`` (files) only the
    source's own (a file found corrupt after its first batch); never a job that cannot run at all
    (``fatal``: a config or plugin problem)."""
    how = type(source).skippable_failures
    if fatal or not how:
        return False
    return how == "any" or (how == "read" and failed_label == source.label)
