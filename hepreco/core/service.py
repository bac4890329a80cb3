"""This module defines the Service base class and the Services container modules reach them through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hepreco.core.module import ModuleConfig
from hepreco.errors import did_you_mean

if TYPE_CHECKING:
    from hepreco.core.job import JobContext
    from hepreco.core.sample import SampleRequest

__all__ = ["JobStatus", "Service", "Services"]


@dataclass
class JobStatus:
    """What a job shows of itself while it runs, given to :meth:`Service.watch_start` by the executor.

    Attributes:
        executor: the executor (``inline``, ``processes (2 workers)``...).
        total: the events the job will process (None: not known in advance).
        chunks: the job's chunks.
        live: returns the job's live objects now (no copies; read them on the job's thread):
            ``events`` (int), ``trig`` (TrigReport), ``times`` (TimeReport), ``histograms``
            (``{label: {name: hist}}``, merged over the chunks done), ``rows`` (``{executor: ExecutorCounts}``),
            ``running`` (chunks in flight), ``summaries`` (the modules' summary figures).
        running: the chunks submitted to ``executor`` and not finished yet, now (an int read: cheap, and safe
            to call from any thread, so a page shows it between two snapshots); None where not known.
    """

    executor: str
    total: int | None
    chunks: int
    live: Callable[[], dict[str, Any]]
    running: Callable[[], int] | None = None


class Service:
    """A job-wide helper (art's services): timing, random numbers, histograms, the device...

    A job config configures services by class name under ``services:``. Subclasses set ``Config`` and
    override what they need. ``pre_module``/``post_module`` are called around every module call when a
    subclass overrides them (keep them cheap).
    """

    Config: ClassVar[type[ModuleConfig]] = ModuleConfig
    type_name: ClassVar[str] = ""
    #: always present in every job (with default parameters) unless configured otherwise
    essential: ClassVar[bool] = False

    def __init__(self, config: ModuleConfig, *, job: JobContext) -> None:
        #: the validated parameters, an instance of the class's ``Config`` (typed ``Any``: each subclass has its own)
        self.config: Any = config
        self.job = job

    @property
    def name(self) -> str:
        return type(self).__name__

    def output_files(self) -> list[tuple[str, Path]]:
        """The files this service will write, as ``(parameter, path)`` (checked before the first event)."""
        return []

    def begin_job(self) -> None:
        """Called before the modules' ``begin_job``."""

    def end_job(self) -> None:
        """Called after the modules' ``end_job``."""

    def pre_module(self, label: str) -> None:
        """Called before each module call (only when overridden)."""

    def post_module(self, label: str, n_events: int, seconds: float) -> None:
        """Called after each module call (only when overridden)."""

    def watch_start(self, status: JobStatus) -> None:
        """Called (only when overridden) in the process that started the job, never on a worker, when the
        executor starts processing events; ``status`` gives the live state at :meth:`watch_progress`."""

    def watch_sample(self) -> SampleRequest | None:
        """Called (only when overridden) once, after :meth:`watch_start`: the products of one event that this
        service wants from each chunk of a job run by chunks (:class:`~hepreco.core.sample.SampleRequest`), which
        then reach :meth:`watch_progress` as an :class:`~hepreco.core.sample.EventSample`; None: none. Nothing
        is sampled when no service asks."""
        return None

    def watch_progress(self, batch: Any) -> None:
        """Called (only when overridden) on the job's thread after every batch of a job run in this process
        (``batch``: the :class:`~hepreco.core.events.ProductStore` of the batch, every product the source and
        the modules put; read-only), or after every chunk merged of a job run by chunks (``batch``: the chunk's
        :class:`~hepreco.core.sample.EventSample` when a service asked for one with :meth:`watch_sample` and the
        chunk had events, else None). Keep it cheap: it runs between batches."""

    def watch_end(self, ok: bool) -> None:
        """Called (only when overridden) once the job ended, after ``end_job`` and the reports when it ended well
        (``ok``), or after a failure or Ctrl-C (not ``ok``): release what :meth:`watch_start` started."""

    def report(self) -> dict[str, Any] | None:
        """A JSON-able summary for ``--report`` and ``hepreco.run``; None for nothing."""
        return None

    def format_report(self) -> str | None:
        """Text printed at end of job; None for nothing."""
        return None


class Services:
    """The services of a job: ``services.Histograms``, ``services["Device"]``, ``"Device" in services``.

    Lookup also accepts lower-case names (``services.histograms``).
    """

    def __init__(self, services: dict[str, Service] | None = None) -> None:
        self._services: dict[str, Service] = dict(services or {})

    def add(self, name: str, service: Service) -> None:
        self._services[name] = service

    def __getitem__(self, name: str) -> Any:
        try:
            return self._services[name]
        except KeyError:
            pass
        for key, svc in self._services.items():
            if key.lower() == name.split(".")[-1].lower():
                return svc
        msg = f"no service '{name}' in this job{did_you_mean(name, self._services)}; configured: " + ", ".join(
            sorted(self._services)
        )
        raise KeyError(msg)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(str(err.args[0])) from None

    def __contains__(self, name: object) -> bool:
        try:
            self[str(name)]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def names(self) -> list[str]:
        return list(self._services)

    def hooked(self, method: str) -> list[Any]:
        """The bound ``method`` of every service that overrides it."""
        base = getattr(Service, method)
        return [getattr(s, method) for s in self._services.values() if getattr(type(s), method) is not base]
