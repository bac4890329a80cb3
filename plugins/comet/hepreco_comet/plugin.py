"""This module registers the COMET plugin's modules, source, service, models and shipped checkpoints with
hepreco (entry point ``comet``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hepreco

__all__ = [
    "hepreco_builtin_checkpoints",
    "hepreco_displays",
    "hepreco_models",
    "hepreco_modules",
    "hepreco_services",
    "hepreco_sources",
]

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@hepreco.hookimpl
def hepreco_modules() -> list[str]:
    """The modules, by name (one per file in ``hepreco_comet/modules/``): each file is imported (with numba,
    torch...) only when a job uses its module."""
    return [
        "hepreco_comet.modules.hit_imager:HitImager",
        "hepreco_comet.modules.hit_metrics:HitClassificationMetrics",
        "hepreco_comet.modules.sim_validation:SimValidation",
        "hepreco_comet.modules.signal_image:SignalImage",
        "hepreco_comet.modules.hit_features:HitFeatures",
        "hepreco_comet.modules.dncnn_classifier:DnCNNHitClassifier",
        "hepreco_comet.modules.gbdt_classifier:GBDTHitClassifier",
        "hepreco_comet.modules.helix_fit:HelixFit",
        "hepreco_comet.modules.momentum_resolution:MomentumResolution",
        "hepreco_comet.modules.turn1_extractor:Turn1Extractor",
        "hepreco_comet.modules.event_display:EventDisplay",
    ]


@hepreco.hookimpl
def hepreco_models() -> dict[str, str]:
    """The model specs, by name: ``hepreco_comet.models`` (pydantic, hepreco.ml) is imported when a model is used."""
    return {
        "comet-dncnn": "hepreco_comet.models:DNCNN",
        "comet-dncnn-denoiser": "hepreco_comet.models:DNCNN_DENOISER",
        "comet-turn1": "hepreco_comet.models:TURN1",
        "comet-gbdt": "hepreco_comet.models:GBDT",
    }


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """The checkpoints shipped in ``checkpoints/``: ``builtin:comet-dncnn`` (layer x cell image),
    ``builtin:comet-dncnn-wire`` and ``builtin:comet-dncnn-xy`` (the talk's two images), the talk's other hit
    classifiers ``builtin:comet-dncnn-1d`` (1D DnCNN) and ``builtin:comet-dncnn-dae`` (denoising autoencoder),
    ``builtin:comet-gbdt`` and ``builtin:comet-turn1``."""
    names = ("comet-dncnn", "comet-dncnn-wire", "comet-dncnn-xy", "comet-dncnn-1d", "comet-dncnn-dae", "comet-gbdt",
             "comet-turn1")  # fmt: skip
    return {name: str(CHECKPOINTS / name) for name in names}


@hepreco.hookimpl
def hepreco_sources() -> list[str]:
    return ["hepreco_comet.modules.sim_source:CDCSimSource"]


@hepreco.hookimpl
def hepreco_services() -> list[str]:
    """The geometry service, and its deprecated former name ``comet.CDCGeometry`` (warns when a job uses it)."""
    return [
        "hepreco_comet.modules.geometry_service:CDCGeometryService",
        "hepreco_comet.modules.deprecated:CDCGeometry",
    ]


@hepreco.hookimpl
def hepreco_displays() -> list[Any]:
    """The live-monitoring page's CDC x-y view of any product with ``wire, z, edep`` (the source's hits); the
    render function (numba geometry) is imported on the first event drawn."""
    from hepreco.monitor import Display

    return [
        Display(
            "comet.xy", "COMET CDC hits, x-y", "hepreco_comet.monitor_displays:xy_view", fields=("wire", "z", "edep")
        )
    ]
