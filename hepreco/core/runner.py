"""This module runs a checked plan in this process: begin_job, the batch loop, end_job, reports, commit."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hepreco.config.loader import ResolvedConfig, load_config
from hepreco.core.allocator import tune_allocator
from hepreco.core.build import JobPlan, build_plan
from hepreco.core.events import EventIDs
from hepreco.core.job import JobResult
from hepreco.core.module import Chunk, SourceBatch
from hepreco.core.schedule import Schedule, call_module
from hepreco.errors import ModuleError
from hepreco.plugins import Registry, get_registry

__all__ = ["execute", "prepare", "run"]

log = logging.getLogger("hepreco")


def _truncate(batch: SourceBatch, k: int) -> SourceBatch:
    ids = batch.ids
    return SourceBatch(
        EventIDs(ids.run[:k], ids.subrun[:k], ids.event[:k]),
        {name: arr[:k] for name, arr in batch.products.items()},
    )


def _batches(plan: JobPlan, chunk: Chunk, sched: Schedule) -> Iterator[SourceBatch]:
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
        sched.times.add(label, "source", len(batch.ids), time.perf_counter() - t0)
        yield batch


def _lifecycle(plan: JobPlan, method: str) -> None:
    """Call ``method`` on the source and every module in schedule order."""
    mods = [plan.source, *(s.module for s in plan.steps), *(s.module for s in plan.end_steps)]
    for mod in mods:
        log.info("%s: %s (%s)", mod.label, method, type(mod).type_name)
        call_module(mod.label, type(mod).type_name, method, getattr(mod, method), None)


def _services(plan: JobPlan, method: str) -> None:
    for svc in plan.services:
        call_module(f"service {svc.name}", svc.type_name, method, getattr(svc, method), None)


def execute(plan: JobPlan, *, report: str | Path | None = None) -> JobResult:
    """Run ``plan`` with the executor its config asks for (``executor:``, default inline) and return its
    result; outputs are committed only on success."""
    from hepreco.core.outputs import check_outputs
    from hepreco.executors.base import skips_chunks

    check_outputs(plan, report=report, no_clobber=plan.job.no_clobber)
    cfg = plan.executor
    if cfg.chunked or skips_chunks(plan.source):
        from hepreco.executors import make_executor

        return make_executor(cfg).run(plan, report=report)
    return execute_inline(plan, report=report, chunk_size=cfg.chunk_size)


def execute_inline(plan: JobPlan, *, report: str | Path | None = None, chunk_size: int | None = None) -> JobResult:
    """Run ``plan`` in this process: begin_job, every chunk's batches in order, end_job."""
    from hepreco.executors.base import ExecutorReport, plan_chunks

    tune_allocator()
    job = plan.job
    job.executor = "inline"
    sched = Schedule(plan)
    progress = plan.services["Progress"]
    t_start = time.perf_counter()
    limit = plan.source.config.events
    nread = 0
    exec_report = ExecutorReport(executor="inline")
    try:
        _services(plan, "begin_job")
        _lifecycle(plan, "begin_job")
        chunks = plan_chunks(plan.source, chunk_size=chunk_size, limit=limit)
        job.chunks = [[c.file, c.start, c.stop] for c in chunks]
        log.info("job '%s': %d chunk(s), inline", job.process, len(chunks))
        exec_report.chunks = len(chunks)
        total = sum(len(c) for c in chunks) if all(c.stop >= 0 for c in chunks) else None
        if limit is not None and total is not None:
            total = min(total, limit)
        progress.start(total)
        done = limit is not None and limit <= 0
        for chunk in chunks:
            if done:
                break
            for batch in _batches(plan, chunk, sched):
                n = len(batch.ids)
                if limit is not None and nread + n >= limit:
                    batch = _truncate(batch, limit - nread)
                    done = True
                if len(batch.ids):
                    sched.process(batch)
                    nread += len(batch.ids)
                    progress.update(len(batch.ids))
                if done:
                    break
            row = exec_report.row("inline")
            row.chunks += 1
        exec_report.row("inline").events = nread
        progress.close()
        _lifecycle(plan, "end_job")
        _services(plan, "end_job")
        sched.times.wall = time.perf_counter() - t_start
        outputs = job.commit()
    except BaseException:
        progress.close()
        for step in plan.end_steps:
            if step.kind == "output":
                try:
                    step.module.abort()  # type: ignore[attr-defined]
                except Exception as err:  # the first error is the one to report
                    plan.job.summaries.setdefault(step.label, {})["abort_error"] = repr(err)
        job.abort()
        raise
    result = JobResult(
        process=job.process,
        events=nread,
        trig_report=sched.trig,
        time_report=sched.times,
        histograms=plan.services["Histograms"].histograms,
        results=plan.services["Histograms"].results,
        outputs=outputs,
        summaries=job.summaries,
        services={s.name: r for s in plan.services if (r := s.report()) is not None},
        executor=exec_report.to_dict(),
    )
    if report is not None:  # first: printing may fail on a closed stdout (hepreco run ... | head)
        Path(report).write_text(json.dumps(result.to_dict(), indent=2, default=str))
    if not job.quiet and job.print_reports:
        print_reports(plan, result)
    return result


def print_reports(plan: JobPlan, result: JobResult, file: Any = None) -> None:
    """Print the TrigReport, the TimeReport and the services' and modules' summaries (art-style)."""
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
        from hepreco.executors.base import ExecutorCounts, ExecutorReport

        rep = ExecutorReport(**{k: v for k, v in ex.items() if k not in ("rows", "client_share")})
        rep.rows = {k: ExecutorCounts(**v) for k, v in ex.get("rows", {}).items()}
        print(rep.format(), file=out)
    if result.outputs:
        from hepreco.core.outputs import describe_output

        shown = [describe_output(p, plan.job.overwritten) for p in result.outputs]
        print("Outputs: " + ", ".join(shown), file=out)


def prepare(
    config: str | Path | Mapping[str, Any] | ResolvedConfig,
    *,
    events: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str | tuple[str, Any]] = (),
    quiet: bool = False,
    registry: Registry | None = None,
    executor: str | Mapping[str, Any] | None = None,
    executor_origin: str | Mapping[str, str] = "executor argument",
) -> JobPlan:
    """Load and check a job config; raises ConfigError (every problem at once) before any event.

    ``executor`` (a kind or a mapping of ``executor:`` fields) is applied over the config's own
    ``executor:`` key; ``executor_origin`` is what messages say set it (a text, or ``{field: flag}``).
    """
    resolved = (
        config
        if isinstance(config, ResolvedConfig)
        else load_config(config, overrides=overrides, events=events, seed=seed)
    )
    if executor is not None:
        from hepreco.executors.config import apply_executor_options

        apply_executor_options(resolved, executor, origin=executor_origin)
    ex = resolved.data.get("executor")
    ex = {"kind": ex} if isinstance(ex, str) else ex
    if isinstance(ex, dict) and ex.get("kind") == "processes" and ex.get("start_method") in (None, "forkserver"):
        from hepreco.executors.processes import start_forkserver

        workers = ex.get("workers")
        start_forkserver(workers if isinstance(workers, int) and workers > 0 else None)  # overlaps with the plan
    return build_plan(resolved, registry or get_registry(), quiet=quiet)


def run(
    config: str | Path | Mapping[str, Any],
    *,
    events: int | None = None,
    seed: int | None = None,
    quiet: bool = True,
    report: str | Path | None = None,
    set: Mapping[str, Any] | Sequence[str] | None = None,
    executor: str | Mapping[str, Any] | None = None,
    **overrides: Any,
) -> JobResult:
    """Run a job from a notebook or script and return its reports, histograms and output paths.

    Args:
        config: a YAML file, YAML text or a mapping.
        events: like ``-n``: stop after this many events.
        seed: like ``--seed``.
        quiet: no progress bar and no printed reports (the default here).
        report: write the reports as JSON to this file.
        executor: how to run it, over the config's ``executor:`` key: ``"processes"`` or a mapping such
            as ``{"kind": "dask", "workers": 4, "chunk_size": 10000}`` (see ``hepreco.executors``).
        set: overrides as ``{"modules.hitid.threshold": 0.9}`` or ``["modules.hitid.threshold=0.9"]``.
        **overrides: more overrides, with ``__`` for the dots: ``modules__hitid__threshold=0.9``.

    Examples:
        >>> import hepreco
        >>> result = hepreco.run({"source": {"module": "EmptySource", "events": 5}})
        >>> result.events
        5
    """
    ovr: list[str | tuple[str, Any]] = []
    if isinstance(set, Mapping):
        ovr.extend(set.items())
    elif set is not None:
        ovr.extend(set)
    ovr.extend((k.replace("__", "."), v) for k, v in overrides.items())
    plan = prepare(config, events=events, seed=seed, overrides=ovr, quiet=quiet, executor=executor)
    return execute(plan, report=report)
