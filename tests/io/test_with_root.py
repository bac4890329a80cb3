"""CERN ROOT itself as the client: ROOT opens what hepreco writes (TTree, RNTuple, histograms, provenance),
and hepreco reads what ROOT writes (std::vector<float>, fixed and counted arrays, several baskets, a TH1F).

ROOT runs in a subprocess (one per module): it costs a few seconds to start, and a crash inside ROOT must
not take the test session with it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
import uproot

import hepreco

IO_PLUGIN = Path(__file__).resolve().with_name("ioplugin.py")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.root,
    pytest.mark.skipif(
        importlib.util.find_spec("ROOT") is None, reason="CERN ROOT is not installed (pip install root)"
    ),
]


# --- hepreco writes, ROOT reads ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Any]:
    """hepreco jobs writing a TTree, an RNTuple and histograms; what the jobs saw, as plain lists."""
    import hepreco.plugins as plugins

    d = tmp_path_factory.mktemp("written")
    plugins.get_registry().load_spec(str(IO_PLUGIN))
    mod = sys.modules["hepreco_userplugin_ioplugin"]
    mod.GRABBED.clear()
    cfg = {
        "process": "forroot",
        "seed": 5,
        "plugins": [str(IO_PLUGIN)],
        "source": {"module": "EmptySource", "events": 20, "batch_size": 6},
        "services": {"Histograms": {"file": str(d / "hists.root")}},
        "modules": {
            "lay": {"module": "Layouts", "image": [71, 71, 2]},
            "every3": {"module": "Every", "n": 3},
            "der": {"module": "Derived"},
            "grab": {"module": "Grab"},
            "out": {"module": "RootOutput", "file": str(d / "tree.root")},
            "ntuple": {
                "module": "RootOutput",
                "file": str(d / "ntuple.root"),
                "format": "rntuple",
                "drop": ["lay:name"],
            },
            "hx": {
                "module": "HistFill",
                "name": "x",
                "title": "x per event",
                "axes": [{"fill": "lay:x", "bins": 20, "start": 0, "stop": 40, "label": "x [cm]"}],
            },
            "hxy": {
                "module": "HistFill",
                "axes": [
                    {"fill": "lay:x", "bins": 4, "start": 0, "stop": 40, "label": "x [cm]"},
                    {"fill": "lay:hits", "bins": 3, "start": 0, "stop": 30, "label": "hit"},
                ],
            },
        },
        "paths": {"p": ["lay", "every3", "der"]},
        "end_paths": {"e": ["grab", "out", "ntuple", "hx", "hxy"]},
    }
    r = hepreco.run(cfg)
    seen = mod.grabbed("grab")
    return {
        "dir": d,
        "x": seen["lay:x"].tolist(),
        "hits": seen["lay:hits"].tolist(),
        "image": np.asarray(seen["lay:image"]).reshape(20, -1).tolist(),
        "tracks_pt": seen["lay:tracks"].pt.tolist(),
        "vertex_z": seen["lay:vertex"].z.tolist(),
        "name": seen["lay:name"].tolist(),
        "der_y": seen["der:y"].tolist(),
        "der_lst": seen["der:lst"].tolist(),
        "event": seen["_event"].tolist(),
        "hx": r.histograms["hx"]["x"].values().tolist(),
        "hxy": r.histograms["hxy"]["hxy"].values().tolist(),
    }


@pytest.fixture(scope="module")
def root_saw(written, run_root) -> dict[str, Any]:
    d = written["dir"]
    return run_root(
        f"""
        d = {str(d)!r}
        f = ROOT.TFile.Open(d + "/tree.root")
        t = f.Get("events")
        RESULT["entries"] = int(t.GetEntries())
        RESULT["branches"] = [b.GetName() for b in t.GetListOfBranches()]
        rows = []
        for i in range(t.GetEntries()):
            t.GetEntry(i)
            rows.append({{"event": int(t.event), "x": float(t.lay_x), "hits": [float(v) for v in t.lay_hits],
                          "valid": bool(t.der_y__valid), "y": float(t.der_y),
                          "name": str(t.GetLeaf("lay_name").GetValueString())}})
        RESULT["rows"] = rows
        prov = f.Get("hepreco_provenance")
        RESULT["provenance_class"] = prov.ClassName()
        RESULT["provenance"] = json.loads(str(prov.GetString()))

        df = ROOT.RDataFrame("events", d + "/tree.root")
        RESULT["image_type"] = str(df.GetColumnType("lay_image"))
        img = df.Take["ROOT::VecOps::RVec<float>"]("lay_image").GetValue()
        RESULT["image"] = [[float(v) for v in img[i]] for i in (0, 7, 19)]
        pts = df.Take["ROOT::VecOps::RVec<double>"]("lay_tracks_pt").GetValue()
        RESULT["tracks_pt"] = [[float(v) for v in p] for p in pts]
        RESULT["vertex_z"] = [float(v) for v in df.AsNumpy(["lay_vertex_z"])["lay_vertex_z"]]
        sel = df.Filter("der_y__valid").Define("n", "(int)der_lst.size()")
        RESULT["valid_events"] = [int(v) for v in sel.AsNumpy(["event"])["event"]]
        RESULT["valid_lst_sizes"] = [int(v) for v in sel.AsNumpy(["n"])["n"]]
        RESULT["sum_y"] = float(sel.Sum("der_y").GetValue())

        nt = ROOT.RDataFrame("events", d + "/ntuple.root")
        RESULT["nt_columns"] = sorted(str(c) for c in nt.GetColumnNames())
        RESULT["nt_x"] = [float(v) for v in nt.AsNumpy(["lay_x"])["lay_x"]]
        nd = nt.Define("nh", "(int)lay_hits.size()").Define("pix", "lay_image[1][2][0]").Define("ntrk", "(int)lay_tracks.pt.size()")
        arr = nd.AsNumpy(["nh", "pix", "ntrk", "event"])
        RESULT["nt_nhits"] = [int(v) for v in arr["nh"]]
        RESULT["nt_pix"] = [float(v) for v in arr["pix"]]
        RESULT["nt_ntrk"] = [int(v) for v in arr["ntrk"]]
        RESULT["nt_valid_events"] = [int(v) for v in nt.Filter("der_y__valid").AsNumpy(["event"])["event"]]

        hf = ROOT.TFile.Open(d + "/hists.root")
        hx = hf.Get("hx/x")
        RESULT["hx"] = {{"class": hx.ClassName(), "title": hx.GetTitle(), "xtitle": hx.GetXaxis().GetTitle(),
                         "values": [hx.GetBinContent(i) for i in range(1, hx.GetNbinsX() + 1)]}}
        h2 = hf.Get("hxy/hxy")
        RESULT["hxy"] = {{"class": h2.ClassName(), "ytitle": h2.GetYaxis().GetTitle(),
                          "values": [[h2.GetBinContent(i, j) for j in range(1, 4)] for i in range(1, 5)]}}
        """
    )


def test_root_reads_the_ttree(written, root_saw):
    assert root_saw["entries"] == 20
    rows = root_saw["rows"]
    assert [r["event"] for r in rows] == written["event"]
    assert [r["x"] for r in rows] == written["x"]
    assert [r["hits"] for r in rows] == written["hits"]
    assert [r["name"] for r in rows] == written["name"]
    # the option-type product: the validity branch says which events have it
    assert [r["y"] if r["valid"] else None for r in rows] == written["der_y"]
    assert root_saw["valid_events"] == [
        e for e, y in zip(written["event"], written["der_y"], strict=True) if y is not None
    ]
    assert root_saw["valid_lst_sizes"] == [len(v) for v in written["der_lst"] if v is not None]
    assert root_saw["sum_y"] == sum(y for y in written["der_y"] if y is not None)


def test_root_reads_images_and_records(written, root_saw):
    assert "RVec" in root_saw["image_type"]
    for got, i in zip(root_saw["image"], (0, 7, 19), strict=True):
        assert got == written["image"][i]  # 71 x 71 x 2 floats, row-major
    assert root_saw["tracks_pt"] == written["tracks_pt"]
    assert root_saw["vertex_z"] == written["vertex_z"]


def test_root_reads_the_provenance(root_saw):
    assert root_saw["provenance_class"] == "TObjString"
    doc = root_saw["provenance"]
    assert doc["history"][-1]["process"] == "forroot" and doc["history"][-1]["seed"] == 5
    assert doc["products"]["der_y"]["valid"] == "der_y__valid"


def test_root_reads_the_rntuple(written, root_saw):
    assert {"lay_x", "lay_hits", "lay_image", "lay_tracks.pt", "der_y", "der_y__valid"} <= set(root_saw["nt_columns"])
    assert root_saw["nt_x"] == written["x"]
    assert root_saw["nt_nhits"] == [len(h) for h in written["hits"]]
    assert root_saw["nt_pix"] == [img[1 * 71 * 2 + 2 * 2 + 0] for img in written["image"]]
    assert root_saw["nt_ntrk"] == [len(p) for p in written["tracks_pt"]]
    assert root_saw["nt_valid_events"] == [
        e for e, y in zip(written["event"], written["der_y"], strict=True) if y is not None
    ]


def test_root_reads_the_histograms(written, root_saw, run_root):
    hx = root_saw["hx"]
    assert hx["class"] == "TH1D" and hx["title"] == "x per event" and hx["xtitle"] == "x [cm]"
    assert hx["values"] == written["hx"]
    assert root_saw["hxy"]["class"] == "TH2D" and root_saw["hxy"]["ytitle"] == "hit"
    assert root_saw["hxy"]["values"] == written["hxy"]


# --- ROOT writes, hepreco reads -------------------------------------------------------------------
@pytest.fixture(scope="module")
def root_wrote(tmp_path_factory, run_root) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("rootmade")
    result = run_root(
        f"""
        import array
        d = {str(d)!r}
        f = ROOT.TFile(d + "/made.root", "RECREATE")
        t = ROOT.TTree("t", "written by ROOT")
        v = ROOT.std.vector("float")()
        fixed = array.array("d", [0.0] * 3)
        grid = array.array("i", [0] * 6)
        n = array.array("i", [0])
        x = array.array("f", [0.0] * 8)
        run = array.array("I", [0]); evt = array.array("L", [0])
        t.Branch("run", run, "run/i")
        t.Branch("event", evt, "event/l")
        t.Branch("v", v)
        t.Branch("fixed", fixed, "fixed[3]/D")
        t.Branch("grid", grid, "grid[2][3]/I")
        t.Branch("n", n, "n/I")
        t.Branch("x", x, "x[n]/F")
        t.SetBasketSize("*", 512)  # several baskets per branch
        values = {{"v": [], "fixed": [], "grid": [], "x": [], "event": []}}
        for i in range(3000):
            v.clear()
            for k in range(i % 5):
                v.push_back(i + 0.5 * k)
            for k in range(3):
                fixed[k] = i * 10.0 + k
            for k in range(6):
                grid[k] = i + k
            n[0] = i % 4
            for k in range(n[0]):
                x[k] = i - k
            run[0] = 7
            evt[0] = 1000 + i
            t.Fill()
            values["v"].append([float(q) for q in v])
            values["fixed"].append(list(fixed))
            values["grid"].append([list(grid[0:3]), list(grid[3:6])])
            values["x"].append([float(x[k]) for k in range(n[0])])
            values["event"].append(int(evt[0]))
        h = ROOT.TH1F("h", "a ROOT histogram;x [cm];entries", 10, 0, 10)
        for i in range(100):
            h.Fill(i % 10 + 0.5, 0.5 + (i % 3))
        f.Write()
        RESULT["values"] = values
        RESULT["hist"] = [h.GetBinContent(i) for i in range(1, 11)]
        RESULT["baskets"] = int(t.GetBranch("v").GetWriteBasket())
        f.Close()

        g = ROOT.TFile(d + "/objects.root", "RECREATE")
        o = ROOT.TTree("events", "a branch of TH1F objects")
        hh = ROOT.TH1F("hh", "hh", 10, 0, 1)
        num = array.array("i", [0])
        o.Branch("num", num, "num/I")
        o.Branch("hist", hh)
        for i in range(5):
            num[0] = i
            hh.Fill(0.1 * i)
            o.Fill()
        g.Write()
        g.Close()
        """
    )
    result["dir"] = d
    return result


def test_hepreco_reads_what_root_wrote(root_wrote, read_back):
    path = root_wrote["dir"] / "made.root"
    expected = root_wrote["values"]
    assert root_wrote["baskets"] > 5
    assert uproot.open(path)["t"]["v"].num_baskets > 5
    got = read_back({"module": "RootSource", "files": str(path), "tree": "t", "batch_size": 701})
    assert sorted(k for k in got if not k.startswith("_")) == [
        "source:fixed",
        "source:grid",
        "source:n",
        "source:v",
        "source:x",
    ]
    assert got["source:v"].tolist() == expected["v"]
    assert str(got["source:v"].type.content) == "var * float32"
    assert got["source:fixed"].tolist() == expected["fixed"]
    assert str(got["source:fixed"].type.content) == "3 * float64"
    assert got["source:grid"].tolist() == expected["grid"]
    assert str(got["source:grid"].type.content) == "2 * 3 * int32"
    assert got["source:x"].tolist() == expected["x"]
    assert got["_event"].tolist() == expected["event"] and set(got["_run"].tolist()) == {7}


def test_hepreco_groups_a_counted_array_root_wrote(root_wrote, read_back):
    path = root_wrote["dir"] / "made.root"
    got = read_back(
        {
            "module": "RootSource",
            "files": str(path),
            "tree": "t",
            "branches": ["n", "x"],
            "groups": {"xs": {"counter": "n"}},
        }
    )
    assert sorted(k for k in got if not k.startswith("_")) == ["source:xs"]
    assert ak.to_list(got["source:xs"].x) == root_wrote["values"]["x"]


def test_a_th1f_root_wrote(root_wrote):
    h = uproot.open(root_wrote["dir"] / "made.root")["h"]
    assert h.member("fTitle") == "a ROOT histogram" and h.member("fXaxis").member("fTitle") == "x [cm]"
    assert h.values().tolist() == root_wrote["hist"]
    assert h.to_hist().values().tolist() == root_wrote["hist"]


def test_a_branch_of_an_unsupported_type_is_named(root_wrote, tmp_path):
    path = root_wrote["dir"] / "objects.root"
    cfg = {
        "source": {"module": "RootSource", "files": str(path)},
        "modules": {"o": {"module": "RootOutput", "file": str(tmp_path / "o.root")}},
        "end_paths": {"e": ["o"]},
    }
    with pytest.raises(
        hepreco.ConfigError,
        match=r"objects\.root: tree 'events': branch 'hist' has type TH1F, which cannot be read as an array.*exclude",
    ):
        hepreco.run(cfg)
    assert list(tmp_path.iterdir()) == []
    cfg["source"]["exclude"] = ["hist"]
    r = hepreco.run(cfg)
    assert r.events == 5 and uproot.open(tmp_path / "o.root")["events"]["num"].array().tolist() == [0, 1, 2, 3, 4]


def test_root_reads_a_file_hepreco_made_from_a_file_root_made(root_wrote, tmp_path, run_root):
    """The whole circle: ROOT -> hepreco (RootSource, RootOutput) -> ROOT."""
    out = tmp_path / "circle.root"
    hepreco.run(
        {
            "source": {
                "module": "RootSource",
                "files": str(root_wrote["dir"] / "made.root"),
                "tree": "t",
                "branches": ["v", "fixed"],
            },
            "modules": {"o": {"module": "RootOutput", "file": str(out)}},
            "end_paths": {"e": ["o"]},
        }
    )
    saw = run_root(
        f"""
        df = ROOT.RDataFrame("t", {str(out)!r})
        RESULT["v"] = [[float(q) for q in r] for r in df.Take["ROOT::VecOps::RVec<float>"]("v").GetValue()]
        RESULT["fixed"] = [[float(q) for q in r] for r in df.Take["ROOT::VecOps::RVec<double>"]("fixed").GetValue()]
        RESULT["event"] = [int(e) for e in df.AsNumpy(["event"])["event"]]
        """
    )
    assert saw["v"] == root_wrote["values"]["v"]
    assert saw["fixed"] == root_wrote["values"]["fixed"]
    assert saw["event"] == root_wrote["values"]["event"]
