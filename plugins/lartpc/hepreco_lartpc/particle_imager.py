"""This module defines ParticleImager: single-particle events to the particle-ID ResNet's per-view images, with
the true class of the event's primary particle."""

from __future__ import annotations

from typing import Literal

import awkward as ak
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

import hepreco
from hepreco import InputTag
from hepreco_lartpc._hits import flat_hits
from hepreco_lartpc.geometry import DetectorParams, detector
from hepreco_lartpc.resnet_pid_spec import PID_PDGS

__all__ = ["DEFAULT_WINDOWS", "ImageWindow", "ParticleImager", "particle_images", "pid_class"]


def pid_class(pdg: np.ndarray) -> np.ndarray:
    """The particle-ID class of each PDG code (0 electron, 1 photon, 2 muon, 3 pion, 4 proton; -1 other).

    Examples:
        >>> pid_class(np.array([11, -11, 22, -13, 211, 2212, 321])).tolist()
        [0, 0, 1, 2, 3, 4, -1]
    """
    pdg = np.asarray(pdg)
    out = np.full(pdg.shape, -1, dtype=np.int64)
    for k, codes in enumerate(PID_PDGS):
        out[np.isin(pdg, codes)] = k
    return out


def particle_images(offsets: np.ndarray, view: np.ndarray, x: np.ndarray, w: np.ndarray, charge: np.ndarray, *,
                    size: int, pixel: float, scale: float = 1e-4,
                    center: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """``(events, 3, size, size)`` float32 images: per view, the hits' charge (times ``scale``) summed in
    ``pixel`` cm pixels (rows: w, columns: drift x) of a window centred on the event's charge-weighted centroid
    (x common to the views, w per view), or on ``center``: ``(x (events,), w (events, 3))`` where finite (an
    event whose centre is NaN keeps its centroid); hits outside the window are left out.

    Examples:
        >>> img = particle_images(np.array([0, 2]), np.array([2, 2]), np.array([10.0, 11.0]), np.array([5.0, 5.0]),
        ...                       np.array([1e4, 3e4]), size=4, pixel=1.0)
        >>> img.shape, float(img.sum()), float(img[0, 2, 2, 2])
        ((1, 3, 4, 4), 4.0, 3.0)
    """
    n_ev = len(offsets) - 1
    out = np.zeros((n_ev, 3, size, size), np.float32)
    if offsets[-1] == 0:
        return out
    ev = np.repeat(np.arange(n_ev), np.diff(offsets))
    q = np.asarray(charge, np.float64)
    qsum = np.bincount(ev, q, n_ev)
    xc = np.bincount(ev, q * x, n_ev) / np.where(qsum > 0, qsum, 1)
    view = np.asarray(view, np.int64)
    key = ev * 3 + view
    qv = np.bincount(key, q, 3 * n_ev)
    wc = np.bincount(key, q * w, 3 * n_ev) / np.where(qv > 0, qv, 1)
    if center is not None:
        cx = np.asarray(center[0], np.float64)
        cw = np.asarray(center[1], np.float64).reshape(-1)
        xc = np.where(np.isfinite(cx), cx, xc)
        wc = np.where(np.repeat(np.isfinite(cx), 3) & np.isfinite(cw), cw, wc)
    col = np.floor((x - xc[ev]) / pixel + size / 2).astype(np.int64)
    row = np.floor((w - wc[key]) / pixel + size / 2).astype(np.int64)
    ok = (row >= 0) & (row < size) & (col >= 0) & (col < size)
    np.add.at(out, (ev[ok], view[ok], row[ok], col[ok]), (q[ok] * scale).astype(np.float32))
    return out


class ImageWindow(BaseModel):
    """One image per view: its centre and pixel size."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    center: Literal["centroid", "vertex"] = "vertex"
    """``centroid``: the hits' charge-weighted centroid; ``vertex``: the start of the event's primary particle
    projected into each view (the test beam's entry point; a reconstructed vertex in a neutrino event)."""
    pixel: float = Field(1.0, gt=0)
    """Pixel side in cm (x and w)."""


#: the shipped network's windows: the start at 1 cm (a shower's first centimetres: the photon's gap, one or two
#: MIPs), the whole particle at 4 cm around the start (a track's length and end, a shower's development), and
#: the charge centroid at 1 cm (the densest part: a Bragg peak, a stopping track's end)
DEFAULT_WINDOWS = (
    ImageWindow(center="vertex", pixel=1.0),
    ImageWindow(center="vertex", pixel=4.0),
    ImageWindow(center="centroid", pixel=1.0),
)


class ParticleImager(hepreco.Producer):
    """The particle-ID images: per event and window, one ``size`` x ``size`` image per view (rows: wire
    coordinate w, columns: drift x), the charge in units of 10^4 electrons (absolute: dE/dx is what separates
    electrons from photons). Each window has its centre (the hits' charge-weighted centroid, or the particle's
    start: the start of the event's primary particle projected into each view, standing for the beam entry point
    of a test beam or a reconstructed vertex) and its pixel size. The default windows are the shipped network's:
    the start at 1 cm (where electrons and photons differ), the start at 4 cm (the particle's whole extent: a
    track's length and end, a decay, a shower's development) and the centroid at 1 cm (the densest part).

    Products per event: ``image`` ((3 x windows, size, size) float32: the three views of the first window, then
    of the next) and, with ``targets``, ``target`` (the class of the event's first primary particle that is not a
    cosmic muon: 0 electron, 1 photon, 2 muon, 3 pion, 4 proton; -1 other) and ``valid`` (the target is a class
    and the event has hits).
    """

    class Config(hepreco.ModuleConfig, DetectorParams):  # type: ignore[misc]
        hits: InputTag = InputTag("source:hits")
        """The hits (``view, x, w, charge``)."""
        particles: InputTag = InputTag("source:particles")
        """The truth particles (``parent, pdg, process``; ``start_x/y/z`` for a ``vertex`` window)."""
        size: int = Field(48, ge=8)
        """Image side in pixels."""
        windows: list[ImageWindow] = Field(default_factory=lambda: list(DEFAULT_WINDOWS), min_length=1)
        """The images per view: ``{center: centroid | vertex, pixel: cm}`` each (the detector fields give the
        views' wire angles for ``vertex``; they must be the source's)."""
        targets: bool = False
        """Put ``target`` and ``valid`` (needs the truth particles)."""

    produces = ("image", "target", "valid")

    def products(self) -> tuple[str, ...]:
        return self.produces if self.config.targets else ("image",)

    def begin_job(self) -> None:
        c = self.config
        self._detector = detector(DetectorParams(**{k: getattr(c, k) for k in DetectorParams.model_fields}))
        self._vertex = any(w.center == "vertex" for w in c.windows)

    def _primaries(self, events: hepreco.Events) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The flat particles and, per event, the index of its first primary that is not a cosmic (-1: none)."""
        fields = ("parent", "pdg", "process", "start_x", "start_y", "start_z")
        need = fields if self._vertex else fields[:3]
        p_off, p = flat_hits(events[self.config.particles], need, product=str(self.config.particles))
        primary = (p["parent"] < 0) & (p["process"] != 9)
        first = np.full(len(p_off) - 1, -1, np.int64)
        for e in range(len(first)):
            idx = np.flatnonzero(primary[p_off[e] : p_off[e + 1]])
            if len(idx):
                first[e] = p_off[e] + idx[0]
        return p, first

    def _vertices(self, p: dict[str, np.ndarray], first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per event the start's drift x and its w in each view (NaN without a primary)."""
        has = first >= 0
        k = np.where(has, first, 0)
        if not len(p["start_x"]):
            return np.full(len(first), np.nan), np.full((len(first), 3), np.nan)
        cw = self._detector.project(p["start_y"][k], p["start_z"][k])
        return np.where(has, p["start_x"][k], np.nan), np.where(has[:, None], cw, np.nan)

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        offsets, f = flat_hits(events[c.hits], ("view", "x", "w", "charge"), product=str(c.hits))
        p, first = self._primaries(events) if (c.targets or self._vertex) else ({}, np.empty(0, np.int64))
        vertex = self._vertices(p, first) if self._vertex else None
        hits = (offsets, f["view"], f["x"], f["w"], f["charge"])
        images = [
            particle_images(*hits, size=c.size, pixel=win.pixel, center=vertex if win.center == "vertex" else None)
            for win in c.windows
        ]
        events.put("image", ak.Array(images[0] if len(images) == 1 else np.concatenate(images, axis=1)))
        if c.targets:
            target = np.full(len(first), -1, np.int64)
            has = first >= 0
            target[has] = pid_class(p["pdg"][first[has]])
            events.put("target", ak.Array(np.maximum(target, 0)))
            events.put("valid", ak.Array((target >= 0) & (np.diff(offsets) > 0)))
