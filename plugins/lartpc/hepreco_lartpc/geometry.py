"""This module defines the LArTPC geometry and read-out presets (``protodune``, ``microboone``) and the wire views.

Pure numpy and pydantic: no numba. The numbers and their sources are in the plugin README ("Detector").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PRESETS", "VIEW_NAMES", "Detector", "DetectorParams", "detector"]

VIEW_NAMES = ("U", "V", "W")

#: preset name -> values of the detector fields
PRESETS: dict[str, dict[str, float | tuple[float, ...]]] = {
    # ProtoDUNE-SP, one APA face (DUNE TDR Vol. IV; ProtoDUNE-SP performance paper, JINST 15 (2020) P12004)
    "protodune": {
        "drift_length": 200.0,
        "height": 600.0,
        "length": 230.0,
        "pitch": (0.479, 0.479, 0.479),
        "angles": (35.7, -35.7, 0.0),
        "efield": 0.5,
        "drift_velocity": 0.16,
        "tick": 0.5,
        "lifetime": 10_000.0,
        "diffusion_long": 6.2,
        "diffusion_trans": 13.2,
    },
    # MicroBooNE (JINST 12 (2017) P02017): 3 mm pitch, +-60 deg induction wires, 273 V/cm
    "microboone": {
        "drift_length": 256.0,
        "height": 233.0,
        "length": 1037.0,
        "pitch": (0.3, 0.3, 0.3),
        "angles": (60.0, -60.0, 0.0),
        "efield": 0.273,
        "drift_velocity": 0.1098,
        "tick": 0.5,
        "lifetime": 10_000.0,
        "diffusion_long": 3.74,
        "diffusion_trans": 5.85,
    },
}


class DetectorParams(BaseModel):
    """The detector: a preset, and any of its values overridden (null keeps the preset's)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    detector: Literal["protodune", "microboone"] = "protodune"
    """Geometry and read-out preset: ``protodune`` (one APA face, 4.79 mm pitch, 500 V/cm) or ``microboone``
    (3 mm pitch, 273 V/cm)."""
    drift_length: float | None = Field(None, gt=0)
    """Drift distance, cathode to the wire planes (cm)."""
    height: float | None = Field(None, gt=0)
    """Active height, y (cm)."""
    length: float | None = Field(None, gt=0)
    """Active length along the beam, z (cm)."""
    pitch: tuple[float, float, float] | None = None
    """Wire pitch of the U, V, W views (cm)."""
    angles: tuple[float, float, float] | None = None
    """Wire angles of U, V, W from the vertical (degrees; W, the collection plane, is vertical)."""
    efield: float | None = Field(None, gt=0)
    """Drift field (kV/cm)."""
    drift_velocity: float | None = Field(None, gt=0)
    """Electron drift velocity (cm/µs)."""
    tick: float | None = Field(None, gt=0)
    """Sampling period of the electronics (µs)."""
    lifetime: float | None = Field(None, gt=0)
    """Drift-electron lifetime (µs)."""
    diffusion_long: float | None = Field(None, ge=0)
    """Longitudinal diffusion coefficient (cm²/s)."""
    diffusion_trans: float | None = Field(None, ge=0)
    """Transverse diffusion coefficient (cm²/s)."""


@dataclass(frozen=True)
class Detector:
    """The resolved detector: every value, and the wire views as arrays for the kernels."""

    name: str
    drift_length: float
    height: float
    length: float
    pitch: tuple[float, float, float]
    angles: tuple[float, float, float]
    efield: float
    drift_velocity: float
    tick: float
    lifetime: float
    diffusion_long: float
    diffusion_trans: float

    @property
    def n_ticks(self) -> int:
        """Read-out window: the full drift time plus 10%."""
        return math.ceil(1.1 * self.drift_length / self.drift_velocity / self.tick)

    def project(self, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``(N, 3)``: the wire coordinate w (cm) of the points ``(y, z)`` in each view, ``z cos(angle) +
        y sin(angle)`` (the simulation's read-out projects the same way)."""
        a = np.radians(np.asarray(self.angles, dtype=np.float64))
        y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        z = np.asarray(z, dtype=np.float64).reshape(-1, 1)
        return z * np.cos(a) + y * np.sin(a)

    def views(self) -> np.ndarray:
        """(3, 5): angle (rad), pitch (cm), w of wire 0 (cm), number of wires, collection flag."""
        out = np.zeros((3, 5))
        corners = np.array([(y, z) for y in (0.0, self.height) for z in (0.0, self.length)])
        all_ws = self.project(corners[:, 0], corners[:, 1])
        for v in range(3):
            a = math.radians(self.angles[v])
            ws = all_ws[:, v].tolist()
            p = self.pitch[v]
            w0 = min(ws) + 0.5 * p
            n = math.floor((max(ws) - min(ws)) / p)
            out[v] = (a, p, w0, n, 1.0 if v == 2 else 0.0)
        return out

    def n_wires(self) -> tuple[int, int, int]:
        v = self.views()
        return int(v[0, 3]), int(v[1, 3]), int(v[2, 3])

    def wire_coordinate(self, view: np.ndarray, wire: np.ndarray) -> np.ndarray:
        """The wire coordinate w (cm) of the centre of ``wire`` in ``view``."""
        v = self.views()
        view = np.asarray(view, dtype=np.int64)
        return v[view, 2] + np.asarray(wire) * v[view, 1]


def detector(params: DetectorParams | None = None) -> Detector:
    """The :class:`Detector` of ``params``: the preset with the overrides applied.

    Examples:
        >>> d = detector(DetectorParams(detector="microboone", efield=0.5))
        >>> d.name, d.efield, d.pitch
        ('microboone', 0.5, (0.3, 0.3, 0.3))
        >>> detector().n_wires()
        (1120, 1120, 480)
    """
    params = params or DetectorParams()
    values = dict(PRESETS[params.detector])
    for name in values:
        got = getattr(params, name)
        if got is not None:
            values[name] = tuple(got) if isinstance(got, tuple) else float(got)
    return Detector(name=params.detector, **values)  # type: ignore[arg-type]
