"""This module registers the COMET plugin's modules, source, service, models and shipped checkpoints with
hepreco (entry point ``comet``)."""

from __future__ import annotations

from pathlib import Path

import hepreco
from hepreco_comet.dncnn import DNCNN, DNCNN_DENOISER
from hepreco_comet.dncnn_classifier import DnCNNHitClassifier
from hepreco_comet.event_display import EventDisplay
from hepreco_comet.gbdt import GBDT, HitFeatures
from hepreco_comet.gbdt_classifier import GBDTHitClassifier
from hepreco_comet.helix_fit import HelixFit
from hepreco_comet.hit_imager import HitImager
from hepreco_comet.hit_metrics import HitClassificationMetrics
from hepreco_comet.momentum_resolution import MomentumResolution
from hepreco_comet.service import CDCGeometry
from hepreco_comet.signal_image import SignalImage
from hepreco_comet.sim_validation import SimValidation
from hepreco_comet.source import CDCSimSource
from hepreco_comet.turn1 import TURN1, Turn1Extractor

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
        HelixFit,
        MomentumResolution,
        Turn1Extractor,
        EventDisplay,
    ]


@hepreco.hookimpl
def hepreco_models() -> list[object]:
    return [DNCNN, DNCNN_DENOISER, GBDT, TURN1]


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """The checkpoints shipped in ``checkpoints/``: ``builtin:comet-dncnn`` (layer x cell image),
    ``builtin:comet-dncnn-wire`` and ``builtin:comet-dncnn-xy`` (the talk's two images), ``builtin:comet-gbdt``
    and ``builtin:comet-turn1``."""
    names = ("comet-dncnn", "comet-dncnn-wire", "comet-dncnn-xy", "comet-gbdt", "comet-turn1")
    return {name: str(CHECKPOINTS / name) for name in names}


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [CDCSimSource]


@hepreco.hookimpl
def hepreco_services() -> list[type]:
    return [CDCGeometry]
