"""This module defines the module base classes (Source, Producer, Filter, Analyzer, Output) and ModuleConfig."""

from __future__ import annotations

import logging
import os
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from hepreco.core.events import EventIDs, Events
from hepreco.core.inputtag import InputTag

if TYPE_CHECKING:
    import awkward as ak

    from hepreco.core.job import JobContext
    from hepreco.core.service import Services

__all__ = [
    "Analyzer",
    "Chunk",
    "EndPathConfig",
    "Filter",
    "GeneratorConfig",
    "GeneratorSource",
    "Module",
    "ModuleConfig",
    "Output",
    "OutputConfig",
    "Producer",
    "Source",
    "SourceBatch",
    "SourceConfig",
]


class ModuleConfig(BaseModel):
    """Base class of every module's and service's ``Config``: a pydantic model.

    Field types, defaults and bounds (``Field(..., ge=0)``) are checked before the first event; the
    docstring under a field (or ``Field(description=...)``) is its documentation in ``hepreco describe``.
    Unknown parameters are errors. InputTag-typed fields (also in lists and dicts) are what the
    module consumes.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        arbitrary_types_allowed=True,
    )


def _walk_tags(value: Any) -> Iterator[InputTag]:
    if isinstance(value, InputTag):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk_tags(getattr(value, name))
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk_tags(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _walk_tags(v)


class Module:
    """What every module shares: its label, validated config, the services and the lifecycle.

    Subclasses set ``Config`` (a :class:`ModuleConfig`) and ``produces`` (instance names), and do their
    set-up in :meth:`begin_job` rather than ``__init__``.

    Jobs split over processes (``--executor processes`` or ``dask``) run
    every module in each worker process: ``begin_job`` once per worker, the batches of the chunks that
    worker is given, ``end_job`` once per worker. Histograms booked with :meth:`book` are merged exactly
    on the client; figures recorded with :meth:`summary` cover only one worker's chunks, and are
    combined on the client (integers summed as counts, other values kept when equal, else listed per
    worker). For exact figures, keep every sum in booked histograms and set
    :attr:`summary_from_histograms`.

    Attributes:
        label: the module label from the job config.
        config: the validated ``Config`` instance.
        services: the job's services (``self.services.Histograms``, ``self.services["Device"]``).
    """

    kind: ClassVar[str] = "module"
    Config: ClassVar[type[ModuleConfig]] = ModuleConfig
    produces: ClassVar[tuple[str, ...]] = ()
    #: The module's ``end_job`` needs nothing but its config, its services and the histograms it booked
    #: in ``begin_job`` (its summary, its plots): it keeps every sum in booked histograms. In a job split
    #: over processes, the workers then skip its ``end_job``; the client runs its ``begin_job`` and, once
    #: the histograms of every chunk are merged into the ones it booked, its ``end_job``, once. Its
    #: summary and plots are then those of the whole job, the same whatever the executor or chunk size.
    summary_from_histograms: ClassVar[bool] = False
    #: set when a plugin registers the class: ``plugin.ClassName``
    type_name: ClassVar[str] = ""
    plugin_name: ClassVar[str] = ""

    def __init__(self, config: ModuleConfig, *, label: str, services: Services, job: JobContext) -> None:
        #: the validated parameters, an instance of the class's ``Config`` (typed ``Any``: each subclass has its own)
        self.config: Any = config
        self.label = label
        self.services = services
        self.job = job
        self.log = logging.getLogger(f"hepreco.module.{label}")

    # --- declarations --------------------------------------------------------------------------
    def consumes(self) -> list[InputTag]:
        """The products this module reads: by default every InputTag in its config."""
        return list(dict.fromkeys(_walk_tags(self.config)))

    def products(self) -> tuple[str, ...]:
        """The instance names this module puts: by default the class's ``produces``."""
        return tuple(self.produces)

    def check(self) -> list[tuple[str, str]]:
        """Problems the config's values cause that only the inputs reveal, found before the first event (``hepreco
        validate`` too): ``(parameter, message)`` each, reported as config errors. Called after the source has
        opened its files. Keep it cheap: no event is read. The default asks the next class of the module's
        bases (a mixin such as ``hepreco.ml.TorchInference`` checks its checkpoint), else finds none."""
        nxt = getattr(super(), "check", None)
        return list(nxt()) if callable(nxt) else []

    def output_files(self) -> list[tuple[str, Path]]:
        """The files this module will write, as ``(parameter, path)``: the framework checks them before the
        first event (writable folder, not an input of the job, not written twice, ``--no-clobber``)."""
        return []

    def input_files(self) -> list[tuple[str, Path]]:
        """The local files this module (a source) reads, as ``(parameter, path)``: no output may replace one."""
        return []

    # --- lifecycle -----------------------------------------------------------------------------
    def begin_job(self) -> None:
        """Called once per process before the first batch."""

    def end_job(self) -> None:
        """Called once per process after the last batch."""

    # --- conveniences over the services -------------------------------------------------------
    def book(self, name: str, histogram: Any, *, internal: bool = False) -> Any:
        """Register a ``hist.Hist`` with the Histograms service under ``<label>/<name>``; returns it.

        Give histograms filled with weights ``storage=hist.storage.Weight()`` (their errors are then
        sqrt(sum w^2), written as ROOT's ``fSumw2``). ``internal=True`` marks an accumulator the module
        computes its results from (running sums, counters, category axes): it is merged as any histogram
        but written under ``internal/<label>/<name>``, apart from what a user plots.
        """
        return self.services["Histograms"].book(self.label, name, histogram, internal=internal)

    def put_result(self, name: str, obj: Any) -> Any:
        """Hand the Histograms service a result of the job, written as ``results/<label>/<name>`` in its
        file: a :class:`hepreco.Graph` (a ROOT ``TGraph``/``TGraphAsymmErrors``: ROC curves, efficiencies
        with binomial errors from :func:`hepreco.efficiency_graph`) or a ``hist.Hist`` (a TH1/2/3: give it
        weight storage for right errors). Call it in ``end_job``; see :class:`~hepreco.services.Histograms`
        for when results cover the whole job. Returns ``obj``.
        """
        return self.services["Histograms"].put_result(self.label, name, obj)

    def event_seeds(self, ids: EventIDs | Events) -> np.ndarray:
        """One uint64 seed per event from the job seed, this module's label and the event ids.

        Random numbers drawn from these seeds do not depend on the batch size or the executor.
        """
        return self.services["RandomNumbers"].seeds(self.label, ids)

    def event_generators(self, ids: EventIDs | Events) -> list[np.random.Generator]:
        """One numpy Generator per event, seeded as :meth:`event_seeds`."""
        return self.services["RandomNumbers"].generators(self.label, ids)

    def random_uniform(self, ids: EventIDs | Events, counts: Any = 1, *, stream: int = 0) -> np.ndarray:
        """``counts[i]`` uniforms in [0, 1) for event i, flat and vectorised; reproducible per event
        whatever the batching (see ``RandomNumbers.uniform``)."""
        return self.services["RandomNumbers"].uniform(self.label, ids, counts, stream=stream)

    def random_normal(self, ids: EventIDs | Events, counts: Any = 1, *, stream: int = 0) -> np.ndarray:
        """``counts[i]`` standard normal numbers for event i, flat and vectorised, reproducible per event."""
        return self.services["RandomNumbers"].normal(self.label, ids, counts, stream=stream)

    def summary(self, **values: Any) -> None:
        """Record figures (numbers, strings) printed at end of job and returned by ``hepreco.run``."""
        self.job.summaries.setdefault(self.label, {}).update(values)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.label}'>"


@dataclass(frozen=True)
class Chunk:
    """A unit of work of a source: entries ``[start, stop)`` of ``file`` (None for generators)."""

    start: int
    stop: int
    file: str | None = None

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


@dataclass
class SourceBatch:
    """What a source yields: the event ids and the products (instance name → array) of one batch."""

    ids: EventIDs
    products: dict[str, ak.Array]

    def __len__(self) -> int:
        return len(self.ids)


class SourceConfig(ModuleConfig):
    events: int | None = Field(None, ge=0)
    """Stop after this many events (all when unset). ``-n/--events`` on the command line sets it."""
    batch_size: int = Field(10_000, gt=0)
    """Events per batch: every module is called once per batch."""
    skip_bad_files: bool = False
    """Go on past bad input (``--skip-bad-files``). File sources skip input files that cannot be read; for
    a source of generated events, a chunk that still fails after its retries is skipped (the job then runs
    chunk by chunk, also inline). What was skipped is listed at the end of the job and in the outputs'
    provenance; the job fails if nothing is left."""


class Source(Module):
    """Makes batches of events: event ids plus products under the source's label.

    Subclasses implement :meth:`chunks` (the units of work) and :meth:`read` (the batches of a chunk).
    """

    kind = "source"
    Config: ClassVar[type[ModuleConfig]] = SourceConfig
    #: with ``skip_bad_files``, which failures of a chunk skip it whole (after its retries) instead of failing
    #: the job: ``"read"`` (the default: only this source's own errors while reading, such as a file found
    #: corrupt after its first batch), ``"any"`` (any module's: a chunk of generated events that cannot be
    #: made) or ``""`` (none: the source handles bad input itself, chunks are never skipped)
    skippable_failures: ClassVar[str] = "read"

    def chunks(self) -> list[Chunk]:
        """The units of work, in event order.

        Executors call it on the client, where ``begin_job`` has not run, and may split a chunk into
        entry ranges (``--chunk-size``) or cut the list (``-n``): :meth:`read` must honour any
        ``Chunk(start, stop, file)`` inside one of these chunks.
        """
        raise NotImplementedError

    def read(self, chunk: Chunk) -> Iterator[SourceBatch]:
        """The batches of ``chunk`` (at most ``config.batch_size`` events each), entries ``start`` to ``stop``."""
        raise NotImplementedError


class GeneratorConfig(SourceConfig):
    events: int = Field(..., ge=0)
    """Number of events to generate. ``-n/--events`` on the command line sets it."""
    first_event: int = Field(1, ge=0)
    """Event number of the first event."""
    run: int = Field(1, ge=0)
    """Run number of every event."""
    subrun: int = Field(0, ge=0)
    """Subrun number of every event."""


class GeneratorSource(Source):
    """A source that makes events rather than reading them (art's EmptyEvent, event generators).

    Subclasses implement :meth:`generate`, called once per batch with the batch's event ids.
    """

    Config: ClassVar[type[ModuleConfig]] = GeneratorConfig
    skippable_failures: ClassVar[str] = "any"

    def chunks(self) -> list[Chunk]:
        return [Chunk(0, int(self.config.events))]

    def read(self, chunk: Chunk) -> Iterator[SourceBatch]:
        cfg = self.config
        step = int(cfg.batch_size)
        for start in range(chunk.start, chunk.stop, step):
            stop = min(start + step, chunk.stop)
            n = stop - start
            event = np.arange(cfg.first_event + start, cfg.first_event + stop, dtype=np.uint64)
            ids = EventIDs(np.full(n, cfg.run, dtype=np.uint32), np.full(n, cfg.subrun, dtype=np.uint32), event)
            yield SourceBatch(ids, dict(self.generate(ids)))

    def generate(self, ids: EventIDs) -> dict[str, Any]:
        """The products (instance name → array of ``len(ids)`` entries) of one batch."""
        return {}


class Producer(Module):
    """Reads products and puts new ones: implement ``produce(events)``."""

    kind = "producer"

    def produce(self, events: Events) -> None:
        raise NotImplementedError


class Filter(Module):
    """Decides which events go on along a path: ``filter(events)`` returns one bool per event."""

    kind = "filter"

    def filter(self, events: Events) -> Any:
        raise NotImplementedError


class EndPathConfig(ModuleConfig):
    select: list[str] = Field(default_factory=list)
    """Only events that passed any of these paths (art's SelectEvents); all events when empty."""


class Analyzer(Module):
    """Looks at events on an end path (fills histograms, computes metrics): ``analyze(events)``."""

    kind = "analyzer"
    Config: ClassVar[type[ModuleConfig]] = EndPathConfig

    def analyze(self, events: Events) -> None:
        raise NotImplementedError


class OutputConfig(EndPathConfig):
    keep: list[str] = Field(default_factory=lambda: ["*"])
    """Products to write, as InputTag patterns with wildcards (``source:*``, ``hitid``, ``*``)."""
    drop: list[str] = Field(default_factory=list)
    """Products not to write, applied after ``keep`` (art's outputCommands)."""


class Output(Module):
    """Writes events on an end path: ``write(events)``.

    Files are written under a temporary name from :meth:`atomic_path` and renamed by the framework
    only when the whole job succeeds, so a failed job never leaves a file that looks complete.

    In a job split into chunks (``--executor processes`` or ``dask``) an output writes one set of files
    per chunk: :meth:`begin_chunk` and :meth:`end_chunk` bracket each chunk on a worker (by default they
    call ``begin_job`` and ``end_job``), and :meth:`atomic_path` then points into that chunk's folder.
    The client then calls :meth:`merge_files` once per requested file with its parts in event order;
    an output that does not implement it (or a job with ``executor: {merge: false}``) leaves the parts
    as a file set: a folder ``FILE.parts/`` with the parts and an ``index.json`` listing them in order.
    """

    kind = "output"
    Config: ClassVar[type[ModuleConfig]] = OutputConfig

    def write(self, events: Events) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Called instead of ``end_job`` (or ``end_chunk``) when the job (or a chunk) fails: close open
        files (the framework deletes the temporary ones)."""

    def atomic_path(self, path: str | os.PathLike[str]) -> Path:
        """A temporary path beside ``path``; the framework renames it to ``path`` when the job succeeds
        and deletes it when the job fails. On a worker of a job split into chunks, the path is in the
        chunk's folder, and ``path`` is the requested file its part will be merged into."""
        return self.job.atomic_path(path, owner=self.label)

    # --- jobs split into chunks ------------------------------------------------------------------
    def begin_chunk(self) -> None:
        """Start the files of one chunk, on a worker (default: ``begin_job``)."""
        self.begin_job()

    def end_chunk(self) -> None:
        """Finish the files of one chunk, on a worker (default: ``end_job``)."""
        self.end_job()

    def merge_files(self, parts: Sequence[Path], final: Path) -> None:
        """Write ``final`` from the per-chunk files ``parts``, in event order; runs on the client.

        ``final`` is a temporary path (the framework renames it when the job succeeds); ``parts`` are the
        files this output wrote for one requested file, one per chunk, in chunk (= event) order; some may
        hold no event. ``self.job.provenance()`` is the whole job's (executor, chunks and inputs included).
        It may write more files through :meth:`atomic_path` (a split output) and record figures with
        :meth:`summary`, which then replace those combined from the chunks. Outputs that cannot merge
        leave this unimplemented and their parts are kept as a file set.
        """
        raise NotImplementedError

    @classmethod
    def can_merge(cls) -> bool:
        """Whether this output implements :meth:`merge_files`."""
        return cls.merge_files is not Output.merge_files

    def kept_products(self, events: Events) -> list[str]:
        """The product names of ``events`` that ``keep``/``drop`` select, in put order."""
        from hepreco.core.selection import select_products

        return select_products(events.products(), self.config.keep, self.config.drop)


def label_seed(label: str) -> int:
    """A stable 32-bit number for a module label (crc32), used to derive per-module seeds."""
    return zlib.crc32(label.encode())


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.hepreco-tmp")


_KIND_BASES: dict[str, type[Module]] = {
    "source": Source,
    "producer": Producer,
    "filter": Filter,
    "analyzer": Analyzer,
    "output": Output,
}


def module_kind(cls: type) -> str | None:
    """``"source"``, ``"producer"``, ... for a module class; None for anything else."""
    for kind, base in _KIND_BASES.items():
        if isinstance(cls, type) and issubclass(cls, base):
            return kind
    return None


def ensure_config_base(cls: type[Module]) -> None:
    """Make ``cls.Config`` carry its kind's base fields (``select``/``keep``/``drop``, ``events``...) even
    when the author derived it from plain ModuleConfig."""
    kind = module_kind(cls)
    if kind is None:
        return
    base_cfg = _KIND_BASES[kind].Config
    if cls is _KIND_BASES[kind] or issubclass(cls.Config, base_cfg):
        return
    merged = type(cls.Config.__name__, (cls.Config, base_cfg), {"__module__": cls.Config.__module__})
    merged.__doc__ = cls.Config.__doc__
    cls.Config = merged
