"""This module defines the LArTPC event displays of hepreco's live-monitoring page (``hepreco run --monitor``):
each view's hits, wire coordinate vs drift, and the ADC images; registered by ``plugin.hepreco_displays`` and
imported on the first event drawn."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["adc_view", "wire_drift_view"]

_VIEWS = ("U", "V", "W")


def wire_drift_view(hits: Any) -> dict[str, Any]:
    """One event's hits in the U, V and W views: wire coordinate ``w`` (cm) against drift ``x`` (cm), coloured
    by the charge."""
    view = np.asarray(hits.view)
    w = np.asarray(hits.w, dtype=np.float64)
    x = np.asarray(hits.x, dtype=np.float64)
    q = np.asarray(hits.charge, dtype=np.float64)
    panels = []
    for k, name in enumerate(_VIEWS):
        m = view == k
        panels.append(
            {"title": f"{name} view ({int(m.sum())} hits)", "x": w[m].tolist(), "y": x[m].tolist(),
             "c": q[m].tolist(), "xlabel": "wire coordinate w [cm]"}
        )  # fmt: skip
    return {"kind": "scatter", "panels": panels}


def adc_view(image: Any) -> dict[str, Any]:
    """One view's ADC image (wires x downsampled ticks) as an image: drift down, wires across."""
    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 3:  # (APA, wire, tick): side by side
        img = np.concatenate(list(img), axis=0)
    return {"kind": "image", "image": img.T, "xlabel": "wire", "ylabel": "tick (downsampled)", "vmin": 0.0}
