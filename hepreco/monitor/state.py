"""This module defines MonitorState: the snapshots of a job (or of finished files) that the Monitor's page shows.

The job's thread calls :meth:`MonitorState.tick` at its reporting points (after a batch, after a merged chunk);
at most every ``interval`` seconds it copies what changed (the histograms, the reports, the summaries) under a
lock. The web server's thread only reads those copies and serialises them (uhi JSON) when a page asks, so
a job that nobody watches pays for a few copies per second, no more.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

import numpy as np

from hepreco.monitor.display import Display, render_display

__all__ = ["MonitorState", "batch_products", "histogram_json", "histogram_text"]


def histogram_text(h: Any) -> str:
    """``h`` (a ``hist.Hist``) as uhi's JSON schema (flow bins included), with its ``name`` and ``label``, as text."""
    import uhi.io.json as uhi_json

    try:
        text = json.dumps(h, default=uhi_json.default, allow_nan=False)
    except ValueError:  # NaN (a mean of nothing) or inf: null, which JSON has and browsers parse
        text = json.dumps(json.loads(json.dumps(h, default=uhi_json.default), parse_constant=lambda _c: None))
    head = json.dumps({"name": getattr(h, "name", None), "label": getattr(h, "label", None)})
    return head[:-1] + ", " + text[1:]


def histogram_json(h: Any) -> dict[str, Any]:
    """``h`` as uhi's JSON schema (flow bins included), with its name and label."""
    out: dict[str, Any] = json.loads(histogram_text(h))
    return out


def _clean(obj: Any) -> Any:
    """A JSON-able copy of ``obj`` (numbers that are not finite become None, other objects strings)."""

    def default(o: Any) -> Any:
        try:
            return o.item()  # numpy scalars
        except Exception:
            return str(o)

    text = json.dumps(obj, default=default)
    return json.loads(text, parse_constant=lambda _c: None)


def batch_products(batch: Any) -> dict[str, Any]:
    """``{"label:instance": array}`` of a batch: a :class:`~hepreco.core.events.ProductStore` (every product of a
    processed batch) or a source's :class:`~hepreco.core.module.SourceBatch`."""
    products = getattr(batch, "products", None)
    if isinstance(products, dict):
        return products
    from hepreco.core.inputtag import InputTag

    return {f"{lab}:{ins}" if ins else lab: batch.get(InputTag(lab, ins), None) for lab, ins in batch.keys()}


def _is_internal(h: Any) -> bool:
    return bool(getattr(h, "_hepreco_internal", False))


class MonitorState:
    """What the page shows, kept as snapshots; safe to read from the server's thread.

    Args:
        title: the page's title (the process name, or the file names).
        interval: the fewest seconds between two snapshots of a running job.
        displays: the event displays the plugins registered (``{name: Display}``).
    """

    def __init__(self, title: str, *, interval: float = 0.5, displays: dict[str, Display] | None = None) -> None:
        self.title = title
        self.interval = interval
        self.displays = dict(displays or {})
        self.lock = threading.Lock()
        #: bumped by every snapshot; the page asks for histograms only when it changed
        self.version = 0
        self.mode = "job"
        self.status: Any = None
        self.started = time.monotonic()
        self.ended: float | None = None
        self.progress: dict[str, Any] = {"events": 0, "total": None, "chunks": 0, "rows": {}, "running": 0}
        #: ``{name: bins}`` of the last snapshot of a running job (the bins of ``histograms[name]``, a copy kept
        #: for its axes, are not the job's: see :meth:`histogram`); empty for files
        self._views: dict[str, Any] = {}
        self._shell_of: dict[str, int] = {}
        self._shell_lock = threading.Lock()
        self._reports_live: tuple[Any, Any] | None = None
        self._reports_cache: tuple[int, dict[str, Any]] = (-1, {})
        self._reports_at = -math.inf
        self._reports_cost = 0.0
        self.summaries: dict[str, Any] = {}
        self.histograms: dict[str, Any] = {}
        #: ``{name: reference histogram}``: ``hepreco monitor NEW --ref REF``
        self.references: dict[str, Any] = {}
        #: ``{name: {"x", "y", "title"}}``, with ``"ref"`` (the same for the reference) when it has one
        self.graphs: dict[str, Any] = {}
        self._last = -math.inf
        self._batch: Any = None
        self._batch_version = 0
        self._products: tuple[int, dict[str, Any]] = (-1, {})
        self._hist_cache: tuple[int, bytes] | None = None
        self._display_cache: dict[str, tuple[int, dict[str, Any] | None]] = {}
        #: ``{name: payload}`` of displays given directly (files, benchmarks), not rendered from a batch
        self.fixed_displays: dict[str, dict[str, Any]] = {}
        #: why the latest event sample of a chunk could not be taken (the displays show the one before)
        self.sample_error: str | None = None

    # --- the job's side ---------------------------------------------------------------------------
    def start(self, status: Any) -> None:
        """The job started: ``status`` is a :class:`hepreco.core.service.JobStatus`."""
        self.status = status
        self.started = time.monotonic()
        self.progress.update(total=status.total, chunks=status.chunks, executor=status.executor)
        self.take()

    def tick(self, batch: Any = None) -> None:
        """A reporting point: keep ``batch`` for the displays (a batch's products, or the
        :class:`~hepreco.core.sample.EventSample` of a chunk run on a worker), and take a snapshot if ``interval``
        passed. A sample that failed keeps the last good one and its error is shown."""
        if batch is not None:
            error = getattr(batch, "error", None)
            if error:
                self.sample_error = str(error)
            else:
                self.sample_error = None
                self._batch = batch
                self._batch_version += 1
        if time.monotonic() - self._last >= self.interval:
            self.take()

    def end(self) -> None:
        """The job ended: a last snapshot (with the modules' end-of-job summaries)."""
        if self.status is not None:
            self.take()
        self.ended = time.monotonic()

    def take(self) -> None:
        """Copy the job's live state now (on the job's thread)."""
        if self.status is None:
            return
        self._last = time.monotonic()
        live = self.status.live()
        shells = dict(self.histograms)
        views: dict[str, Any] = {}
        for label, hs in live["histograms"].items():
            for name, h in hs.items():
                if _is_internal(h):
                    continue
                key = f"{label}/{name}"
                if key not in shells or self._shell_of.get(key) != id(h):
                    shells[key] = h.copy()  # once per histogram: its axes and metadata (slow: ~0.5 ms)
                    self._shell_of[key] = id(h)
                views[key] = np.array(h.view(flow=True), copy=True)  # each snapshot: the bins only (~1 us)
        progress = {
            "events": int(live["events"]),
            "running": int(live.get("running", 0)),
            "rows": {k: dict(vars(v)) for k, v in live["rows"].items()},
        }
        summaries = _clean(live.get("summaries") or {})
        with self.lock:
            self.histograms = shells
            self._views = views
            self.progress.update(progress)
            self._reports_live = (live["trig"], live["times"])
            self.summaries = summaries
            self.version += 1

    def _reports(self, version: int) -> dict[str, Any]:
        """The TrigReport and TimeReport as they stand (formatted on the server's thread, once per snapshot,
        only when a page asks: the TimeReport's medians cost milliseconds)."""
        cached = self._reports_cache
        if cached[0] == version or self._reports_live is None:
            return cached[1]
        # the TimeReport's medians grow with the batches: format again only after 50 times what it took last
        # (at most 2% of a core, however long the job), except for the final reports
        now = time.monotonic()
        if self.ended is None and cached[0] >= 0 and now - self._reports_at < 50 * self._reports_cost:
            return cached[1]
        trig, times = self._reports_live
        try:
            out = {"trig": trig.to_dict(), "trig_text": trig.format(), "time_text": times.format()}
        except RuntimeError:  # a module's first batch changed a table while it was read: the last ones
            return cached[1]
        self._reports_at = time.monotonic()
        self._reports_cost = self._reports_at - now
        self._reports_cache = (version, out)
        return out

    def histogram(self, name: str) -> Any:
        """Histogram ``name`` as the last snapshot holds it (a ``hist.Hist``)."""
        with self.lock:
            shell, values = self.histograms[name], self._views.get(name)
        if values is None:
            return shell
        with self._shell_lock:
            out = shell.copy()
        out.view(flow=True)[...] = values
        return out

    def _histogram_text(self, name: str, shell: Any, values: Any) -> str:
        if values is None:
            return histogram_text(shell)
        with self._shell_lock:  # the shell holds the snapshot's bins only while it is written out
            shell.view(flow=True)[...] = values
            return histogram_text(shell)

    # --- the server's side ------------------------------------------------------------------------
    def status_json(self) -> dict[str, Any]:
        """Progress (events, rate, ETA, chunks), reports, summaries, the histogram names and the displays."""
        with self.lock:
            prog = dict(self.progress)
            version = self.version
            names = sorted(self.histograms)
            summaries = self.summaries
            shapes = {n: len(h.axes) for n, h in self.histograms.items()}
        reports = self._reports(version)
        end = self.ended if self.ended is not None else time.monotonic()
        elapsed = max(end - self.started, 1e-9)
        events = prog.get("events", 0)
        rate = events / elapsed if events else 0.0
        total = prog.get("total")
        eta = (total - events) / rate if total and rate > 0 and self.ended is None else None
        running = self._running(prog)
        rows = {k: {**r, "running": 0} for k, r in prog.get("rows", {}).items()}
        executor = prog.get("executor")
        if executor is not None and (running or executor in rows):  # in flight on this run's executor, now
            rows.setdefault(executor, {"chunks": 0, "events": 0, "retried": 0, "failed": 0, "skipped": 0})
            rows[executor]["running"] = running
        done = sum(r.get("chunks", 0) for r in rows.values())
        failed = sum(r.get("failed", 0) for r in rows.values())
        prog.update(rows=rows, running=running)
        return {
            "title": self.title,
            "mode": self.mode,
            "version": version,
            "finished": self.ended is not None,
            "elapsed": elapsed,
            "progress": {**prog, "rate": rate, "eta": eta, "chunks_done": done, "chunks_failed": failed},
            "reports": reports,
            "summaries": summaries,
            "histograms": [{"name": n, "dim": shapes[n], "ref": n in self.references} for n in names],
            "graphs": sorted(self.graphs),
            "graph_refs": sorted(n for n, g in self.graphs.items() if isinstance(g, dict) and "ref" in g),
            "displays": self.display_list(),
        }

    def _running(self, prog: dict[str, Any]) -> int:
        """The chunks submitted and not finished: read live from the job (it changes when a chunk is submitted,
        between two snapshots), else the last snapshot's."""
        fn = getattr(self.status, "running", None)
        if callable(fn):
            try:
                return int(fn())
            except Exception:
                pass
        return int(prog.get("running", 0))

    def histograms_json(self) -> bytes:
        """Every histogram (and its reference) as uhi JSON, ``{name: {"h": ..., "ref": ...}}``, cached per
        snapshot."""
        with self.lock:
            version, hists, views = self.version, dict(self.histograms), dict(self._views)
            events = self.progress.get("events", 0)
            cached = self._hist_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        parts = []  # the uhi text of each histogram pasted in as it is: no parse and re-dump of every bin
        for name, h in hists.items():
            ref = histogram_text(self.references[name]) if name in self.references else "null"
            text = self._histogram_text(name, h, views.get(name))
            parts.append(f'{json.dumps(name)}: {{"h": {text}, "ref": {ref}}}')
        head = json.dumps({"version": version, "events": events, "graphs": self.graphs})
        body = (head[:-1] + ', "histograms": {' + ", ".join(parts) + "}}").encode()
        with self.lock:
            self._hist_cache = (version, body)
        return body

    def display_list(self) -> list[dict[str, Any]]:
        """The displays the page can show now (a display whose product is in the last batch, or a fixed one)."""
        out: list[dict[str, Any]] = [{"name": n, "title": p.get("title", n)} for n, p in self.fixed_displays.items()]
        if self.sample_error is not None:
            out.append({"name": "event-sample", "title": "event sample", "error": self.sample_error})
        batch = self._batch
        if batch is not None:
            from hepreco.monitor.display import find_product

            products = self._batch_products(batch, self._batch_version)
            for name, disp in self.displays.items():
                if find_product(disp, products) is not None:
                    out.append({"name": name, "title": disp.title})
        return out

    def _batch_products(self, batch: Any, version: int) -> dict[str, Any]:
        cached = self._products
        if cached[0] != version:
            cached = (version, batch_products(batch))
            self._products = cached
        return cached[1]

    def display(self, name: str) -> dict[str, Any] | None:
        """The payload of display ``name`` for the first event of the last batch (rendered on this thread,
        once per batch); None when it draws nothing."""
        if name in self.fixed_displays:
            return self.fixed_displays[name]
        disp = self.displays.get(name)
        batch, version = self._batch, self._batch_version
        if disp is None or batch is None:
            return None
        cached = self._display_cache.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            payload = render_display(disp, self._batch_products(batch, version), 0)
        except Exception as err:  # a display that fails is shown as its error: it never stops the job
            payload = {"kind": "error", "error": f"{type(err).__name__}: {err}"}
        if payload is not None:
            ids = batch.ids
            payload["event"] = [int(ids.run[0]), int(ids.subrun[0]), int(ids.event[0])]
            payload["title"] = disp.title
            chunk = getattr(batch, "chunk", None)
            if isinstance(chunk, int) and chunk >= 0:
                payload["chunk"] = chunk
        self._display_cache[name] = (version, payload)
        return payload
