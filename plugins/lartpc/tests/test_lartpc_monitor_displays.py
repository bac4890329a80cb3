"""The LArTPC views of the live-monitoring page (hook ``hepreco_displays``): wire vs drift per plane, ADC images;
registered without importing anything heavy."""

from __future__ import annotations

import subprocess
import sys

import awkward as ak
import numpy as np

HEAVY = ("numba", "torch", "matplotlib", "awkward", "starlette", "uvicorn")


def test_displays_registered_cheaply():
    code = (
        "import sys, hepreco_lartpc.plugin as p; names = [d.name for d in p.hepreco_displays()];"
        "print(names, [m for m in " + repr(HEAVY) + " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'lartpc.wire_drift'" in out and "'lartpc.adc_W'" in out and out.strip().endswith("[]"), out


def test_wire_drift_view_of_a_hits_product():
    from hepreco.monitor.display import render_display
    from hepreco.plugins import get_registry

    display = get_registry().displays["lartpc.wire_drift"][0]
    hits = ak.Array([[{"view": v, "x": 1.0 + v, "w": 10.0 * v, "charge": 5.0, "label": 1} for v in (0, 1, 2, 2)]])
    out = render_display(display, {"source:hits": hits}, 0)
    assert out is not None and [len(p["x"]) for p in out["panels"]] == [1, 1, 2]
    assert out["panels"][2]["x"] == [20.0, 20.0] and out["panels"][2]["y"] == [3.0, 3.0]


def test_adc_view_is_an_image():
    from hepreco.monitor.display import render_display
    from hepreco.plugins import get_registry

    display = get_registry().displays["lartpc.adc_W"][0]
    adc = ak.Array(np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6))  # events x wires x ticks
    out = render_display(display, {"source:adc_W": adc, "source:adc_U": adc}, 1)
    assert out is not None and out["kind"] == "image" and out["product"] == "source:adc_W"
    np.testing.assert_array_equal(out["image"], np.asarray(adc[1]).T)
