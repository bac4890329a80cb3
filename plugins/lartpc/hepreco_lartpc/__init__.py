"""hepreco-lartpc: liquid-argon TPCs for hepreco (ProtoDUNE-SP, MicroBooNE).

The pure parts (usable without a job; none imports numba or torch until used):

- ``geometry``: :class:`DetectorParams`, :func:`detector`: the presets and the U, V, W wire views.
- ``simulation``: :class:`SimParameters` and :func:`simulate`: neutrino-like events, single particles and
  cosmic muons to Gaussian hits with per-hit truth (numba kernels in ``_transport`` and ``_readout``).
- ``tiles``: :func:`make_tiles`: Pandora's images, hits binned into tiles per view, and the maps back.
- ``patches``: the EM/track/Michel networks' patches: hit pixels and zero-padded windows of the ADC images.
- ``segmentation``: per-hit and per-pixel accuracy, confusion matrices, purity and efficiency.

The networks (each ``*_spec`` module registers its model without importing torch; the network's own module
imports it):

- ``unet``: the U-Net of Pandora's track/shower segmentation (model ``lartpc-unet``).
- ``emtrkmichel_spec``, ``emtrkmichel``: LArSoft's EM/track/none + Michel CNN (model ``lartpc-emtrkmichel``);
  ``emtrkmichel_modes``: its inference modes ``patch``, ``batched``, ``shared``, ``dense``, ``auto``.
- ``emtrkmichel_fcn_spec``, ``emtrkmichel_fcn``: the fully convolutional EM/track/none + Michel network trained
  on the same targets (model ``lartpc-emtrkmichel-fcn``), run once per view.
- ``resnet_pid_spec``, ``resnet_pid``: the particle-identification ResNet (model ``lartpc-resnet-pid``).

The hepreco modules, registered by ``hepreco_lartpc.plugin`` through the ``hepreco`` entry point, one per file:
``source`` (``lartpc.LArTPCSimSource``), ``view_imager`` (``lartpc.ViewImager``), ``track_shower``
(``lartpc.UNetTrackShower``), ``segmentation_metrics`` (``lartpc.SegmentationMetrics``), ``sim_validation``
(``lartpc.SimValidation``), ``event_display`` (``lartpc.EventDisplay``), ``hit_patches`` (``lartpc.HitPatches``),
``em_track_michel`` (``lartpc.EmTrackMichelId``), ``emtrkmichel_metrics`` (``lartpc.EmTrackMichelMetrics``),
``particle_imager`` (``lartpc.ParticleImager``), ``particle_id`` (``lartpc.ParticleID``,
``lartpc.ParticleIDMetrics``); ``plotting`` draws their PNGs (matplotlib, imported only when plotting).
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
