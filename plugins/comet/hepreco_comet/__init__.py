"""hepreco-comet: the COMET Phase-I cylindrical drift chamber (CDC) for hepreco.

The pure, framework-independent parts (usable without a job):

- ``geometry``: :class:`CDCGeometry`, the 4986 wires in 20 stereo layers, cells, neighbours, the CTH.
- ``simulation``: :func:`simulate` and :class:`SimParameters`, the numba event simulation.
- ``imager``: :func:`make_images`, the wire-id, X-Y and layer x cell hit images and their inverse maps.
- ``metrics``: per-event signal acceptance and background rejection, ROC, working point, AUC.

The hepreco modules (``comet.CDCSimSource``, ``comet.HitImager``, ``comet.HitClassificationMetrics``,
``comet.SimValidation``) are registered by ``hepreco_comet.plugin`` through the ``hepreco`` entry point.
"""

from __future__ import annotations

import importlib
from typing import Any

from hepreco_comet._version import __version__

__all__ = ["ORIGINS", "CDCGeometry", "SimParameters", "__version__", "simulate"]

# imported on first use, so that importing the package (the plugin's registration does) loads no numba
_LAZY = {
    "CDCGeometry": "hepreco_comet.geometry",
    "ORIGINS": "hepreco_comet.simulation",
    "SimParameters": "hepreco_comet.simulation",
    "simulate": "hepreco_comet.simulation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hepreco_comet' has no attribute {name!r}")
