"""This module defines RootOutput: kept products written to a TTree (or an RNTuple) with uproot."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
from pydantic import field_validator

from hepreco.io._layout import (
    VALID_SUFFIX,
    ProductLayout,
    assemble,
    event_type,
    split_option,
    tree_layout,
    zip_lists,
)
from hepreco.io._output import FileOutput, FileOutputConfig, OutFile, all_missing, id_arrays, placeholder
from hepreco.io.provenance import PROVENANCE_KEY

__all__ = ["RootOutput"]

_ALGORITHMS = {"zlib": "ZLIB", "lzma": "LZMA", "lz4": "LZ4", "zstd": "ZSTD"}
_DEFAULT_LEVEL = {"zlib": 1, "lzma": 9, "lz4": 4, "zstd": 5}
#: how much of a per-chunk file the client reads at a time when it merges the parts (uproot's step_size)
MERGE_STEP = "64 MB"


def _compression(text: str | None) -> Any:
    import uproot

    if text is None or text.lower() in ("none", "0", ""):
        return None
    algo, _, level = text.partition(":")
    cls = getattr(uproot, _ALGORITHMS[algo.lower()])
    return cls(int(level) if level else _DEFAULT_LEVEL[algo.lower()])


def _as_column(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value
    return ak.to_packed(value)


def _unpacked(array: ak.Array) -> Any:
    """A column read back: flat numbers as numpy (as they were written), anything else as awkward."""
    layout = array.layout
    if isinstance(layout, ak.contents.NumpyArray) and layout.data.ndim == 1:
        return ak.to_numpy(array)
    return array


def _stored_columns(lay: ProductLayout, arrays: dict[str, Any], part: Path) -> dict[str, Any]:
    """The columns of one product read back from a file, as :meth:`RootOutput.columns` made them."""
    cols: dict[str, Any] = {}
    if lay.valid:
        cols[lay.valid] = _unpacked(arrays[lay.valid])
    if lay.kind == "list":  # the records' fields share one counter: one column again
        cols[lay.name] = zip_lists({f: arrays[b] for f, b in lay.fields.items()}, str(part))
    else:
        cols.update({b: _unpacked(arrays[b]) for b in lay.fields.values()})
    return cols


#: prefix of the key under which the branches sharing one counter are handed to uproot as one list of records
_GROUP = "\x00counted-by:"


def _shared_counters(layouts: dict[str, ProductLayout]) -> dict[str, list[str]]:
    """``{counter: [branch, ...]}`` for single-branch jagged products counted by a counter of another name
    (the input's shared counter, NanoAOD's ``nMuon`` for ``Muon_pt``, ``Muon_eta``...), or whose counter is also
    a product (the input's counter read as a product, ``nLHEPdfWeight``)."""
    out: dict[str, list[str]] = {}
    stored = {lay.fields[""] for lay in layouts.values() if lay.kind == "branch"}
    for lay in layouts.values():
        if lay.kind != "branch" or len(lay.counters) != 1:
            continue
        counter = lay.counters[0]
        if counter != f"n{lay.fields['']}" or counter in stored:
            out.setdefault(counter, []).append(lay.fields[""])
    return out


def _branch_type(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.dtype
    return ak.type(ak.Array(value) if isinstance(value, np.ndarray) else value)


class RootOutput(FileOutput):
    """Write the kept products of the selected events to a TTree with uproot, ROOT's own format.

    Each event gets branches ``run``, ``subrun``, ``event`` and the kept products (``keep``/``drop``, art's
    outputCommands) of the events that passed the ``select`` paths. Numbers, strings, fixed-size arrays
    (an ``(N, 71, 71, 2)`` image is a ``float[71][71][2]`` branch), jagged arrays (``nNAME`` counts them),
    lists of records (``NAME_x``, ``NAME_y`` sharing ``nNAME``) and records of those; a product made after
    a filter (an option type) gets a bool branch ``NAME__valid`` and, where it is missing, NaN (floating point),
    zero (integers, bools) or an empty list. The file
    also holds ``hepreco_provenance`` (a TObjString of JSON): the job's resolved config, versions, seed,
    inputs and the history of the jobs before it; ``hepreco provenance FILE`` prints it.

    The file is written under a temporary name and renamed when the job ends well. ``format: rntuple``
    writes ROOT's RNTuple instead (any awkward type; option types as in a TTree, a value and ``NAME__valid``:
    ROOT 6.40 refuses the ``optional<T>`` fields uproot writes).
    Under ``--executor processes`` or ``dask`` each chunk's events go to a file of their own and the client
    merges them, in event order, into the requested file(s), the same as an inline job writes.

    Examples:
        Selected events' muons and dimuon mass::

            out: {module: RootOutput, file: selected.root, select: [dimuon], keep: ["source:muons", "mass"]}
    """

    class Config(FileOutputConfig):
        tree: str | None = None
        """Name of the TTree (or RNTuple). Default: the name of the tree the job reads (``Events`` in a NanoAOD
        skim), else ``events``."""
        format: Literal["ttree", "rntuple"] = "ttree"
        """``ttree`` (readable by every ROOT, uproot and coffea) or ``rntuple`` (ROOT's new columnar format)."""
        compression: str | None = "zlib:1"
        """``ALGORITHM:LEVEL`` with zlib, lzma, lz4 or zstd (``zstd:5``), or none."""

        @field_validator("compression")
        @classmethod
        def _check_compression(cls, value: str | None) -> str | None:
            if value is None or value.lower() in ("none", "0", ""):
                return value
            algo, _, level = value.partition(":")
            if algo.lower() not in _ALGORITHMS or (level and not level.isdigit()):
                msg = f"compression {value!r}: give ALGORITHM[:LEVEL] with ALGORITHM one of {', '.join(_ALGORITHMS)}"
                raise ValueError(msg)
            return value

    def begin_job(self) -> None:
        super().begin_job()
        self.format_name = self.config.format
        self._layouts: dict[str, ProductLayout] = {}

    def tree_name(self) -> str:
        if self.config.tree:
            return str(self.config.tree)
        return str(getattr(self.job, "input_tree", None) or "events")

    # --- columns ---------------------------------------------------------------------------------
    def _tree_layouts(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> None:
        ids = self.id_columns
        shared: dict[str, str] = dict(getattr(self.job, "input_counters", None) or {})
        layouts: dict[str, ProductLayout] = {}
        for stored, arr in arrays.items():
            origin = origins[stored]
            lay = tree_layout(stored, event_type(arr), option=self._option[origin], origin=origin)
            counter = shared.get(origin)
            if counter and lay.kind == "branch" and lay.counters and not lay.valid:
                # read from a branch counted by a shared counter (NanoAOD's nMuon): counted by it again
                lay = dataclasses.replace(lay, counters=(counter,))
            layouts[stored] = lay
        counted = set(_shared_counters(layouts))
        taken: dict[str, str] = {c: "the event ids" for c in ids}
        for stored, lay in layouts.items():
            origin = lay.origin or stored
            if stored in counted and lay.kind == "branch" and not lay.counters and not lay.valid:
                continue  # the input's counter itself (nMuon): written once, as the counter of its group
            for b in lay.all_branches():
                if b in counted and b in lay.counters:
                    continue
                if b in taken:
                    msg = (
                        f"product '{origin}' needs branch '{b}', which {taken[b]} "
                        f"{'uses' if taken[b] == 'the event ids' else 'also needs'}; rename one "
                        f'(rename: {{"{origin}": NEW_NAME}})'
                    )
                    raise ValueError(msg)
                taken[b] = "the event ids" if b in ids else f"product '{origin}'"
        for c in counted:
            if c in taken:
                msg = f"the counter '{c}' of the input's jagged branches is also the name of a branch of {taken[c]}; rename it"
                raise ValueError(msg)
        self._layouts = layouts

    def _ntuple_layouts(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> None:
        taken = set(self.id_columns) | set(arrays)
        for stored, arr in arrays.items():
            origin = origins[stored]
            valid = f"{stored}{VALID_SUFFIX}" if self._option[origin] else None
            if valid in taken:
                msg = f"product '{origin}' needs field '{valid}', which another product uses; rename one"
                raise ValueError(msg)
            if valid:
                taken.add(valid)
            self._layouts[stored] = ProductLayout(
                stored, "native", {"": stored}, valid=valid, type=str(event_type(arr)), origin=origin
            )

    def columns(self, arrays: dict[str, ak.Array], origins: dict[str, str]) -> dict[str, Any]:
        if self.config.format == "rntuple":
            if not self._layouts and arrays:
                self._ntuple_layouts(arrays, origins)
            cols: dict[str, Any] = {}
            for stored, arr in arrays.items():
                lay = self._layouts[stored]
                if lay.valid:  # ROOT 6.40 cannot read uproot's optional fields: zeros + a validity field
                    valid, arr = split_option(arr)
                    cols[lay.valid] = valid
                cols[stored] = _as_column(arr)
            return cols
        if not self._layouts and arrays:
            self._tree_layouts(arrays, origins)
        cols = {}
        for stored, arr in arrays.items():
            lay = self._layouts[stored]
            if lay.valid:
                valid, arr = split_option(arr)
                cols[lay.valid] = valid
            if lay.kind == "record":
                for field, branch in lay.fields.items():
                    cols[branch] = _as_column(arr[field])
            else:
                cols[stored] = _as_column(arr)
        return cols

    def layouts(self) -> dict[str, Any]:
        return {name: lay.to_json() for name, lay in self._layouts.items()}

    def _grouped(self, columns: dict[str, Any]) -> dict[str, Any]:
        """``columns`` with the branches that share an input counter as one list of records (uproot then
        writes one counter for them, named as in the input) and the counter product left out (it is that
        counter; checked to agree)."""
        groups = _shared_counters(self._layouts)
        if not groups or any(k.startswith(_GROUP) for k in columns):
            return columns
        member_of = {b: c for c, bs in groups.items() for b in bs}
        out: dict[str, Any] = {}
        for k, v in columns.items():
            c = member_of.get(k)
            if c is None:
                if k not in groups:
                    out[k] = v
            elif _GROUP + c not in out:
                out[_GROUP + c] = zip_lists({b: columns[b] for b in groups[c]}, f"branches counted by '{c}'")
        for c in groups:
            if c in columns:
                counts = np.asarray(ak.num(out[_GROUP + c], axis=1))
                if not np.array_equal(np.asarray(columns[c]).astype(np.int64), counts.astype(np.int64)):
                    msg = f"product '{c}' is written as the counter of {', '.join(groups[c])}, but its values differ from their lengths"
                    raise ValueError(msg)
        return out

    # --- files -----------------------------------------------------------------------------------
    def open(self, out: OutFile, columns: dict[str, Any] | None) -> Any:
        import uproot

        if columns is None:
            columns = id_arrays(0, self.id_columns)
        elif self.config.format != "rntuple":
            columns = self._grouped(columns)
        f = uproot.recreate(out.tmp, compression=_compression(self.config.compression))
        try:
            if self.config.format == "rntuple":
                form = ak.zip(dict(columns), depth_limit=1).layout.form
                tree = f.mkrntuple(self.tree_name(), form)
            else:
                types = {k: _branch_type(v) for k, v in columns.items()}
                tree = f.mktree(
                    self.tree_name(),
                    types,
                    counter_name=lambda counted: (
                        counted.removeprefix(_GROUP) if counted.startswith(_GROUP) else f"n{counted}"
                    ),
                    field_name=lambda outer, inner: (
                        inner if outer == "" or outer.startswith(_GROUP) else f"{outer}_{inner}"
                    ),
                )
        except Exception:
            f.close()
            raise
        return (f, tree)

    def extend(self, out: OutFile, columns: dict[str, Any]) -> None:
        _f, tree = out.handle
        if self.config.format == "rntuple":
            tree.extend(ak.zip(dict(columns), depth_limit=1))
        else:
            tree.extend(self._grouped(columns))

    def rollover(self, out: OutFile) -> None:
        f, _tree = out.handle
        f.close()
        out.handle = None

    def finish(self, out: OutFile, provenance: str) -> None:
        import uproot

        if out.handle is not None:
            f, _tree = out.handle
            f[PROVENANCE_KEY] = provenance
            f.close()
            out.handle = None
        else:
            with uproot.update(out.tmp) as f:
                f[PROVENANCE_KEY] = provenance

    def _read_part(self, part: Path, layouts: list[ProductLayout]) -> Iterator[dict[str, Any]]:
        """The branches of ``layouts`` (and the event ids) of a per-chunk file, in steps of ``MERGE_STEP``."""
        import uproot

        wanted = list(self.id_columns)
        for lay in layouts:
            wanted.extend(lay.branches())
        wanted = list(dict.fromkeys(wanted))
        with uproot.open(part) as f:
            yield from f[self.tree_name()].iterate(wanted, step_size=MERGE_STEP, library="ak", how=dict)

    def part_batches(self, part: Path, doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], int]]:
        """The columns of a per-chunk file, as :meth:`columns` made them, in steps of at most ``MERGE_STEP``."""
        layouts = [ProductLayout.from_json(name, d) for name, d in doc["products"].items()]
        if not self._layouts:
            self._layouts = {lay.name: lay for lay in layouts}  # for the shared counters of open()/extend()
        ids = self.id_columns
        for arrays in self._read_part(part, layouts):
            cols: dict[str, Any] = {k: _unpacked(arrays[k]) for k in ids}
            for lay in layouts:
                cols.update(_stored_columns(lay, arrays, part))
            yield cols, len(arrays[ids[0]])

    def part_batches_filled(
        self, part: Path, doc: dict[str, Any], products: dict[str, Any], refs: dict[str, tuple[Path, dict[str, Any]]]
    ) -> Iterator[tuple[dict[str, Any], int]]:
        layouts = {name: ProductLayout.from_json(name, d) for name, d in products.items()}
        templates: dict[str, ak.contents.Content] = {}
        for name, (ref, _doc) in refs.items():  # the type, from the first step of a part where it has one
            lay = layouts[name]
            steps = self._read_part(ref, [lay])
            templates[name] = placeholder(assemble(lay, next(steps), str(ref)))
            close = getattr(steps, "close", None)
            if close is not None:
                close()
        self._layouts = dict(layouts)  # for columns(): the merged file's layouts
        typed = [lay for name, lay in layouts.items() if name not in refs]
        ids = self.id_columns
        for arrays in self._read_part(part, typed):
            n = len(arrays[ids[0]])
            cols: dict[str, Any] = {k: _unpacked(arrays[k]) for k in ids}
            for name, lay in layouts.items():
                if name in refs:
                    cols.update(self.columns({name: all_missing(templates[name], n)}, {name: lay.origin or name}))
                else:
                    cols.update(_stored_columns(lay, arrays, part))
            yield cols, n

    def close_quietly(self, out: OutFile) -> None:
        if out.handle is not None:
            f, _tree = out.handle
            out.handle = None
            f.close()
