"""This module defines the COMET Phase-I CDC geometry: wires, layers, cells, stereo, neighbours and the CTH.

Units: lengths in cm, angles in rad. The coordinate system has z along the solenoid axis (the wires run
along z), the origin at the centre of the CDC, where the muon stopping target sits.

Numbers and their sources are listed in ``plugins/comet/README.md`` ("Geometry").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numba as nb
import numpy as np

__all__ = ["CDCGeometry", "GeometryArrays", "cth_segment_kernel", "locate_kernel", "wire_xy_kernel"]

TWO_PI = 2.0 * np.pi


class GeometryArrays(NamedTuple):
    """The geometry as plain arrays, the form the numba kernels take (one per layer unless noted)."""

    n_cells: np.ndarray  # int64: cells (wires) in the layer
    first_wire: np.ndarray  # int64: wire id of cell 0 of the layer
    radius: np.ndarray  # float64: wire radius at the end plates (cm)
    twist: np.ndarray  # float64: signed azimuthal rotation of the wire between the two end plates (rad)
    sense: np.ndarray  # bool: the layer has sense (read-out) wires
    wire_layer: np.ndarray  # int64, per wire
    wire_cell: np.ndarray  # int64, per wire
    half_length: float  # half of the wire length (cm)
    cth_radius: np.ndarray  # float64 (2,): Cherenkov and scintillator counter radii (cm)
    cth_thickness: np.ndarray  # float64 (2,): their radial thickness (cm)
    cth_z: np.ndarray  # float64 (2,): |z| range of each CTH ring (cm)
    cth_segments: int  # segments per ring and counter layer


# --- numba kernels on GeometryArrays, shared with the simulation's kernels -----------------------------


@nb.njit(cache=True, inline="always")
def _layer_radius_at(radius: float, twist: float, zeta: float) -> float:
    """Distance of a stereo wire from the axis at ``zeta = 2 z / L`` (a hyperboloid of one sheet)."""
    c = np.cos(0.5 * twist)
    s = np.sin(0.5 * twist) * zeta
    return radius * np.sqrt(c * c + s * s)


@nb.njit(cache=True, inline="always")
def _phi_shift_at(twist: float, zeta: float) -> float:
    """Azimuth of a stereo wire at ``zeta = 2 z / L`` relative to its azimuth at z = 0."""
    return np.arctan2(np.sin(0.5 * twist) * zeta, np.cos(0.5 * twist))


@nb.njit(cache=True)
def wire_xy_kernel(wire: int, z: float, g: GeometryArrays) -> tuple[float, float]:
    """(x, y) of wire ``wire`` at ``z`` (numba; :meth:`CDCGeometry.wire_xy` is the vectorised form)."""
    layer = g.wire_layer[wire]
    cell = g.wire_cell[wire]
    n = g.n_cells[layer]
    zeta = z / g.half_length
    phi = TWO_PI * cell / n + _phi_shift_at(g.twist[layer], zeta)
    rho = _layer_radius_at(g.radius[layer], g.twist[layer], zeta)
    return rho * np.cos(phi), rho * np.sin(phi)


@nb.njit(cache=True)
def locate_kernel(x: float, y: float, z: float, g: GeometryArrays) -> int:
    """Wire id of the drift cell that contains the point (any layer, guard layers included), or -1 (numba;
    :meth:`CDCGeometry.locate` is the vectorised form)."""
    if abs(z) > g.half_length:
        return -1
    zeta = z / g.half_length
    r = np.hypot(x, y)
    nl = g.radius.shape[0]
    # the layer radii at this z differ from the end-plate radii by < 0.3 cm: start from the nearest
    # end-plate layer and compare with its two neighbours
    pitch = (g.radius[nl - 1] - g.radius[0]) / (nl - 1)
    l0 = int(np.floor((r - g.radius[0]) / pitch + 0.5))
    if l0 < -1 or l0 > nl:
        return -1
    best = -1
    best_d = 1e30
    for layer in range(max(l0 - 1, 0), min(l0 + 2, nl)):
        d = abs(r - _layer_radius_at(g.radius[layer], g.twist[layer], zeta))
        if d < best_d:
            best_d = d
            best = layer
    if best_d > 0.5 * pitch:
        return -1
    n = g.n_cells[best]
    phi = np.arctan2(y, x) - _phi_shift_at(g.twist[best], zeta)
    cell = int(np.floor(phi * n / TWO_PI + 0.5)) % n
    return g.first_wire[best] + cell


@nb.njit(cache=True)
def _locate_many(x: np.ndarray, y: np.ndarray, z: np.ndarray, g: GeometryArrays) -> np.ndarray:
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        out[i] = locate_kernel(x[i], y[i], z[i], g)
    return out


@nb.njit(cache=True)
def _wire_xy_many(wire: np.ndarray, z: np.ndarray, g: GeometryArrays) -> tuple[np.ndarray, np.ndarray]:
    xs = np.empty(wire.shape[0])
    ys = np.empty(wire.shape[0])
    for i in range(wire.shape[0]):
        xs[i], ys[i] = wire_xy_kernel(wire[i], z[i], g)
    return xs, ys


@nb.njit(cache=True, inline="always")
def cth_segment_kernel(x: float, y: float, nseg: int) -> int:
    """The CTH segment (0 to ``nseg - 1``) at the azimuth of ``(x, y)`` (numba; :meth:`CDCGeometry.cth_segment`
    adds the ring and the z coverage)."""
    phi = np.arctan2(y, x)
    if phi < 0.0:
        phi += TWO_PI
    return int(phi * nseg / TWO_PI) % nseg


# --- the public class -------------------------------------------------------------------------------


def _default_cells() -> np.ndarray:
    sense = 198 + 6 * np.arange(18)
    return np.concatenate([[198], sense, [306]]).astype(np.int64)


def _default_radii() -> np.ndarray:
    return np.round(51.4 + 1.6 * np.arange(20), 6)


def _default_twist() -> np.ndarray:
    mag = np.linspace(0.190, 0.147, 20)
    sign = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)
    return mag * sign


@dataclass(frozen=True, eq=False)
class CDCGeometry:
    """The COMET Phase-I cylindrical drift chamber: 4986 wires in 20 layers, and the trigger hodoscope.

    Layer 0 and layer 19 are guard layers (198 and 306 wires, no read-out); layers 1-18 are the sense
    layers with 198, 204, ..., 300 wires (4482 sense wires). Wire ids run layer by layer from the inner
    guard layer, cell 0 first: the order of the talk's 71x71 wire-id image. Every wire is stereo: its end
    at z = +L/2 sits at azimuth ``phi0 + twist/2`` and its end at z = -L/2 at ``phi0 - twist/2``, both at
    the end-plate radius; ``phi0 = 2 pi cell / n_cells`` is the azimuth of the wire at z = 0.

    Args:
        n_cells: wires per layer.
        radius: end-plate radius of each layer (cm).
        twist: signed stereo rotation of each layer between the end plates (rad).
        sense: whether each layer is read out.
        half_length: half the wire length (cm).

    Examples:
        >>> geo = CDCGeometry()
        >>> geo.n_wires, geo.n_layers, geo.n_sense_wires
        (4986, 20, 4482)
        >>> geo.layer_cell(geo.wire_id(5, 17))
        (5, 17)
    """

    n_cells: np.ndarray = field(default_factory=_default_cells)
    radius: np.ndarray = field(default_factory=_default_radii)
    twist: np.ndarray = field(default_factory=_default_twist)
    sense: np.ndarray = field(default_factory=lambda: np.array([False] + [True] * 18 + [False]))
    half_length: float = 79.0
    #: radius of the CDC inner wall (cm); the gas volume starts here
    inner_wall: float = 49.6
    #: radius of the CDC outer wall (cm)
    outer_wall: float = 83.5
    #: CTH: radii of the Cherenkov (inner) and scintillator (outer) counter layers (cm)
    cth_radius: tuple[float, float] = (44.8, 47.9)
    #: CTH: radial thickness of the Cherenkov radiator and of the scintillator (cm)
    cth_thickness: tuple[float, float] = (1.0, 0.5)
    #: CTH: |z| range covered by each of the two rings (upstream z < 0, downstream z > 0), cm
    cth_z: tuple[float, float] = (48.0, 84.0)
    #: CTH: segments per ring
    cth_segments: int = 64

    def __post_init__(self) -> None:
        n = np.asarray(self.n_cells, dtype=np.int64)
        for name, arr in (("radius", self.radius), ("twist", self.twist), ("sense", self.sense)):
            if np.shape(arr) != n.shape:
                msg = f"CDCGeometry: '{name}' has {np.shape(arr)} entries, n_cells has {n.shape}"
                raise ValueError(msg)
        if self.cth_segments > 64:
            msg = f"CDCGeometry: at most 64 CTH segments per ring are supported, got {self.cth_segments}"
            raise ValueError(msg)
        object.__setattr__(self, "n_cells", n)
        object.__setattr__(self, "radius", np.asarray(self.radius, dtype=np.float64))
        object.__setattr__(self, "twist", np.asarray(self.twist, dtype=np.float64))
        object.__setattr__(self, "sense", np.asarray(self.sense, dtype=bool))
        first = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
        object.__setattr__(self, "first_wire", first)
        layer = np.repeat(np.arange(n.size, dtype=np.int64), n)
        object.__setattr__(self, "wire_layer", layer)
        object.__setattr__(self, "wire_cell", np.arange(layer.size, dtype=np.int64) - first[layer])
        for arr in (self.n_cells, self.radius, self.twist, self.sense, first, layer):
            arr.flags.writeable = False

    # --- sizes ----------------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of layers, guard layers included (20)."""
        return int(self.n_cells.size)

    @property
    def n_wires(self) -> int:
        """Number of wires, guard wires included (4986)."""
        return int(self.n_cells.sum())

    @property
    def n_sense_wires(self) -> int:
        """Number of read-out (sense) wires (4482)."""
        return int(self.n_cells[self.sense].sum())

    @property
    def max_cells(self) -> int:
        """Cells in the largest layer (306): the width of the layer x cell image."""
        return int(self.n_cells.max())

    @property
    def sense_wire_mask(self) -> np.ndarray:
        """Boolean per wire id: True for a read-out wire."""
        return self.sense[self.wire_layer]

    @property
    def arrays(self) -> GeometryArrays:
        """The geometry as the arrays the numba kernels take."""
        return GeometryArrays(
            n_cells=self.n_cells,
            first_wire=self.first_wire,  # type: ignore[attr-defined]
            radius=self.radius,
            twist=self.twist,
            sense=self.sense,
            wire_layer=self.wire_layer,  # type: ignore[attr-defined]
            wire_cell=self.wire_cell,  # type: ignore[attr-defined]
            half_length=float(self.half_length),
            cth_radius=np.asarray(self.cth_radius, dtype=np.float64),
            cth_thickness=np.asarray(self.cth_thickness, dtype=np.float64),
            cth_z=np.asarray(self.cth_z, dtype=np.float64),
            cth_segments=int(self.cth_segments),
        )

    # --- ids -------------------------------------------------------------------------------------
    def check_wires(self, wire: np.ndarray | int) -> None:
        """Raise ValueError when a wire id is outside ``[0, n_wires)``."""
        w = np.asarray(wire)
        bad = (w < 0) | (w >= self.n_wires)
        if np.any(bad):
            msg = f"wire id {w[bad].flat[0]} is outside the CDC (valid ids: 0 to {self.n_wires - 1})"
            raise ValueError(msg)

    def wire_id(self, layer: np.ndarray | int, cell: np.ndarray | int) -> np.ndarray | int:
        """Wire id of ``cell`` in ``layer`` (vectorised)."""
        layer_a = np.asarray(layer, dtype=np.int64)
        cell_a = np.asarray(cell, dtype=np.int64)
        if np.any((layer_a < 0) | (layer_a >= self.n_layers)):
            msg = f"layer out of range 0-{self.n_layers - 1}: {layer}"
            raise ValueError(msg)
        n = self.n_cells[layer_a]
        if np.any((cell_a < 0) | (cell_a >= n)):
            msg = f"cell out of range for its layer (layer {layer}, cell {cell}, cells per layer {n})"
            raise ValueError(msg)
        out = self.first_wire[layer_a] + cell_a  # type: ignore[attr-defined]
        return int(out) if out.ndim == 0 else out

    def layer_cell(self, wire: np.ndarray | int) -> tuple[np.ndarray, np.ndarray] | tuple[int, int]:
        """(layer, cell) of a wire id (vectorised)."""
        self.check_wires(wire)
        w = np.asarray(wire, dtype=np.int64)
        layer = self.wire_layer[w]  # type: ignore[attr-defined]
        cell = self.wire_cell[w]  # type: ignore[attr-defined]
        if w.ndim == 0:
            return int(layer), int(cell)
        return layer, cell

    # --- positions -------------------------------------------------------------------------------
    def wire_phi(self, wire: np.ndarray | int, z: np.ndarray | float = 0.0) -> np.ndarray:
        """Azimuth of a wire at ``z`` (rad, in (-pi, pi])."""
        x, y = self.wire_xy(wire, z)
        return np.arctan2(y, x)

    def wire_xy(self, wire: np.ndarray | int, z: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a wire at ``z`` (cm; vectorised over wire and z)."""
        self.check_wires(wire)
        w, zz = np.broadcast_arrays(np.asarray(wire, dtype=np.int64), np.asarray(z, dtype=np.float64))
        x, y = _wire_xy_many(np.ascontiguousarray(w.ravel()), np.ascontiguousarray(zz.ravel()), self.arrays)
        return x.reshape(w.shape), y.reshape(w.shape)

    def endplate_xy(self, wire: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a wire at the downstream end plate, z = +L/2: the talk's X-Y image positions."""
        return self.wire_xy(wire, self.half_length)

    def locate(self, x: np.ndarray | float, y: np.ndarray | float, z: np.ndarray | float) -> np.ndarray:
        """Wire id of the drift cell containing each point, or -1 outside the chamber (vectorised).

        Guard-layer cells are returned too; combine with :attr:`sense_wire_mask` for read-out cells.
        """
        xx, yy, zz = np.broadcast_arrays(
            np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), np.asarray(z, dtype=np.float64)
        )
        out = _locate_many(
            np.ascontiguousarray(xx.ravel()),
            np.ascontiguousarray(yy.ravel()),
            np.ascontiguousarray(zz.ravel()),
            self.arrays,
        )
        return out.reshape(xx.shape)

    # --- neighbourhoods ---------------------------------------------------------------------------
    def neighbours(self, wire: int, z: float = 0.0) -> np.ndarray:
        """Wire ids next to ``wire``: both cells beside it in its layer, and the cells of the layers
        inside and outside whose azimuth at ``z`` is within half a cell pitch (of either layer) of it.

        Stereo angles alternate in sign from layer to layer, so the neighbours across layers depend on z.
        """
        self.check_wires(wire)
        layer, cell = int(self.wire_layer[wire]), int(self.wire_cell[wire])  # type: ignore[attr-defined]
        n = int(self.n_cells[layer])
        out = [self.first_wire[layer] + (cell - 1) % n, self.first_wire[layer] + (cell + 1) % n]  # type: ignore[attr-defined]
        phi = float(self.wire_phi(wire, z))
        for other in (layer - 1, layer + 1):
            if not 0 <= other < self.n_layers:
                continue
            m = int(self.n_cells[other])
            cand = self.first_wire[other] + np.arange(m)  # type: ignore[attr-defined]
            dphi = np.angle(np.exp(1j * (self.wire_phi(cand, z) - phi)))
            tol = 0.5 * (TWO_PI / n + TWO_PI / m)
            out.extend(cand[np.abs(dphi) < tol].tolist())
        return np.unique(np.asarray(out, dtype=np.int64))

    def neighbour_table(self, z: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """All neighbourhoods at ``z`` as CSR arrays ``(offsets, wires)``: the neighbours of wire ``w``
        are ``wires[offsets[w]:offsets[w + 1]]``."""
        lists = [self.neighbours(w, z) for w in range(self.n_wires)]
        offsets = np.concatenate([[0], np.cumsum([len(v) for v in lists])]).astype(np.int64)
        return offsets, np.concatenate(lists)

    # --- the trigger hodoscope -----------------------------------------------------------------
    def cth_segment(
        self, x: np.ndarray | float, y: np.ndarray | float, z: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ring, segment) of the CTH counters at each point's azimuth: ring 0 upstream (z < 0),
        1 downstream; (-1, -1) where ``|z|`` is outside the rings' coverage (vectorised)."""
        xx, yy, zz = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(z, float))
        inside = (np.abs(zz) >= self.cth_z[0]) & (np.abs(zz) <= self.cth_z[1])
        phi = np.mod(np.arctan2(yy, xx), TWO_PI)
        seg = np.floor(phi * self.cth_segments / TWO_PI).astype(np.int64) % self.cth_segments
        ring = (zz > 0).astype(np.int64)
        return np.where(inside, ring, -1), np.where(inside, seg, -1)

    def cth_trigger(self, cherenkov_segments: np.ndarray, scintillator_segments: np.ndarray) -> bool:
        """The trigger condition of one ring: a Cherenkov segment and a scintillator segment within one
        segment of each other both fired (the CTH's 2 x 2 four-fold coincidence, reduced to its geometry).
        """
        c = np.asarray(cherenkov_segments, dtype=np.int64)
        s = np.asarray(scintillator_segments, dtype=np.int64)
        if c.size == 0 or s.size == 0:
            return False
        d = np.abs(c[:, None] - s[None, :]) % self.cth_segments
        d = np.minimum(d, self.cth_segments - d)
        return bool(np.any(d <= 1))

    def __repr__(self) -> str:
        return (
            f"CDCGeometry({self.n_layers} layers, {self.n_wires} wires, {self.n_sense_wires} sense, "
            f"r {self.radius[0]:.1f}-{self.radius[-1]:.1f} cm, L {2 * self.half_length:.0f} cm)"
        )
