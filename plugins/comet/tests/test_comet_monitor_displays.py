"""The CDC x-y view of the live-monitoring page (hook ``hepreco_displays``): registered without importing
anything heavy, and drawn from a hits product."""

from __future__ import annotations

import subprocess
import sys

import awkward as ak
import numpy as np
import pytest

HEAVY = ("numba", "torch", "matplotlib", "starlette", "uvicorn")


def test_display_registered_cheaply():
    code = (
        "import sys; from hepreco.plugins import get_registry; r = get_registry();"
        "print(sorted(r.displays), [m for m in " + repr(HEAVY) + " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'comet.xy'" in out and out.strip().endswith("[]"), out


@pytest.mark.slow
def test_xy_view_of_a_hits_product():
    from hepreco_comet.geometry import CDCGeometry

    from hepreco.monitor.display import render_display
    from hepreco.plugins import get_registry

    display = get_registry().displays["comet.xy"][0]
    hits = ak.Array(
        [
            [{"wire": w, "z": 0.0, "edep": 1e-6 * (k + 1), "is_signal": k == 0} for k, w in enumerate((0, 5, 100))],
            [{"wire": 7, "z": 10.0, "edep": 2e-6, "is_signal": False}],
        ]
    )
    out = render_display(display, {"source:hits": hits, "source:signal": ak.Array([1, 2])}, 0)
    assert out is not None and out["kind"] == "scatter" and out["product"] == "source:hits"
    allhits, signal = out["panels"]
    x, y = CDCGeometry().wire_xy(np.array([0, 5, 100]), np.zeros(3))
    np.testing.assert_allclose(allhits["x"], x)
    np.testing.assert_allclose(allhits["y"], y)
    assert len(signal["x"]) == 1
