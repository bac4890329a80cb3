"""RootOutput and ParquetOutput under processes and Dask: one merged file per requested file, equal to inline's."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import pytest
import uproot

import hepreco
from hepreco.io.provenance import read_file_document
from hepreco.io.root_output import RootOutput

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

IO_PLUGIN = str(Path(__file__).resolve().parents[1] / "io" / "ioplugin.py")
#: what may differ between the provenance of a run and inline's: who ran it, when, and how it was cut
RUN_FIELDS = {"id", "date", "executor", "chunks"}


def job(folder: Path, split: int | None = None, every: int = 3) -> dict:
    """40 generated events in batches of 4: products of every layout, some made after a filter (option
    types) that passes every ``every``-th event; a TTree of the events passing the filter, an RNTuple
    without one product, a Parquet file."""
    per_file = {"max_events_per_file": split} if split else {}
    cfg = {
        "process": "merge",
        "seed": 11,
        "plugins": [IO_PLUGIN],
        "source": {"module": "EmptySource", "events": 40, "batch_size": 4},
        "modules": {
            "lay": {"module": "Layouts"},
            "every": {"module": "Every", "n": every},
            "der": {"module": "Derived"},
            "tt": {"module": "RootOutput", "file": str(folder / "tree.root"), "select": ["p1"], **per_file},
            "nt": {"module": "RootOutput", "file": str(folder / "ntuple.root"), "format": "rntuple", **per_file},
            "pq": {"module": "ParquetOutput", "file": str(folder / "table.parquet"), **per_file},
        },
        "paths": {"p1": ["lay", "every", "der"]},
        "end_paths": {"e": ["tt", "nt", "pq"]},
    }
    cfg["modules"]["nt"]["drop"] = ["lay:name"]
    return cfg


def read(path: Path) -> ak.Array:
    if path.suffix == ".parquet":
        return ak.from_parquet(path)
    with uproot.open(path) as f:
        return f["events"].arrays()


def branch_types(path: Path) -> list:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [pq.read_schema(path)]
    with uproot.open(path) as f:
        return list(f["events"].typenames().items())


def check_same_files(run_dir: Path, ref_dir: Path, *, executor: str, chunks: list) -> None:
    """The same files (nothing else left: no parts, no temporary files), the same arrays and branch
    types, the same provenance but for who ran the job and how it was cut."""
    names = sorted(p.name for p in ref_dir.iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == names
    for name in names:
        a, b = read(ref_dir / name), read(run_dir / name)
        assert b.type == a.type, name
        assert ak.array_equal(b, a, equal_nan=True), name  # missing values are NaN in TTree/RNTuple
        assert branch_types(run_dir / name) == branch_types(ref_dir / name), name
        doc, ref = read_file_document(run_dir / name), read_file_document(ref_dir / name)
        assert {k: v for k, v in doc.items() if k != "history"} == {k: v for k, v in ref.items() if k != "history"}
        *before, step = doc["history"]
        *ref_before, ref_step = ref["history"]
        assert before == ref_before
        assert (step["executor"], step["chunks"]) == (executor, chunks)
        for key in set(step) | set(ref_step):
            if key == "config":  # the run's config also says how it ran, and where it wrote
                run_cfg = {k: v for k, v in step["config"].items() if k != "executor"}
                ref_cfg = ref_step["config"]
                assert str(run_cfg).replace(str(run_dir), "DIR") == str(ref_cfg).replace(str(ref_dir), "DIR")
            elif key not in RUN_FIELDS:
                assert step.get(key) == ref_step.get(key), key


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Inline runs of the job: ``references(split, every) -> (folder, result)``, each run once."""
    done = {}

    def get(split: int | None, every: int = 3):
        if (split, every) not in done:
            folder = tmp_path_factory.mktemp(f"inline-{split}-{every}")
            done[split, every] = folder, hepreco.run(job(folder, split, every), quiet=True)
        return done[split, every]

    return get


@pytest.mark.parametrize(
    ("kind", "chunk_size", "split", "every"),
    [
        ("processes", 4, None, 3),
        ("processes", 12, None, 3),
        ("processes", 8, 9, 3),
        ("processes", 4, 9, 20),  # the filter passes no event of whole chunks: products with no type there
        ("dask", 12, None, 3),
        ("dask", 8, None, 20),
        ("dask", 4, 9, 3),
    ],
)
def test_merged_files_equal_inline(references, request, tmp_path, kind, chunk_size, split, every):
    ref_dir, ref = references(split, every)
    ex = {"kind": kind, "chunk_size": chunk_size}
    if kind == "dask":
        ex["scheduler"] = request.getfixturevalue("dask_scheduler")
    else:
        ex["workers"] = 2
    r = hepreco.run(job(tmp_path / "run", split, every), executor=ex, quiet=True)
    chunks = [[None, a, min(a + chunk_size, 40)] for a in range(0, 40, chunk_size)]
    check_same_files(tmp_path / "run", ref_dir, executor=kind, chunks=chunks)
    assert sorted(p.name for p in r.outputs) == sorted(p.name for p in ref.outputs)
    for label in ("tt", "nt", "pq"):  # the figures the outputs record: the merged files', as inline
        assert r.summaries[label] == {
            k: str(v).replace(str(ref_dir), str(tmp_path / "run")) if k == "files" else v
            for k, v in ref.summaries[label].items()
        }
    if split:
        assert r.summaries["pq"]["files"].count("table_") == 5  # 9 + 9 + 9 + 9 + 4 events


def test_journal_keeps_its_parts_and_merges_the_same(references, tmp_path):
    """With a journal the parts stay in the journal (a resumed job merges them again) and the files are the same."""
    ref_dir, _ref = references(9)
    journal = tmp_path / "journal"
    ex = {"kind": "inline", "journal": str(journal), "chunk_size": 12}
    hepreco.run(job(tmp_path / "run", 9), executor=ex, quiet=True)
    chunks = [[None, a, min(a + 12, 40)] for a in range(0, 40, 12)]
    check_same_files(tmp_path / "run", ref_dir, executor="inline", chunks=chunks)
    for p in (tmp_path / "run").iterdir():
        p.unlink()
    r = hepreco.run(job(tmp_path / "run", 9), executor=ex, quiet=True)
    assert r.executor["resumed"] == 4
    check_same_files(tmp_path / "run", ref_dir, executor="inline", chunks=chunks)


def test_failed_merge_leaves_no_file(tmp_path, monkeypatch):
    """The client's merge fails half-way through (the workers, other processes, write their parts as
    usual): neither a final file nor a temporary one is left, of this output or of those merged before."""
    calls = []
    original = RootOutput.part_batches

    def failing(self, part, doc):
        for batch in original(self, part, doc):
            calls.append(part)
            if len(calls) == 3:  # in the second file of the split output
                raise OSError("disk full")
            yield batch

    monkeypatch.setattr(RootOutput, "part_batches", failing)
    folder = tmp_path / "run"
    cfg = job(folder, split=9)
    cfg["end_paths"]["e"] = ["pq", "tt"]  # the Parquet files are merged first, then the TTree fails
    with pytest.raises(
        hepreco.ModuleError, match=r"module 'tt' \(hepreco.RootOutput\) failed in merge_files\(\).*disk full"
    ):
        hepreco.run(cfg, executor={"kind": "processes", "workers": 2, "chunk_size": 8}, quiet=True)
    assert len(calls) == 3
    assert not folder.exists() or list(folder.iterdir()) == []
    assert not [p for p in Path(tmp_path).rglob("*") if "hepreco-tmp" in p.name or p.suffix in (".root", ".parquet")]
