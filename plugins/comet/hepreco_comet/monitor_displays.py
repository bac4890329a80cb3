"""This module defines the COMET CDC event displays of hepreco's live-monitoring page (``hepreco run --monitor``):
the hits of one event in x-y, registered by ``plugin.hepreco_displays`` and imported on the first event drawn."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["xy_view"]

_GEOMETRY: list[Any] = []


def xy_view(hits: Any) -> dict[str, Any]:
    """One event's CDC hits (``wire, z, edep``; ``is_signal`` when there) at their wires' x-y positions (cm),
    coloured by the energy deposit, with the signal hits in a second panel when the truth is there."""
    from hepreco_comet.geometry import CDCGeometry

    if not _GEOMETRY:
        _GEOMETRY.append(CDCGeometry())
    wire = np.asarray(hits.wire, dtype=np.int64)
    z = np.asarray(hits.z, dtype=np.float64)
    edep = np.asarray(hits.edep, dtype=np.float64)
    x, y = _GEOMETRY[0].wire_xy(wire, z)
    r = float(np.max(_GEOMETRY[0].radius)) * 1.05
    panels = [
        {"title": f"all hits ({len(wire)})", "x": x.tolist(), "y": y.tolist(), "c": edep.tolist(),
         "xlabel": "x [cm]", "xrange": [-r, r], "yrange": [-r, r]},
    ]  # fmt: skip
    if "is_signal" in hits.fields:
        sig = np.asarray(hits.is_signal, dtype=bool)
        panels.append(
            {"title": f"signal hits ({int(sig.sum())})", "x": x[sig].tolist(), "y": y[sig].tolist(),
             "c": edep[sig].tolist(), "xlabel": "x [cm]", "xrange": [-r, r], "yrange": [-r, r]}
        )  # fmt: skip
    return {"kind": "scatter", "panels": panels}
