"""This module defines what the file outputs share: product naming, stable types across batches,
splitting into several files, atomic writing and the provenance document of every file."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import awkward as ak
import numpy as np
from pydantic import Field, field_validator

from hepreco.core.events import EventIDs, Events
from hepreco.core.module import ModuleConfig, Output, OutputConfig
from hepreco.io._layout import as_option, drop_option, event_type, is_option, layout_placeholder
from hepreco.io.provenance import dumps, file_document, read_file_document

__all__ = ["FileOutput", "FileOutputConfig", "OutFile", "stored_name"]

log = logging.getLogger("hepreco.io")

ID_COLUMNS = ("run", "subrun", "event")
#: events an output holds back while a product's type is unknown (its producer ran on no event yet)
PENDING_LIMIT = 1_000_000


def stored_name(product: str, source_label: str, rename: dict[str, str]) -> str:
    """The branch/column name of a product: ``rename`` first; the source's own products keep their
    instance name (so a file read and written again keeps its branch names); others are
    ``label_instance`` (or ``label``)."""
    if product in rename:
        return rename[product]
    label, _, instance = product.partition(":")
    if label == source_label and instance:
        return instance
    return f"{label}_{instance}" if instance else label


def made_on_subset(events: Events, product: str) -> bool:
    """Whether ``product`` was made on a subset of the batch (by a producer after a filter)."""
    return events.coverage(product) is not None


def made_for_no_event(events: Events, product: str) -> bool:
    """Whether the producer of ``product`` ran on no event of this batch (so the array has no real type)."""
    index = events.coverage(product)
    return index is not None and len(index) == 0


def placeholder(array: ak.Array) -> ak.contents.Content:
    """A length-1 layout of the type of ``array``'s values (option removed), zeros and empty lists."""
    values = ak.drop_none(array, axis=0) if is_option(event_type(array)) else array
    return layout_placeholder(ak.to_packed(values).layout)


def all_missing(template: ak.contents.Content, n: int) -> ak.Array:
    """``n`` missing values (None) of the type of ``template``."""
    index = ak.index.Index64(np.full(n, -1, dtype=np.int64))
    return ak.Array(ak.contents.IndexedOptionArray(index, template))


@dataclass
class OutFile:
    """One file an output writes: its final and temporary paths, index and entries so far."""

    final: Path
    tmp: Path
    index: int
    entries: int = 0
    handle: Any = None


class FileOutputConfig(OutputConfig):
    overwrite: bool = True
    """Replace an existing file (art's and ROOT's habit; the end-of-job output list says so). False: refuse
    before the first event, as ``--no-clobber`` does for every output."""
    file: str
    """The file to write (relative to the working directory). With ``max_events_per_file``, a name
    pattern: ``{index}`` is replaced by the file number (``out_{index:03d}.root``); without one,
    ``_000``, ``_001``... go before the suffix."""
    max_events_per_file: int | None = Field(None, gt=0)
    """Start a new file after this many events (all in one file when unset)."""
    rename: dict[str, str] = Field(default_factory=dict)
    """Stored names for products: ``{"hitid:mask": "hit_mask"}``. By default the source's products keep
    their instance name and the others are stored as ``label_instance``."""

    @field_validator("file")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            value.format(index=0)
        except (KeyError, IndexError, ValueError) as err:
            msg = f"file name {value!r} is not a valid pattern: only '{{index}}' may appear in braces ({err})"
            raise ValueError(msg) from None
        return value


class FileOutput(Output):
    """Base class of the file outputs: subclasses convert a batch to columns and write them.

    A new format is one subclass (registered by a plugin's ``hepreco_modules`` hook) that implements
    :meth:`columns`, :meth:`layouts`, :meth:`open`, :meth:`extend`, :meth:`finish`, :meth:`close_quietly`
    and, for jobs split into chunks, :meth:`part_batches` and :meth:`read_document`. The base class does
    the rest: which products to keep (``keep``), their stored names, the event-id columns, types that must
    not change between batches, ``max_events_per_file``, writing to a temporary file renamed into place only
    when the job succeeds, and the provenance document (given to :meth:`finish` as text).

    In a job split into chunks each worker writes one file per chunk (never split by
    ``max_events_per_file``), and the client merges them with :meth:`merge_files` into the files a job
    run in one process writes: the same names, columns, events and event order, split at the same events,
    with the whole job's provenance. A format implements :meth:`part_batches` (a part's columns, in steps).
    """

    Config: ClassVar[type[ModuleConfig]] = FileOutputConfig
    #: ttree, rntuple or parquet
    format_name = ""

    def begin_job(self) -> None:
        self._files: list[OutFile] = []
        self._current: OutFile | None = None
        self._names: dict[str, str] | None = None  # product -> stored name
        self._option: dict[str, bool] = {}
        self._types: dict[str, str] = {}
        self._templates: dict[str, ak.contents.Content] = {}
        self._pending: list[tuple[dict[str, ak.Array], EventIDs, set[str]]] = []
        self._pending_events = 0
        self._written = 0
        #: events per file: ``max_events_per_file``, but None in a chunk on a worker (the client splits)
        self._limit: int | None = self.config.max_events_per_file
        self._merge_target: Path | None = None
        self._merged_products: dict[str, Any] | None = None
        self._in_chunk = False
        self._id_names: tuple[str, str, str] | None = None  # run, subrun, event column names

    def begin_chunk(self) -> None:
        """One file per chunk, whatever ``max_events_per_file``: the client splits when it merges."""
        self.begin_job()
        self._limit = None
        self._in_chunk = True

    # --- naming ----------------------------------------------------------------------------------
    def _source_label(self) -> str:
        src = self.job.config.data.get("source") if self.job is not None else None
        label = src.get("label", "source") if isinstance(src, dict) else "source"
        return str(label)

    def output_files(self) -> list[tuple[str, Path]]:
        """The first file this output writes (with ``max_events_per_file``, the later ones sit beside it)."""
        return [("file", self.file_name(0))]

    def file_name(self, index: int) -> Path:
        pattern = self.config.file
        if "{" in pattern:
            return Path(pattern.format(index=index))
        if self.config.max_events_per_file is None:
            return Path(pattern)
        p = Path(pattern)
        return p.with_name(f"{p.stem}_{index:03d}{p.suffix}")

    @property
    def id_columns(self) -> tuple[str, str, str]:
        """The names of the run, subrun and event columns this output writes: the input's names
        (``JobContext.event_id_names``: ``luminosityBlock`` in a NanoAOD skim), else run, subrun, event."""
        if self._id_names is None:
            names = getattr(self.job, "event_id_names", None) or {}
            self._id_names = tuple(str(names.get(k, k)) for k in ID_COLUMNS)  # type: ignore[assignment]
        assert self._id_names is not None
        return self._id_names

    def _plan(self, events: Events, names: list[str]) -> None:
        stored: dict[str, str] = {}
        taken: dict[str, str] = {c: "the event ids" for c in self.id_columns}
        src = self._source_label()
        for name in names:
            s = stored_name(name, src, dict(self.config.rename))
            if s in taken:
                msg = (
                    f"products '{taken[s]}' and '{name}' would both be stored as '{s}'; give one another name "
                    f'with rename: {{"{name}": NEW_NAME}}'
                )
                if taken[s] == "the event ids":
                    msg = f"product '{name}' would be stored as '{s}', the name of the event-id column; rename it"
                raise ValueError(msg)
            taken[s] = name
            stored[name] = s
            self._option[name] = made_on_subset(events, name) or is_option(event_type(events[name]))
        self._names = stored

    # --- writing ---------------------------------------------------------------------------------
    def write(self, events: Events) -> None:
        names = self.kept_products(events)
        if self._names is None:
            self._plan(events, names)
            assert self._names is not None
        elif set(names) != set(self._names):
            missing = sorted(set(self._names) - set(names))
            extra = sorted(set(names) - set(self._names))
            msg = f"the kept products changed between batches (missing: {missing}, new: {extra})"
            raise ValueError(msg)
        n = len(events)
        arrays: dict[str, ak.Array] = {}
        typeless: set[str] = set()
        for name in self._names:
            arr = events[name]
            if made_for_no_event(events, name):
                # its producer ran on no event of this batch: the framework put an empty placeholder of no
                # particular type; write missing values of the type the product has in other batches
                typeless.add(name)
            elif name not in self._templates:
                self._templates[name] = placeholder(arr)
            arrays[name] = arr
        if typeless - set(self._templates) and self._pending_events + n <= PENDING_LIMIT:
            self._pending.append((arrays, events.ids, typeless))  # wait for a batch that tells the type
            self._pending_events += n
            return
        self._flush_pending()
        self._write_arrays(arrays, events.ids, typeless)

    def _flush_pending(self) -> None:
        pending, self._pending, self._pending_events = self._pending, [], 0
        for arrays, ids, typeless in pending:
            self._write_arrays(arrays, ids, typeless)

    def _write_arrays(self, arrays: dict[str, ak.Array], ids: EventIDs, typeless: set[str]) -> None:
        assert self._names is not None
        n = len(ids)
        stored_arrays: dict[str, ak.Array] = {}
        for name, stored in self._names.items():
            arr = arrays[name]
            if name in typeless and name in self._templates:
                arr = all_missing(self._templates[name], n)
            arr = as_option(arr) if self._option[name] else drop_option(arr, f"product '{name}'")
            t = str(event_type(arr))
            if self._types.setdefault(name, t) != t:
                msg = f"product '{name}' has type {t} in this batch but {self._types[name]} in the first one"
                raise ValueError(msg)
            stored_arrays[stored] = arr
        origins = {stored: name for name, stored in self._names.items()}
        columns = self.columns(stored_arrays, origins)
        run, subrun, event = self.id_columns
        columns = {run: ids.run, subrun: ids.subrun, event: ids.event, **columns}
        self._write_columns(columns, n)

    def _write_columns(self, columns: Any, n: int) -> None:
        """Write ``n`` events' columns, starting a new file every ``max_events_per_file`` events."""
        limit = self._limit
        pos = 0
        while pos < n:
            cur = self._current
            if cur is None or (limit is not None and cur.entries >= limit):
                cur = self._next_file(columns)
            take = n - pos if limit is None else min(n - pos, limit - cur.entries)
            part = columns if (pos == 0 and take == n) else self.slice_columns(columns, pos, pos + take)
            self.extend(cur, part)
            cur.entries += take
            self._written += take
            pos += take

    def _next_file(self, columns: Any) -> OutFile:
        if self._current is not None:
            self.rollover(self._current)
        index = len(self._files)
        final = self.file_name(index)
        if index == 0 and self._merge_target is not None:
            tmp = self._merge_target  # the temporary path the framework gave merge_files
        else:
            tmp = self.atomic_path(final)
        out = OutFile(final, tmp, index)
        log.info("%s: writing %s", self.label, final)
        out.handle = self.open(out, columns)
        self._files.append(out)
        self._current = out
        return out

    def end_job(self) -> None:
        self._flush_pending()
        if not self._files:
            self._next_file(None)
        products = self.layouts() if self._merged_products is None else self._merged_products
        for f in self._files:
            doc = file_document(
                self.job,
                fmt=self.format_name,
                tree=self.tree_name(),
                entries=f.entries,
                file_index=f.index,
                products=products,
            )
            doc[EVENT_IDS_KEY] = list(self.id_columns)
            if self._in_chunk and self._names is not None:
                # products whose producer ran on no event of this chunk: written with a type of no meaning,
                # which the client replaces by the type they have in other chunks when it merges
                doc[UNTYPED_KEY] = [s for name, s in self._names.items() if name not in self._templates]
            self.finish(f, dumps(doc))
        self.summary(
            files=", ".join(str(f.final) for f in self._files),
            events_written=self._written,
        )

    # --- jobs split into chunks: merging the per-chunk files ---------------------------------------
    def merge_files(self, parts: Sequence[Path], final: Path) -> None:
        """Write the per-chunk files ``parts`` (one per chunk, in event order) into ``final`` (and, with
        ``max_events_per_file``, into the files after it) as a job run in one process writes them: the same
        columns, the same events in the same order, a new file at the same events, the whole job's
        provenance. Parts are read in steps (:meth:`part_batches`), so memory stays what one step needs."""
        self.begin_job()
        self._merge_target = Path(final)
        try:
            docs: list[dict[str, Any]] = []
            for part in parts:
                doc = self.read_document(part)
                if doc is None:
                    msg = f"{part}: a per-chunk file without hepreco provenance"
                    raise ValueError(msg)
                docs.append(doc)
            if docs:
                self._id_names = doc_id_columns(docs[0])
            full = [(Path(p), d) for p, d in zip(parts, docs, strict=True) if int(d.get("entries", 0)) > 0]
            products, origin = _merged_layouts(full, docs)
            for part, doc in full:
                untyped = [n for n, lay in products.items() if doc["products"].get(n) != lay]
                for name in untyped:
                    if name not in doc.get(UNTYPED_KEY, ()):
                        _mismatch(name, products[name], doc["products"].get(name), origin[name], part)
                doc = {**doc, "products": {n: doc["products"][n] for n in products}}  # in the merged file's order
                if untyped:
                    refs = {name: origin[name] for name in untyped}
                    batches = self.part_batches_filled(part, doc, products, refs)
                else:
                    batches = self.part_batches(part, doc)
                for columns, n in batches:
                    self._write_columns(columns, n)
            self._merged_products = products
            self.end_job()
        except BaseException:
            self.abort()
            raise
        finally:
            self._merge_target = None

    def abort(self) -> None:
        for f in getattr(self, "_files", []):
            try:
                self.close_quietly(f)
            except Exception as err:  # the file is deleted anyway
                log.debug("closing %s after a failure: %s", f.tmp, err)

    # --- what a format implements ----------------------------------------------------------------
    def tree_name(self) -> str | None:
        """The tree (TTree, RNTuple) the output writes, for formats that have one."""
        return None

    def read_document(self, path: Path) -> dict[str, Any] | None:
        """The hepreco provenance document of a file this output wrote (None if it has none). The default
        reads ROOT and Parquet files; another format overrides it."""
        return read_file_document(path)

    def columns(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> dict[str, Any]:
        """The columns (branch name -> array) of one batch, from the products (stored name -> array)."""
        raise NotImplementedError

    def layouts(self) -> dict[str, Any]:
        """The ``products`` entry of the provenance document."""
        raise NotImplementedError

    def open(self, out: OutFile, columns: dict[str, Any] | None) -> Any:
        raise NotImplementedError

    def extend(self, out: OutFile, columns: dict[str, Any]) -> None:
        raise NotImplementedError

    def slice_columns(self, columns: Any, start: int, stop: int) -> Any:
        """Events ``start`` to ``stop`` of ``columns`` (what :meth:`columns` or :meth:`part_batches` gives)."""
        return {k: v[start:stop] for k, v in columns.items()}

    def part_batches(self, part: Path, doc: dict[str, Any]) -> Iterator[tuple[Any, int]]:
        """``(columns, events)`` of a per-chunk file this output wrote (``doc``: its provenance), in steps,
        the columns as :meth:`extend` takes them."""
        raise NotImplementedError

    def part_batches_filled(
        self, part: Path, doc: dict[str, Any], products: dict[str, Any], refs: dict[str, tuple[Path, dict[str, Any]]]
    ) -> Iterator[tuple[Any, int]]:
        """:meth:`part_batches` of a part in which the products ``refs`` have no type (their producer ran on
        no event of the chunk): those are written as missing values of the type they have in the part
        ``refs[name]``, as a job run in one process writes them; ``products``: the merged file's layouts."""
        raise NotImplementedError

    def rollover(self, out: OutFile) -> None:
        """Called when ``out`` is full and the next file starts."""

    def finish(self, out: OutFile, provenance: str) -> None:
        raise NotImplementedError

    def close_quietly(self, out: OutFile) -> None:
        raise NotImplementedError


#: key of a per-chunk file's provenance listing the products that got no type in that chunk
UNTYPED_KEY = "untyped_in_chunk"
#: key of a file's provenance naming its run, subrun and event columns
EVENT_IDS_KEY = "event_ids"


def doc_id_columns(doc: dict[str, Any]) -> tuple[str, str, str]:
    """The run, subrun and event column names of a file hepreco wrote (``ID_COLUMNS`` in older files)."""
    names = doc.get(EVENT_IDS_KEY) or ID_COLUMNS
    return (str(names[0]), str(names[1]), str(names[2]))


def _merged_layouts(
    full: list[tuple[Path, dict[str, Any]]], docs: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, tuple[Path, dict[str, Any]]]]:
    """The layout of each product in the merged file (from the first part where it has a type, else the
    first part) and the part it comes from."""
    if not full:
        return next((d["products"] for d in docs if d["products"]), {}), {}
    layouts: dict[str, Any] = {}
    origin: dict[str, tuple[Path, dict[str, Any]]] = {}
    for name in full[0][1]["products"]:
        part, doc = next(((p, d) for p, d in full if name not in d.get(UNTYPED_KEY, ())), full[0])
        if name in doc["products"]:
            layouts[name], origin[name] = doc["products"][name], (part, doc)
    for part, doc in full[1:]:  # a product the first part lacks: the parts disagree
        extra = next((n for n in doc["products"] if n not in layouts), None)
        if extra is not None:
            _mismatch(extra, None, doc["products"][extra], full[0], part)
    return layouts, origin


def _mismatch(name: str, a: Any, b: Any, first: tuple[Path, dict[str, Any]], part: Path) -> None:
    what_a = a.get("type", a) if a else "nothing"
    what_b = b.get("type", b) if b else "nothing"
    msg = (
        f"cannot merge the per-chunk files: product '{name}' is stored as {what_a} in {first[0]} but as "
        f"{what_b} in {part}"
    )
    raise ValueError(msg)


def id_arrays(n: int, names: Sequence[str] = ID_COLUMNS) -> dict[str, np.ndarray]:
    run, subrun, event = names
    return {
        run: np.zeros(n, dtype=np.uint32),
        subrun: np.zeros(n, dtype=np.uint32),
        event: np.zeros(n, dtype=np.uint64),
    }
