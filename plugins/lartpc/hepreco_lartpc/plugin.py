"""This module registers the LArTPC plugin's source, modules, model and shipped checkpoint with hepreco (entry
point ``lartpc``). It imports neither numba nor torch nor matplotlib: they load when a job uses them."""

from __future__ import annotations

from pathlib import Path

import hepreco
from hepreco_lartpc.em_track_michel import EmTrackMichelId
from hepreco_lartpc.emtrkmichel_metrics import EmTrackMichelMetrics
from hepreco_lartpc.emtrkmichel_spec import EMTRKMICHEL
from hepreco_lartpc.event_display import EventDisplay
from hepreco_lartpc.hit_patches import HitPatches
from hepreco_lartpc.particle_id import ParticleID, ParticleIDMetrics
from hepreco_lartpc.particle_imager import ParticleImager
from hepreco_lartpc.resnet_pid_spec import RESNET_PID
from hepreco_lartpc.segmentation_metrics import SegmentationMetrics
from hepreco_lartpc.sim_validation import SimValidation
from hepreco_lartpc.source import LArTPCSimSource
from hepreco_lartpc.track_shower import UNetTrackShower
from hepreco_lartpc.unet import UNET
from hepreco_lartpc.view_imager import ViewImager

__all__ = ["hepreco_builtin_checkpoints", "hepreco_models", "hepreco_modules", "hepreco_sources"]

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [
        ViewImager,
        UNetTrackShower,
        SegmentationMetrics,
        SimValidation,
        EventDisplay,
        HitPatches,
        EmTrackMichelId,
        EmTrackMichelMetrics,
        ParticleImager,
        ParticleID,
        ParticleIDMetrics,
    ]


@hepreco.hookimpl
def hepreco_models() -> list[object]:
    return [UNET, EMTRKMICHEL, RESNET_PID]


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """The checkpoints shipped in ``checkpoints/``: ``builtin:lartpc-unet`` (8 filters, 128 x 128 tiles, trained
    on one CPU core), ``builtin:lartpc-unet-pandora`` (Pandora's size: 16 filters, 256 x 256 tiles, trained on
    a GPU by ``examples/lartpc/gpu_recipe.sh``) and ``builtin:lartpc-emtrkmichel`` (LArSoft's EM/track/Michel CNN,
    ``examples/lartpc/train_emtrkmichel.yaml`` on one CPU core)."""
    names = ("lartpc-unet", "lartpc-unet-pandora", "lartpc-emtrkmichel")
    return {name: str(CHECKPOINTS / name) for name in names}


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [LArTPCSimSource]
