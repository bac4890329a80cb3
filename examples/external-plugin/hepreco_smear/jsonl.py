"""A new file format in two subclasses: JSON Lines (one event per line) written and read back.

Written only against hepreco's public API (``hepreco.io.FileOutput``, ``hepreco.io.OutFile``). The base
class keeps the products (``keep``), names them, adds the run/subrun/event columns, checks that types do not
change between batches, splits files (``max_events_per_file``), writes to a temporary file that the framework
renames into place only when the job succeeds, and makes the provenance document; this class only turns
columns into lines. The file's first line is ``{"hepreco_provenance": {...}}``; every other line is one event,
``{"run": 1, "subrun": 0, "event": 1, "smeared": [...]}``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awkward as ak

from hepreco import SourceBatch
from hepreco.io import FileInfo, FileOutput, FileSource, OutFile

__all__ = ["JsonLinesOutput", "JsonLinesSource", "read_jsonl"]

HEADER_KEY = "hepreco_provenance"
STEP = 10_000  # events per step when a job split into chunks merges its per-chunk files


def read_jsonl(path: str | Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The provenance document and the events of a file :class:`JsonLinesOutput` wrote."""
    doc: dict[str, Any] | None = None
    events: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            row = json.loads(line)
            if i == 0 and HEADER_KEY in row:
                doc = row[HEADER_KEY]
            else:
                events.append(row)
    return doc, events


class JsonLinesOutput(FileOutput):
    """Write the kept products as JSON Lines: one event per line (``smear.JsonLinesOutput``).

    Numbers, lists and records of the products become JSON values; a missing value is ``null``.
    """

    format_name = "jsonl"

    def columns(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> dict[str, Any]:
        self._origins = dict(origins)
        return {name: ak.to_list(arr) for name, arr in arrays.items()}

    def layouts(self) -> dict[str, Any]:
        return {name: {"origin": origin} for name, origin in getattr(self, "_origins", {}).items()}

    def _body(self, out: OutFile) -> Path:
        return out.tmp.with_name(out.tmp.name + ".body")

    def open(self, out: OutFile, columns: dict[str, Any] | None) -> Any:
        return open(self._body(out), "w", encoding="utf-8")

    def extend(self, out: OutFile, columns: dict[str, Any]) -> None:
        names = list(columns)
        values = [[int(v) for v in c] if n in self.id_columns else c for n, c in columns.items()]
        for row in zip(*values, strict=True):
            out.handle.write(json.dumps(dict(zip(names, row, strict=True))) + "\n")

    def finish(self, out: OutFile, provenance: str) -> None:
        out.handle.close()
        body = self._body(out)
        with open(out.tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({HEADER_KEY: json.loads(provenance)}) + "\n")
            with open(body, encoding="utf-8") as b:
                shutil.copyfileobj(b, f)
        body.unlink()

    def close_quietly(self, out: OutFile) -> None:
        if out.handle is not None:
            out.handle.close()
        self._body(out).unlink(missing_ok=True)

    # --- jobs split into chunks --------------------------------------------------------------------
    def read_document(self, path: Path) -> dict[str, Any] | None:
        with open(path, encoding="utf-8") as f:
            first = json.loads(f.readline() or "{}")
        return first.get(HEADER_KEY)

    def part_batches(self, part: Path, doc: dict[str, Any]) -> Iterator[tuple[Any, int]]:
        self._origins = {name: lay.get("origin", name) for name, lay in doc.get("products", {}).items()}
        rows: list[dict[str, Any]] = []
        with open(part, encoding="utf-8") as f:
            f.readline()  # the provenance
            for line in f:
                rows.append(json.loads(line))
                if len(rows) == STEP:
                    yield _columns(rows), len(rows)
                    rows = []
        if rows:
            yield _columns(rows), len(rows)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [r[name] for r in rows] for name in rows[0]}


class JsonLinesSource(FileSource):
    """Read JSON Lines files that :class:`JsonLinesOutput` wrote (``smear.JsonLinesSource``): each column but the
    event ids is a product; the ids come back as they were written.

    One subclass of ``hepreco.io.FileSource``: the base class expands the file list, skips bad files
    (``--skip-bad-files``), applies ``first`` and ``events``, makes chunks and batches and records the inputs'
    provenance; this class opens a file, checks it and reads a range of its lines.
    """

    file_kind = "JSON Lines"

    def products(self) -> tuple[str, ...]:
        infos = self.scan()
        return tuple(infos[0].extra["products"]) if infos else ()

    def inspect_file(self, index: int, path: str, reference: FileInfo | None) -> FileInfo:
        with open(path, encoding="utf-8") as f:
            try:
                first = json.loads(f.readline() or "null")
            except ValueError as err:
                raise ValueError(f"{path}: not a JSON Lines file ({err})") from None
            doc = first.get(HEADER_KEY) if isinstance(first, dict) else None
            if doc is None:
                raise ValueError(f"{path}: no hepreco provenance on the first line: not written by JsonLinesOutput")
            entries = sum(1 for _ in f)
        ids = list(doc.get("event_ids") or ("run", "subrun", "event"))
        products = list(doc.get("products") or {})
        if reference is not None and products != reference.extra["products"]:
            raise ValueError(
                f"{path}: products {products}, but the first file ({reference.path}) has {reference.extra['products']}"
            )
        self.publish_ids(dict(zip(("run", "subrun", "event"), ids, strict=True)))
        return FileInfo(index, path, entries, doc, {"products": products, "ids": ids})

    def read_range(self, info: FileInfo, start: int, stop: int) -> Iterator[SourceBatch]:
        step = int(self.config.batch_size)
        rows: list[dict[str, Any]] = []
        with open(info.path, encoding="utf-8") as f:
            f.readline()
            for i, line in enumerate(f):
                if i >= stop:
                    break
                if i >= start:
                    rows.append(json.loads(line))
                if len(rows) == step:
                    yield self._batch(info, rows, i + 1 - len(rows))
                    rows = []
        if rows:
            yield self._batch(info, rows, min(stop, info.entries) - len(rows))

    def _batch(self, info: FileInfo, rows: list[dict[str, Any]], start: int) -> SourceBatch:
        cols = _columns(rows)
        names = dict(zip(("run", "subrun", "event"), info.extra["ids"], strict=True))
        ids = self.make_ids(names, {n: ak.Array(cols[n]) for n in names.values()}, info, start, len(rows))
        return SourceBatch(ids, {name: ak.Array(cols[name]) for name in info.extra["products"]})
