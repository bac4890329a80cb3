"""This module describes a module, source or service type: its doc and every parameter (art's --print-description)."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["describe", "parameter_table"]

_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "min_length": "len >=", "max_length": "len <="}


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    return text.replace("typing.", "").replace("hepreco.core.inputtag.", "").replace("NoneType", "None")


def _bounds(info: FieldInfo) -> str:
    out = []
    for m in info.metadata:
        for attr, sym in _BOUNDS.items():
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v}")
    return ", ".join(out)


def parameter_table(config_cls: Any) -> list[dict[str, str]]:
    """One row per parameter: name, type, default, bounds, doc."""
    rows = []
    for name, info in config_cls.model_fields.items():
        if info.default is PydanticUndefined and info.default_factory is None:
            default = "(required)"
        elif info.default_factory is not None:
            default = repr(info.default_factory())
        else:
            default = repr(info.default) if not hasattr(info.default, "product") else repr(str(info.default))
        rows.append(
            {
                "name": name,
                "type": _type_name(info.annotation),
                "default": default,
                "bounds": _bounds(info),
                "doc": " ".join((info.description or "").split()),
            }
        )
    return rows


def describe(cls: Any) -> str:
    """A text description of a module/source/service class: kind, plugin, doc, products, parameters."""
    kind = getattr(cls, "kind", "service")
    lines = [f"{cls.type_name or cls.__name__}  ({kind})"]
    doc = inspect.getdoc(cls) or ""
    if doc:
        lines += ["", textwrap.indent(doc, "  ")]
    produces = getattr(cls, "produces", ())
    if produces:
        lines += ["", "  produces: " + ", ".join(repr(p) for p in produces)]
    rows = parameter_table(cls.Config)
    lines += ["", "  parameters:" if rows else "  parameters: none"]
    for r in rows:
        bounds = f"  [{r['bounds']}]" if r["bounds"] else ""
        lines.append(f"    {r['name']}: {r['type']} = {r['default']}{bounds}")
        if r["doc"]:
            lines.extend(textwrap.wrap(r["doc"], 96, initial_indent="        ", subsequent_indent="        "))
    return "\n".join(lines)
