"""This module reads named columns of ROOT (TTree or RNTuple) and Parquet files batch by batch, for code that
wants columns rather than a job's source (training data in :mod:`hepreco.ml`, notebooks).

:func:`iter_files` yields :class:`hepreco.SourceBatch` objects: the event ids (from the files' run, subrun and
event columns, or numbered by entry as the file sources number them) and the requested columns, each named by
its branch name or by the InputTag it had in the hepreco job that wrote the file (found through the file's
provenance). A column a file lacks raises :class:`MissingColumn`, a :class:`NotInFile` naming the file, the
tree and the nearest names; a file that cannot be read raises an OSError naming it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepreco.core.events import EventIDs
from hepreco.core.module import SourceBatch
from hepreco.errors import suggest
from hepreco.io._rootfile import NotInFile, find_tree, open_root, trees_in
from hepreco.io.provenance import is_parquet, read_file_document

__all__ = ["EVENT_NAMES", "RUN_NAMES", "SUBRUN_NAMES", "MissingColumn", "NotInFile", "iter_files"]

#: the usual names of the run, subrun and event columns, in the order they are looked for
RUN_NAMES = ("run", "Run", "RunNumber", "runNumber")
SUBRUN_NAMES = ("subrun", "subRun", "SubRun", "luminosityBlock", "LumiBlock", "lumi", "lumiBlock")
EVENT_NAMES = ("event", "Event", "EventNumber", "eventNumber")


class MissingColumn(NotInFile):
    """A requested product or column that a file (or a job) does not have; lists the nearest names.

    Attributes:
        name: what was asked for; where: the file and tree (or the job); available: what there is.
    """

    def __init__(self, name: str, where: str, available: Sequence[str]) -> None:
        self.name = name
        self.where = where
        self.available = sorted(available)
        close = suggest(name, self.available)
        hint = (" (did you mean " + " or ".join(repr(c) for c in close) + "?)") if close else ""
        shown = ", ".join(self.available[:30]) + (" ..." if len(self.available) > 30 else "")
        super().__init__(f"{where}: no product or column '{name}'{hint}; available: {shown or 'none'}")


def _document(path: str) -> dict[str, Any] | None:
    """The hepreco provenance document of a file hepreco wrote; None for another file (or an unreadable
    document: the columns are then found by their branch names only)."""
    try:
        return read_file_document(path)
    except (OSError, ValueError):
        return None


def _from_document(doc: dict[str, Any] | None, name: str, available: Sequence[str]) -> str | None:
    """The column that holds product ``name`` (an InputTag of the job that wrote the file)."""
    if not doc:
        return None
    for stored, layout in (doc.get("products") or {}).items():
        if not isinstance(layout, dict) or layout.get("origin") != name:
            continue
        fields = layout.get("fields") or {}
        if stored in available:
            return stored
        if list(fields) == [""] and fields[""] in available:
            return str(fields[""])
    return None


def _pick(names: Sequence[str], available: Sequence[str]) -> str | None:
    return next((n for n in names if n in available), None)


def _columns_for(
    names: Sequence[str], available: Sequence[str], doc: dict[str, Any] | None, where: str
) -> dict[str, str]:
    out = {}
    for name in names:
        if name in available:
            out[name] = name
            continue
        col = _from_document(doc, name, available)
        if col is None:
            raise MissingColumn(name, where, available)
        out[name] = col
    return out


def _ids(columns: Mapping[str, Any], n: int, start: int, file_index: int) -> EventIDs:
    def get(key: str, dtype: Any) -> np.ndarray | None:
        arr = columns.get(key)
        return None if arr is None else np.asarray(ak.to_numpy(arr)).astype(dtype)

    event = get("event", np.uint64)
    run = get("run", np.uint32)
    subrun = get("subrun", np.uint32)
    if event is None:  # the entry number in its file plus one, as hepreco's file sources do
        event = np.arange(start + 1, start + n + 1, dtype=np.uint64)
        if subrun is None:
            subrun = np.full(n, file_index, dtype=np.uint32)
    if run is None:
        run = np.ones(n, dtype=np.uint32)
    if subrun is None:
        subrun = np.zeros(n, dtype=np.uint32)
    return EventIDs(run, subrun, event)


def iter_files(
    files: Sequence[str],
    products: Sequence[str],
    *,
    tree: str | None = None,
    step_size: int = 100_000,
) -> Iterator[SourceBatch]:
    """Read ``products`` from ROOT (TTree or RNTuple) or Parquet files written by a hepreco job.

    A product is a column (branch) name, or the InputTag it had in the job that wrote the file (found
    through the file's hepreco provenance). Event ids come from the ``run``/``subrun``/``event``
    columns (or their usual aliases); without an event column, events are numbered by entry as
    hepreco's file sources number them.

    Raises:
        MissingColumn: a product the file does not have (with the nearest names).
        OSError: a file that cannot be read (naming it).
    """
    for index, path in enumerate(files):
        if is_parquet(path):
            yield from _iter_parquet(path, products, index, step_size)
        else:
            yield from _iter_root(path, products, index, tree, step_size)


def _iter_parquet(path: str, products: Sequence[str], index: int, step_size: int) -> Iterator[SourceBatch]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as err:
        raise OSError(f"{path}: cannot be read as Parquet: {type(err).__name__}: {err}") from err
    available = list(pf.schema_arrow.names)
    doc = _document(path)
    cols = _columns_for(products, available, doc, path)
    idcols = _id_columns(available)
    wanted = list(dict.fromkeys([*cols.values(), *idcols.values()]))
    start = 0
    for rg in range(pf.num_row_groups):
        try:
            arr = ak.from_parquet(path, columns=wanted, row_groups=[rg])
        except Exception as err:
            raise OSError(f"{path}: row group {rg} cannot be read: {type(err).__name__}: {err}") from err
        n = len(arr)
        ids = _ids({k: arr[c] for k, c in idcols.items()}, n, start, index)
        yield SourceBatch(ids, {name: arr[col] for name, col in cols.items()})
        start += n


def _id_columns(available: Sequence[str]) -> dict[str, str]:
    """The columns holding run, subrun and event numbers, for those a file has."""
    found = {
        "run": _pick(RUN_NAMES, available),
        "subrun": _pick(SUBRUN_NAMES, available),
        "event": _pick(EVENT_NAMES, available),
    }
    return {k: c for k, c in found.items() if c}


def _find_tree(f: Any, tree: str | None, path: str) -> Any:
    """The tree named ``tree``; by default ``events`` when the file has one, else the only one."""
    if tree is None and "events" in trees_in(f):
        tree = "events"
    return find_tree(f, path, tree)


def _iter_root(
    path: str, products: Sequence[str], index: int, tree: str | None, step_size: int
) -> Iterator[SourceBatch]:
    with open_root(path) as f:
        t = _find_tree(f, tree, path)
        available = list(t.keys())
        doc = _document(path)
        cols = _columns_for(products, available, doc, f"{path}:{t.name}")
        idcols = _id_columns(available)
        wanted = list(dict.fromkeys([*cols.values(), *idcols.values()]))
        total = int(t.num_entries)
        for start in range(0, total, step_size):
            stop = min(start + step_size, total)
            try:
                arr = t.arrays(wanted, entry_start=start, entry_stop=stop, library="ak")
            except Exception as err:
                msg = f"{path}:{t.name} entries {start}..{stop} cannot be read: {type(err).__name__}: {err}"
                raise OSError(msg) from err
            n = stop - start
            ids = _ids({k: arr[c] for k, c in idcols.items()}, n, start, index)
            yield SourceBatch(ids, {name: arr[col] for name, col in cols.items()})
