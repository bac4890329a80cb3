"""This module defines Events, one batch of events as a module sees it, and the product store behind it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import awkward as ak
import numpy as np

from hepreco.core.inputtag import InputTag
from hepreco.errors import ProductNotFound

__all__ = ["EventIDs", "Events", "ProductStore", "to_array"]


class EventIDs:
    """The run, subrun and event numbers of a batch of events, one numpy array each.

    ``EventIDs(run, subrun, event)`` holds them; :meth:`deferred` holds their number and a function that reads
    them, called the first time ``run``, ``subrun`` or ``event`` is read (a ROOT source reads the id branches
    only for a job that looks at them: most analyses never do, and they can be a third of what is read).

    Examples:
        >>> ids = EventIDs.deferred(3, lambda: (np.ones(3, np.uint32), np.zeros(3, np.uint32), np.arange(1, 4, dtype=np.uint64)))
        >>> len(ids), ids.loaded
        (3, False)
        >>> ids.take(np.array([0, 2])).event.tolist(), ids.loaded
        ([1, 3], True)
    """

    __slots__ = ("_arrays", "_load", "_n")

    def __init__(self, run: np.ndarray, subrun: np.ndarray, event: np.ndarray) -> None:
        n = len(event)
        if len(run) != n or len(subrun) != n:
            msg = f"EventIDs: run ({len(run)}), subrun ({len(subrun)}) and event ({n}) differ in length"
            raise ValueError(msg)
        self._n = n
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = (run, subrun, event)
        self._load: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    @classmethod
    def deferred(cls, n: int, load: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]) -> EventIDs:
        """The ids of ``n`` events that ``load()`` returns as ``(run, subrun, event)`` when first read."""
        ids = cls.__new__(cls)
        ids._n = n
        ids._arrays = None
        ids._load = load
        return ids

    @property
    def loaded(self) -> bool:
        """Whether the arrays are in memory (always, unless made by :meth:`deferred` and not read yet)."""
        return self._arrays is not None

    def _get(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            assert self._load is not None
            run, subrun, event = self._load()
            if not len(run) == len(subrun) == len(event) == self._n:
                msg = f"EventIDs: read {len(run)}/{len(subrun)}/{len(event)} run/subrun/event numbers for {self._n} events"
                raise ValueError(msg)
            self._arrays, self._load = (run, subrun, event), None
        return self._arrays

    @property
    def run(self) -> np.ndarray:
        return self._get()[0]

    @property
    def subrun(self) -> np.ndarray:
        return self._get()[1]

    @property
    def event(self) -> np.ndarray:
        return self._get()[2]

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        if self._arrays is None:
            return f"EventIDs({self._n} events, not read yet)"
        return f"EventIDs(run={self.run!r}, subrun={self.subrun!r}, event={self.event!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (to and from workers) with its numbers
        return (EventIDs, self._get())

    def _select(self, key: np.ndarray | slice, n: int) -> EventIDs:
        if self._arrays is not None:
            run, subrun, event = self._arrays
            return EventIDs(run[key], subrun[key], event[key])
        parent = self

        def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            run, subrun, event = parent._get()
            return run[key], subrun[key], event[key]

        return EventIDs.deferred(n, load)

    def take(self, index: np.ndarray | None) -> EventIDs:
        """The ids at batch positions ``index`` (None: all); still deferred if these are."""
        if index is None:
            return self
        return self._select(index, len(index))

    def head(self, k: int) -> EventIDs:
        """The first ``k`` events' ids; still deferred if these are."""
        k = max(0, min(k, self._n))
        return self._select(slice(0, k), k)


class _Product:
    """A stored product: the array the module put, and the batch positions it covers (None = all)."""

    __slots__ = ("array", "full", "index")

    def __init__(self, array: ak.Array, index: np.ndarray | None) -> None:
        self.array = array
        self.index = index
        self.full: ak.Array | None = array if index is None else None


#: numpy dtype kinds that are a NumpyArray as they are: bool, integers, floats, complex, datetimes/timedeltas
_PLAIN_KINDS = frozenset("biufcmM")


def to_array(value: Any) -> ak.Array:
    """``value`` (an awkward array, a numpy array — 2-d and more as regular arrays — or a list) as an awkward
    array, as a product is stored."""
    if isinstance(value, ak.Array):
        return value
    if isinstance(value, np.ndarray):
        if (
            value.ndim == 1
            and value.dtype.kind in _PLAIN_KINDS
            and value.flags.c_contiguous
            and type(value) is np.ndarray  # not a masked array or another subclass
        ):
            # the layout directly: ak.Array(value) goes through awkward's dispatch and costs ~3x more, a fixed
            # cost per put that a job pays for every product of every batch
            return wrap_plain(value)
        return ak.Array(value) if value.ndim <= 1 else ak.from_numpy(value, regulararray=True)
    if isinstance(value, ak.Record):
        msg = "a product is an array with one entry per event, not a single record"
        raise TypeError(msg)
    return ak.Array(value)


def _plain_template() -> dict[str, Any] | None:
    """The attributes awkward's own constructor gives an ``ak.Array`` of a plain NumpyArray, if they are the
    known caches that start empty (None otherwise: then :func:`wrap_plain` calls the constructor)."""
    a = ak.Array(ak.contents.NumpyArray(np.zeros(0)))
    attrs = dict(vars(a))
    expected = {"_layout", "_behavior", "_attrs", "_cpp_type", "_numbaview", "_generator", "_lookup"}
    if type(a) is not ak.Array or set(attrs) != expected:
        return None
    if any(v is not None for k, v in attrs.items() if k != "_layout"):
        return None
    return attrs


_PLAIN = _plain_template()


def wrap_plain(data: np.ndarray) -> ak.Array:
    """A 1-d, C-contiguous numpy array of numbers as an ``ak.Array`` (no behavior, no attrs), the same
    object ``ak.Array(ak.contents.NumpyArray(data))`` makes at a third of its cost (~8 against ~27 us here):
    every put and every filtered read of a flat product pays it once per batch. Where the installed awkward
    builds its arrays differently than this module knows, it calls the constructor.

    Examples:
        >>> wrap_plain(np.arange(3.0)).tolist(), str(wrap_plain(np.arange(3)).type)
        ([0.0, 1.0, 2.0], '3 * int64')
    """
    layout = ak.contents.NumpyArray(data)
    if _PLAIN is None:
        return ak.Array(layout)
    array = object.__new__(ak.Array)
    vars(array).update(_PLAIN)
    vars(array)["_layout"] = layout
    return array


def _take_plain(array: ak.Array, view: np.ndarray) -> ak.Array | None:
    """``array[view]`` in numpy when ``array`` is a plain 1-d NumpyArray without parameters, behavior or
    attrs (awkward's own take costs ~15x more at 10k entries); None otherwise."""
    layout = array.layout
    if (
        type(layout) is not ak.contents.NumpyArray
        or layout.parameters
        or array.behavior is not None
        or array.attrs
        or not isinstance(layout.data, np.ndarray)
        or layout.data.ndim != 1
    ):
        return None
    return wrap_plain(layout.data[view])


def _option_take(array: ak.Array, positions: np.ndarray) -> ak.Array:
    """``array`` re-indexed by ``positions`` (int64, -1 = missing) as an option-type array."""
    layout = ak.contents.IndexedOptionArray(ak.index.Index64(positions.astype(np.int64, copy=False)), array.layout)
    return ak.Array(layout, behavior=array.behavior, attrs=array.attrs)


class FieldNotFound(KeyError):
    """``events["label:instance.field"]`` for a field the product does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


class ProductStore:
    """Everything known about one batch: the event ids and the products put so far.

    The framework owns the store; modules see it through :class:`Events` views.
    """

    __slots__ = ("_ids", "_len", "_products")

    def __init__(self, ids: EventIDs) -> None:
        self._ids = ids
        self._len = len(ids)
        self._products: dict[tuple[str, str], _Product] = {}

    def __len__(self) -> int:
        return self._len

    @property
    def ids(self) -> EventIDs:
        return self._ids

    def keys(self) -> list[tuple[str, str]]:
        return list(self._products)

    def names(self) -> list[str]:
        return [f"{lab}:{ins}" if ins else lab for lab, ins in self._products]

    def add(self, label: str, instance: str, array: ak.Array, index: np.ndarray | None) -> None:
        key = (label, instance)
        if key in self._products:
            name = f"{label}:{instance}" if instance else label
            msg = f"product '{name}' was already put in this batch; products are immutable"
            raise ValueError(msg)
        self._products[key] = _Product(array, index)

    def has(self, key: tuple[str, str]) -> bool:
        return key in self._products

    def coverage(self, tag: InputTag) -> np.ndarray | None:
        try:
            return self._products[tag.key].index
        except KeyError:
            raise ProductNotFound(tag.product, self.names()) from None

    def get(self, tag: InputTag, view: np.ndarray | None) -> ak.Array:
        """The product ``tag`` for the events at batch positions ``view`` (None = the whole batch).

        A product made on a subset of the batch (after a filter) reads as an option-type array with
        ``None`` for the events it was not made for; a view inside that subset reads it without options.
        """
        try:
            prod = self._products[tag.key]
        except KeyError:
            raise ProductNotFound(tag.product, self.names()) from None
        if view is None:
            if prod.full is None:
                pos = np.full(self._len, -1, dtype=np.int64)
                index = prod.index
                assert index is not None
                pos[index] = np.arange(len(index), dtype=np.int64)
                prod.full = _option_take(prod.array, pos)
            array = prod.full
        elif prod.index is None:
            taken = _take_plain(prod.array, view)
            array = prod.array[view] if taken is None else taken
        else:
            pidx = prod.index
            if len(pidx) == 0:
                pos = np.zeros(len(view), dtype=np.int64)
                found = np.zeros(len(view), dtype=bool)
            else:
                pos = np.minimum(np.searchsorted(pidx, view), len(pidx) - 1)
                found = pidx[pos] == view
            if found.all():
                taken = _take_plain(prod.array, pos)
                array = prod.array[pos] if taken is None else taken
            else:
                array = _option_take(prod.array, np.where(found, pos, -1))
        for f in tag.fields:
            try:
                array = array[f]
            except (ak.errors.FieldNotFoundError, AttributeError, ValueError) as err:
                fields = ak.fields(array)
                msg = f"product '{tag.product}' has no field {f!r} (fields: {', '.join(fields) or 'none'})"
                raise FieldNotFound(msg) from err
        return array


class Events:
    """One batch of events as a module sees it.

    ``len(events)`` is the number of events this module is called for (after any filter on its path);
    ``events[tag]`` is a product (an awkward array with one entry per event); ``events.put`` stores a
    product under the calling module's label; ``events.run``, ``events.subrun`` and ``events.event``
    are numpy arrays of the event ids.

    Examples:
        >>> import numpy as np
        >>> ids = EventIDs(np.ones(3, np.uint32), np.zeros(3, np.uint32), np.arange(1, 4, dtype=np.uint64))
        >>> events = Events(ProductStore(ids), label="calib", produces=("x",))
        >>> events.put("x", np.array([1.0, 2.0, 3.0]))
        >>> events["calib:x"].tolist()
        [1.0, 2.0, 3.0]
        >>> len(events), events.event.tolist()
        (3, [1, 2, 3])
    """

    __slots__ = ("_ids", "_index", "_label", "_len", "_produces", "_store")

    def __init__(
        self,
        store: ProductStore,
        index: np.ndarray | None = None,
        *,
        label: str | None = None,
        produces: tuple[str, ...] | frozenset[str] | None = None,
    ) -> None:
        self._store = store
        self._index = index
        self._label = label
        self._produces = None if produces is None else frozenset(produces)
        self._len = len(store) if index is None else len(index)
        self._ids: EventIDs | None = None

    # --- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._len

    def __getitem__(self, tag: str | InputTag) -> ak.Array:
        if not isinstance(tag, InputTag):
            tag = InputTag.parse(tag)
        return self._store.get(tag, self._index)

    def get(self, tag: str | InputTag, default: Any = None) -> Any:
        """``events[tag]``, or ``default`` when the batch has no such product."""
        if not isinstance(tag, InputTag):
            tag = InputTag.parse(tag)
        if not self._store.has(tag.key):
            return default
        return self[tag]

    def __contains__(self, tag: object) -> bool:
        if isinstance(tag, str):
            tag = InputTag.parse(tag)
        return isinstance(tag, InputTag) and self._store.has(tag.key)

    def products(self) -> list[str]:
        """The names (``label`` or ``label:instance``) of every product in the batch so far."""
        return self._store.names()

    def coverage(self, tag: str | InputTag) -> np.ndarray | None:
        """The positions in the whole batch that product ``tag`` was made for: None when it was made for
        every event (a source product, a producer before any filter), a sorted int array when it was
        made on a subset (a producer after a filter; empty when its producer reached no event of this
        batch, in which case the product reads as ``None`` everywhere and has no real type).

        Outputs use it to write option-type products faithfully.
        """
        if not isinstance(tag, InputTag):
            tag = InputTag.parse(tag)
        return self._store.coverage(tag)

    def items(self) -> Iterator[tuple[str, ak.Array]]:
        for name in self._store.names():
            yield name, self[name]

    @property
    def ids(self) -> EventIDs:
        if self._ids is None:
            self._ids = self._store.ids.take(self._index)
        return self._ids

    @property
    def run(self) -> np.ndarray:
        return self.ids.run

    @property
    def subrun(self) -> np.ndarray:
        return self.ids.subrun

    @property
    def event(self) -> np.ndarray:
        return self.ids.event

    @property
    def index(self) -> np.ndarray | None:
        """The positions of these events in the whole batch (None when they are the whole batch)."""
        return self._index

    @property
    def label(self) -> str | None:
        """The label of the module this view was made for (products it puts go under this label)."""
        return self._label

    # --- writing -------------------------------------------------------------------------------
    def put(self, instance: str, array: Any) -> None:
        """Store ``array`` (one entry per event of this view) as product ``label:instance``.

        Args:
            instance: the instance name, one of the module's declared ``produces``; ``""`` for the
                bare label.
            array: an awkward array, numpy array (multi-dimensional numpy arrays become regular
                dimensions) or anything ``ak.Array`` accepts.
        """
        if self._label is None:
            msg = "this Events view belongs to no module: only a module's own view can put products"
            raise PermissionError(msg)
        if not isinstance(instance, str) or ":" in instance or "." in instance:
            msg = (
                f"put({instance!r}, ...): give only the instance name; a module puts products under its "
                f"own label '{self._label}' and never under another's"
            )
            raise ValueError(msg)
        if self._produces is not None and instance not in self._produces:
            declared = ", ".join(repr(p) for p in sorted(self._produces)) or "nothing"
            msg = f"module '{self._label}' put undeclared product {instance!r}; it declares produces = ({declared})"
            raise ValueError(msg)
        arr = to_array(array)
        if len(arr) != self._len:
            name = f"{self._label}:{instance}" if instance else self._label
            msg = f"product '{name}' has {len(arr)} entries but the batch has {self._len} events"
            raise ValueError(msg)
        self._store.add(self._label, instance, arr, self._index)

    def __repr__(self) -> str:
        return f"<Events {self._len} events, products: {', '.join(self.products()) or 'none'}>"


def as_mapping(events: Events) -> Mapping[str, ak.Array]:
    """A read-only name → array mapping of every product (used by DumpProducts and outputs)."""
    return {name: events[name] for name in events.products()}
