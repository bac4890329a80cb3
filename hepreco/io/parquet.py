"""This module defines ParquetSource and ParquetOutput: products as Parquet columns through awkward
and pyarrow, one row group per batch."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field

from hepreco.core.module import SourceBatch
from hepreco.errors import did_you_mean
from hepreco.io._layout import event_type, is_option, split_option
from hepreco.io._output import ID_COLUMNS, FileOutput, OutFile, id_arrays
from hepreco.io._rootfile import NotInFile
from hepreco.io._source import FileInfo, FileSource, sanitize
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

    class Config(FileSource.Config):
        columns: list[str] = Field(default_factory=lambda: ["*"])
        """Columns to read, as names or glob patterns."""
        exclude: list[str] = Field(default_factory=list)
        """Columns not to read (names or glob patterns), applied after ``columns``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plan: dict[str, str] = {}
        self._ids: dict[str, str | None] = {}
        self._read: list[str] = []

    def products(self) -> tuple[str, ...]:
        self.scan()
        return tuple(self._plan)

    def _inspect(self, index: int, path: str, reference: FileInfo | None) -> FileInfo:
        pf = _open_parquet(path)
        names = list(pf.schema_arrow.names)
        if reference is None:
            self._make_plan(names, path)
        for col in self._read:
            if col not in names:
                msg = f"{path}: no column '{col}'{did_you_mean(col, names)}"
                if reference is not None:
                    msg += f" (the first file, {reference.path}, has it)"
                raise NotInFile(msg)
        raw = (pf.metadata.metadata or {}).get(PROVENANCE_KEY.encode())
        doc = parse_document(raw.decode(), path) if raw is not None else None
        sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
        return FileInfo(index, path, int(pf.metadata.num_rows), doc, {"row_groups": sizes})

    def _make_plan(self, names: list[str], path: str) -> None:
        cfg = self.config
        self._ids = self.id_columns(names)
        for key, col in self._ids.items():
            if col is not None and col not in names:
                msg = f"{path}: no {key} column '{col}'{did_you_mean(col, names)} ({key}_branch)"
                raise NotInFile(msg)
        for p in cfg.columns:
            if not any(ch in p for ch in "*?[") and p not in names:
                msg = f"{path}: no column '{p}'{did_you_mean(p, names)}"
                raise NotInFile(msg)
        ids = {c for c in self._ids.values() if c}
        plan: dict[str, str] = {}
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

    def _read_range(self, info: FileInfo, start: int, stop: int) -> Iterator[SourceBatch]:
        pf = _open_parquet(info.path)
        size = int(self.config.batch_size)
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
                    products = {name: cols[col] for name, col in self._plan.items()}
                    yield SourceBatch(self.make_ids(self._ids, cols, info, a, b - a), products)
            first += rows
            if first >= stop:
                break


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

    One column per product (``run``, ``subrun``, ``event`` first), named like RootOutput's branches; each
    batch is one row group. Every awkward type is stored natively, option types included, and read back
    by ParquetSource, ``ak.from_parquet``, pandas or polars. The provenance document is the file's
    key-value metadata ``hepreco_provenance``. Written under a temporary name, renamed when the job ends well.
    Under ``--executor processes`` or ``dask`` the client merges the chunks' files into the requested
    file(s), streaming their row groups in event order.
    """

    format_name = "parquet"

    class Config(FileOutput.Config):
        compression: str = "zstd"
        """Parquet compression: zstd, snappy, gzip, brotli, lz4 or none."""

    def begin_job(self) -> None:
        super().begin_job()
        self._layouts: dict[str, Any] | None = None  # set by the first batch of the job (or of the chunk)

    def columns(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> dict[str, Any]:
        if self._layouts is None:
            self._layouts = {
                stored: {
                    "kind": "native",
                    "fields": {"": stored},
                    "type": str(event_type(arr)),
                    "origin": origins[stored],
                }
                for stored, arr in arrays.items()
            }
        return {k: _packed(v) for k, v in arrays.items()}

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
        order = [*ID_COLUMNS, *doc["products"]]  # the merged file's order (a chunk may have put them in another)
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
            fields[name] = pf.schema_arrow.field(name)
            meta = meta or _schema_metadata(pf)  # awkward's parameters, as in a part where all have a type
            pf.close()
        for table, n in self.part_batches(part, doc):
            for name, field in fields.items():
                table = table.set_column(table.schema.get_field_index(name), field, pa.nulls(n, type=field.type))
            yield table.replace_schema_metadata(meta), n

    def open(self, out: OutFile, columns: dict[str, Any] | None) -> Any:
        pq = _pq()
        table = self._table(columns if columns is not None else id_arrays(0))
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
