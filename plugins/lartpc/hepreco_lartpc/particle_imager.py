"""This module defines ParticleImager: single-particle events to the particle-ID ResNet's per-view images, with
the true class of the event's primary particle."""

from __future__ import annotations

from typing import Literal

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco_lartpc._hits import flat_hits
from hepreco_lartpc.geometry import DetectorParams, detector
from hepreco_lartpc.resnet_pid_spec import PID_PDGS

__all__ = ["ParticleImager", "particle_images", "pid_class"]


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


class ParticleImager(hepreco.Producer):
    """The particle-ID images: per event, one ``size`` x ``size`` image per view of ``pixel`` cm pixels (rows:
    wire coordinate w, columns: drift x), the charge in units of 10^4 electrons (absolute: dE/dx is what separates
    electrons from photons), centred on the hits' charge-weighted centroid (``center: centroid``) or on the
    particle's start (``center: vertex``: the start of the event's primary particle projected into each view,
    standing for the beam entry point of a test beam or a reconstructed vertex; it puts the start of a shower,
    where electrons and photons differ, in every image). With ``context_pixel``, a second image per view of
    coarser pixels around the same centre follows (channels 3-5): the particle's whole extent (a track's length
    and end, a decay, a shower's development) beside the fine detail.

    Products per event: ``image`` ((3 or 6, size, size) float32) and, with ``targets``, ``target`` (the class of
    the event's first primary particle that is not a cosmic muon: 0 electron, 1 photon, 2 muon, 3 pion,
    4 proton; -1 other) and ``valid`` (the target is a class and the event has hits).
    """

    class Config(hepreco.ModuleConfig, DetectorParams):  # type: ignore[misc]
        hits: InputTag = InputTag("source:hits")
        """The hits (``view, x, w, charge``)."""
        particles: InputTag = InputTag("source:particles")
        """The truth particles (``parent, pdg, process``; ``start_x/y/z`` for ``center: vertex``)."""
        size: int = Field(64, ge=8)
        """Image side in pixels."""
        pixel: float = Field(1.0, gt=0)
        """Pixel side in cm (x and w)."""
        center: Literal["centroid", "vertex"] = "centroid"
        """Window centre: the hits' charge-weighted centroid, or the primary particle's start (the detector
        fields give the views' wire angles; they must be the source's)."""
        context_pixel: float | None = Field(None, gt=0)
        """Pixel side (cm) of a second, coarser image per view around the same centre (null: none)."""
        targets: bool = False
        """Put ``target`` and ``valid`` (needs the truth particles)."""

    produces = ("image", "target", "valid")

    def products(self) -> tuple[str, ...]:
        return self.produces if self.config.targets else ("image",)

    def begin_job(self) -> None:
        c = self.config
        det = detector(DetectorParams(**{k: getattr(c, k) for k in DetectorParams.model_fields}))
        self._angles = np.radians(np.asarray(det.angles, np.float64))

    def _primaries(self, events: hepreco.Events) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Per event, the index (into the flat particles) of the first primary that is not a cosmic (-1: none)."""
        fields = ("parent", "pdg", "process", "start_x", "start_y", "start_z")
        need = fields if self.config.center == "vertex" else fields[:3]
        p_off, p = flat_hits(events[self.config.particles], need, product=str(self.config.particles))
        primary = (p["parent"] < 0) & (p["process"] != 9)
        first = np.full(len(p_off) - 1, -1, np.int64)
        for e in range(len(first)):
            idx = np.flatnonzero(primary[p_off[e] : p_off[e + 1]])
            if len(idx):
                first[e] = p_off[e] + idx[0]
        return p_off, p, first

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        offsets, f = flat_hits(events[c.hits], ("view", "x", "w", "charge"), product=str(c.hits))
        n_ev = len(offsets) - 1
        prim = self._primaries(events) if (c.targets or c.center == "vertex") else None
        center = None
        if c.center == "vertex":
            assert prim is not None
            _, p, first = prim
            has = first >= 0
            k = np.where(has, first, 0)
            cx = np.where(has, p["start_x"][k] if len(p["start_x"]) else np.nan, np.nan)
            y = p["start_y"][k] if len(p["start_y"]) else np.zeros(n_ev)
            z = p["start_z"][k] if len(p["start_z"]) else np.zeros(n_ev)
            cw = z[:, None] * np.cos(self._angles)[None, :] + y[:, None] * np.sin(self._angles)[None, :]
            center = (cx, np.where(has[:, None], cw, np.nan))
        kw = dict(size=c.size, center=center)
        img = particle_images(offsets, f["view"], f["x"], f["w"], f["charge"], pixel=c.pixel, **kw)
        if c.context_pixel is not None:
            ctx = particle_images(offsets, f["view"], f["x"], f["w"], f["charge"], pixel=c.context_pixel, **kw)
            img = np.concatenate([img, ctx], axis=1)
        events.put("image", ak.Array(img))
        if c.targets:
            assert prim is not None
            _, p, first = prim
            target = np.where(first >= 0, pid_class(p["pdg"][np.maximum(first, 0)]) if len(p["pdg"]) else -1, -1)
            events.put("target", ak.Array(np.maximum(target, 0)))
            events.put("valid", ak.Array((target >= 0) & (np.diff(offsets) > 0)))
