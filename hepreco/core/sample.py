"""This module defines the event sample a job split into chunks sends back with each chunk for the services that
watch it (the Monitor's event displays): one event of the chunk's last batch, only the products asked for.

A watching service says what it wants (:class:`SampleRequest`, from ``Service.watch_sample``); the worker takes
it with :func:`take_sample` after the chunk and returns it in the chunk's result, and the executor hands it to
``Service.watch_progress``. No watcher asking: nothing is taken.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hepreco.core.events import EventIDs, ProductStore

__all__ = ["EventSample", "SampleRequest", "take_sample"]

#: the most bytes a sample may take (pickled): a product bigger than this for one event is left out
MAX_SAMPLE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SampleRequest:
    """The products of one event a watching service wants from each chunk: those whose records have all of one
    of ``fields`` (``(("wire", "edep"), ...)``), and those named in ``products`` (the name after the label's
    colon, or the label of a product without instance), under any label.

    Examples:
        >>> SampleRequest(fields=(("x", "y"),)) | SampleRequest(products=("adc_W",))
        SampleRequest(fields=(('x', 'y'),), products=('adc_W',))
    """

    fields: tuple[tuple[str, ...], ...] = ()
    products: tuple[str, ...] = ()

    def __or__(self, other: SampleRequest) -> SampleRequest:
        fields = tuple(dict.fromkeys((*self.fields, *other.fields)))
        return SampleRequest(fields, tuple(dict.fromkeys((*self.products, *other.products))))

    def __bool__(self) -> bool:
        return bool(self.fields or self.products)

    def wants(self, name: str, fields: tuple[str, ...]) -> bool:
        """Whether a product named ``name`` (``label:instance``) whose records have ``fields`` is asked for."""
        short = name.split(":", 1)[-1]
        if short in self.products:
            return True
        have = set(fields)
        return any(want and set(want) <= have for want in self.fields)


@dataclass
class EventSample:
    """One event of a chunk, for the services that watch the job: read like a batch of one event.

    Attributes:
        products: ``{"label:instance": array}`` (``label`` alone for a product without instance), each of
            length 1, in the order the batch holds them; only those the :class:`SampleRequest` named.
        ids: the event's run, subrun and event number (arrays of length 1).
        chunk: the index of the chunk it came from.
        error: why no sample could be taken (the products are then empty); the job goes on.
    """

    products: dict[str, Any] = field(default_factory=dict)
    ids: EventIDs | None = None
    chunk: int = -1
    error: str | None = None

    def __len__(self) -> int:
        return 0 if self.ids is None else len(self.ids)


def take_sample(store: ProductStore | None, request: SampleRequest, *, chunk: int = -1) -> EventSample | None:
    """The products ``request`` names of the first event of ``store`` (a processed batch); None when the store
    is empty. Never raises: a failure is the sample's ``error``."""
    if store is None or len(store) == 0:
        return None
    try:
        import awkward as ak
        import numpy as np

        from hepreco.core.inputtag import InputTag

        first = np.zeros(1, dtype=np.int64)
        products: dict[str, Any] = {}
        for label, instance in store.keys():
            name = f"{label}:{instance}" if instance else label
            arr = store.get(InputTag(label, instance), first)  # one event: no copy of the batch
            if request.wants(name, tuple(ak.fields(arr))):
                products[name] = ak.to_packed(arr)
        sample = EventSample(products, store.ids.take(first), chunk)
        if len(pickle.dumps(sample, protocol=pickle.HIGHEST_PROTOCOL)) > MAX_SAMPLE_BYTES:
            return EventSample(ids=sample.ids, chunk=chunk, error=f"the event is over {MAX_SAMPLE_BYTES >> 20} MB")
        return sample
    except Exception as err:
        return EventSample(chunk=chunk, error=f"no event sample from chunk {chunk}: {type(err).__name__}: {err}")
