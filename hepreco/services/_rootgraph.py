"""This module turns a :class:`~hepreco.services.results.Graph` into the object uproot writes: a ``TGraph``,
or a ``TGraphAsymmErrors`` whose streaming uproot 5 does not implement yet (its reader is there; the writer
below follows ROOT's streamer of ``TGraphAsymmErrors`` version 3: the TGraph, then the four error arrays)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["to_root_graph"]


def _asymm_class() -> type:
    import uproot
    import uproot.models.TGraph as models

    # the class name is what uproot writes as the ROOT class name: keep it
    class Model_TGraphAsymmErrors_v3(models.Model_TGraphAsymmErrors_v3):
        def _serialize(self, out: list[bytes], header: bool, name: str, tobject_flags: Any) -> None:
            where = len(out)
            for base in self._bases:
                base._serialize(out, True, name, tobject_flags)
            for member in ("fEXlow", "fEXhigh", "fEYlow", "fEYhigh"):
                out.extend([b"\x01", np.asarray(self._members[member]).astype(">f8").tobytes()])
            if header:
                num_bytes = sum(len(x) for x in out[where:])
                out.insert(where, uproot.serialization.numbytes_version(num_bytes, 3))

    return Model_TGraphAsymmErrors_v3


_ASYMM: type | None = None


def to_root_graph(graph: Any) -> Any:
    """The uproot-writable ``TGraph`` (no errors) or ``TGraphAsymmErrors`` of ``graph``."""
    global _ASYMM
    import uproot

    if len(graph) == 0:  # uproot cannot write a graph without points
        msg = f"graph {graph.title!r} has no point"
        raise ValueError(msg)
    cols: dict[str, np.ndarray] = {"x": graph.x, "y": graph.y}
    if graph.has_errors:
        xl, xh, yl, yh = graph.errors()
        cols.update(x_errors_low=xl, x_errors_high=xh, y_errors_low=yl, y_errors_high=yh)
    finite = graph.y[np.isfinite(graph.y)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    out = uproot.as_TGraph(
        cols, title=graph.title, xAxisLabel=graph.xlabel, yAxisLabel=graph.ylabel, minY=lo, maxY=hi,
        markerStyle=20, markerSize=0.8,
    )  # fmt: skip
    if graph.has_errors:
        if _ASYMM is None:
            _ASYMM = _asymm_class()
        out.__class__ = _ASYMM
    return out
