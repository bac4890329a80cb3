"""This module defines the progress bar of a job run by chunks: events, with the chunks done."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan
    from hepreco.core.sample import SampleRequest

__all__ = ["ChunkProgress", "Watchers"]


class ChunkProgress:
    """A tqdm bar over events with ``chunks k/N`` beside it; it follows the Progress service's settings
    (on when stderr is a terminal, off with ``--quiet``)."""

    def __init__(self, plan: JobPlan, events: int | None, chunks: int) -> None:
        self.chunks = chunks
        self.done = 0
        #: chunks in flight now (set by the executor; shown by the Monitor)
        self.running = 0
        self._bar: Any = None
        cfg = plan.services["Progress"].config
        on = cfg.enabled if cfg.enabled is not None else sys.stderr.isatty()
        if not on or plan.job.quiet:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=events, unit="ev", unit_scale=True, mininterval=cfg.min_interval, file=sys.stderr, dynamic_ncols=True
        )
        self._bar.set_postfix_str(f"chunks 0/{chunks}", refresh=False)

    def update(self, events: int, chunks: int = 1) -> None:
        self.done += chunks
        if self._bar is not None:
            self._bar.set_postfix_str(f"chunks {self.done}/{self.chunks}", refresh=False)
            self._bar.update(events)

    def close(self) -> None:
        self.running = 0  # the job ended (or failed: what was in flight is cancelled)
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Watchers:
    """The services that watch the job (``Service.watch_start/progress/end``, e.g. the Monitor), called at the
    executor's reporting points: after each batch inline, after each merged chunk on a pool. Costs nothing
    when no service watches."""

    def __init__(self, plan: JobPlan) -> None:
        services = plan.services
        self._start = services.hooked("watch_start")
        self._progress = services.hooked("watch_progress")
        self._end = services.hooked("watch_end")
        self._sample = services.hooked("watch_sample")
        self.started = False
        #: what the watchers want of one event per chunk (asked once, at :meth:`start`); None: nothing
        self.sample: SampleRequest | None = None

    def start(self, status: Any) -> None:
        self.started = True
        for fn in self._start:
            fn(status)
        if not self._sample:
            return
        from hepreco.core.sample import SampleRequest

        request = SampleRequest()
        for fn in self._sample:
            request = request | (fn() or SampleRequest())
        self.sample = request or None

    def progress(self, batch: Any = None) -> None:
        for fn in self._progress:
            fn(batch)

    def end(self, *, ok: bool) -> None:
        if not self.started:
            return
        self.started = False
        for fn in self._end:
            try:
                fn(ok)
            except Exception:  # a watcher's cleanup never hides the job's own outcome
                import logging

                logging.getLogger("hepreco").warning("a service's watch_end failed", exc_info=True)
