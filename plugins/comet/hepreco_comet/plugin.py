"""This module registers the COMET plugin's modules, source, service, models and shipped checkpoints with
hepreco (entry point ``comet``)."""

from __future__ import annotations

from pathlib import Path

import hepreco

__all__ = ["hepreco_builtin_checkpoints", "hepreco_models", "hepreco_modules", "hepreco_services", "hepreco_sources"]

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@hepreco.hookimpl
def hepreco_modules() -> list[str]:
    """The modules, by name: each file is imported (with numba, torch...) only when a job uses its module."""
    return [
        "hepreco_comet.hit_imager:HitImager",
        "hepreco_comet.hit_metrics:HitClassificationMetrics",
        "hepreco_comet.sim_validation:SimValidation",
        "hepreco_comet.signal_image:SignalImage",
        "hepreco_comet.gbdt:HitFeatures",
        "hepreco_comet.dncnn_classifier:DnCNNHitClassifier",
        "hepreco_comet.gbdt_classifier:GBDTHitClassifier",
        "hepreco_comet.helix_fit:HelixFit",
        "hepreco_comet.momentum_resolution:MomentumResolution",
        "hepreco_comet.turn1:Turn1Extractor",
        "hepreco_comet.event_display:EventDisplay",
    ]


@hepreco.hookimpl
def hepreco_models() -> list[object]:
    from hepreco_comet.models import DNCNN, DNCNN_DENOISER, GBDT, TURN1  # specs only: no numba, no torch

    return [DNCNN, DNCNN_DENOISER, GBDT, TURN1]


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """The checkpoints shipped in ``checkpoints/``: ``builtin:comet-dncnn`` (layer x cell image),
    ``builtin:comet-dncnn-wire`` and ``builtin:comet-dncnn-xy`` (the talk's two images), ``builtin:comet-gbdt``
    and ``builtin:comet-turn1``."""
    names = ("comet-dncnn", "comet-dncnn-wire", "comet-dncnn-xy", "comet-gbdt", "comet-turn1")
    return {name: str(CHECKPOINTS / name) for name in names}


@hepreco.hookimpl
def hepreco_sources() -> list[str]:
    return ["hepreco_comet.source:CDCSimSource"]


@hepreco.hookimpl
def hepreco_services() -> list[str]:
    return ["hepreco_comet.service:CDCGeometry"]
