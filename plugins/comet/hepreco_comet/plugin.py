"""This module registers the COMET plugin's modules, source and service with hepreco (entry point ``comet``)."""

from __future__ import annotations

import hepreco
from hepreco_comet.hit_imager import HitImager
from hepreco_comet.hit_metrics import HitClassificationMetrics
from hepreco_comet.service import CDCGeometry
from hepreco_comet.sim_validation import SimValidation
from hepreco_comet.source import CDCSimSource

__all__ = ["hepreco_modules", "hepreco_services", "hepreco_sources"]


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [HitImager, HitClassificationMetrics, SimValidation]


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [CDCSimSource]


@hepreco.hookimpl
def hepreco_services() -> list[type]:
    return [CDCGeometry]
