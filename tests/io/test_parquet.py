"""ParquetOutput and ParquetSource: every layout round trips, row groups are batches, same keep/select
rules and provenance as RootOutput; files written by awkward itself are read."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest

import hepreco
from hepreco.io import read_provenance

IO_PLUGIN = Path(__file__).resolve().with_name("ioplugin.py")

PRODUCTS = ["x", "hits", "image", "tracks", "vertex", "name", "flag", "small"]


def job(tmp_path, **out):
    return {
        "process": "pq",
        "plugins": [str(IO_PLUGIN)],
        "source": {"module": "EmptySource", "events": 31, "batch_size": 8},
        "modules": {
            "lay": {"module": "Layouts"},
            "every3": {"module": "Every", "n": 3},
            "der": {"module": "Derived"},
            "grab": {"module": "Grab"},
            "out": {"module": "ParquetOutput", "file": str(tmp_path / "out.parquet"), **out},
        },
        "paths": {"p": ["lay", "every3", "der"]},
        "end_paths": {"e": ["grab", "out"]},
    }


def same(a, b) -> bool:
    return ak.to_list(a) == ak.to_list(b) and str(ak.type(a).content) == str(ak.type(b).content)


def test_every_layout_round_trips_with_row_groups_as_batches(tmp_path, io_plugin, read_back):
    hepreco.run(job(tmp_path))
    written = io_plugin.grabbed("grab")
    path = tmp_path / "out.parquet"
    assert pq.ParquetFile(path).metadata.num_row_groups == 4  # one per batch of 8
    got = read_back({"module": "ParquetSource", "files": str(path), "batch_size": 5})
    for inst in PRODUCTS:
        assert same(got[f"source:lay_{inst}"], written[f"lay:{inst}"]), inst
    for inst in ("y", "lst", "img"):
        assert same(got[f"source:der_{inst}"], written[f"der:{inst}"]), inst
    assert got["source:der_y"].tolist()[:3] == [None, None, 6.0]
    assert same(got["_event"], written["_event"])
    # ak.from_parquet reads it too, with the same types
    direct = ak.from_parquet(path)
    assert str(direct.type.content.content("der_lst")) == "option[var * float32]"


def test_select_keep_and_split_files(tmp_path, io_plugin, read_back):
    hepreco.run(job(tmp_path, select=["p"], keep=["der:y", "lay:tracks"], max_events_per_file=4))
    names = sorted(p.name for p in tmp_path.glob("out_*.parquet"))
    assert names == ["out_000.parquet", "out_001.parquet", "out_002.parquet"]
    got = read_back({"module": "ParquetSource", "files": str(tmp_path / "out_*.parquet")})
    assert got["_event"].tolist() == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert sorted(k for k in got if not k.startswith("_")) == ["source:der_y", "source:lay_tracks"]
    assert got["source:der_y"].tolist() == [2.0 * e for e in range(3, 31, 3)]
    # layout: flat (the default): NanoAOD-style columns, a list of records as one list column per field + counter
    cols = pq.read_table(tmp_path / names[0]).column_names
    assert cols[:3] == ["run", "subrun", "event"] and cols[-1] == "der_y"
    assert cols[3] == "nlay_tracks" and all(c.startswith("lay_tracks_") for c in cols[4:-1]) and len(cols) > 5


def test_native_layout_is_one_column_per_product(tmp_path, io_plugin, read_back):
    hepreco.run(job(tmp_path, select=["p"], keep=["der:y", "lay:tracks"], layout="native"))
    assert pq.read_table(tmp_path / "out.parquet").column_names == ["run", "subrun", "event", "lay_tracks", "der_y"]
    got = read_back({"module": "ParquetSource", "files": str(tmp_path / "out.parquet")})
    assert got["source:der_y"].tolist() == [2.0 * e for e in range(3, 31, 3)]


def test_provenance_in_the_metadata_and_across_formats(tmp_path, io_plugin):
    hepreco.run(job(tmp_path))
    root = tmp_path / "next.root"
    hepreco.run(
        {
            "process": "convert",
            "source": {
                "module": "ParquetSource",
                "files": str(tmp_path / "out.parquet"),
                "columns": ["lay_*"],
                "exclude": ["lay_name"],
            },
            "modules": {"out": {"module": "RootOutput", "file": str(root)}},
            "end_paths": {"e": ["out"]},
        }
    )
    assert [h["process"] for h in read_provenance(tmp_path / "out.parquet")] == ["pq"]
    history = read_provenance(root)
    assert [h["process"] for h in history] == ["pq", "convert"]
    assert history[-1]["inputs"] == [str(tmp_path / "out.parquet")]


def test_a_file_awkward_wrote(tmp_path, read_back):
    arr = ak.Array(
        {
            "Event": np.arange(10, 20, dtype=np.int64),
            "muons": ak.zip({"pt": [[1.0, 2.0]] * 10, "eta": [[0.1, 0.2]] * 10}),
            "met": np.linspace(0, 1, 10),
        }
    )
    ak.to_parquet(arr, tmp_path / "ak.parquet", row_group_size=3)
    got = read_back({"module": "ParquetSource", "files": str(tmp_path / "ak.parquet"), "batch_size": 100})
    assert got["_event"].tolist() == list(range(10, 20))
    assert same(got["source:muons"], arr.muons) and same(got["source:met"], arr.met)
    assert read_provenance(tmp_path / "ak.parquet") == []


def test_a_missing_column_is_named(tmp_path):
    ak.to_parquet(ak.Array({"a": [1, 2, 3]}), tmp_path / "a.parquet")
    with pytest.raises(hepreco.ConfigError, match=r"a\.parquet: no column 'b'"):
        hepreco.run({"source": {"module": "ParquetSource", "files": str(tmp_path / "a.parquet"), "columns": ["b"]}})
