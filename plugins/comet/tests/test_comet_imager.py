"""The hit imager: layouts, preprocessing, inverse maps, targets, and numba == the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hepreco_comet import CDCGeometry
from hepreco_comet.images import (
    BAD_EDEP,
    BAD_TIME,
    BAD_WIRE,
    CUT_EDEP,
    image_layout,
    make_images,
    make_images_numpy,
    pixels_to_hits,
)
from hypothesis import given, settings
from hypothesis import strategies as st

GEO = CDCGeometry()


def test_wire_layout_is_row_major_with_55_unused_cells():
    lay = image_layout("wire")
    assert lay.shape == (71, 71)
    assert np.array_equal(lay.wire_pixel, np.arange(4986))
    assert lay.sense_mask.sum() == 4482
    assert not lay.sense_mask.ravel()[4986:].any()  # the 55 unused cells
    assert not lay.sense_mask.ravel()[:198].any()  # the inner guard layer


def test_layercell_layout_is_injective_and_phi_aligned():
    lay = image_layout("layercell")
    assert lay.shape == (20, 306)
    assert np.unique(lay.wire_pixel).size == 4986
    # cell 0 of every layer sits in column 0; half way round is column 153 in every layer
    rows, cols = np.divmod(lay.wire_pixel, 306)
    first = GEO.first_wire
    assert np.all(cols[first] == 0)
    half = first + GEO.n_cells // 2
    assert np.all(np.abs(cols[half] - 153) <= 1)
    assert np.array_equal(rows, GEO.wire_layer)


def test_xy_layout_places_wires_at_the_end_plate_and_counts_shared_pixels():
    lay = image_layout("xy")
    assert lay.shape == (128, 128)
    x, y = GEO.endplate_xy(np.arange(GEO.n_wires))
    row, col = np.divmod(lay.wire_pixel, 128)
    assert np.all(np.diff(col[np.argsort(x)]) >= 0) and np.all(np.diff(row[np.argsort(y)]) >= 0)
    n_pixels_used = np.unique(lay.wire_pixel).size
    assert 4000 < n_pixels_used < 4986  # some wires share a pixel
    # hits on two wires that share a pixel: counted, earliest time kept, deposits summed
    uniq, counts = np.unique(lay.wire_pixel, return_counts=True)
    p = uniq[counts > 1][0]
    w1, w2 = np.flatnonzero(lay.wire_pixel == p)[:2]
    out = make_images(np.array([0, 2]), np.array([w1, w2]), np.array([500.0, 200.0]), np.array([10.0, 20.0]), "xy")
    assert out.n_shared.tolist() == [1]
    r, c = divmod(int(p), 128)
    assert out.image[0, 0, r, c] == pytest.approx(200.0 / 1170.0)
    assert out.image[0, 1, r, c] == pytest.approx(30.0 / 255.0)
    assert out.pixel_hit[0, r, c] == 1  # the earliest
    assert out.hit_pixel.tolist() == [p, p]


def test_preprocessing_cut_and_greyscale():
    out = make_images(
        np.array([0, 3]), np.array([300, 301, 302]), np.array([100.0, 5000.0, 0.0]), np.array([300.0, 51.0, 0.0])
    )
    assert out.status.tolist() == [CUT_EDEP, 0, 0]
    img = out.image[0].reshape(2, -1)
    assert img[0, 300] == 0 and img[1, 300] == 0  # cut: nothing drawn
    assert img[0, 301] == 1.0  # time clipped at 1
    assert img[1, 301] == pytest.approx(51.0 / 255.0)
    assert out.pixel_hit[0].ravel()[300] == -1 and out.pixel_hit[0].ravel()[301] == 1
    none = make_images(np.array([0, 1]), np.array([300]), np.array([1.0]), np.array([300.0]), edep_max=None)
    assert none.status.tolist() == [0] and none.image[0, 1].ravel()[300] == 1.0


def test_bad_hits_are_flagged_not_drawn():
    out = make_images(
        np.array([0, 2, 4]),
        np.array([5000, 10, -3, 11]),
        np.array([1.0, np.nan, 1.0, -1.0]),
        np.array([1.0, 1.0, 1.0, 1.0]),
    )
    assert out.status.tolist() == [BAD_WIRE, BAD_TIME, BAD_WIRE, BAD_TIME]
    assert not out.image.any()
    out = make_images(np.array([0, 1]), np.array([10]), np.array([1.0]), np.array([np.nan]))
    assert out.status.tolist() == [BAD_EDEP]


def test_targets_and_turn_classes():
    out = make_images(
        np.array([0, 3]),
        np.array([300, 301, 302]),
        np.array([1.0, 2.0, 3.0]),
        np.array([1.0, 1.0, 1.0]),
        is_signal=np.array([True, True, False]),
        turn=np.array([1, 2, 1]),
    )
    t = out.target_signal[0].ravel()
    tt = out.target_turn[0].ravel()
    assert t[[300, 301, 302]].tolist() == [1, 1, 0]
    assert tt[[300, 301, 302]].tolist() == [1, 2, 0]
    assert t.sum() == 2


def test_pixels_to_hits_returns_outputs_to_hits_exactly():
    rng = np.random.default_rng(1)
    counts = np.array([5, 0, 7])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    wire = np.concatenate([rng.choice(4986, c, replace=False) for c in counts])
    out = make_images(offsets, wire, rng.uniform(0, 500, wire.size), rng.uniform(0, 300, wire.size))
    scores = rng.uniform(size=(3, 71, 71))
    back = pixels_to_hits(scores, offsets, out.hit_pixel)
    for i in range(wire.size):
        ev = np.searchsorted(offsets, i, side="right") - 1
        if out.hit_pixel[i] >= 0:
            assert back[i] == scores[ev].ravel()[wire[i]]
        else:
            assert np.isnan(back[i])


@st.composite
def events(draw):
    n_ev = draw(st.integers(1, 4))
    counts = draw(st.lists(st.integers(0, 30), min_size=n_ev, max_size=n_ev))
    n = sum(counts)
    wires = draw(st.lists(st.integers(-2, 4990), min_size=n, max_size=n))
    times = draw(st.lists(st.sampled_from([0.0, 1.0, 17.5, 450.0, 2000.0, -1.0, float("nan")]), min_size=n, max_size=n))
    edeps = draw(st.lists(st.sampled_from([0.0, 3.0, 200.0, 255.0, 256.0, 1e4, float("nan")]), min_size=n, max_size=n))
    sig = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    turn = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return offsets, np.array(wires, dtype=np.int64), np.array(times), np.array(edeps), np.array(sig), np.array(turn)


@settings(max_examples=60, deadline=None)
@given(events(), st.sampled_from(["wire", "xy", "layercell"]), st.sampled_from([255.0, None]))
def test_numba_kernel_equals_the_numpy_reference(ev, layout, edep_max):
    offsets, wire, time, edep, sig, turn = ev
    kw = {"edep_max": edep_max, "is_signal": sig, "turn": turn}
    a = make_images(offsets, wire, time, edep, layout, **kw)
    b = make_images_numpy(offsets, wire, time, edep, layout, **kw)
    for name in ("image", "pixel_hit", "hit_pixel", "status", "n_shared", "target_signal", "target_turn"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_unknown_layout_lists_the_choices():
    with pytest.raises(ValueError, match="wire, xy, layercell"):
        image_layout("polar")
