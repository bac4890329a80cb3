"""This module turns pydantic's validation errors into hepreco's config issues — the one translator every
config goes through (module and service parameters, the ``executor:`` key, training and evaluation configs):
each issue names the file, the line and the key path, says what was wrong with the value it got, and suggests
the nearest name for an unknown key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

import pydantic
from pydantic import BaseModel

from hepreco.errors import ConfigIssue, did_you_mean

if TYPE_CHECKING:
    from hepreco.config.loader import ResolvedConfig

__all__ = ["validation_issues"]

#: the parts of pydantic's error locations that name a member of a union, not a key
_UNION_TAGS = ("str", "list[str]", "int", "float", "bool", "none")


def _unwrap(ann: Any) -> Any:
    origin = get_origin(ann)
    if origin is Union or str(origin) in ("types.UnionType", "<class 'types.UnionType'>"):
        for arg in get_args(ann):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
        return None
    return ann


def _model_at(cls: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The pydantic model class that holds the key at ``loc`` (for the did-you-mean of unknown keys)."""
    cur: Any = cls
    for part in loc:
        if not (isinstance(cur, type) and issubclass(cur, BaseModel)):
            return None
        info = cur.model_fields.get(str(part))
        if info is None:
            return None
        cur = _unwrap(info.annotation)
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def validation_issues(
    err: pydantic.ValidationError,
    cls: type[BaseModel],
    resolved: ResolvedConfig,
    *,
    prefix: str = "",
    label: str | None = None,
    noun: str = "key",
) -> list[ConfigIssue]:
    """One :class:`~hepreco.errors.ConfigIssue` per problem of ``err`` (raised validating ``cls``), its key
    ``prefix.path.to.key``, located in ``resolved``'s file; ``noun`` is what the keys are called in messages
    (``parameter`` for a module's, ``key`` elsewhere).

    Examples:
        >>> from hepreco.config.loader import ResolvedConfig
        >>> class Cfg(BaseModel, extra="forbid"):
        ...     threshold: float = 0.5
        >>> try:
        ...     Cfg(treshold=0.9)
        ... except pydantic.ValidationError as err:
        ...     [i.message for i in validation_issues(err, Cfg, ResolvedConfig({}), noun="parameter")]
        ["unknown parameter 'treshold' (did you mean 'threshold'?); parameters: threshold"]
    """
    issues: list[ConfigIssue] = []
    for e in err.errors():
        loc = [p for p in e.get("loc", ()) if not (isinstance(p, str) and p in _UNION_TAGS)]
        key = ".".join(str(p) for p in [prefix, *loc] if str(p))
        if e["type"] == "extra_forbidden":
            name = str(loc[-1]) if loc else "?"
            holder = _model_at(cls, loc[:-1])
            fields = list(holder.model_fields) if holder is not None else []
            plural = f"{noun}s"
            msg = f"unknown {noun} '{name}'{did_you_mean(name, fields)}" + (
                f"; {plural}: {', '.join(fields)}" if fields else ""
            )
        elif e["type"] == "missing":
            msg = f"missing required {noun} '{loc[-1] if loc else '?'}'"
        else:
            got = e.get("input")
            text = e["msg"].removeprefix("Value error, ")
            msg = text if isinstance(got, dict) else f"{text} (got {got!r})"
        issues.append(resolved.issue(msg, key, label))
    return list(dict.fromkeys(issues))
