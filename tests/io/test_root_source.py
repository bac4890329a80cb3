"""RootSource on ROOT files that ROOT itself wrote (../shared/data/root-files): values equal uproot's."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

import hepreco


def same(a, b) -> bool:
    """Equal values and lengths (numpy or awkward, any layout)."""
    return ak.to_list(a) == ak.to_list(b)


def test_hzz_muons_grouped_into_one_record_product(root_files, read_back):
    path = root_files / "uproot-HZZ.root"
    got = read_back(
        {
            "module": "RootSource",
            "files": str(path),
            "tree": "events",
            "branches": ["Muon_*", "NMuon", "MET_*"],
            "groups": {"muons": "Muon_", "met": {"prefix": "MET_"}},
            "batch_size": 700,
        }
    )
    assert set(got) == {"source:muons", "source:met", "_run", "_subrun", "_event"}
    muons = got["source:muons"]
    assert str(muons.type.content) == (
        "var * {Px: float32, Py: float32, Pz: float32, E: float32, Charge: int32, Iso: float32}"
    )
    direct = uproot.open(path)["events"].arrays(["Muon_Px", "Muon_E", "Muon_Charge", "NMuon", "MET_px"])
    assert len(muons) == 2421
    assert ak.all(muons.Px == direct["Muon_Px"])
    assert ak.all(muons.E == direct["Muon_E"])
    assert ak.all(muons.Charge == direct["Muon_Charge"])
    assert same(ak.num(muons), direct["NMuon"])  # the counter is the list length, not a product
    assert ak.all(got["source:met"].px == direct["MET_px"])
    # no run/event branches: run 1, subrun 0 (the first file), events numbered from 1
    assert same(got["_event"], np.arange(1, 2422))
    assert set(np.asarray(got["_run"]).tolist()) == {1}


def test_nanoaod_counters_and_run_lumi_event(root_files, read_back):
    path = root_files / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
    got = read_back(
        {
            "module": "RootSource",
            "files": str(path),
            "branches": [
                "nMuon",
                "Muon_*",
                "nJet",
                "Jet_pt",
                "Jet_eta",
                "run",
                "luminosityBlock",
                "event",
                "HLT_IsoMu27",
            ],
            "auto_group": True,
            "batch_size": 64,
        }
    )
    assert set(got) == {"source:Muon", "source:Jet", "source:HLT_IsoMu27", "_run", "_subrun", "_event"}
    t = uproot.open(path)["Events"]
    direct = t.arrays(["nMuon", "Muon_pt", "Muon_charge", "Jet_pt", "run", "luminosityBlock", "event", "HLT_IsoMu27"])
    assert same(ak.num(got["source:Muon"]), direct["nMuon"])
    assert ak.all(got["source:Muon"].pt == direct["Muon_pt"])
    assert ak.all(got["source:Muon"].charge == direct["Muon_charge"])
    assert sorted(ak.fields(got["source:Jet"])) == ["eta", "pt"]  # in the tree's branch order
    assert ak.all(got["source:Jet"].pt == direct["Jet_pt"])
    assert same(got["_run"], direct["run"])
    assert same(got["_subrun"], direct["luminosityBlock"])
    assert same(got["_event"], direct["event"])
    assert same(got["source:HLT_IsoMu27"], direct["HLT_IsoMu27"])


def test_zmumu_flat_branches_with_run_and_event(root_files, read_back):
    path = root_files / "uproot-Zmumu.root"
    got = read_back({"module": "RootSource", "files": str(path), "exclude": ["Type"], "batch_size": 1000})
    direct = uproot.open(path)["events"].arrays()
    names = [k for k in direct.fields if k not in ("Run", "Event", "Type")]
    assert sorted(got) == sorted([f"source:{k}" for k in names] + ["_run", "_subrun", "_event"])
    for k in names:
        assert same(got[f"source:{k}"], direct[k]), k
    assert same(got["_run"], direct["Run"])
    assert same(got["_event"], direct["Event"])
    assert str(got["source:M"].type.content) == "float64"


def test_entry_ranges_many_files_and_globs(root_files, read_back, tmp_path):
    src = root_files / "uproot-Zmumu.root"
    for i in range(3):
        (tmp_path / f"z{i}.root").write_bytes(src.read_bytes())
    direct = uproot.open(src)["events"].arrays(["M"])["M"]
    got = read_back(
        {
            "module": "RootSource",
            "files": [str(tmp_path / "z*.root")],
            "branches": ["M"],
            "first": 2300,
            "events": 10,
            "batch_size": 3,
        }
    )
    # entries 2300..2303 of z0, then 0..5 of z1: ranges run across files
    assert same(got["source:M"], np.concatenate([direct[2300:], direct[:6]]))


def test_chunks_are_entry_ranges_read_independently(root_files):
    plan = hepreco.prepare(
        {
            "source": {
                "module": "RootSource",
                "files": [str(root_files / "uproot-HZZ.root")] * 2,
                "branches": ["NMuon"],
                "chunk_entries": 1000,
                "first": 500,
                "batch_size": 400,
            }
        },
        quiet=True,
    )
    src = plan.source
    chunks = src.chunks()
    assert [(c.start, c.stop) for c in chunks] == [(500, 1500), (1500, 2421), (0, 1000), (1000, 2000), (2000, 2421)]
    direct = uproot.open(root_files / "uproot-HZZ.root")["events"]["NMuon"].array()
    for c in reversed(chunks):  # any order
        batches = list(src.read(c))
        assert max(len(b.ids) for b in batches) <= 400
        values = np.concatenate([np.asarray(b.products["NMuon"]) for b in batches])
        assert same(values, direct[c.start : c.stop])
        events = np.concatenate([b.ids.event for b in batches])
        assert same(events, np.arange(c.start + 1, c.stop + 1))


def test_step_size_in_bytes_bounds_the_batch(root_files, read_back):
    got_batches = []
    path = root_files / "uproot-HZZ.root"
    plan = hepreco.prepare(
        {"source": {"module": "RootSource", "files": str(path), "branches": ["Jet_*"], "step_size": "20 kB"}},
        quiet=True,
    )
    for chunk in plan.source.chunks():
        got_batches.extend(len(b.ids) for b in plan.source.read(chunk))
    assert sum(got_batches) == 2421
    assert 2 < len(got_batches) < 2421


def test_aliases_rename_branches(root_files, read_back):
    path = root_files / "uproot-Zmumu.root"
    got = read_back(
        {"module": "RootSource", "files": str(path), "branches": ["M"], "aliases": {"mass": "M", "charge1": "Q1"}}
    )
    assert sorted(k for k in got if not k.startswith("_")) == ["source:charge1", "source:mass"]
    assert same(got["source:mass"], uproot.open(path)["events"]["M"].array())


def test_split_class_branches_become_products(root_files, read_back):
    path = root_files / "uproot-small-evnt-tree-fullsplit.root"
    got = read_back({"module": "RootSource", "files": str(path), "branches": ["evt"], "exclude": []})
    t = uproot.open(path)["tree"]
    assert same(got["source:evt_I32"], t["evt/I32"].array())
    assert str(got["source:evt_ArrayF64"].type.content) == "10 * float64"
    assert ak.all(got["source:evt_StlVecF32"] == t["evt/StlVecF32"].array())
    assert got["source:evt_StdStr"].tolist() == t["evt/StdStr"].array().tolist()


def test_a_consumer_of_a_missing_branch_is_a_config_error(root_files):
    cfg = {
        "source": {"module": "RootSource", "files": str(root_files / "uproot-Zmumu.root"), "branches": ["M"]},
        "modules": {"h": {"module": "HistFill", "axes": [{"fill": "source:Mass", "bins": 10, "start": 0, "stop": 1}]}},
        "end_paths": {"e": ["h"]},
    }
    with pytest.raises(hepreco.ConfigError, match=r"consumes 'source:Mass'.*did you mean 'source:M'"):
        hepreco.run(cfg)


def test_default_batch_counts_the_branches_read_not_the_event_ids(tmp_path):
    # batch_bytes is a budget for the branches the job reads, as uproot's step_size counts the branches asked
    # for: the run/luminosityBlock/event branches that come along do not shrink the batch
    path = tmp_path / "ids.root"
    n = 6000
    columns = {
        "run": np.ones(n, dtype=np.uint32),
        "luminosityBlock": np.ones(n, dtype=np.uint32),
        "event": np.arange(1, n + 1, dtype=np.uint64),
        "x": np.arange(n, dtype=np.float64),
    }
    with uproot.recreate(path) as f:
        f.mktree("Events", {k: v.dtype for k, v in columns.items()})
        f["Events"].extend(columns)
    plan = hepreco.prepare(
        {"source": {"module": "RootSource", "files": str(path), "branches": ["x"], "batch_bytes": 8 * 2000}},
        quiet=True,
    )
    sizes = [len(b.ids) for c in plan.source.chunks() for b in plan.source.read(c)]
    step = uproot.open(path)["Events"].num_entries_for(8 * 2000, filter_name="x")  # uproot's own step: 1997
    assert step > 1900
    assert sum(sizes) == n and sizes[:-1] == [step] * (len(sizes) - 1)


@pytest.mark.parametrize("threads", [1, 3])
def test_read_threads_give_the_same_arrays(root_files, threads, monkeypatch):
    # baskets decompressed and interpreted on a thread pool (the default where the process may use several
    # cores) come back in order and equal to uproot's own single-threaded read, batch after batch
    path = root_files / "uproot-HZZ.root"
    calls = []
    real = uproot.source.futures.ThreadPoolExecutor

    class Counting(real):
        def __init__(self, n):
            calls.append(n)
            super().__init__(n)

    monkeypatch.setattr(uproot.source.futures, "ThreadPoolExecutor", Counting)
    plan = hepreco.prepare(
        {"source": {"module": "RootSource", "files": str(path), "branches": ["Muon_*", "Jet_Px"],
                    "batch_size": 500, "read_threads": threads}},
        quiet=True,
    )  # fmt: skip
    (chunk,) = plan.source.chunks()
    batches = list(plan.source.read(chunk))
    assert [len(b.ids) for b in batches] == [500, 500, 500, 500, 421]
    tree = uproot.open(path)["events"]
    for name, product in (("Muon_Px", "Muon_Px"), ("Jet_Px", "Jet_Px")):
        got = ak.concatenate([b.products[product] for b in batches])
        assert same(got, tree[name].array())
    assert calls == ([] if threads == 1 else [threads])  # one pool per chunk, none for one thread


def test_read_threads_follow_the_process_budget(root_files, monkeypatch):
    from hepreco.core.threads import thread_budget

    path = root_files / "uproot-Zmumu.root"
    sizes = []
    real = uproot.source.futures.ThreadPoolExecutor
    monkeypatch.setattr(uproot.source.futures, "ThreadPoolExecutor", lambda n: sizes.append(n) or real(n))
    plan = hepreco.prepare({"source": {"module": "RootSource", "files": str(path), "branches": ["M"]}}, quiet=True)
    for budget, want in (("1", []), ("2", [2]), ("16", [4])):  # at most 4 by default
        monkeypatch.setenv("HEPRECO_THREADS", budget)
        assert thread_budget() == int(budget)
        sizes.clear()
        for chunk in plan.source.chunks():
            list(plan.source.read(chunk))
        assert sizes == want


def _ids_file(path, n=5000):
    columns = {
        "run": np.full(n, 7, dtype=np.uint32),
        "luminosityBlock": np.arange(n, dtype=np.uint32) // 1000,
        "event": np.arange(100, 100 + n, dtype=np.uint64),
        "x": np.arange(n, dtype=np.float64),
    }
    with uproot.recreate(path) as f:
        f.mktree("Events", {k: v.dtype for k, v in columns.items()})
        f["Events"].extend(columns)
    return columns


def test_event_ids_are_read_only_when_asked(tmp_path):
    # an analysis that never looks at run/luminosityBlock/event does not read them; whoever asks gets the file's
    # numbers for exactly its entries, while the chunk's file is open or after it was closed
    import pickle
    import shutil

    cols = _ids_file(tmp_path / "ids.root")
    plan = hepreco.prepare(
        {
            "source": {
                "module": "RootSource",
                "files": str(tmp_path / "ids.root"),
                "branches": ["x"],
                "batch_size": 1500,
            }
        },
        quiet=True,
    )
    (chunk,) = plan.source.chunks()
    batches, pos = [], 0
    for b in plan.source.read(chunk):  # the file is open while a batch is processed
        assert not b.ids.loaded
        sub = b.ids.take(np.array([0, len(b.ids) - 1]))
        assert not sub.loaded and sub.event.tolist() == [cols["event"][pos], cols["event"][pos + len(b.ids) - 1]]
        assert b.ids.loaded and b.ids.subrun.tolist() == cols["luminosityBlock"][pos : pos + len(b.ids)].tolist()
        pos += len(b.ids)
        batches.append(b)
    assert pos == 5000
    late = list(plan.source.read(chunk))  # read after the chunk's file was closed: opened again
    assert late[-1].ids.head(3).event.tolist() == [4600, 4601, 4602] and late[-1].ids.run.tolist() == [7] * 500
    again = pickle.loads(pickle.dumps(late[0].ids.head(2)))  # to and from workers with its numbers
    assert again.loaded and again.event.tolist() == [100, 101]
    # the file gone: reading the ids fails naming the file and the entries
    gone = list(plan.source.read(chunk))
    shutil.move(tmp_path / "ids.root", tmp_path / "moved.root")
    with pytest.raises(
        OSError, match=r"ids\.root.*cannot read the event ids \(run, luminosityBlock, event\) of entries 0\.\.1500"
    ):
        gone[0].ids.event  # noqa: B018


def test_a_module_error_still_names_its_events_or_says_why_not(tmp_path):
    from hepreco.core.events import EventIDs, Events, ProductStore
    from hepreco.core.schedule import where_events

    def fail():
        raise OSError("file gone")

    ok = Events(ProductStore(EventIDs(np.ones(2, np.uint32), np.zeros(2, np.uint32), np.array([5, 6], np.uint64))))
    assert where_events(ok) == "run 1 subrun 0 events 5, 6"
    lost = Events(ProductStore(EventIDs.deferred(2, fail)))
    assert where_events(lost) == "2 events (their ids could not be read: file gone)"
