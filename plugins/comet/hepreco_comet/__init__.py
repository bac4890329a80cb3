"""hepreco-comet: the COMET Phase-I cylindrical drift chamber (CDC) for hepreco.

The pure, framework-independent parts (usable without a job):

- ``geometry``: :class:`CDCGeometry`, the 4986 wires in 20 stereo layers, cells, neighbours, the CTH.
- ``simulation``: :func:`simulate` and :class:`SimParameters`, the numba event simulation (``physics``: its
  materials, energy loss and spectra).
- ``images``: :func:`~hepreco_comet.images.make_images`, the wire-id, X-Y and layer x cell hit images and
  their inverse maps.
- ``acceptance``: per-event signal acceptance and background rejection, ROC, working point (the talk's metrics).
- ``gbdt_features``: the GBDT's per-hit features with the wire's neighbours.
- ``helixfit``: the helix fit, by stage (circle fits, seeding, the helix fit, its result record).
- ``resolution``: quantiles and the Gaussian core of residual histograms; ``hit_categories``: what an event
  display shows; ``plotting``: every figure of the modules.
- ``models``: the trainable models' specs and hyper-parameters (cheap: no torch); ``nets``: the networks,
  one family per file (``nets.dncnn``, ``nets.turn1``; torch).

The hepreco modules, one per file in ``modules/`` (``comet.CDCSimSource``, ``comet.HitImager``,
``comet.DnCNNHitClassifier``, ..., the service ``comet.CDCGeometryService``), are registered by name by
``hepreco_comet.plugin`` through the ``hepreco`` entry point and imported when a job uses them.
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
