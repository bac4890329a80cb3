"""hepreco-lartpc: liquid-argon TPCs for hepreco (ProtoDUNE-SP, MicroBooNE).

The pure parts (usable without a job; none imports numba or torch until used):

- ``geometry``: :class:`DetectorParams`, :func:`detector`: the presets and the U, V, W wire views.
- ``simulation``: :class:`SimParameters` and :func:`simulate`: neutrino-like events, single particles and
  cosmic muons to Gaussian hits with per-hit truth (numba kernels in ``_transport`` and ``_readout``).
- ``tiles``: :func:`make_tiles`: Pandora's images, hits binned into tiles per view, and the maps back.
- ``unet``: the U-Net of Pandora's track/shower segmentation (model ``lartpc-unet``).
- ``segmentation``: per-hit and per-pixel accuracy, confusion matrices, purity and efficiency.

The hepreco modules (``lartpc.LArTPCSimSource``, ``lartpc.ViewImager``, ``lartpc.UNetTrackShower``,
``lartpc.SegmentationMetrics``, ``lartpc.SimValidation``, ``lartpc.EventDisplay``) are registered by
``hepreco_lartpc.plugin`` through the ``hepreco`` entry point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepreco.lazy import lazy_attributes
from hepreco_lartpc._version import __version__

__all__ = ["LABELS", "DetectorParams", "SimParameters", "__version__", "detector", "simulate"]

# imported on first use, so that importing the package (the plugin's registration does) loads no awkward or numba
_LAZY = {
    "DetectorParams": "hepreco_lartpc.geometry",
    "detector": "hepreco_lartpc.geometry",
    "LABELS": "hepreco_lartpc.simulation",
    "SimParameters": "hepreco_lartpc.simulation",
    "simulate": "hepreco_lartpc.simulation",
}

if TYPE_CHECKING:
    from hepreco_lartpc.geometry import DetectorParams, detector
    from hepreco_lartpc.simulation import LABELS, SimParameters, simulate


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
