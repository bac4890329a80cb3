"""Property: what RootOutput (TTree or RNTuple) and ParquetOutput write, their sources read back identically —
values and awkward types — for random products of every supported layout, option types and batch sizes."""

from __future__ import annotations

import itertools
import string
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

IO_PLUGIN = Path(__file__).resolve().with_name("ioplugin.py")

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]
_counter = itertools.count()


def _values(draw, dtype: str, shape) -> np.ndarray:
    if dtype.startswith("float"):
        width = 32 if dtype == "float32" else 64
        elements = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=width)
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


@st.composite
def leaf(draw, n: int, *, strings: bool = True) -> ak.Array:
    """One value per event that fits one TTree branch: a number, a fixed-size array, a jagged array, a string."""
    kinds = ["scalar", "jagged", "regular"] + (["string"] if strings else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "string":
        return ak.Array(draw(st.lists(st.text(string.ascii_letters + " _-", max_size=6), min_size=n, max_size=n)))
    dtype = draw(st.sampled_from(DTYPES))
    if kind == "scalar":
        return ak.Array(_values(draw, dtype, n))
    if kind == "regular":
        shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
        return ak.from_numpy(_values(draw, dtype, (n, *shape)), regulararray=True)
    counts = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.int64)
    return ak.unflatten(_values(draw, dtype, int(counts.sum())), counts)


@st.composite
def product(draw, n: int) -> ak.Array:
    layout = draw(st.sampled_from(["leaf", "record", "list_of_records"]))
    if layout == "leaf":
        arr = draw(leaf(n))
    elif layout == "record":
        k = draw(st.integers(1, 3))
        arr = ak.zip({f: draw(leaf(n)) for f in "abc"[:k]}, depth_limit=1)
    else:
        counts = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
        total = int(counts.sum())
        k = draw(st.integers(1, 3))
        fields = {f: _values(draw, draw(st.sampled_from(DTYPES)), total) for f in "xyz"[:k]}
        arr = ak.unflatten(ak.zip(fields), counts)
    if draw(st.booleans()):  # an option type, as products made after a filter are
        mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        arr = ak.mask(arr, mask)
    return arr


@st.composite
def job_inputs(draw):
    n = draw(st.integers(1, 25))
    k = draw(st.integers(1, 3))
    products = {f"p{i}": draw(product(n)) for i in range(k)}
    batch = draw(st.integers(1, n))
    fmt = draw(st.sampled_from(["ttree", "rntuple", "parquet"]))
    return n, products, batch, fmt


def same(a, b) -> bool:
    return ak.to_list(a) == ak.to_list(b) and str(ak.type(a).content) == str(ak.type(b).content)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job_inputs())
def test_outputs_and_sources_round_trip(tmp_path, io_plugin, read_back, inputs):
    n, products, batch, fmt = inputs
    io_plugin.GIVEN.clear()
    io_plugin.GIVEN.update(products)
    path = tmp_path / f"rt{next(_counter)}.{'parquet' if fmt == 'parquet' else 'root'}"
    out = {"module": "ParquetOutput"} if fmt == "parquet" else {"module": "RootOutput", "format": fmt}
    hepreco.run(
        {
            "plugins": [str(IO_PLUGIN)],
            "source": {"module": "EmptySource", "events": n, "batch_size": batch},
            "modules": {"g": {"module": "Given", "names": list(products)}, "out": {**out, "file": str(path)}},
            "paths": {"p": ["g"]},
            "end_paths": {"e": ["out"]},
        }
    )
    source = "ParquetSource" if fmt == "parquet" else "RootSource"
    got = read_back({"module": source, "files": str(path), "batch_size": max(1, n // 2)})
    assert got["_event"].tolist() == list(range(1, n + 1))
    for name, arr in products.items():
        assert same(got[f"source:g_{name}"], arr), (name, str(arr.type), str(got[f"source:g_{name}"].type))
