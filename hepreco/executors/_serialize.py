"""This module writes chunk results as JSON for the journal: histograms (UHI schema), reports, summaries."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from hepreco.core.reports import ModuleCounts, TimeReport, TrigReport, _ModuleTimes, _PathCounts

__all__ = [
    "histograms_from_json",
    "histograms_to_json",
    "json_default",
    "time_from_json",
    "time_to_json",
    "trig_from_json",
    "trig_to_json",
]


def json_default(obj: Any) -> Any:
    """What ``json.dumps`` cannot write by itself: numpy arrays and scalars, paths, anything else as text."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def histograms_to_json(histograms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{label: {name: hist}}`` as JSON-able data (the UHI serialization of boost-histogram, exact)."""
    from boost_histogram.serialization import to_uhi

    out: dict[str, Any] = {}
    for label, hs in histograms.items():
        out[label] = {}
        for name, h in hs.items():
            doc = to_uhi(h)
            doc["hepreco_class"] = "hist" if type(h).__module__.startswith("hist") else "boost_histogram"
            out[label][name] = doc
    return json.loads(json.dumps(out, default=json_default))


def histograms_from_json(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The inverse of :func:`histograms_to_json`."""
    import boost_histogram as bh
    import hist
    from boost_histogram.serialization import from_uhi

    out: dict[str, dict[str, Any]] = {}
    for label, hs in data.items():
        out[label] = {}
        for name, doc in hs.items():
            doc = dict(doc)
            cls = hist.Hist if doc.pop("hepreco_class", "hist") == "hist" else bh.Histogram
            out[label][name] = cls(from_uhi(doc))
    return out


def trig_to_json(t: TrigReport) -> dict[str, Any]:
    return {
        "events": t.events,
        "batches": t.batches,
        "paths": [
            {
                "name": p.name,
                "end_path": p.end_path,
                "visited": p.visited,
                "passed": p.passed,
                "modules": [[m.label, m.kind, m.visited, m.passed, m.failed, m.error] for m in p.modules],
            }
            for p in t.paths.values()
        ],
    }


def trig_from_json(d: dict[str, Any]) -> TrigReport:
    t = TrigReport(events=int(d["events"]), batches=int(d["batches"]))
    for p in d["paths"]:
        mods = [ModuleCounts(lab, kind, v, ps, f, e) for lab, kind, v, ps, f, e in p["modules"]]
        t.paths[p["name"]] = _PathCounts(p["name"], bool(p["end_path"]), p["visited"], p["passed"], mods)
    return t


def time_to_json(t: TimeReport) -> dict[str, Any]:
    return {
        "wall": t.wall,
        "modules": [[m.label, m.kind, m.events, list(m.seconds)] for m in t.modules.values()],
    }


def time_from_json(d: dict[str, Any]) -> TimeReport:
    t = TimeReport(wall=float(d["wall"]))
    for label, kind, events, seconds in d["modules"]:
        t.modules[label] = _ModuleTimes(label, kind, int(events), [float(s) for s in seconds])
    return t


def clean_json(value: Any) -> Any:
    """``value`` made JSON-able (numpy values to Python ones, unknown objects to text); NaN kept."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return json_default(value)
