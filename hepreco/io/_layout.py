"""This module maps products to TTree branches and back: which awkward types a TTree can hold, how a
product is split into branches, and how branches are assembled into products again.

The representation, for a product stored under the name ``NAME`` (see ``RootOutput``):

==============================================  ===============================================
product type (per event)                        branches
==============================================  ===============================================
number, bool                                    ``NAME``
fixed-size array (``71 * 71 * 2 * float32``)    ``NAME`` (``float[71][71][2]``)
string                                          ``NAME`` (``char*``)
jagged array of numbers (``var * float32``)     ``NAME`` counted by ``nNAME``
list of records (``var * {x, y}``)              ``NAME_x``, ``NAME_y`` counted by ``nNAME``
record (``{a, b}``) of any of the first four    ``NAME_a``, ``NAME_b`` (jagged ones counted by ``nNAME_a``)
option type (``?T``, made after a filter)       the branches of ``T``, with NaN (floating point), zero
                                                (integers, bools) or empty lists for the missing
                                                events, and a bool branch ``NAME__valid``
==============================================  ===============================================

Each file also records this mapping (``products`` in its provenance document), so RootSource gives
back the same products, option types included, without guessing from branch names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

__all__ = [
    "ProductLayout",
    "assemble",
    "is_option",
    "layout_placeholder",
    "split_option",
    "tree_kind",
    "zip_lists",
]

NUMERIC = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]
)
VALID_SUFFIX = "__valid"
TREE_SUPPORTED = (
    "numbers, bools, strings, fixed-size arrays of numbers, jagged arrays of numbers, lists of records of "
    "numbers, and records of those"
)


@dataclass(frozen=True)
class ProductLayout:
    """How one product is stored: its branches and how to put them together.

    Attributes:
        name: the product's name in the file (the instance name a RootSource gives it).
        kind: ``branch`` (one branch), ``list`` (a list of records: one branch per field sharing a
            counter) or ``record`` (one branch per field).
        fields: field name -> branch name (``{"": branch}`` for kind ``branch``).
        valid: the bool branch that says which events have a value (option-type products), or None.
        record_name: the awkward record name (``__record__``) to put back, or None.
        type: the awkward type of the product, for display.
        origin: the InputTag of the product in the job that wrote it.
    """

    name: str
    kind: str
    fields: dict[str, str]
    valid: str | None = None
    record_name: str | None = None
    type: str = ""
    origin: str = ""
    counters: tuple[str, ...] = field(default=())

    def branches(self) -> list[str]:
        """The branches to read for this product."""
        out = list(self.fields.values())
        if self.valid:
            out.append(self.valid)
        return out

    def all_branches(self) -> list[str]:
        """Every branch in the file that belongs to this product, counters included."""
        return [*self.branches(), *self.counters]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fields": dict(self.fields),
            "valid": self.valid,
            "record_name": self.record_name,
            "counters": list(self.counters),
            "type": self.type,
            "origin": self.origin,
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> ProductLayout:
        kind = data.get("kind", "branch")
        fields = data.get("fields") or {"": name}
        if kind not in ("branch", "list", "record", "native"):
            msg = f"product '{name}': unknown layout kind {kind!r}"
            raise ValueError(msg)
        return cls(
            name=name,
            kind=kind,
            fields={str(k): str(v) for k, v in fields.items()},
            valid=data.get("valid"),
            record_name=data.get("record_name"),
            type=str(data.get("type", "")),
            origin=str(data.get("origin", "")),
            counters=tuple(data.get("counters") or ()),
        )


# --- types ---------------------------------------------------------------------------------------
def _is_string(t: ak.types.Type) -> bool:
    return isinstance(t, ak.types.ListType) and t.parameter("__array__") in ("string", "bytestring")


def _is_leaf(t: ak.types.Type) -> bool:
    """Whether values of per-event type ``t`` fit in one TTree branch."""
    if isinstance(t, ak.types.NumpyType):
        return t.primitive in NUMERIC
    if _is_string(t):
        return True
    if isinstance(t, ak.types.RegularType):
        while isinstance(t, ak.types.RegularType):
            t = t.content
        return isinstance(t, ak.types.NumpyType) and t.primitive in NUMERIC
    if isinstance(t, ak.types.ListType):
        return isinstance(t.content, ak.types.NumpyType) and t.content.primitive in NUMERIC
    return False


def _is_jagged(t: ak.types.Type) -> bool:
    return isinstance(t, ak.types.ListType) and not _is_string(t)


def is_option(t: ak.types.Type) -> bool:
    return isinstance(t, ak.types.OptionType)


def event_type(array: ak.Array) -> ak.types.Type:
    """The type of one event's value (the array's type without its length)."""
    return ak.type(array).content


def tree_kind(t: ak.types.Type) -> str | None:
    """``branch``, ``list`` or ``record`` for a per-event type a TTree can hold (option removed); else None."""
    if is_option(t):
        t = t.content
    if _is_leaf(t):
        return "branch"
    if (
        _is_jagged(t)
        and isinstance(t.content, ak.types.RecordType)
        and not t.content.is_tuple
        and t.content.fields
        and all(isinstance(c, ak.types.NumpyType) and c.primitive in NUMERIC for c in t.content.contents)
    ):
        return "list"
    if isinstance(t, ak.types.RecordType) and not t.is_tuple and t.fields and all(_is_leaf(c) for c in t.contents):
        return "record"
    return None


def record_name(t: ak.types.Type) -> str | None:
    if is_option(t):
        t = t.content
    if isinstance(t, ak.types.ListType):
        t = t.content
    return t.parameter("__record__") if isinstance(t, ak.types.RecordType) else None


def tree_layout(name: str, t: ak.types.Type, *, option: bool, origin: str = "") -> ProductLayout:
    """The branches product ``name`` of per-event type ``t`` is written to; TypeError if a TTree cannot hold it."""
    kind = tree_kind(t)
    if kind is None:
        msg = (
            f"product '{origin or name}' has type {t}, which TTree branches cannot hold (they hold "
            f"{TREE_SUPPORTED}); write it with format: rntuple, or with ParquetOutput, or drop it"
        )
        raise TypeError(msg)
    inner = t.content if is_option(t) else t
    counters: list[str] = []
    if kind == "branch":
        fields = {"": name}
        if _is_jagged(inner):
            counters.append(f"n{name}")
    elif kind == "list":
        fields = {f: f"{name}_{f}" for f in inner.content.fields}
        counters.append(f"n{name}")
    else:
        fields = {f: f"{name}_{f}" for f in inner.fields}
        counters.extend(f"n{name}_{f}" for f, c in zip(inner.fields, inner.contents, strict=True) if _is_jagged(c))
    return ProductLayout(
        name=name,
        kind=kind,
        fields=fields,
        valid=f"{name}{VALID_SUFFIX}" if option else None,
        record_name=record_name(t),
        type=str(t if option or not is_option(t) else t.content),
        origin=origin,
        counters=tuple(counters),
    )


# --- writing -------------------------------------------------------------------------------------
def layout_placeholder(layout: ak.contents.Content, nan: bool = False) -> ak.contents.Content:
    """A length-1 layout of the same type as ``layout``, all zeros / empty lists / empty strings (with
    ``nan``, floating-point numbers are NaN instead of zero)."""
    c = ak.contents
    if isinstance(layout, c.NumpyArray):
        data = np.zeros((1, *layout.data.shape[1:]), dtype=layout.data.dtype)
        if nan and np.issubdtype(data.dtype, np.floating):
            data[...] = np.nan
        return c.NumpyArray(data, parameters=layout.parameters)
    if isinstance(layout, c.ListOffsetArray | c.ListArray):
        return c.ListOffsetArray(
            ak.index.Index64(np.zeros(2, dtype=np.int64)), layout.content[0:0], parameters=layout.parameters
        )
    if isinstance(layout, c.RegularArray):
        inner = ak.Array(layout_placeholder(layout.content, nan))
        return c.RegularArray(
            inner[np.zeros(layout.size, dtype=np.int64)].layout, layout.size, 1, parameters=layout.parameters
        )
    if isinstance(layout, c.RecordArray):
        return c.RecordArray(
            [layout_placeholder(x, nan) for x in layout.contents],
            None if layout.is_tuple else layout.fields,
            length=1,
            parameters=layout.parameters,
        )
    if isinstance(layout, c.IndexedArray):
        return layout_placeholder(layout.project(), nan)
    if layout.is_option:
        return c.IndexedOptionArray(ak.index.Index64(np.array([-1], dtype=np.int64)), layout.content)
    msg = f"cannot make a placeholder for {type(layout).__name__}"
    raise TypeError(msg)


def split_option(array: ak.Array) -> tuple[np.ndarray, ak.Array]:
    """``(valid, values)``: which events have a value, and the values where missing: NaN for floating-point
    numbers, zero for integers and bools, empty lists and strings (hepreco's rule for TTree and RNTuple)."""
    n = len(array)
    if not is_option(event_type(array)):
        return np.ones(n, dtype=bool), array
    valid = ~np.asarray(ak.to_numpy(ak.is_none(array, axis=0)), dtype=bool)
    content = ak.drop_none(array, axis=0)
    if valid.all():
        return valid, content
    filled = ak.concatenate([content, ak.Array(layout_placeholder(ak.to_packed(content).layout, nan=True))])
    index = np.cumsum(valid) - 1
    index[~valid] = len(content)
    return valid, filled[index]


def as_option(array: ak.Array) -> ak.Array:
    """``array`` as an option type (unchanged if it is one already)."""
    if is_option(event_type(array)):
        return array
    return ak.Array(ak.contents.UnmaskedArray.simplified(array.layout), behavior=array.behavior)


def drop_option(array: ak.Array, what: str) -> ak.Array:
    """``array`` without its option type; ValueError if it has missing values."""
    if not is_option(event_type(array)):
        return array
    if ak.any(ak.is_none(array, axis=0)):
        msg = (
            f"{what} has missing values (None) in this batch, but was written without a validity branch "
            "because the first batch had none; give it one type in every batch (e.g. ak.fill_none)"
        )
        raise ValueError(msg)
    return ak.drop_none(array, axis=0)


# --- reading -------------------------------------------------------------------------------------
def zip_lists(columns: Mapping[str, ak.Array], where: str) -> ak.Array:
    """Jagged arrays with the same counts, as one list of records (fields in ``columns`` order)."""
    names = list(columns)
    layouts = [ak.to_layout(columns[k]) for k in names]
    c = ak.contents
    if all(isinstance(x, c.ListOffsetArray) for x in layouts):
        offsets = layouts[0].offsets.data
        if all(x.offsets.data is offsets or np.array_equal(x.offsets.data, offsets) for x in layouts[1:]):
            length = int(offsets[-1]) if len(offsets) else 0
            record = c.RecordArray([x.content for x in layouts], names, length=length)
            return ak.Array(c.ListOffsetArray(layouts[0].offsets, record))
    counts = [np.asarray(ak.num(columns[k], axis=1)) for k in names]
    for k, cnt in zip(names[1:], counts[1:], strict=True):
        if len(cnt) != len(counts[0]) or not np.array_equal(cnt, counts[0]):
            bad = int(np.flatnonzero(cnt != counts[0])[0]) if len(cnt) == len(counts[0]) else 0
            msg = (
                f"{where}: branches '{names[0]}' and '{k}' do not have the same number of entries per event "
                f"(entry {bad} of this batch: {counts[0][bad]} and {cnt[bad]}), so they cannot be one record"
            )
            raise ValueError(msg)
    return ak.zip(dict(columns), depth_limit=2)


def assemble(layout: ProductLayout, columns: Mapping[str, ak.Array], where: str) -> ak.Array:
    """The product ``layout`` describes, from the arrays of its branches."""
    if layout.kind in ("branch", "native"):
        array = columns[layout.fields[""]]
    elif layout.kind == "list":
        array = zip_lists({f: columns[b] for f, b in layout.fields.items()}, where)
    else:
        array = ak.zip({f: columns[b] for f, b in layout.fields.items()}, depth_limit=1)
    if layout.record_name:
        array = ak.with_name(array, layout.record_name)
    if layout.valid:
        array = ak.mask(array, np.asarray(ak.to_numpy(columns[layout.valid]), dtype=bool))
    return array
