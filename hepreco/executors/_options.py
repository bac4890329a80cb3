"""This module sets ``executor:`` fields from the command line or ``hepreco.run(executor=...)``. It imports
nothing heavy, so that a job's executor is known before the job's modules are imported (see
``hepreco.executors._forkserver``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hepreco.config.loader import ResolvedConfig

__all__ = ["apply_executor_options"]


def apply_executor_options(
    resolved: ResolvedConfig, options: str | Mapping[str, Any], *, origin: str | Mapping[str, str] = "executor argument"
) -> None:
    """Set ``executor:`` fields of a resolved config from the command line or ``hepreco.run(executor=...)``;
    ``origin`` says what set them (a text, or ``{field: flag}``). A field given as None is set to None
    (``{"dashboard": None}``: no dashboard); the command line passes only the flags a user gave."""
    from hepreco.config.loader import Origin, set_path

    data = resolved.data
    current = data.get("executor")
    if isinstance(current, str):
        data["executor"] = {"kind": current}
        where = resolved.origins.get("executor")
        if where is not None:
            resolved.origins["executor.kind"] = where
    elif current is not None and not isinstance(current, dict):
        return  # invalid: build_plan says so
    opts = {"kind": options} if isinstance(options, str) else dict(options)
    for key, value in opts.items():
        text = origin.get(key, "command line") if isinstance(origin, Mapping) else origin
        set_path(data, f"executor.{key}", value, resolved.origins, Origin(text))
