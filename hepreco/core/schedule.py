"""This module runs the modules of a checked plan on one batch of events, with art's path semantics.

Each module is called once per batch, on the events that reach it: the union over the paths it sits
on of the events that every filter before it on that path passed. End-path modules see every event,
or those that passed the paths in their ``select``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import awkward as ak
import numpy as np

from hepreco.core.build import JobPlan, Step
from hepreco.core.events import Events, ProductStore, to_array
from hepreco.core.module import SourceBatch
from hepreco.core.reports import TimeReport, TrigReport
from hepreco.errors import ModuleError, describe_events

__all__ = ["Schedule", "call_module"]

_EMPTY = ak.Array(np.zeros(0, dtype=np.float64))


def where_events(events: Events) -> str:
    """The events of a message (``run 1 subrun 0 events 1..1000``), or their number when their ids cannot be
    read (ids read on demand from a file that went away): a message never hides the error it reports."""
    try:
        return describe_events(events.run, events.subrun, events.event)
    except Exception as err:
        return f"{len(events)} events (their ids could not be read: {err})"


def call_module(label: str, type_name: str, method: str, fn: Callable[[], Any], events: Events | None) -> Any:
    """Call ``fn()``; an exception becomes a ModuleError naming the label, method and events."""
    try:
        return fn()
    except ModuleError:
        raise
    except Exception as err:
        where = where_events(events) if events is not None else ""
        msg = f"{type(err).__name__}: {err}"
        raise ModuleError(msg, label=label, method=method, module_type=type_name, events=where) from err


class Schedule:
    """Runs a :class:`JobPlan` batch by batch and accumulates the TrigReport and TimeReport."""

    def __init__(self, plan: JobPlan) -> None:
        self.plan = plan
        self.path_names = list(plan.paths)
        self.trig = TrigReport()
        self.times = TimeReport()
        for name, entries in plan.paths.items():
            self.trig.ensure_path(name, [(lab, plan.modules[lab].kind) for _, lab in entries])
        for name, labels in plan.end_paths.items():
            self.trig.ensure_path(name, [(lab, plan.modules[lab].kind) for lab in labels], end_path=True)
        self._pre = plan.services.hooked("pre_module")
        self._post = plan.services.hooked("post_module")
        self._mcounts = {
            (pi, pos): self.trig.paths[name].modules[pos]
            for pi, name in enumerate(self.path_names)
            for pos in range(len(plan.paths[name]))
        }
        # in declared order: a producer that reaches no event of a batch gets its placeholders in this order,
        # which outputs keep (a set's order would change from process to process)
        self._products = {s.label: tuple(dict.fromkeys(s.module.products())) for s in (*plan.steps, *plan.end_steps)}

    # ------------------------------------------------------------------------------------------
    def _timed(self, step: Step, method: str, fn: Callable[[Events], Any], events: Events) -> Any:
        label = step.label
        for h in self._pre:
            h(label)
        t0 = time.perf_counter()
        result = call_module(label, type(step.module).type_name, method, lambda: fn(events), events)
        dt = time.perf_counter() - t0
        self.times.add(label, step.kind, len(events), dt)
        for h in self._post:
            h(label, len(events), dt)
        return result

    def make_store(self, batch: SourceBatch) -> ProductStore:
        store = ProductStore(batch.ids)
        n = len(store)
        src = self.plan.source_label
        for inst, value in batch.products.items():
            arr = to_array(value)
            if len(arr) != n:
                name = f"{src}:{inst}" if inst else src
                msg = f"source product '{name}' has {len(arr)} entries but the batch has {n} events"
                raise ModuleError(msg, label=src, method="read", module_type=type(self.plan.source).type_name)
            store.add(src, inst, arr, None)
        return store

    def process(self, batch: SourceBatch) -> tuple[ProductStore, list[np.ndarray | None]]:
        """Run every module on one batch; returns the store and each trigger path's pass mask (None = all)."""
        store = self.make_store(batch)
        n = len(store)
        masks: list[np.ndarray | None] = [None] * len(self.path_names)
        for step in self.plan.steps:
            reach: np.ndarray | None = None
            if not step.unconditional:
                for p, _pos, _mode in step.paths:
                    m = masks[p]
                    if m is None:
                        reach = None
                        break
                    reach = m.copy() if reach is None else np.logical_or(reach, m, out=reach)
            index = None if reach is None else np.flatnonzero(reach)
            count = n if index is None else len(index)
            visited = [n if (mk := masks[p]) is None else int(np.count_nonzero(mk)) for p, _, _ in step.paths]
            for (p, pos, _mode), v in zip(step.paths, visited, strict=True):
                self._mcounts[(p, pos)].visited += v
            if count == 0:
                if step.kind == "producer":
                    for inst in self._products[step.label]:
                        store.add(step.label, inst, _EMPTY, np.zeros(0, dtype=np.int64))
                else:
                    for (p, pos, _mode), v in zip(step.paths, visited, strict=True):
                        self._mcounts[(p, pos)].failed += v
                continue
            events = Events(store, index, label=step.label, produces=self._products[step.label])
            if step.kind == "producer":
                self._timed(step, "produce", step.module.produce, events)  # type: ignore[attr-defined]
                for (p, pos, _mode), v in zip(step.paths, visited, strict=True):
                    self._mcounts[(p, pos)].passed += v
                continue
            decision = self._timed(step, "filter", step.module.filter, events)  # type: ignore[attr-defined]
            dec = self._decision(step, decision, events)
            if index is None:
                full = dec
            else:
                full = np.zeros(n, dtype=bool)
                full[index] = dec
            for (p, pos, mode), v in zip(step.paths, visited, strict=True):
                base = masks[p]
                if mode == "-":
                    passed = base
                elif mode == "!":
                    passed = ~full if base is None else base & ~full
                else:
                    passed = full if base is None else base & full
                masks[p] = passed
                npass = n if passed is None else int(np.count_nonzero(passed))
                mc = self._mcounts[(p, pos)]
                mc.passed += npass
                mc.failed += v - npass
        for pi, name in enumerate(self.path_names):
            pc = self.trig.paths[name]
            pc.visited += n
            mask = masks[pi]
            pc.passed += n if mask is None else int(np.count_nonzero(mask))
        for step in self.plan.end_steps:
            index = None
            if step.select:
                sel = None
                for p in step.select:
                    m = masks[p]
                    if m is None:
                        sel = None
                        break
                    sel = m.copy() if sel is None else np.logical_or(sel, m, out=sel)
                else:
                    index = np.flatnonzero(sel) if sel is not None else None
            count = n if index is None else len(index)
            for pname, pos in step.end_paths:
                mc = self.trig.paths[pname].modules[pos]
                mc.visited += count
                mc.passed += count
            if count == 0:
                continue
            events = Events(store, index, label=step.label, produces=self._products[step.label])
            if step.kind == "analyzer":
                self._timed(step, "analyze", step.module.analyze, events)  # type: ignore[attr-defined]
            else:
                self._timed(step, "write", step.module.write, events)  # type: ignore[attr-defined]
        self.trig.events += n
        self.trig.batches += 1
        return store, masks

    def _decision(self, step: Step, decision: Any, events: Events) -> np.ndarray:
        def bad(msg: str) -> ModuleError:
            where = where_events(events)
            return ModuleError(
                msg, label=step.label, method="filter", module_type=type(step.module).type_name, events=where
            )

        if isinstance(decision, ak.Array):
            try:
                decision = ak.to_numpy(decision, allow_missing=False)
            except ValueError as err:
                raise bad("filter() returned missing values (None); return one bool per event") from err
        dec = np.asarray(decision)
        if dec.dtype != np.bool_:
            raise bad(f"filter() must return one bool per event, got dtype {dec.dtype}")
        if dec.shape != (len(events),):
            raise bad(f"filter() returned shape {dec.shape} for {len(events)} events")
        return dec
