"""Files other tools open as their users expect: a NanoAOD skim stays NanoAOD (coffea's NanoAODSchema), Parquet
in the flat layout coffea reads, and one rule for missing values per format."""

from __future__ import annotations

import warnings

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest
import uproot

import hepreco

#: coffea, pandas and ROOT read what hepreco wrote: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

NANOAOD = "nanoAOD_2015_CMS_Open_Data_ttbar.root"


def skim(tmp_path, root_files, out: dict) -> None:
    hepreco.run(
        {
            "process": "skim",
            "source": {"module": "RootSource", "files": str(root_files / NANOAOD), "batch_size": 64},
            "modules": {"out": out},
            "end_paths": {"e": ["out"]},
        }
    )


def nanoevents(path, fmt: str):
    coffea_nano = pytest.importorskip("coffea.nanoevents")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        factory = coffea_nano.NanoEventsFactory
        schema = coffea_nano.NanoAODSchema
        if fmt == "root":
            return factory.from_root({str(path): "Events"}, schemaclass=schema, mode="eager").events()
        return factory.from_parquet(str(path), schemaclass=schema, mode="eager").events()


def dimuon_masses(events) -> np.ndarray:
    """Leading-pair masses with coffea's vector behaviours (a physicist's first NanoAOD plot)."""
    mu = events.Muon
    two = mu[ak.num(mu) >= 2]
    return ak.to_numpy((two[:, 0] + two[:, 1]).mass)


def direct_masses(path) -> np.ndarray:
    import vector

    a = uproot.open(path)["Events"].arrays(["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass"])
    a = a[ak.num(a["Muon_pt"]) >= 2]
    mu = [vector.zip({k: a[f"Muon_{k}"][:, i] for k in ("pt", "eta", "phi", "mass")}) for i in (0, 1)]
    return ak.to_numpy((mu[0] + mu[1]).mass)


@pytest.mark.parametrize("fmt", ["root", "parquet"])
def test_a_nanoaod_skim_stays_nanoaod_for_coffea(tmp_path, root_files, fmt):
    out = tmp_path / f"skim.{fmt}"
    module = "RootOutput" if fmt == "root" else "ParquetOutput"
    skim(tmp_path, root_files, {"module": module, "file": str(out)})
    if fmt == "root":
        t = uproot.open(out)["Events"]  # the input's tree name
        orig = uproot.open(root_files / NANOAOD)["Events"]
        assert set(t.keys()) == set(orig.keys())  # every branch, no hepreco-made counters
        assert t["Muon_pt"].count_branch.name == "nMuon"
        assert t["luminosityBlock"].typename == orig["luminosityBlock"].typename
    else:
        names = pq.read_schema(out).names
        assert names[:3] == ["run", "luminosityBlock", "event"]
        assert "nMuon" in names and "Muon_pt" in names and "nMuon_pt" not in names
    events = nanoevents(out, fmt)
    assert len(events) == 200
    np.testing.assert_allclose(dimuon_masses(events), direct_masses(root_files / NANOAOD), rtol=1e-6)
    ids = uproot.open(root_files / NANOAOD)["Events"].arrays(["luminosityBlock", "event"])
    assert events.luminosityBlock.tolist() == ids["luminosityBlock"].tolist()
    assert events.event.tolist() == ids["event"].tolist()


def test_a_nanoaod_skim_reads_back_as_the_same_products(tmp_path, root_files):
    out = tmp_path / "skim.root"
    skim(tmp_path, root_files, {"module": "RootOutput", "file": str(out), "keep": ["source:Muon_*", "source:nMuon"]})
    got = hepreco.run(
        {
            "process": "again",
            "source": {"module": "RootSource", "files": str(out)},
            "modules": {"out": {"module": "ParquetOutput", "file": str(tmp_path / "again.parquet")}},
            "end_paths": {"e": ["out"]},
        }
    )
    assert got.events == 200
    table = ak.from_parquet(tmp_path / "again.parquet")
    orig = uproot.open(root_files / NANOAOD)["Events"].arrays(["Muon_pt", "nMuon", "luminosityBlock"])
    assert table["Muon_pt"].tolist() == orig["Muon_pt"].tolist()
    assert table["nMuon"].tolist() == orig["nMuon"].tolist()
    assert table["luminosityBlock"].tolist() == orig["luminosityBlock"].tolist()


def test_parquet_records_are_flat_columns_coffea_reads(tmp_path, root_files):
    """A list of records (HZZ muons) is one list column per field plus a counter: coffea's BaseSchema
    reads it (list<struct> columns made it raise NotImplementedError)."""
    out = tmp_path / "muons.parquet"
    hepreco.run(
        {
            "process": "hzz",
            "source": {
                "module": "RootSource",
                "files": str(root_files / "uproot-HZZ.root"),
                "tree": "events",
                "branches": ["Muon_*", "NMuon"],
                "groups": {"muons": "Muon_"},
            },
            "modules": {"out": {"module": "ParquetOutput", "file": str(out)}},
            "end_paths": {"e": ["out"]},
        }
    )
    names = pq.read_schema(out).names
    assert "nmuons" in names and "muons_Px" in names
    coffea_nano = pytest.importorskip("coffea.nanoevents")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = coffea_nano.NanoEventsFactory.from_parquet(
            str(out), schemaclass=coffea_nano.BaseSchema, mode="eager"
        ).events()
    direct = uproot.open(root_files / "uproot-HZZ.root")["events"].arrays(["Muon_Px"])
    assert ev.muons_Px.tolist() == direct["Muon_Px"].tolist()
    # and hepreco reads its records back
    back = hepreco.run(
        {
            "process": "back",
            "source": {"module": "ParquetSource", "files": str(out)},
            "modules": {"o": {"module": "ParquetOutput", "file": str(tmp_path / "b.parquet"), "layout": "native"}},
            "end_paths": {"e": ["o"]},
        }
    )
    assert back.events == len(direct)
    assert ak.from_parquet(tmp_path / "b.parquet")["muons"].Px.tolist() == direct["Muon_Px"].tolist()


@pytest.mark.parametrize("fmt", ["ttree", "rntuple", "parquet-flat", "parquet-native"])
def test_missing_values_follow_one_rule_per_format(tmp_path, io_plugin, fmt):
    """TTree and RNTuple: the value slot holds NaN (floating point), 0 (integers) or an empty list and
    ``NAME__valid`` is false; Parquet: null. hepreco reads every one back as None."""
    ext = "parquet" if fmt.startswith("parquet") else "root"
    out = tmp_path / f"out.{ext}"
    if ext == "root":
        output = {"module": "RootOutput", "file": str(out), "format": fmt}
    else:
        output = {"module": "ParquetOutput", "file": str(out), "layout": fmt.split("-")[1]}
    hepreco.run(
        {
            "process": "miss",
            "plugins": [str(io_plugin.__file__)],
            "source": {"module": "EmptySource", "events": 12, "batch_size": 5},
            "modules": {"every3": {"module": "Every", "n": 3}, "der": {"module": "Derived"}, "out": output},
            "paths": {"p": ["every3", "der"]},
            "end_paths": {"e": ["out"]},
        }
    )
    kept = [(e % 3) == 0 for e in range(1, 13)]
    if ext == "root":
        raw = uproot.open(out)["events"].arrays(["der_y", "der_y__valid", "der_lst"])
        assert raw["der_y__valid"].tolist() == kept
        y = np.asarray(raw["der_y"])
        assert np.isnan(y[~np.array(kept)]).all() and not np.isnan(y[np.array(kept)]).any()
        assert all(len(v) == 0 for v, k in zip(raw["der_lst"].tolist(), kept, strict=True) if not k)
    else:
        table = pq.read_table(out)
        assert table.column("der_y").null_count == kept.count(False)
        assert "der_y__valid" not in table.column_names
    again = hepreco.run(
        {
            "process": "back",
            "source": {"module": "RootSource" if ext == "root" else "ParquetSource", "files": str(out)},
            "modules": {"o": {"module": "ParquetOutput", "file": str(tmp_path / "b.parquet"), "layout": "native"}},
            "end_paths": {"e": ["o"]},
        }
    )
    assert again.events == 12
    back = ak.from_parquet(tmp_path / "b.parquet")
    assert [v is not None for v in back["der_y"].tolist()] == kept
