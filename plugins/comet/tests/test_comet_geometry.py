"""CDCGeometry: wire counts, id maps, stereo positions, cell lookup, neighbours, the CTH."""

from __future__ import annotations

import numpy as np
import pytest
from hepreco_comet import CDCGeometry
from hypothesis import given, settings
from hypothesis import strategies as st

GEO = CDCGeometry()


def test_wire_counts_match_the_phase1_cdc():
    assert GEO.n_layers == 20
    assert GEO.n_wires == 4986
    assert GEO.n_sense_wires == 4482
    assert GEO.n_cells.tolist() == [198, *range(198, 301, 6), 306]
    assert GEO.radius[1] == pytest.approx(53.0) and GEO.radius[18] == pytest.approx(80.2)
    assert np.allclose(np.diff(GEO.radius), 1.6)
    assert not GEO.sense[0] and not GEO.sense[19] and GEO.sense[1:19].all()
    assert 71 * 71 - GEO.n_wires == 55


@given(st.integers(0, 4985))
def test_wire_id_layer_cell_round_trip(wire):
    layer, cell = GEO.layer_cell(wire)
    assert GEO.wire_id(layer, cell) == wire
    assert 0 <= cell < GEO.n_cells[layer]


def test_layer_cell_vectorised_and_ordered():
    layer, cell = GEO.layer_cell(np.arange(GEO.n_wires))
    assert np.all(np.diff(layer) >= 0)
    assert layer[0] == 0 and layer[-1] == 19
    assert np.array_equal(GEO.wire_id(layer, cell), np.arange(GEO.n_wires))


def test_bad_ids_raise():
    with pytest.raises(ValueError, match="outside the CDC"):
        GEO.layer_cell(4986)
    with pytest.raises(ValueError, match="outside the CDC"):
        GEO.wire_xy(np.array([-1, 3]))
    with pytest.raises(ValueError, match="cell out of range"):
        GEO.wire_id(1, 198)


def test_stereo_wires_are_straight_lines_between_the_end_plates():
    wires = np.arange(GEO.n_wires)
    layer = GEO.wire_layer
    for z in (-GEO.half_length, GEO.half_length):
        x, y = GEO.wire_xy(wires, z)
        assert np.allclose(np.hypot(x, y), GEO.radius[layer])
    # the azimuth turns by the layer's twist between the end plates, alternating in sign
    phi_up = GEO.wire_phi(wires, -GEO.half_length)
    phi_down = GEO.wire_phi(wires, GEO.half_length)
    turn = np.angle(np.exp(1j * (phi_down - phi_up)))
    assert np.allclose(turn, GEO.twist[layer])
    assert abs(GEO.twist[0]) == pytest.approx(0.190) and abs(GEO.twist[-1]) == pytest.approx(0.147)
    assert np.all(np.sign(GEO.twist[:-1]) != np.sign(GEO.twist[1:]))
    # straight: the midpoint is the mean of the ends
    xa, ya = GEO.wire_xy(wires, -GEO.half_length)
    xb, yb = GEO.wire_xy(wires, GEO.half_length)
    xm, ym = GEO.wire_xy(wires, 0.0)
    assert np.allclose(xm, 0.5 * (xa + xb)) and np.allclose(ym, 0.5 * (ya + yb))
    # stereo angle of ~65-75 mrad
    stereo = np.hypot(xb - xa, yb - ya) / (2 * GEO.half_length)
    assert 0.060 < stereo.min() and stereo.max() < 0.080


@pytest.mark.parametrize("z", [-78.0, -30.0, 0.0, 41.5, 78.9])
def test_locate_finds_the_wire_near_its_own_position(z):
    wires = np.arange(GEO.n_wires)
    x, y = GEO.wire_xy(wires, z)
    for scale in (0.997, 1.0, 1.003):
        assert np.array_equal(GEO.locate(x * scale, y * scale, z), wires)


def test_locate_outside_the_chamber():
    assert GEO.locate(0.0, 0.0, 0.0) == -1
    assert GEO.locate(90.0, 0.0, 0.0) == -1
    assert GEO.locate(60.0, 0.0, 80.0) == -1


def test_neighbours_are_symmetric_and_local():
    offsets, table = GEO.neighbour_table()
    sets = [set(table[offsets[w] : offsets[w + 1]].tolist()) for w in range(GEO.n_wires)]
    for w in range(0, GEO.n_wires, 7):
        assert w not in sets[w]
        for v in sets[w]:
            assert w in sets[v]
    x, y = GEO.wire_xy(np.arange(GEO.n_wires), 0.0)
    d = [np.hypot(x[v] - x[w], y[v] - y[w]) for w in range(0, GEO.n_wires, 11) for v in sets[w]]
    assert max(d) < 3.0
    n = np.diff(offsets)
    assert n.min() >= 3 and n.max() <= 8


def test_neighbours_across_layers_follow_the_stereo_with_z():
    w = GEO.wire_id(5, 100)
    assert not np.array_equal(GEO.neighbours(w, 0.0), GEO.neighbours(w, 75.0))


def test_cth_segments_and_trigger():
    ring, seg = GEO.cth_segment(np.array([45.0, 0.0, 45.0]), np.array([0.0, 45.0, 0.0]), np.array([60.0, -60.0, 0.0]))
    assert ring.tolist() == [1, 0, -1]
    assert seg.tolist() == [0, 16, -1]
    assert GEO.cth_trigger([3], [4])
    assert GEO.cth_trigger([0], [63])  # wraps around
    assert not GEO.cth_trigger([3], [5])
    assert not GEO.cth_trigger([], [5])


@settings(max_examples=30)
@given(st.floats(-70, 70), st.floats(0, 2 * np.pi), st.floats(52.5, 80.5))
def test_locate_returns_a_cell_whose_wire_is_within_a_cell_size(z, phi, r):
    x, y = r * np.cos(phi), r * np.sin(phi)
    w = int(GEO.locate(x, y, z))
    assert w >= 0
    wx, wy = GEO.wire_xy(w, z)
    assert np.hypot(wx - x, wy - y) < 1.2
