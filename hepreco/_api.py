"""This module is hepreco's job API, above both the core and the executors: :func:`prepare` checks a job
config (the job itself with :func:`hepreco.core.build.build_plan`, the ``executor:`` key with
:mod:`hepreco.executors`), :func:`execute` runs a checked plan on the executor the config asks for, and
:func:`run` does both. The core knows nothing of the executors; the executors run a plan through
:class:`hepreco.core.loop.JobLoop`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.errors import ConfigError

if TYPE_CHECKING:
    from hepreco.config.loader import ResolvedConfig
    from hepreco.core.build import JobPlan
    from hepreco.core.job import JobResult
    from hepreco.plugins import Registry

__all__ = ["execute", "prepare", "run"]


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

    Examples:
        >>> plan = prepare({"source": {"module": "EmptySource", "events": 3}}, quiet=True)
        >>> plan.source_label, type(plan.source).type_name
        ('source', 'hepreco.EmptySource')
    """
    from hepreco.config.loader import ResolvedConfig, load_config
    from hepreco.executors._forkserver import peek_forkserver, start_forkserver

    resolved = (
        config
        if isinstance(config, ResolvedConfig)
        else load_config(config, overrides=overrides, events=events, seed=seed)
    )
    if executor is not None:
        from hepreco.executors._options import apply_executor_options

        apply_executor_options(resolved, executor, origin=executor_origin)
    forkserver, workers, preload = peek_forkserver(resolved.data.get("executor"))
    if forkserver:
        # the workers' server starts before this process imports the job's modules and the array libraries:
        # it imports them on another core meanwhile (the key is validated just below; a bad one stops the job)
        start_forkserver(workers, preload=preload)
    from hepreco.core.build import build_plan
    from hepreco.executors.config import parse_executor_config
    from hepreco.plugins import get_registry

    _, ex_issues = parse_executor_config(resolved.data.get("executor"), resolved)
    try:
        plan = build_plan(resolved, registry or get_registry(), quiet=quiet)
    except ConfigError as err:
        if ex_issues:
            raise ConfigError([*ex_issues, *err.issues]) from None
        raise
    if ex_issues:
        raise ConfigError(ex_issues)
    return plan


def execute(plan: JobPlan, *, report: str | Path | None = None) -> JobResult:
    """Run ``plan`` with the executor its config asks for (``executor:``, default inline) and return its
    result; outputs are committed only on success."""
    from hepreco.core.outputs import check_outputs
    from hepreco.executors.config import executor_config, make_executor

    cfg = executor_config(plan)
    check_outputs(plan, report=report, no_clobber=plan.job.no_clobber, journal=cfg.journal)
    return make_executor(cfg).run(plan, report=report)


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
