"""This module defines the provenance hepreco writes into every output file, and reads it back.

A file hepreco wrote carries one JSON document (a ``TObjString`` named ``hepreco_provenance`` in a
ROOT file, the key-value metadata ``hepreco_provenance`` of a Parquet file)::

    {
      "hepreco_file": 1,                    # the version of this document
      "format": "ttree",                     # ttree, rntuple or parquet
      "tree": "events",                      # the TTree/RNTuple name (ROOT files)
      "entries": 1234,                       # events in this file
      "file_index": 0,                       # which of the files of a split output
      "products": {NAME: {...}},             # how each product is stored (see hepreco.io._layout)
      "history": [STEP, ...],                # the jobs that made this file, oldest first
    }

Each STEP is ``JobContext.provenance()`` of one job: its id, process name, seed, the fully resolved
config, hepreco and plugin versions, the input files (and those skipped as unreadable), host and date.
A job that reads files hepreco wrote carries their history forward, so the last file of a chain of
jobs (reco in several steps) says how every step was run.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hepreco.core.job import JobContext

__all__ = [
    "PROVENANCE_KEY",
    "add_history",
    "file_document",
    "format_provenance",
    "parse_document",
    "read_file_document",
    "read_provenance",
]

PROVENANCE_KEY = "hepreco_provenance"
FORMAT_VERSION = 1


def file_document(
    job: JobContext, *, fmt: str, tree: str | None, entries: int, file_index: int, products: dict[str, Any]
) -> dict[str, Any]:
    """The JSON document an output writes into one file: its layout plus the job's history."""
    return {
        "hepreco_file": FORMAT_VERSION,
        "format": fmt,
        "tree": tree,
        "entries": int(entries),
        "file_index": int(file_index),
        "products": products,
        "history": [*job.history, job.provenance()],
    }


def dumps(doc: dict[str, Any]) -> str:
    """The document as JSON text (values JSON cannot hold, such as YAML dates, become strings)."""
    return json.dumps(doc, default=str, sort_keys=False)


def add_history(job: JobContext, doc: dict[str, Any] | None) -> None:
    """Carry the history of an input file forward into ``job`` (each earlier job once, oldest first)."""
    if not doc:
        return
    known = {step.get("id") for step in job.history}
    for step in doc.get("history", []):
        sid = step.get("id")
        if sid is None or sid not in known:
            job.history.append(step)
            known.add(sid)


def is_parquet(path: str) -> bool:
    """Whether ``path`` is a Parquet file (by extension, else by its magic bytes)."""
    if path.endswith((".parquet", ".pq")):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def parse_document(text: str, path: str) -> dict[str, Any]:
    """The hepreco document in ``text`` (read from ``path``); ValueError if it is not one."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        msg = f"{path}: '{PROVENANCE_KEY}' is not valid JSON: {err}"
        raise ValueError(msg) from err
    if not isinstance(doc, dict) or "history" not in doc:
        msg = f"{path}: '{PROVENANCE_KEY}' is not a hepreco provenance document"
        raise ValueError(msg)
    return doc


def read_file_document(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The hepreco document of a ROOT or Parquet file, or None for a file hepreco did not write.

    Raises:
        OSError: the file cannot be opened (missing, not ROOT or Parquet, truncated).
        ValueError: the document is there but is not valid JSON.
    """
    path = str(path)
    if is_parquet(path):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata.metadata or {}
        raw = meta.get(PROVENANCE_KEY.encode())
        text = raw.decode() if raw is not None else None
    else:
        from hepreco.io._rootfile import open_root

        with open_root(path) as f:
            text = str(f[PROVENANCE_KEY]) if PROVENANCE_KEY in f else None
    return parse_document(text, path) if text is not None else None


def read_provenance(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The provenance of a file hepreco wrote: one record per job that made it, oldest first.

    Returns an empty list for a file hepreco did not write.

    Examples:
        The process name and seed of the last job that wrote ``reco.root``::

            history = read_provenance("reco.root")
            history[-1]["process"], history[-1]["seed"]
    """
    doc = read_file_document(path)
    return list(doc["history"]) if doc else []


def _fmt_plugins(plugins: dict[str, Any]) -> str:
    parts = []
    for name, p in plugins.items():
        v = p.get("version") if isinstance(p, dict) else None
        parts.append(f"{name} {v}" if v else name)
    return ", ".join(parts) or "none"


def format_provenance(path: str | os.PathLike[str], doc: dict[str, Any] | None, *, config: bool = True) -> str:
    """A readable account of the jobs that made ``path`` (``hepreco provenance FILE``)."""
    import yaml

    if not doc:
        return f"{path}: no hepreco provenance (a file hepreco did not write)"
    history = doc.get("history", [])
    where = f"{doc.get('format', '?')} '{doc['tree']}'" if doc.get("tree") else doc.get("format", "?")
    lines = [
        f"{path}: {doc.get('entries', '?')} events in {where}, written by {len(history)} "
        f"job{'s' if len(history) != 1 else ''} (oldest first)"
    ]
    for i, step in enumerate(history, 1):
        lines.append("")
        lines.append(f"step {i}: process '{step.get('process')}'  id {str(step.get('id', '?'))[:12]}")
        lines.append(f"  date:      {step.get('date')}  on {step.get('host')} (Python {step.get('python')})")
        lines.append(f"  hepreco:   {step.get('hepreco_version')}   executor: {step.get('executor')}")
        lines.append(f"  plugins:   {_fmt_plugins(step.get('plugins') or {})}")
        lines.append(f"  seed:      {step.get('seed')}")
        lines.append(f"  config:    {step.get('config_file') or '(given as a mapping)'}")
        inputs = step.get("inputs") or []
        lines.append(f"  inputs:    {len(inputs)} file{'s' if len(inputs) != 1 else ''}")
        lines.extend(f"    {name}" for name in inputs)
        skipped = step.get("skipped_files") or []
        if skipped:
            lines.append(f"  skipped:   {len(skipped)} unreadable file{'s' if len(skipped) != 1 else ''}")
            lines.extend(f"    {s.get('file')}: {s.get('error')}" for s in skipped)
        if config and step.get("config") is not None:
            lines.append("  resolved config:")
            text = yaml.safe_dump(step["config"], sort_keys=False, default_flow_style=False)
            lines.extend("    " + line for line in text.rstrip().splitlines())
    return "\n".join(lines)
