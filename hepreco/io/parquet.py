"""This module defines ParquetSource and ParquetOutput: products as Parquet columns through awkward
and pyarrow, one row group per batch."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
from pydantic import Field

from hepreco.core.module import SourceBatch
from hepreco.errors import did_you_mean
from hepreco.io._layout import ProductLayout, assemble, event_type, is_option, split_option, tree_kind, tree_layout
from hepreco.io._output import FileOutput, FileOutputConfig, OutFile, doc_id_columns, id_arrays
from hepreco.io._rootfile import NotInFile
from hepreco.io._source import FileInfo, FileSource, FileSourceConfig, sanitize
from hepreco.io.provenance import PROVENANCE_KEY, parse_document

__all__ = ["ParquetOutput", "ParquetSource"]


def _pq() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        msg = "Parquet files need pyarrow: pip install pyarrow (or pip install 'hepreco[parquet]')"
        raise ImportError(msg) from err
    return pq


def _open_parquet(path: str) -> Any:
    pq = _pq()
    import pyarrow as pa

    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        msg = f"{path}: no such file"
        raise FileNotFoundError(msg) from None
    except IsADirectoryError:
        msg = f"{path}: is a directory, not a Parquet file"
        raise IsADirectoryError(msg) from None
    if head != b"PAR1":
        what = "a ROOT file (read it with RootSource)" if head == b"root" else "not a Parquet file"
        msg = f"{path}: {what}: it does not start with Parquet's 'PAR1' signature"
        raise OSError(msg)
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        msg = f"{path}: cannot be opened as a Parquet file (truncated?): {err}"
        raise OSError(msg) from err


class ParquetSource(FileSource):
    """Read Parquet files through pyarrow and awkward: each column is a product, row groups are batches.

    Files written by ParquetOutput (or ``ak.to_parquet``) come back with their awkward types, option
    types included; their provenance is carried into this job's outputs. Run, subrun and event numbers
    come from columns when present (``run_branch``... name the columns), else are made up.

    Examples:
        ::

            source: {module: ParquetSource, files: "skim_*.parquet", columns: ["muons", "mass"]}
    """

    file_kind = "Parquet"

    class Config(FileSourceConfig):
        columns: list[str] = Field(default_factory=lambda: ["*"])
        """Columns to read, as names or glob patterns."""
        exclude: list[str] = Field(default_factory=list)
        """Columns not to read (names or glob patterns), applied after ``columns``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plan: dict[str, str] = {}
        self._layouts: dict[str, ProductLayout] = {}
        self._ids: dict[str, str | None] = {}
        self._read: list[str] = []

    def products(self) -> tuple[str, ...]:
        self.scan()
        return tuple(self._plan)

    def inspect_file(self, index: int, path: str, reference: FileInfo | None) -> FileInfo:
        pf = _open_parquet(path)
        names = list(pf.schema_arrow.names)
        raw = (pf.metadata.metadata or {}).get(PROVENANCE_KEY.encode())
        doc = parse_document(raw.decode(), path) if raw is not None else None
        if reference is None:
            self._make_plan(names, path, doc)
        for col in self._read:
            if col not in names:
                msg = f"{path}: no column '{col}'{did_you_mean(col, names)}"
                if reference is not None:
                    msg += f" (the first file, {reference.path}, has it)"
                raise NotInFile(msg)
        sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
        extra: dict[str, Any] = {"row_groups": sizes, "bytes_per_entry": _bytes_per_row(pf, set(self._read))}
        return FileInfo(index, path, int(pf.metadata.num_rows), doc, extra)

    def _make_plan(self, names: list[str], path: str, doc: dict[str, Any] | None = None) -> None:
        cfg = self.config
        self._ids = self.id_columns(names)
        for key, col in self._ids.items():
            if col is not None and col not in names:
                msg = f"{path}: no {key} column '{col}'{did_you_mean(col, names)} ({key}_branch)"
                raise NotInFile(msg)
        self.publish_ids(self._ids)
        for p in cfg.columns:
            if not any(ch in p for ch in "*?[") and p not in names:
                msg = f"{path}: no column '{p}'{did_you_mean(p, names)}"
                raise NotInFile(msg)
        ids = {c for c in self._ids.values() if c}
        plan: dict[str, str] = {}
        self._layouts = {}
        if doc is not None and isinstance(doc.get("products"), dict) and doc["products"]:
            # a file hepreco wrote: its products, whatever the layout (flat NanoAOD-style columns or native)
            for name, data in doc["products"].items():
                if not any(fnmatch.fnmatchcase(name, p) for p in cfg.columns):
                    continue
                if any(fnmatch.fnmatchcase(name, p) for p in cfg.exclude):
                    continue
                self._layouts[name] = ProductLayout.from_json(name, data)
                plan[name] = name
            self._plan = plan
            cols = [c for lay in self._layouts.values() for c in lay.branches()]
            self._read = list(dict.fromkeys([*cols, *ids]))
            return
        for n in names:
            if n in ids or not any(fnmatch.fnmatchcase(n, p) for p in cfg.columns):
                continue
            if any(fnmatch.fnmatchcase(n, p) for p in cfg.exclude):
                continue
            name = sanitize(n)
            if name in plan:
                msg = f"{path}: columns '{plan[name]}' and '{n}' would both be product '{name}'; exclude one"
                raise ValueError(msg)
            plan[name] = n
        self._plan = plan
        self._read = list(dict.fromkeys([*plan.values(), *ids]))

    def read_range(self, info: FileInfo, start: int, stop: int) -> Iterator[SourceBatch]:
        pf = _open_parquet(info.path)
        size = self.entries_per_batch(float(info.extra.get("bytes_per_entry", 0.0)))
        first = 0
        for rg, rows in enumerate(info.extra["row_groups"]):
            lo, hi = max(start, first), min(stop, first + rows)
            if lo < hi:
                try:
                    table = pf.read_row_group(rg, columns=self._read) if self._read else None
                except Exception as err:
                    msg = f"{info.path}: cannot read row group {rg} (columns {', '.join(self._read)}): {err}"
                    raise OSError(msg) from err
                arrays = ak.from_arrow(table) if table is not None else None
                for a in range(lo, hi, size):
                    b = min(a + size, hi)
                    part = arrays[a - first : b - first] if arrays is not None else None
                    cols = {c: part[c] for c in self._read} if part is not None else {}
                    if self._layouts:
                        products = {
                            name: _assemble(lay, cols, f"{info.path}: product '{name}'")
                            for name, lay in self._layouts.items()
                        }
                    else:
                        products = {name: cols[col] for name, col in self._plan.items()}
                    yield SourceBatch(self.make_ids(self._ids, cols, info, a, b - a), products)
            first += rows
            if first >= stop:
                break


def _assemble(layout: ProductLayout, columns: dict[str, Any], where: str) -> ak.Array:
    """A product from its columns (nulls are missing values: a list of records with nulls is zipped as such)."""
    if layout.kind == "list" and layout.type.startswith("option"):
        array = ak.zip({f: columns[c] for f, c in layout.fields.items()}, depth_limit=2)
        return ak.with_name(array, layout.record_name) if layout.record_name else array
    return assemble(layout, columns, where)


def _bytes_per_row(pf: Any, columns: set[str]) -> float:
    """Uncompressed bytes per row of ``columns`` (leaf columns under them included), from the footer."""
    meta = pf.metadata
    rows = meta.num_rows
    if rows <= 0 or not columns:
        return 0.0
    total = 0
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        for c in range(group.num_columns):
            col = group.column(c)
            if col.path_in_schema.split(".")[0] in columns:
                total += col.total_uncompressed_size
    return total / rows


def _flat_columns(layout: dict[str, Any]) -> list[str]:
    """The columns of a product's layout (provenance JSON) in the order they are written: counters first."""
    return [*(layout.get("counters") or ()), *layout["fields"].values()]


def _schema_metadata(pf: Any) -> dict[bytes, bytes] | None:
    """The Arrow schema metadata of a Parquet file (awkward's parameters) without hepreco's provenance."""
    meta = pf.schema_arrow.metadata or {}
    return {k: v for k, v in meta.items() if k != PROVENANCE_KEY.encode()} or None


def _packed(array: ak.Array) -> ak.Array:
    """``array`` packed; an option type as a byte mask over a full-length content (awkward 2.14 cannot
    convert an IndexedOptionArray over an empty content to Arrow)."""
    if not is_option(event_type(array)):
        return ak.to_packed(array)
    valid, filled = split_option(array)
    mask = ak.index.Index8(valid.astype(np.int8))
    return ak.Array(ak.contents.ByteMaskedArray(mask, ak.to_packed(filled).layout, valid_when=True))


class ParquetOutput(FileOutput):
    """Write the kept products of the selected events to a Parquet file through awkward and pyarrow.

    ``layout: flat`` (the default) writes what coffea, pandas, Spark and NanoAOD-minded tools read: one
    column per number, one list column per field of a list of records with a counter, NanoAOD's names
    (a product ``Muon`` of records ``{pt, eta}`` becomes ``Muon_pt``, ``Muon_eta`` and ``nMuon``; a jagged
    product ``hits`` becomes ``hits`` and ``nhits``; a record ``{a, b}`` becomes ``NAME_a``, ``NAME_b``), the
    event ids first under the input's names (``run``, ``luminosityBlock``, ``event`` for NanoAOD). Types a flat
    layout cannot hold (nested lists of records, option-type records) are stored as one native column.
    ``layout: native`` stores every product as one column of its awkward type (lists of structs).
    Missing values (option types, made after a filter) are Parquet nulls in both layouts. ParquetSource
    reads either back as the products that were written. Each batch is one row group; the provenance
    document is the file's key-value metadata ``hepreco_provenance``. Written under a temporary name,
    renamed when the job ends well. Under ``--executor processes`` or ``dask`` the client merges the
    chunks' files into the requested file(s), streaming their row groups in event order.
    """

    format_name = "parquet"

    class Config(FileOutputConfig):
        compression: str = "zstd"
        """Parquet compression: zstd, snappy, gzip, brotli, lz4 or none."""
        layout: Literal["flat", "native"] = "flat"
        """``flat``: NanoAOD-style columns (``Muon_pt`` + ``nMuon``) that coffea and every Parquet reader take;
        ``native``: one column per product with its awkward type (lists of structs)."""

    def begin_job(self) -> None:
        super().begin_job()
        self._layouts: dict[str, Any] | None = None  # set by the first batch of the job (or of the chunk)

    def _plan_layouts(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> dict[str, Any]:
        shared: dict[str, str] = dict(getattr(self.job, "input_counters", None) or {})
        layouts: dict[str, Any] = {}
        for stored, arr in arrays.items():
            t = event_type(arr)
            native = {"kind": "native", "fields": {"": stored}, "type": str(t), "origin": origins[stored]}
            kind = tree_kind(t) if self.config.layout == "flat" else None
            if kind is None or (kind == "record" and is_option(t)):
                layouts[stored] = native
                continue
            lay = tree_layout(stored, t, option=False, origin=origins[stored]).to_json()
            lay["type"] = str(t)
            counter = shared.get(origins[stored])
            if counter and kind == "branch" and lay["counters"]:
                lay["counters"] = [counter]
            layouts[stored] = lay
        taken: dict[str, str] = {c: "the event ids" for c in self.id_columns}
        counters = {c for lay in layouts.values() for c in lay.get("counters") or ()}
        for stored, lay in layouts.items():
            for col in _flat_columns(lay):
                if col in counters and (col in (lay.get("counters") or ()) or col == stored):
                    continue  # counters are shared; a product named like one is that counter
                if col in taken:
                    msg = (
                        f"product '{lay['origin']}' needs column '{col}', which {taken[col]} also needs; rename one "
                        f'(rename: {{"{lay["origin"]}": NEW_NAME}}) or use layout: native'
                    )
                    raise ValueError(msg)
                taken[col] = f"product '{lay['origin']}'"
        return layouts

    def columns(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> dict[str, Any]:
        if self._layouts is None:
            self._layouts = self._plan_layouts(arrays, origins)
        cols: dict[str, Any] = {}
        for stored, arr in arrays.items():
            lay = self._layouts[stored]
            kind, fields = lay["kind"], lay["fields"]
            for counter in lay.get("counters") or ():
                if counter in cols:
                    continue
                if kind == "record":  # a jagged field's own counter
                    field = next(f for f, c in fields.items() if counter == f"n{c}")
                    cols[counter] = _packed(ak.values_astype(ak.num(arr[field], axis=1), np.uint32))
                else:
                    cols[counter] = _packed(ak.values_astype(ak.num(arr, axis=1), np.uint32))
            if kind in ("native", "branch"):
                if stored not in cols:
                    cols[stored] = _packed(arr)
            else:
                for field, col in fields.items():
                    cols[col] = _packed(arr[field])
        return {c: cols[c] for c in self._column_order()}

    def _column_order(self) -> list[str]:
        """The product columns in the order they are written (counters before what they count)."""
        return list(dict.fromkeys(c for lay in (self._layouts or {}).values() for c in _flat_columns(lay)))

    def layouts(self) -> dict[str, Any]:
        return dict(self._layouts or {})

    @staticmethod
    def _table(columns: Any) -> Any:
        import pyarrow as pa

        if isinstance(columns, pa.Table):  # a row group of a per-chunk file, being merged
            return columns
        return ak.to_arrow_table(ak.zip(dict(columns), depth_limit=1), extensionarray=False)

    def slice_columns(self, columns: Any, start: int, stop: int) -> Any:
        import pyarrow as pa

        if isinstance(columns, pa.Table):
            return columns.slice(start, stop - start)
        return super().slice_columns(columns, start, stop)

    def part_batches(self, part: Path, doc: dict[str, Any]) -> Iterator[tuple[Any, int]]:
        """The row groups of a per-chunk file as Arrow tables, one at a time (no conversion)."""
        pf = _open_parquet(str(part))
        kept = _schema_metadata(pf)
        layouts = doc["products"]
        columns = list(dict.fromkeys(c for lay in layouts.values() for c in _flat_columns(lay)))
        order = [*doc_id_columns(doc), *columns]  # the merged file's order (a chunk may have put them in another)
        try:
            for rg in range(pf.metadata.num_row_groups):
                table = pf.read_row_group(rg).replace_schema_metadata(kept)
                if table.column_names != order:
                    table = table.select(order)
                yield table, table.num_rows
        finally:
            pf.close()

    def part_batches_filled(
        self, part: Path, doc: dict[str, Any], products: dict[str, Any], refs: dict[str, tuple[Path, dict[str, Any]]]
    ) -> Iterator[tuple[Any, int]]:
        """The row groups with the untyped columns replaced by nulls of the type they have in ``refs``."""
        import pyarrow as pa

        fields: dict[str, Any] = {}
        meta = None
        for name, (ref, _doc) in refs.items():
            pf = _open_parquet(str(ref))
            for col in _flat_columns(products[name]):
                fields[col] = pf.schema_arrow.field(col)
            meta = meta or _schema_metadata(pf)  # awkward's parameters, as in a part where all have a type
            pf.close()
        # the part's own columns of the untyped products (their layout there may differ) give way to nulls
        own = {c for name in refs for c in _flat_columns(doc["products"][name])}
        columns = list(dict.fromkeys(c for lay in products.values() for c in _flat_columns(lay)))
        order = [*doc_id_columns(doc), *columns]
        pf = _open_parquet(str(part))
        try:
            for rg in range(pf.metadata.num_row_groups):
                table = pf.read_row_group(rg)
                n = table.num_rows
                table = table.drop_columns([c for c in own if c in table.column_names and c not in fields])
                for col, field in fields.items():
                    if col in table.column_names:
                        table = table.set_column(table.schema.get_field_index(col), field, pa.nulls(n, type=field.type))
                    else:
                        table = table.append_column(field, pa.nulls(n, type=field.type))
                yield table.select(order).replace_schema_metadata(meta), n
        finally:
            pf.close()

    def open(self, out: OutFile, columns: dict[str, Any] | None) -> Any:
        pq = _pq()
        table = self._table(columns if columns is not None else id_arrays(0, self.id_columns))
        comp = None if self.config.compression.lower() == "none" else self.config.compression
        return pq.ParquetWriter(str(out.tmp), table.schema, compression=comp)

    def extend(self, out: OutFile, columns: dict[str, Any]) -> None:
        table = self._table(columns)
        writer = out.handle
        if not table.schema.equals(writer.schema, check_metadata=False):
            msg = f"the columns' types changed between batches:\n{table.schema}\nvs. the first batch's\n{writer.schema}"
            raise ValueError(msg)
        writer.write_table(table)

    def finish(self, out: OutFile, provenance: str) -> None:
        writer = out.handle
        writer.add_key_value_metadata({PROVENANCE_KEY: provenance})
        writer.close()
        out.handle = None

    def close_quietly(self, out: OutFile) -> None:
        if out.handle is not None:
            writer, out.handle = out.handle, None
            writer.close()
