"""The job loop: the one way hepreco runs a checked plan's modules over events.

Every executor and :mod:`hepreco.ml`'s on-the-fly training data run a job through :class:`JobLoop`:

1. :meth:`JobLoop.begin` calls ``begin_job`` on the services, then on the source and every module in
   schedule order;
2. :meth:`JobLoop.run` reads the batches of the chunks it is given (:func:`source_batches`), cuts them after
   ``-n`` events and sends each through the :class:`~hepreco.core.schedule.Schedule` (paths, filters, end
   paths), yielding each batch once it was processed;
3. :meth:`JobLoop.end` calls ``end_job`` on the modules, then on the services;
4. :meth:`JobLoop.abort`, on any failure, discards what the outputs started and the job's temporary files.

:func:`finish_job` then builds the :class:`~hepreco.core.job.JobResult`, writes it as JSON (``--report``) and
prints art's reports, the same for every executor.

Examples:
    >>> import hepreco
    >>> from hepreco.core.chunks import plan_chunks
    >>> plan = hepreco.prepare({"source": {"module": "EmptySource", "events": 5, "batch_size": 2}}, quiet=True)
    >>> loop = JobLoop(plan)
    >>> loop.begin()
    >>> [len(b.ids) for b in loop.run(plan_chunks(plan.source), limit=4)]
    [2, 2]
    >>> loop.end(); loop.events
    4
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.core.events import ProductStore
from hepreco.core.job import JobResult
from hepreco.core.module import Chunk, Module, SourceBatch
from hepreco.core.reports import ExecutorCounts, ExecutorReport, TimeReport, TrigReport
from hepreco.core.schedule import Schedule, call_module
from hepreco.errors import ModuleError

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan

__all__ = ["JobLoop", "announce", "call_services", "finish_job", "print_reports", "source_batches", "truncate"]

log = logging.getLogger("hepreco")


def truncate(batch: SourceBatch, k: int) -> SourceBatch:
    """The first ``k`` events of ``batch``."""
    ids = batch.ids
    return SourceBatch(
        ids.head(k),
        {name: arr[:k] for name, arr in batch.products.items()},
    )


def source_batches(plan: JobPlan, chunk: Chunk, schedule: Schedule) -> Iterator[SourceBatch]:
    """The batches the plan's source reads for ``chunk``, timed into ``schedule``'s TimeReport; an error
    while reading becomes a :class:`~hepreco.errors.ModuleError` naming the source's label and the chunk."""
    src = plan.source
    label = plan.source_label
    tname = type(src).type_name
    it = call_module(label, tname, "read", lambda: iter(src.read(chunk)), None)
    while True:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            return
        except ModuleError:
            raise
        except Exception as err:
            where = f"chunk {chunk.file + ' ' if chunk.file else ''}entries {chunk.start}..{chunk.stop}"
            raise ModuleError(
                f"{type(err).__name__}: {err}", label=label, method="read", module_type=tname, events=where
            ) from err
        schedule.times.add(label, "source", len(batch.ids), time.perf_counter() - t0)
        yield batch


def call_services(plan: JobPlan, method: str) -> None:
    """Call ``method`` (``begin_job``, ``end_job``) on every service, in order."""
    for svc in plan.services:
        call_module(f"service {svc.name}", svc.type_name, method, getattr(svc, method), None)


def announce(plan: JobPlan, text: str) -> None:
    """Tell the user (on stderr, unless the job is quiet) what a job starts doing, so that no phase of a job
    is silent: ``hepreco: processing 10000 events (inline)``, ``hepreco: writing outputs``."""
    log.info("%s", text)
    if not plan.job.quiet:
        try:
            print(f"hepreco: {text}", file=sys.stderr, flush=True)
        except (OSError, ValueError):  # a closed stderr
            pass


class JobLoop:
    """Runs a plan's modules over chunks of events: begin, run, end (or abort).

    Args:
        plan: a checked plan (``hepreco.prepare``).
        outputs: whether the outputs' ``begin_job``/``end_job`` run here (False on a worker, whose outputs
            write one file per chunk: ``begin_chunk``/``end_chunk``).

    Attributes:
        schedule: the Schedule whose TrigReport and TimeReport count the events run so far.
        events: events processed so far.
        begun: the source and modules whose ``begin_job`` ran, in order.
        store: the products of the last batch processed (the source's and the modules'), or None.
    """

    def __init__(self, plan: JobPlan, *, outputs: bool = True) -> None:
        self.plan = plan
        self.schedule = Schedule(plan)
        self.events = 0
        self.begun: list[Module] = []
        self.store: ProductStore | None = None
        self._outputs = outputs

    def modules(self) -> list[Module]:
        """The source and every module, in schedule order (without the outputs when they are per chunk)."""
        plan = self.plan
        ends = [s.module for s in plan.end_steps if self._outputs or s.kind != "output"]
        return [plan.source, *(s.module for s in plan.steps), *ends]

    def begin(self) -> None:
        """``begin_job`` of the services, then of the source and the modules."""
        call_services(self.plan, "begin_job")
        for mod in self.modules():
            log.info("%s: begin_job (%s)", mod.label, type(mod).type_name)
            call_module(mod.label, type(mod).type_name, "begin_job", mod.begin_job, None)
            self.begun.append(mod)

    def run(
        self, chunks: Iterable[Chunk], *, limit: int | None = None, schedule: Schedule | None = None
    ) -> Iterator[SourceBatch]:
        """Process the batches of ``chunks`` in order, stopping after ``limit`` events in all (counted over
        every call); yields each batch after the schedule ran it. ``schedule``: count into this one instead of
        :attr:`schedule` (a worker's per-chunk reports)."""
        sched = schedule or self.schedule
        for chunk in chunks:
            if limit is not None and self.events >= limit:
                return
            for batch in source_batches(self.plan, chunk, sched):
                n = len(batch.ids)
                done = limit is not None and self.events + n >= limit
                if done:
                    batch = truncate(batch, limit - self.events)  # type: ignore[operator]
                if len(batch.ids):
                    self.store = sched.process(batch)[0]
                    self.events += len(batch.ids)
                    yield batch
                if done:
                    return

    def end(self, *, services: bool = True) -> None:
        """``end_job`` of the source and the modules, then (with ``services``) of the services."""
        for mod in self.modules():
            log.info("%s: end_job (%s)", mod.label, type(mod).type_name)
            call_module(mod.label, type(mod).type_name, "end_job", mod.end_job, None)
        if services:
            call_services(self.plan, "end_job")

    def abort(self) -> None:
        """After a failure: the outputs discard what they started (an output's own failure to do so is kept
        in its summary as ``abort_error``: the first error is the one to report), and the job's temporary
        files are removed."""
        plan = self.plan
        for step in plan.end_steps:
            if step.kind == "output":
                try:
                    step.module.abort()  # type: ignore[attr-defined]
                except Exception as err:
                    plan.job.summaries.setdefault(step.label, {})["abort_error"] = repr(err)
        plan.job.abort()


def finish_job(
    plan: JobPlan,
    *,
    events: int,
    trig: TrigReport,
    times: TimeReport,
    outputs: list[Path],
    executor: ExecutorReport,
    report: str | Path | None = None,
) -> JobResult:
    """The end of every job, whichever executor ran it: build its :class:`~hepreco.core.job.JobResult`, write
    it as JSON to ``report``, print art's reports (unless the job is quiet or ``--no-reports``)."""
    job = plan.job
    hsvc = plan.services["Histograms"]
    result = JobResult(
        process=job.process,
        events=events,
        trig_report=trig,
        time_report=times,
        histograms=hsvc.histograms,
        results=hsvc.results,
        outputs=outputs,
        summaries=job.summaries,
        services={s.name: r for s in plan.services if (r := s.report()) is not None},
        executor=executor.to_dict(),
    )
    if report is not None:  # first: printing may fail on a closed stdout (hepreco run ... | head)
        Path(report).write_text(json.dumps(result.to_dict(), indent=2, default=str))
    if not job.quiet and job.print_reports:
        print_reports(plan, result)
    return result


def print_reports(plan: JobPlan, result: JobResult, file: Any = None) -> None:
    """Print the TrigReport, the TimeReport, the services' and modules' summaries (art-style), the executor's
    report for a job run chunk by chunk, and the output files."""
    out = file or sys.stdout
    print(result.trig_report.format(), file=out)
    tt = plan.services["TimeTracker"]
    if tt.config.print:
        print(result.time_report.format(), file=out)
    for svc in plan.services:
        text = svc.format_report()
        if text:
            print(text, file=out)
    for label, figures in result.summaries.items():
        print(f"Summary ---------- {label} ----------", file=out)
        for k, v in figures.items():
            print(f"Summary {k:<40} {v}", file=out)
    ex = result.executor
    if ex and ex.get("client_seconds"):  # a job run chunk by chunk (processes, dask, or with a journal)
        rep = ExecutorReport(**{k: v for k, v in ex.items() if k not in ("rows", "client_share")})
        rep.rows = {k: ExecutorCounts(**v) for k, v in ex.get("rows", {}).items()}
        print(rep.format(), file=out)
    if result.outputs:
        from hepreco.core.outputs import describe_output

        shown = [describe_output(p, plan.job.overwritten) for p in result.outputs]
        print("Outputs: " + ", ".join(shown), file=out)
