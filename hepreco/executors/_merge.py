"""This module merges chunk results on the client: reports, histograms, summaries and output files.

:class:`JobAccumulator` is an accumulator (identity: an empty one; ``add``: one more chunk) that takes the
chunks in chunk order whatever order they finish in, so sums are the same on every executor.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.core.reports import TimeReport, TrigReport
from hepreco.executors._worker import ChunkResult

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.module import Chunk

__all__ = ["JobAccumulator", "add_histogram", "combine_figures", "load_merged_histograms", "merge_outputs"]

log = logging.getLogger("hepreco.executors")


def combine_figures(values: Sequence[Any]) -> Any:
    """One figure from several workers' values: integers are counts and summed; other values are kept
    when all agree, else listed (one per worker).

    Examples:
        >>> combine_figures([3, 4]), combine_figures(["a", "a"]), combine_figures([0.5, 0.25])
        (7, 'a', [0.5, 0.25])
    """
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return sum(values)
    if all(v == values[0] for v in values):
        return values[0]
    return list(values)


def combine_summaries(tables: Sequence[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """``{label: {figure: value}}`` of several workers (or chunks) combined figure by figure."""
    out: dict[str, dict[str, Any]] = {}
    labels = list(dict.fromkeys(lab for t in tables for lab in t))
    for label in labels:
        figs = [t[label] for t in tables if label in t]
        keys = list(dict.fromkeys(k for f in figs for k in f))
        out[label] = {k: combine_figures([f[k] for f in figs if k in f]) for k in keys}
    return out


@dataclass
class JobAccumulator:
    """The merge of chunk results, in chunk order: add them in any order, they are merged in order."""

    events: int = 0
    trig: TrigReport = field(default_factory=TrigReport)
    times: TimeReport = field(default_factory=TimeReport)
    histograms: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: output label -> [(chunk index, requested file, part file)]
    parts: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    output_summaries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: worker -> (seq, summaries): the latest summaries each worker sent
    worker_summaries: dict[str, tuple[float, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    skipped_inputs: list[dict[str, str]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    chunk_events: dict[int, int] = field(default_factory=dict)
    next_index: int = 0
    _waiting: dict[int, ChunkResult | None] = field(default_factory=dict)

    def add(self, res: ChunkResult) -> None:
        """Take a finished chunk; merged once every chunk before it is merged (or skipped)."""
        self._waiting[res.index] = res
        self._drain()

    def skip(self, index: int) -> None:
        """A chunk that will never come (skipped)."""
        self._waiting[index] = None
        self._drain()

    def _drain(self) -> None:
        while self.next_index in self._waiting:
            res = self._waiting.pop(self.next_index)
            if res is not None:
                self._merge(res)
            self.next_index += 1

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _merge(self, r: ChunkResult) -> None:
        self.events += r.events
        self.chunk_events[r.index] = r.events
        self.trig += r.trig
        wall = self.times.wall
        self.times += r.times
        self.times.wall = wall
        for label, hs in r.histograms.items():
            mine = self.histograms.setdefault(label, {})
            for name, h in hs.items():
                if name in mine:
                    add_histogram(mine[name], h)
                else:
                    mine[name] = h.copy()
        for owner, requested, part in r.parts:
            self.parts.setdefault(owner or "_job", []).append((r.index, requested, part))
        for label, figs in r.output_summaries.items():
            self.output_summaries.setdefault(label, []).append(figs)
        if r.worker:
            seq, _ = self.worker_summaries.get(r.worker, (-1, {}))
            if r.seq >= seq:
                self.worker_summaries[r.worker] = (r.seq, r.summaries)
        for name in r.inputs:
            if name not in self.inputs:
                self.inputs.append(name)
        for s in r.skipped_inputs:
            if s not in self.skipped_inputs:
                self.skipped_inputs.append(s)
        known = {json.dumps(h, sort_keys=True, default=str) for h in self.history}
        for h in r.history:
            key = json.dumps(h, sort_keys=True, default=str)
            if key not in known:
                self.history.append(h)
                known.add(key)


def add_histogram(h: Any, other: Any) -> None:
    """``h += other``, in place, keeping what boost-histogram forgets on adding: that the variances of a
    Double-storage histogram filled without weights are still its counts (so plots keep their error bars)."""
    known = getattr(h, "_variance_known", None)
    h += other
    if known is not None:
        h._variance_known = known and getattr(other, "_variance_known", True)


def load_merged_histograms(booked: dict[str, Any], merged: dict[str, Any], label: str) -> None:
    """Fill the histograms a module booked on the client with the merged ones, in place."""
    for name, h in booked.items():
        m = merged.get(name)
        if m is None:
            continue
        h.reset()
        try:
            add_histogram(h, m)  # in place: the module keeps its object; growing axes grow
        except ValueError as err:
            msg = (
                f"module '{label}' booked histogram '{name}' on the client with other axes than the workers "
                f"filled ({err}): book the same histogram in begin_job whatever the process"
            )
            raise ValueError(msg) from err


def _file_set(
    plan: JobPlan, label: str, requested: Path, items: list[tuple[int, str, str]], chunks: list[Chunk], *, copy: bool
) -> Path:
    final = Path(str(requested) + ".parts")
    tmp = plan.job.atomic_path(final, owner=label)
    tmp.mkdir(parents=True)
    entries = []
    for index, _req, part in items:
        name = f"part-{index:05d}{requested.suffix}"
        if not copy:
            shutil.move(part, tmp / name)
        else:  # the journal keeps its parts: a hard link where it can, else a copy
            try:
                os.link(part, tmp / name)
            except OSError:
                shutil.copy2(part, tmp / name)
        c = chunks[index]
        entries.append({"file": name, "chunk": index, "input": c.file, "start": c.start, "stop": c.stop})
    index_doc = {"file": str(requested), "module": label, "parts": entries, "provenance": plan.job.provenance()}
    (tmp / "index.json").write_text(json.dumps(index_doc, indent=1, default=str))
    return final


def merge_outputs(
    plan: JobPlan, acc: JobAccumulator, chunks: list[Chunk], *, merge: bool, keep_parts: bool
) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
    """Merge each output's per-chunk files into its requested files (``Output.merge_files``), or keep
    them as file sets. ``keep_parts``: copy the parts (a journal keeps them), else move them.

    Returns ``{label: [final files]}`` and the summaries outputs recorded while merging.
    """
    from hepreco.core.schedule import call_module

    finals: dict[str, list[str]] = {}
    recorded: dict[str, dict[str, Any]] = {}
    for step in plan.end_steps:
        if step.kind != "output":
            continue
        plan.job.summaries.pop(step.label, None)
        mod: Any = step.module
        items = acc.parts.get(step.label, [])
        groups: dict[str, list[tuple[int, str, str]]] = {}
        for item in items:
            groups.setdefault(item[1], []).append(item)
        out: list[str] = []
        for requested, group in groups.items():
            if merge and mod.can_merge():
                tmp = plan.job.atomic_path(requested, owner=step.label)
                parts = [Path(p) for _, _, p in group]
                log.info("%s: merging %d per-chunk files into %s", step.label, len(parts), requested)
                call_module(
                    step.label,
                    type(mod).type_name,
                    "merge_files",
                    functools.partial(mod.merge_files, parts, tmp),
                    None,
                )
                out.append(requested)
                if not keep_parts:  # merged: the parts go now (a journal keeps its own until the job ends)
                    for part in parts:
                        part.unlink(missing_ok=True)
            else:
                final = _file_set(plan, step.label, Path(requested), group, chunks, copy=keep_parts)
                if merge:
                    log.warning(
                        "output '%s' (%s) cannot merge its per-chunk files (no merge_files): kept as the file set %s",
                        step.label,
                        type(mod).type_name,
                        final,
                    )
                out.append(str(final))
        finals[step.label] = out
        if step.label in plan.job.summaries:
            recorded[step.label] = plan.job.summaries.pop(step.label)
    return finals, recorded
