"""This module registers the LArTPC plugin's source, modules, model and shipped checkpoint with hepreco (entry
point ``lartpc``). Types are registered by name and models on first use, so registering imports neither numba
nor torch nor matplotlib (nor awkward): they load when a job uses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hepreco

__all__ = ["hepreco_builtin_checkpoints", "hepreco_displays", "hepreco_models", "hepreco_modules", "hepreco_sources"]

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@hepreco.hookimpl
def hepreco_modules() -> list[str]:
    """The modules, by name: each file is imported (with numba, torch...) only when a job uses its module."""
    return [
        "hepreco_lartpc.view_imager:ViewImager",
        "hepreco_lartpc.track_shower:UNetTrackShower",
        "hepreco_lartpc.segmentation_metrics:SegmentationMetrics",
        "hepreco_lartpc.sim_validation:SimValidation",
        "hepreco_lartpc.event_display:EventDisplay",
        "hepreco_lartpc.hit_patches:HitPatches",
        "hepreco_lartpc.em_track_michel:EmTrackMichelId",
        "hepreco_lartpc.emtrkmichel_metrics:EmTrackMichelMetrics",
        "hepreco_lartpc.particle_imager:ParticleImager",
        "hepreco_lartpc.particle_id:ParticleID",
        "hepreco_lartpc.particle_id:ParticleIDMetrics",
    ]


@hepreco.hookimpl
def hepreco_models() -> dict[str, str]:
    """The model specs, by name: imported when a model is used (``hepreco train``, a network module)."""
    return {
        "lartpc-unet": "hepreco_lartpc.unet:UNET",
        "lartpc-emtrkmichel": "hepreco_lartpc.emtrkmichel_spec:EMTRKMICHEL",
        "lartpc-emtrkmichel-fcn": "hepreco_lartpc.emtrkmichel_fcn_spec:EMTRKMICHEL_FCN",
        "lartpc-resnet-pid": "hepreco_lartpc.resnet_pid_spec:RESNET_PID",
    }


@hepreco.hookimpl
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """The checkpoints shipped in ``checkpoints/``: ``builtin:lartpc-unet`` (8 filters, 128 x 128 tiles, trained
    on one CPU core), ``builtin:lartpc-unet-pandora`` (Pandora's size: 16 filters, 256 x 256 tiles, trained on
    a GPU by ``examples/lartpc/gpu_recipe.sh``), ``builtin:lartpc-emtrkmichel`` (LArSoft's EM/track/Michel CNN,
    ``examples/lartpc/train_emtrkmichel.yaml`` on one CPU core, stored int8 weight-only quantized), ``builtin:lartpc-emtrkmichel-fcn``
    (the fully convolutional EM/track/Michel network, ``examples/lartpc/train_emtrkmichel_fcn.yaml`` on one CPU
    core) and ``builtin:lartpc-resnet-pid`` (the particle-ID
    ResNet of ``examples/lartpc/train_resnet_pid.yaml``: see the plugin README)."""
    names = ("lartpc-unet", "lartpc-unet-pandora", "lartpc-emtrkmichel", "lartpc-emtrkmichel-fcn", "lartpc-resnet-pid")
    return {name: str(CHECKPOINTS / name) for name in names}


@hepreco.hookimpl
def hepreco_sources() -> list[str]:
    return ["hepreco_lartpc.source:LArTPCSimSource"]


@hepreco.hookimpl
def hepreco_displays() -> list[Any]:
    """The live-monitoring page's LArTPC views: every product with ``view, x, w, charge`` (the hits) as wire vs
    drift in U, V, W, and the ADC images ``adc_U/V/W`` (``adc_images: true``); the render functions are imported
    on the first event drawn."""
    from hepreco.monitor import Display

    mod = "hepreco_lartpc.monitor_displays"
    hits = Display(
        "lartpc.wire_drift", "LArTPC hits, wire vs drift", f"{mod}:wire_drift_view", fields=("view", "x", "w", "charge")
    )
    adc = [Display(f"lartpc.adc_{v}", f"LArTPC ADC, {v} view", f"{mod}:adc_view", product=f"adc_{v}") for v in "UVW"]
    return [hits, *adc]
