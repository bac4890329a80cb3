"""Pandora's tiles: every hit lands in the pixel of its (x, w), the truth image follows the charge, and per-pixel
values return to exactly the right hits."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hepreco_lartpc.tiles import make_tiles, pixels_to_hits

import hepreco


@pytest.fixture(scope="module")
def flat(nu_events):
    h = nu_events["hits"]
    off = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(h)))])
    f = {k: ak.to_numpy(ak.flatten(h[k])) for k in ("view", "x", "w", "charge", "label")}
    return off, f


def test_each_hit_is_in_the_pixel_of_its_coordinates(flat):
    off, f = flat
    t = make_tiles(off, f["view"], f["x"], f["w"], f["charge"], f["label"], size=64, pixel=0.5)
    assert (t.hit_tile >= 0).all()  # min_hits 1: every hit is imaged
    first = np.concatenate([[0], np.cumsum(t.counts)])
    ev = np.repeat(np.arange(len(off) - 1), np.diff(off))
    tile = first[ev] + t.hit_tile
    assert (t.view[tile] == f["view"]).all()
    col = t.hit_pixel % 64
    row = t.hit_pixel // 64
    assert np.all(t.x0[tile] + 0.5 * col <= f["x"] + 1e-3) and np.all(f["x"] < t.x0[tile] + 0.5 * (col + 1) + 1e-3)
    assert np.all(t.w0[tile] + 0.5 * row <= f["w"] + 1e-3) and np.all(f["w"] < t.w0[tile] + 0.5 * (row + 1) + 1e-3)
    # the image holds every hit's charge, per tile divided by its largest pixel
    img = t.image.reshape(len(t.image), -1)
    assert np.isclose(img.max(axis=1), 1.0).all()
    assert (img[tile, t.hit_pixel] > 0).all()
    # the truth pixel of a lone hit is its label
    key = tile * 4096 + t.hit_pixel
    u, c = np.unique(key, return_counts=True)
    lone = np.isin(key, u[c == 1])
    assert (t.truth.reshape(len(t.truth), -1)[tile[lone], t.hit_pixel[lone]] == f["label"][lone]).all()


def test_sparse_tiles_are_dropped_and_values_return_to_hits(flat):
    off, f = flat
    t = make_tiles(off, f["view"], f["x"], f["w"], f["charge"], size=32, pixel=0.5, min_hits=20)
    assert t.truth is None and (t.hits >= 20).all()
    assert (t.hit_tile < 0).any() and ((t.hit_tile < 0) == (t.hit_pixel < 0)).all()
    first = np.concatenate([[0], np.cumsum(t.counts)])
    per_pixel = np.arange(len(t.image) * 32 * 32, dtype=np.float32).reshape(len(t.image), 1, 32 * 32)
    back = pixels_to_hits(per_pixel, first, off, t.hit_tile, t.hit_pixel, fill=-1.0)[:, 0]
    ev = np.repeat(np.arange(len(off) - 1), np.diff(off))
    ok = t.hit_tile >= 0
    assert np.array_equal(back[ok], ((first[ev] + t.hit_tile) * 1024 + t.hit_pixel)[ok].astype(np.float32))
    assert (back[~ok] == -1).all()


def test_view_imager_products_line_up_with_the_hits(tmp_path):
    import uproot

    out = tmp_path / "img.root"
    cfg = {
        "process": "img",
        "source": {"module": "lartpc.LArTPCSimSource", "events": 3, "batch_size": 2},
        "modules": {
            "imager": {"module": "lartpc.ViewImager", "size": 64, "targets": True, "min_hits": 5},
            "out": {"module": "RootOutput", "file": str(out),
                    "keep": ["source:hits", "imager:hit_tile", "imager:hit_pixel", "imager:tile_info"]},
        },
        "paths": {"p": ["imager"]},
        "end_paths": {"o": ["out"]},
    }  # fmt: skip
    r = hepreco.run(cfg)
    a = uproot.open(out)["events"].arrays()
    n_tiles = ak.num(a["imager_tile_info_view"])
    assert r.summaries["imager"]["tiles"] == ak.sum(n_tiles) > 3
    assert ak.all(ak.num(a["imager_hit_tile"]) == ak.num(a["hits_charge"]))
    assert ak.all(a["imager_hit_tile"] < n_tiles) and ak.all(a["imager_hit_pixel"] < 64 * 64)
    assert ak.all(a["imager_tile_info_hits"] >= 5)
