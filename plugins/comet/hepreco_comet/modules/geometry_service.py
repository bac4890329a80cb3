"""This module defines the ``comet.CDCGeometryService`` service: one configurable CDC geometry for a whole job.

Every COMET module takes its geometry from this service when the job config names it (``services:
{comet.CDCGeometryService: {...}}``), and the default Phase-I geometry otherwise (:func:`geometry_from`).
The geometry itself is :class:`hepreco_comet.geometry.CDCGeometry` (framework-independent).
``comet.CDCGeometry``, the service's former name, is a deprecated alias (:mod:`hepreco_comet.modules.deprecated`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

import hepreco
from hepreco_comet.geometry import CDCGeometry

__all__ = ["CDCGeometryService", "geometry_from"]


class CDCGeometryService(hepreco.Service):
    """The COMET Phase-I CDC geometry (wires, stereo layers, walls, CTH) shared by the COMET modules.

    The parameters adjust the default geometry; the wire layout itself (4986 wires in 20 layers) is fixed.
    """

    class Config(hepreco.ModuleConfig):
        half_length: float = Field(79.0, gt=0)
        """Half the wire length (cm)."""
        inner_wall: float = Field(49.6, gt=0)
        """Radius of the CDC inner wall (cm)."""
        outer_wall: float = Field(83.5, gt=0)
        """Radius of the CDC outer wall (cm)."""
        cth_z: tuple[float, float] = (48.0, 84.0)
        """|z| range covered by each CTH ring (cm)."""

    def __init__(self, config: hepreco.ModuleConfig, *, job: Any) -> None:
        super().__init__(config, job=job)
        c = self.config
        if not c.inner_wall < c.outer_wall:  # type: ignore[attr-defined]
            msg = f"inner_wall ({c.inner_wall}) must be below outer_wall ({c.outer_wall})"  # type: ignore[attr-defined]
            raise ValueError(msg)
        self.geometry = CDCGeometry(
            half_length=c.half_length,  # type: ignore[attr-defined]
            inner_wall=c.inner_wall,  # type: ignore[attr-defined]
            outer_wall=c.outer_wall,  # type: ignore[attr-defined]
            cth_z=tuple(c.cth_z),  # type: ignore[attr-defined]
        )

    def report(self) -> dict[str, Any] | None:
        return {"geometry": repr(self.geometry)}


_DEFAULT: list[CDCGeometry] = []


def geometry_from(services: hepreco.Services) -> CDCGeometry:
    """The job's CDC geometry: the ``comet.CDCGeometryService`` service's when configured, else the default."""
    for service in services:
        if isinstance(service, CDCGeometryService):
            return service.geometry
    if not _DEFAULT:
        _DEFAULT.append(CDCGeometry())
    return _DEFAULT[0]
