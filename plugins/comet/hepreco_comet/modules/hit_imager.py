"""This module defines HitImager: CDC hits to images for the networks, with the maps back to the hits."""

from __future__ import annotations

from typing import Literal

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco_comet._hits import event_name, flat_hits, per_hit
from hepreco_comet.images import CUT_EDEP, STATUS_NAMES, image_layout, make_images
from hepreco_comet.modules.geometry_service import geometry_from

__all__ = ["HitImager"]


class HitImager(hepreco.Producer):
    """Scatter each event's CDC hits into a two-channel image (drift time, energy deposit) with numba.

    Layouts: ``wire`` (the talk's 71x71 wire-id image), ``xy`` (the talk's 128x128 X-Y image at the end
    plate) and ``layercell`` (20 layers x 306 azimuth-aligned cells). Preprocessing as in the talk: hits
    with ``edep > edep_max`` are dropped, both channels greyscale-scaled to [0, 1].

    Products: ``image`` (events x 2 x H x W, float32), ``hit_pixel`` (per hit, its flat pixel index or -1
    when dropped: returns a per-pixel network output to the hits exactly), ``pixel_hit`` (events x H x W,
    index within the event of the pixel's earliest hit, -1 empty; with ``inverse_map``), ``target`` and
    ``turn_target`` (events x H x W uint8: signal/background, and 0 background / 1 first-turn / 2
    later-turn signal; with ``targets``), ``mask`` (events x H x W bool, the sense-wire mask; with
    ``mask``), ``occupied`` (events x H x W bool, the pixels holding an imaged hit; with ``occupied``).

    With ``select`` (a per-hit bool product, e.g. a hit classifier's ``selected``) only the selected hits
    are imaged: the second imager of the reconstruction chain, whose image of the kept hits the turn-1
    extractor reads. ``hit_pixel`` and ``pixel_hit`` still index the event's full hit list (unselected
    hits have pixel -1).
    """

    class Config(hepreco.ModuleConfig):
        hits: InputTag = InputTag("source:hits")
        """The CDC hits (fields ``wire``, ``drift_time``, ``edep``; ``is_signal`` and ``turn`` for targets)."""
        layout: Literal["wire", "xy", "layercell"] = "wire"
        """Image layout."""
        edep_max: float | None = Field(255.0, gt=0)
        """Drop hits with a larger energy deposit (null: keep all)."""
        time_scale: float = Field(1170.0, gt=0)
        """Drift time (ns) mapped to 1; later hits are clipped to 1."""
        edep_scale: float | None = Field(None, gt=0)
        """Energy deposit mapped to 1 (default: ``edep_max``, or 255)."""
        xy_size: int = Field(128, ge=8)
        """Pixels per side of the X-Y image."""
        inverse_map: bool = True
        """Put ``pixel_hit``, the pixel -> hit map."""
        targets: bool = False
        """Put the per-pixel training targets ``target`` and ``turn_target`` (needs the truth fields)."""
        mask: bool = False
        """Put the sense-wire mask per event (it is the same for every event of a layout)."""
        occupied: bool = False
        """Put ``occupied``, the mask of the pixels holding an imaged hit (a loss over the hits only)."""
        select: InputTag | None = None
        """A per-hit bool product (jagged like the hits): image only the hits where it is true."""
        bad_hits: Literal["error", "drop"] = "error"
        """Hits with a wire id outside the CDC, or a NaN/negative time or deposit: stop with an error that
        names the event, or drop them and count them in the summary."""

    produces = ("image", "hit_pixel", "pixel_hit", "target", "turn_target", "mask", "occupied")

    def products(self) -> tuple[str, ...]:
        c = self.config
        out = ["image", "hit_pixel"]
        if c.inverse_map:
            out.append("pixel_hit")
        if c.targets:
            out += ["target", "turn_target"]
        if c.mask:
            out.append("mask")
        if c.occupied:
            out.append("occupied")
        return tuple(out)

    def begin_job(self) -> None:
        self.layout = image_layout(self.config.layout, geometry_from(self.services), xy_size=self.config.xy_size)
        self.counts = {"events": 0, "hits": 0, "imaged": 0, "shared_pixel": 0, "cut_edep": 0, "not_selected": 0}
        self.dropped = dict.fromkeys(("wire", "time", "edep"), 0)

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        hits = events[c.hits]
        fields = ("wire", "drift_time", "edep") + (("is_signal", "turn") if c.targets else ())
        offsets, flat = flat_hits(hits, fields, product=str(c.hits))
        all_offsets, n_all = offsets, int(offsets[-1])
        chosen = None
        if c.select is not None:
            chosen = np.flatnonzero(per_hit(events, c.select, offsets, hits=c.hits).astype(bool))
            flat = {k: v[chosen] for k, v in flat.items()}
            ev_of = np.repeat(np.arange(len(events)), np.diff(offsets))[chosen]
            offsets = np.zeros(len(events) + 1, dtype=np.int64)
            np.cumsum(np.bincount(ev_of, minlength=len(events)), out=offsets[1:])
        out = make_images(
            offsets,
            flat["wire"],
            flat["drift_time"],
            flat["edep"],
            self.layout,
            edep_max=c.edep_max,
            time_scale=c.time_scale,
            edep_scale=c.edep_scale,
            is_signal=flat.get("is_signal"),
            turn=flat.get("turn"),
            pixel_hit=c.inverse_map,
        )
        bad = (out.status > 0) & (out.status < CUT_EDEP)
        if bad.any():
            if c.bad_hits == "error":
                i = int(np.flatnonzero(bad)[0])
                ev = int(np.searchsorted(offsets, i, side="right") - 1)
                code = int(out.status[i])
                value = {1: flat["wire"], 2: flat["drift_time"], 3: flat["edep"]}[code][i]
                k = int(chosen[i]) if chosen is not None else i
                msg = (
                    f"{event_name(events, ev)}: hit {k - all_offsets[ev]} of '{c.hits}' has a {STATUS_NAMES[code]} "
                    f"({value!r}); {int(bad.sum())} bad hit(s) in this batch. Set bad_hits: drop to drop and "
                    "count them instead."
                )
                raise ValueError(msg)
            for code, key in ((1, "wire"), (2, "time"), (3, "edep")):
                self.dropped[key] += int(np.sum(out.status == code))
        self.counts["events"] += len(events)
        self.counts["hits"] += n_all
        self.counts["imaged"] += int(np.sum(out.status == 0))
        self.counts["cut_edep"] += int(np.sum(out.status == CUT_EDEP))
        self.counts["shared_pixel"] += int(out.n_shared.sum())
        hit_pixel, pixel_hit = out.hit_pixel, out.pixel_hit
        if chosen is not None:  # back to the indices of the full hit list
            self.counts["not_selected"] += n_all - chosen.size
            hit_pixel = np.full(n_all, -1, dtype=np.int32)
            hit_pixel[chosen] = out.hit_pixel
            if c.inverse_map and chosen.size:
                local = chosen - np.repeat(all_offsets[:-1], np.diff(offsets))  # index in the full event
                ev_base = offsets[:-1].reshape(-1, 1, 1)  # pixel_hit indexes the event's selected hits
                sub = np.clip(pixel_hit + ev_base, 0, chosen.size - 1)
                pixel_hit = np.where(pixel_hit >= 0, local[sub], -1).astype(np.int32)
        counts = np.diff(all_offsets)
        events.put("image", out.image)
        events.put("hit_pixel", ak.unflatten(hit_pixel, counts))
        if c.inverse_map:
            events.put("pixel_hit", pixel_hit)
        if c.targets:
            events.put("target", out.target_signal)
            events.put("turn_target", out.target_turn)
        if c.mask:
            events.put("mask", np.broadcast_to(self.layout.sense_mask, (len(events), *self.layout.shape)).copy())
        if c.occupied:
            occupied = np.zeros((len(events), self.layout.n_pixels), dtype=bool)
            ok = out.hit_pixel >= 0
            occupied[np.repeat(np.arange(len(events)), np.diff(offsets))[ok], out.hit_pixel[ok]] = True
            events.put("occupied", occupied.reshape(len(events), *self.layout.shape))

    def end_job(self) -> None:
        n = self.counts
        figures: dict[str, float | int | str] = {
            "layout": f"{self.config.layout} {self.layout.shape[0]}x{self.layout.shape[1]}",
            "hits_imaged": n["imaged"],
            "hits_cut_edep": n["cut_edep"],
            "hits_sharing_a_pixel": n["shared_pixel"],
        }
        if n["hits"]:
            figures["fraction_sharing_a_pixel"] = round(n["shared_pixel"] / n["hits"], 5)
        if self.config.select is not None:
            figures["hits_not_selected"] = n["not_selected"]
        if self.config.bad_hits == "drop":
            figures.update({f"dropped_bad_{k}": v for k, v in self.dropped.items()})
        self.summary(**figures)
