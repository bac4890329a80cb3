"""This module keeps deprecated type names of the COMET plugin working for a while, each warning when a job
uses it: ``comet.CDCGeometry`` (a service), now ``comet.CDCGeometryService``."""

from __future__ import annotations

import warnings
from typing import Any

import hepreco
from hepreco_comet.modules.geometry_service import CDCGeometryService

__all__ = ["CDCGeometry"]


class CDCGeometry(CDCGeometryService):
    """Deprecated name of the ``comet.CDCGeometryService`` service (same parameters): use that name."""

    def __init__(self, config: hepreco.ModuleConfig, *, job: Any) -> None:
        msg = (
            "service type 'comet.CDCGeometry' is deprecated: name it 'comet.CDCGeometryService' in the job "
            "config's services (same parameters); the geometry class itself is hepreco_comet.geometry.CDCGeometry"
        )
        warnings.warn(msg, FutureWarning, stacklevel=2)
        super().__init__(config, job=job)
