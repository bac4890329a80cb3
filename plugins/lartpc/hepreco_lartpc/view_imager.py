"""This module defines ViewImager: LArTPC hits to Pandora's U-Net tiles, with the maps back to the hits."""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco_lartpc._hits import flat_hits
from hepreco_lartpc.tiles import make_tiles

__all__ = ["ViewImager"]


class ViewImager(hepreco.Producer):
    """Pandora's images: per view, the hits binned in (drift x, wire coordinate w) at ``pixel`` cm into
    ``size`` x ``size`` tiles laid on a grid over the view's hit region (from its smallest x and w), charge
    summed per pixel and divided by the tile's largest pixel.

    Products (jagged per event, one entry per tile unless said): ``tiles`` ((1, size, size) float32),
    ``truth`` ((size, size) uint8: 0 null, 1 shower, 2 track, the class of the pixel's largest-charge hit;
    with ``targets``), ``tile_info`` (record: ``view, x0, w0, hits``); per hit (jagged like the hits):
    ``hit_tile`` (the hit's tile within its event, -1 when its tile has fewer than ``min_hits`` hits) and
    ``hit_pixel`` (flat pixel index ``row_w * size + column_x``, -1 likewise).
    """

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        """The hits (fields ``view, x, w, charge``; ``label`` for the targets)."""
        size: int = Field(256, ge=8)
        """Tile side in pixels (Pandora: 256)."""
        pixel: float = Field(0.5, gt=0)
        """Pixel side in cm, in x and w (Pandora: 0.5)."""
        min_hits: int = Field(1, ge=1)
        """Tiles with fewer hits are not made (their hits get tile -1)."""
        targets: bool = False
        """Put ``truth``, the per-pixel training target (needs the hits' ``label``)."""

    produces = ("tiles", "truth", "tile_info", "hit_tile", "hit_pixel")

    def products(self) -> tuple[str, ...]:
        if self.config.targets:
            return self.produces
        return tuple(p for p in self.produces if p != "truth")

    def begin_job(self) -> None:
        self.n_tiles = 0
        self.n_hits = 0
        self.n_dropped = 0

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        fields = ("view", "x", "w", "charge", *(("label",) if c.targets else ()))
        offsets, f = flat_hits(events[c.hits], fields, product=str(c.hits))
        t = make_tiles(offsets, f["view"], f["x"], f["w"], f["charge"], f.get("label"), size=c.size, pixel=c.pixel,
                       min_hits=c.min_hits)  # fmt: skip
        counts = np.diff(offsets)
        events.put("tiles", ak.unflatten(t.image, t.counts))
        if c.targets:
            assert t.truth is not None
            events.put("truth", ak.unflatten(t.truth, t.counts))
        info = ak.zip({"view": t.view, "x0": t.x0, "w0": t.w0, "hits": t.hits})
        events.put("tile_info", ak.unflatten(info, t.counts))
        events.put("hit_tile", ak.unflatten(t.hit_tile, counts))
        events.put("hit_pixel", ak.unflatten(t.hit_pixel, counts))
        self.n_tiles += len(t.image)
        self.n_hits += len(t.hit_tile)
        self.n_dropped += int(np.sum(t.hit_tile < 0))

    def end_job(self) -> None:
        figures: dict[str, float | int] = {"tiles": self.n_tiles}
        if self.n_hits:
            figures["hits_not_imaged"] = self.n_dropped
        self.summary(**figures)
