"""This module defines UNetTrackShower: the U-Net's per-pixel track and shower probabilities returned to the hits."""

from __future__ import annotations

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag
from hepreco.ml import TorchInference
from hepreco_lartpc._hits import event_name
from hepreco_lartpc.tiles import pixels_to_hits

__all__ = ["UNetTrackShower"]


class UNetTrackShower(hepreco.Producer, TorchInference):
    """Run the ``lartpc-unet`` network on ``lartpc.ViewImager``'s tiles and give every hit its pixel's
    track and shower probabilities, renormalised over the two (the null class dropped, as Pandora does).

    Every tile of the batch goes to the device at once (``hepreco.ml.TorchInference``: one model load per
    process, ``torch.inference_mode``, autocast and channels-last on a GPU per the Device service, a CUDA
    out-of-memory error halves the batch); ``batch_size`` caps the tiles per forward pass. A checkpoint for
    another tile size is refused when the job starts.

    Products per hit (jagged like the hits): ``track_score`` and ``shower_score`` (summing to 1), ``label``
    (int8: 2 track when ``track_score >= cut``, else 1 shower; 0 for hits in no tile, whose scores are NaN).
    """

    model_name = "lartpc-unet"

    class Config(hepreco.ModuleConfig):
        tiles: InputTag = InputTag("imager:tiles")
        """The imager's tiles (jagged per event, each (1, N, N))."""
        hit_tile: InputTag = InputTag("imager:hit_tile")
        """The imager's per-hit tile index within the event (-1: not imaged)."""
        hit_pixel: InputTag = InputTag("imager:hit_pixel")
        """The imager's per-hit pixel index."""
        weights: str = "builtin:lartpc-unet"
        """The checkpoint: a training's ``best`` folder or ``builtin:NAME``."""
        size: int | None = Field(None, ge=8)
        """The imager's tile size; set it to have a checkpoint for another size refused when the job starts
        (the shape is checked on every batch in any case)."""
        cut: float = Field(0.5, ge=0, le=1)
        """Hits with ``track_score >= cut`` are labelled track."""
        batch_size: int | None = Field(None, gt=0)
        """Tiles per forward pass (default: all the tiles of the batch at once)."""
        gpu_path_on_cpu: bool = False
        """Apply the Device service's autocast precision and channels-last on the CPU too (they apply on a GPU
        only otherwise): how the tests and the benchmark exercise the GPU code path without a GPU."""

    produces = ("track_score", "shower_score", "label")

    def begin_job(self) -> None:
        c = self.config
        inputs = {"image": (1, c.size, c.size)} if c.size is not None else None
        self.load_model(c.weights, inputs=inputs, batch_size=c.batch_size, on_cpu=c.gpu_path_on_cpu)

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        tiles = events[c.tiles]
        n_tiles = np.asarray(ak.num(tiles, axis=1), dtype=np.int64)
        tile_first = np.zeros(len(n_tiles) + 1, dtype=np.int64)
        np.cumsum(n_tiles, out=tile_first[1:])
        hit_tile = events[c.hit_tile]
        counts = np.asarray(ak.num(hit_tile, axis=1), dtype=np.int64)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        ht = np.asarray(ak.to_numpy(ak.flatten(hit_tile)), dtype=np.int64)
        hp = np.asarray(ak.to_numpy(ak.flatten(events[c.hit_pixel])), dtype=np.int64)
        if len(hp) != len(ht):
            msg = f"'{c.hit_pixel}' has {len(hp)} hits but '{c.hit_tile}' has {len(ht)}"
            raise ValueError(msg)
        ev = np.repeat(np.arange(len(counts)), counts)
        bad = ht >= n_tiles[ev]
        if bad.any():
            i = int(ev[np.flatnonzero(bad)[0]])
            msg = f"{event_name(events, i)}: a hit points at tile {int(ht[np.flatnonzero(bad)[0]])} of {int(n_tiles[i])} in '{c.tiles}'"
            raise ValueError(msg)
        if tile_first[-1]:
            image = np.asarray(ak.to_numpy(ak.flatten(tiles, axis=1)), dtype=np.float32)
            prob = self.predict({"image": image})  # (T, 3, N, N) softmax
            per_pixel = prob.reshape(prob.shape[0], prob.shape[1], -1)[:, 1:3]
            ps = pixels_to_hits(per_pixel, tile_first, offsets, ht, hp, fill=np.nan)
        else:
            ps = np.full((len(ht), 2), np.nan, dtype=np.float32)
        total = ps[:, 0] + ps[:, 1]
        track = (ps[:, 1] / np.where(total > 0, total, 1.0)).astype(np.float32)
        track[~np.isfinite(ps[:, 1])] = np.nan
        shower = (1.0 - track).astype(np.float32)
        label = np.where(np.isfinite(track), np.where(track >= c.cut, 2, 1), 0).astype(np.int8)
        events.put("track_score", ak.unflatten(track, counts))
        events.put("shower_score", ak.unflatten(shower, counts))
        events.put("label", ak.unflatten(label, counts))
