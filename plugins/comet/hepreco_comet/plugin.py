"""This module registers the COMET plugin's modules, source, service, models and shipped checkpoints with
hepreco (entry point ``comet``)."""

from __future__ import annotations

from pathlib import Path

import hepreco
from hepreco_comet.dncnn import DNCNN, DNCNN_DENOISER
from hepreco_comet.dncnn_classifier import DnCNNHitClassifier
from hepreco_comet.gbdt import GBDT, HitFeatures
from hepreco_comet.gbdt_classifier import GBDTHitClassifier
from hepreco_comet.hit_imager import HitImager
from hepreco_comet.hit_metrics import HitClassificationMetrics
from hepreco_comet.service import CDCGeometry
from hepreco_comet.signal_image import SignalImage
from hepreco_comet.sim_validation import SimValidation
from hepreco_comet.source import CDCSimSource

__all__ = ["hepreco_builtin_checkpoints", "hepreco_models", "hepreco_modules", "hepreco_services", "hepreco_sources"]

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [
        HitImager,
        HitClassificationMetrics,
        SimValidation,
        SignalImage,
        HitFeatures,
        DnCNNHitClassifier,
        GBDTHitClassifier,
    ]


@hepreco.hookimpl
def hepreco_models() -> list[object]:
    return [DNCNN, DNCNN_DENOISER, GBDT]


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """``builtin:comet-dncnn`` and ``builtin:comet-gbdt``: the checkpoints shipped in ``checkpoints/``."""
    return {name: str(CHECKPOINTS / name) for name in ("comet-dncnn", "comet-gbdt")}


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [CDCSimSource]


@hepreco.hookimpl
def hepreco_services() -> list[type]:
    return [CDCGeometry]
