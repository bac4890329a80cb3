"""This module defines ExecutorConfig, the top-level ``executor:`` key of a job config, and the executor it makes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from hepreco.core.module import ModuleConfig
from hepreco.executors._options import apply_executor_options

if TYPE_CHECKING:
    from hepreco.config.loader import ResolvedConfig
    from hepreco.core.build import JobPlan
    from hepreco.errors import ConfigIssue
    from hepreco.executors.base import Executor

__all__ = [
    "EXECUTOR_FLAGS",
    "EXECUTOR_KINDS",
    "ExecutorConfig",
    "apply_executor_options",
    "executor_config",
    "make_executor",
    "parse_executor_config",
]

#: the core's executors (plugins add more: ``executor_kinds()``)
EXECUTOR_KINDS = ("inline", "processes", "dask")


def executor_kinds() -> tuple[str, ...]:
    """Every executor kind: the core's and those plugins add (``hepreco_executors``)."""
    from hepreco.plugins import get_registry

    return tuple(get_registry().executors) or EXECUTOR_KINDS


#: the command-line flag that sets each field (for messages and ``config --annotate``)
EXECUTOR_FLAGS = {
    "kind": "--executor",
    "workers": "--workers",
    "scheduler": "--scheduler",
    "chunk_size": "--chunk-size",
    "retries": "--retries",
    "journal": "--journal",
}


class ExecutorConfig(ModuleConfig):
    """How a job runs: in this process, on local processes or on a Dask cluster, chunk by chunk.

    Written as ``executor: processes`` or as a mapping; the command line's ``--executor``, ``--workers``,
    ``--scheduler``, ``--chunk-size``, ``--retries`` and ``--journal`` set the same fields.
    """

    kind: str = "inline"
    """``inline`` (this process), ``processes`` (a local process pool), ``dask`` (dask.distributed), or an
    executor a plugin adds (``hepreco list`` shows them)."""
    workers: int | None = Field(None, gt=0)
    """Worker processes (default: the number of cores; for an existing Dask scheduler, its workers)."""
    scheduler: str | None = None
    """Address of an existing Dask scheduler (``tcp://host:8786``); default: a new LocalCluster."""
    chunk_size: int | None = Field(None, gt=0)
    """Split the source's chunks into entry ranges of at most this many events (default: as the source gives them)."""
    retries: int = Field(1, ge=0)
    """Times a failing chunk is run again before the job stops (or skips it with ``--skip-bad-files``)."""
    journal: str | None = None
    """Folder recording finished chunks and their results: a job run again with it redoes only the others."""
    merge: bool = True
    """Merge each output's per-chunk files into the requested file; false: keep them as ``FILE.parts/``."""
    workdir: str | None = None
    """Folder for the per-chunk files while the job runs (default: the journal, else a temporary folder).
    Workers on other machines need one they all see."""
    start_method: Literal["forkserver", "spawn"] | None = None
    """How ``processes`` starts its workers (default: forkserver where available, else spawn)."""
    dashboard: str | None = ":8787"
    """Dashboard address of the LocalCluster ``dask`` starts (``:0``: any free port; null: none)."""

    @model_validator(mode="after")
    def _check(self) -> ExecutorConfig:
        if self.scheduler is not None and self.kind != "dask":
            msg = f"'scheduler' is for the dask executor, not '{self.kind}' (set kind: dask or --executor dask)"
            raise ValueError(msg)
        return self

    @property
    def chunked(self) -> bool:
        """Whether the job runs chunk by chunk through a pool (everything but plain inline)."""
        return self.kind != "inline" or self.journal is not None


def parse_executor_config(
    value: Any, resolved: ResolvedConfig | None = None
) -> tuple[ExecutorConfig | None, list[ConfigIssue]]:
    """Validate the ``executor:`` value (a kind name or a mapping); issues name the key and the choices."""
    from hepreco.core.build import validate_params
    from hepreco.errors import ConfigIssue, did_you_mean

    if value is None:
        return ExecutorConfig(), []
    if isinstance(value, str):
        value = {"kind": value}
    kinds = executor_kinds()
    if not isinstance(value, dict):
        msg = f"'executor' is a kind ({', '.join(kinds)}) or a mapping {{kind: ..., workers: ...}}, not {value!r}"
        return None, [resolved.issue(msg, "executor") if resolved else ConfigIssue(msg, key="executor")]
    kind = value.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in kinds):
        msg = f"unknown executor {kind!r}{did_you_mean(str(kind), kinds)}; executors: {', '.join(kinds)}"
        issue = resolved.issue(msg, "executor.kind") if resolved else ConfigIssue(msg, key="executor.kind")
        rest = {k: v for k, v in value.items() if k != "kind"}
        _, more = _validate(rest, resolved, validate_params)
        return None, [issue, *more]
    return _validate(value, resolved, validate_params)


def _validate(value: dict[str, Any], resolved: ResolvedConfig | None, validate_params: Any) -> Any:
    from hepreco.config.loader import ResolvedConfig

    res = resolved or ResolvedConfig({"executor": value})
    cfg, issues = validate_params(ExecutorConfig, value, key="executor", label=None, resolved=res)
    return cfg, issues


def executor_config(plan: JobPlan) -> ExecutorConfig:
    """The plan's validated ``executor:`` key (default: inline); raises ConfigError if it is invalid."""
    from hepreco.errors import ConfigError

    resolved = plan.job.config
    cfg, issues = parse_executor_config(resolved.data.get("executor"), resolved)
    if issues or cfg is None:
        raise ConfigError(issues)
    return cfg


def make_executor(config: ExecutorConfig | str | dict[str, Any] | None = None, /, **fields: Any) -> Executor:
    """The executor a config asks for: ``make_executor("processes", workers=2)``.

    Raises ConfigError for an invalid setting.
    """
    from hepreco.errors import ConfigError

    if not isinstance(config, ExecutorConfig):
        raw: dict[str, Any] = {"kind": config} if isinstance(config, str) else dict(config or {})
        raw.update(fields)
        cfg, issues = parse_executor_config(raw)
        if issues or cfg is None:
            raise ConfigError(issues)
        config = cfg
    import dataclasses

    from hepreco.plugins import get_registry

    cls = get_registry().executor_class(config.kind)
    values = {
        "chunk_size": config.chunk_size,
        "retries": config.retries,
        "journal": Path(config.journal) if config.journal else None,
        "merge": config.merge,
        "workdir": Path(config.workdir) if config.workdir else None,
        "workers": config.workers,
        "start_method": config.start_method,
        "scheduler": config.scheduler,
        "dashboard": config.dashboard,
    }
    names = {f.name for f in dataclasses.fields(cls)}
    executor: Executor = cls(**{k: v for k, v in values.items() if k in names})
    return executor
