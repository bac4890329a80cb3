"""This module describes a ROOT or Parquet file for ``hepreco dump``: trees, branches and their types,
entries, histograms and other objects, the products of files hepreco wrote and their provenance (art's
file dumper)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from hepreco.io._rootfile import TREE_CLASSES, open_root
from hepreco.io.provenance import PROVENANCE_KEY, read_file_document

__all__ = ["dump_file"]


def _size(path: str) -> str:
    try:
        n = float(os.path.getsize(path))
    except OSError:
        return "size unknown"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def _ak_type(branch: Any) -> str:
    try:
        return str(branch.interpretation.awkward_form(branch.file).type)
    except Exception as err:
        return f"(cannot be read as an array: {type(err).__name__})"


def _table(rows: Sequence[tuple[Any, ...]], header: tuple[str, ...], indent: str) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    widths[-1] = 0
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [indent + fmt.format(*header).rstrip()] + [indent + fmt.format(*r).rstrip() for r in rows]


def _branch_rows(branches: Any, depth: int = 0) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for b in branches:
        rows.append(("  " * depth + b.name, b.typename or "", _ak_type(b) if not b.branches else "(split)"))
        if b.branches:
            rows.extend(_branch_rows(b.branches, depth + 1))
    return rows


def _products(doc: dict[str, Any], indent: str) -> list[str]:
    products = doc.get("products") or {}
    if not products:
        return [f"{indent}products: none"]
    rows = []
    for name, lay in products.items():
        fields = lay.get("fields") or {}
        stored = ", ".join(fields.values()) if fields else name
        if lay.get("valid"):
            stored += f" (+ {lay['valid']})"
        rows.append((name, lay.get("type", ""), lay.get("origin", ""), stored))
    head = f"{indent}products ({len(products)}; a RootSource/ParquetSource names them so):"
    return [head, *_table(rows, ("product", "type", "made as", "stored in"), indent + "  ")]


def _history(doc: dict[str, Any], path: str) -> list[str]:
    steps = doc.get("history") or []
    chain = " -> ".join(f"{s.get('process')} ({s.get('date', '?')[:10]})" for s in steps)
    return [
        f"  provenance: {len(steps)} job{'s' if len(steps) != 1 else ''}: {chain}",
        f"    (hepreco provenance {path})",
    ]


def _dump_root(path: str, tree_name: str | None) -> list[str]:
    lines = [f"{path}: ROOT file, {_size(path)}"]
    doc = None
    with open_root(path) as f:
        classes = {k.rsplit(";", 1)[0]: c for k, c in f.classnames().items()}
        if PROVENANCE_KEY in classes:
            doc = read_file_document(path)
        for name, cls in classes.items():
            if tree_name is not None and cls in TREE_CLASSES and name != tree_name:
                continue
            obj_line = f"  {name}: {cls}"
            if cls == "TTree":
                tree = f[name]
                lines.append(f"{obj_line}, {tree.num_entries} entries, {len(tree.branches)} branches")
                lines.extend(_table(_branch_rows(tree.branches), ("branch", "ROOT type", "awkward type"), "    "))
                if doc is not None and doc.get("tree") == name:
                    lines.extend(_products(doc, "    "))
            elif cls in TREE_CLASSES:
                nt = f[name]
                lines.append(f"{obj_line}, {nt.num_entries} entries, {len(nt.keys(recursive=False))} fields")
                try:
                    empty = nt.arrays(entry_start=0, entry_stop=0)
                except Exception:
                    empty = None
                rows = []
                for field in nt.keys(recursive=False):
                    try:
                        t = str(empty[field].type.content) if empty is not None else ""
                    except Exception:
                        t = ""
                    rows.append((field, t))
                lines.extend(_table(rows, ("field", "awkward type"), "    "))
                if doc is not None and doc.get("tree") == name:
                    lines.extend(_products(doc, "    "))
            elif cls == "TDirectory":
                lines.append(f"{obj_line}/")
            elif name == PROVENANCE_KEY:
                lines.append(f"{obj_line} (hepreco provenance, JSON)")
            else:
                title = ""
                try:
                    obj = f[name]
                    title = obj.member("fTitle") if obj.has_member("fTitle") else ""
                    if hasattr(obj, "values") and cls.startswith("TH"):
                        title += f"; {int(obj.member('fEntries'))} entries"
                except Exception:
                    pass
                lines.append(f"{obj_line}" + (f" '{title}'" if title else ""))
    if doc is not None:
        lines.extend(_history(doc, path))
    return lines


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _dump_parquet(path: str) -> list[str]:
    import awkward as ak
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    md = pf.metadata
    lines = [
        f"{path}: Parquet file, {_size(path)}, {md.num_rows} rows in {md.num_row_groups} row group"
        f"{'s' if md.num_row_groups != 1 else ''}, {len(pf.schema_arrow.names)} columns"
    ]
    try:
        form = ak.from_arrow_schema(pf.schema_arrow)
        types = {f: str(form.content(f).type) for f in form.fields}
    except Exception:
        types = {}
    rows = [(f.name, _short(str(f.type)), types.get(f.name, "")) for f in pf.schema_arrow]
    lines.extend(_table(rows, ("column", "arrow type", "awkward type"), "    "))
    doc = read_file_document(path)
    if doc is not None:
        lines.extend(_products(doc, "    "))
        lines.extend(_history(doc, path))
    return lines


def dump_file(path: str, *, tree: str | None = None) -> str:
    """What ``hepreco dump FILE`` prints: every object of a ROOT file (branches and types of its trees),
    or the columns of a Parquet file, the products hepreco stored and a line on its provenance."""
    from hepreco.io.provenance import is_parquet

    lines = _dump_parquet(path) if is_parquet(path) else _dump_root(path, tree)
    return "\n".join(lines)
