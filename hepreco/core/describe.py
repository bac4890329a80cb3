"""This module describes a module, source or service type: its doc and every parameter (art's --print-description)."""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["describe", "field_docs", "parameter_table"]

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


@functools.cache
def _class_field_docs(klass: type) -> dict[str, str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
    except (OSError, TypeError, SyntaxError):  # defined in a notebook or generated: no source
        return {}
    if not tree.body or not isinstance(tree.body[0], ast.ClassDef):
        return {}
    body = tree.body[0].body
    docs = {}
    for stmt, nxt in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def field_docs(config_cls: Any) -> dict[str, str]:
    """The docstring written under each field of a config class (``x: int = 1`` then ``\"\"\"doc\"\"\"``), its
    bases' too, read from the source when asked for: a config class costs nothing at import for its docs
    (pydantic's ``use_attribute_docstrings`` reads the source of every class as it is created)."""
    docs: dict[str, str] = {}
    for klass in reversed(inspect.getmro(config_cls)):
        if klass is not object and "model_fields" in dir(klass):
            docs.update(_class_field_docs(klass))
    return docs


def parameter_table(config_cls: Any) -> list[dict[str, str]]:
    """One row per parameter: name, type, default, bounds, doc."""
    rows = []
    docs = field_docs(config_cls)
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
                "doc": " ".join((info.description or docs.get(name, "")).split()),
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
