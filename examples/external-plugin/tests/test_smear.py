"""The example plugin's own test: run its job through hepreco."""

from pathlib import Path

import awkward as ak
import pytest

import hepreco


def test_smear_job(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the job writes smeared.jsonl in the working directory
    result = hepreco.run(Path(__file__).parents[1] / "job.yaml", events=200)
    assert result.events == 200
    assert result.histograms["h"]["h"].sum(flow=True) > 0


def test_smear_keeps_structure():
    from hepreco_smear.smear import Smear

    assert Smear.Config(src="tracks.pt").resolution == 0.05
    assert ak.Array([[1.0], []]).ndim == 2


def test_jsonl_output_inline_and_merged(tmp_path, monkeypatch):
    """The plugin's output format: complete files, the same events whether the job runs in one process or in
    chunks on two worker processes (per-chunk files merged by the base class through part_batches)."""
    from hepreco_smear.jsonl import read_jsonl

    monkeypatch.chdir(tmp_path)
    job = Path(__file__).parents[1] / "job.yaml"
    hepreco.run(job, events=300, set={"modules.out.file": str(tmp_path / "inline.jsonl")})
    hepreco.run(
        job,
        events=300,
        set={"modules.out.file": str(tmp_path / "chunks.jsonl")},
        executor={"kind": "processes", "workers": 2, "chunk_size": 100},
    )
    doc, inline = read_jsonl(tmp_path / "inline.jsonl")
    doc2, chunked = read_jsonl(tmp_path / "chunks.jsonl")
    assert len(inline) == 300 and inline == chunked
    assert [e["event"] for e in inline] == list(range(1, 301))
    assert doc["history"][-1]["process"] == "smeared" and doc["products"]["smeared"]["origin"] == "smeared"
    assert doc["entries"] == 300 and doc["format"] == "jsonl" and doc2["entries"] == 300
    assert not list(tmp_path.glob("*.body")) and not list(tmp_path.glob("*.tmp*"))


def test_jsonl_output_failed_job_leaves_nothing(tmp_path):
    job = Path(__file__).parents[1] / "job.yaml"
    out = tmp_path / "bad.jsonl"
    try:
        hepreco.run(job, events=300, set={"modules.out.file": str(out), "modules.smeared.src": "tracks.nope"})
    except hepreco.ModuleError:
        pass
    assert not out.exists() and not list(tmp_path.iterdir())


def test_summary_command(tmp_path, capsys, monkeypatch):
    from hepreco.cli import main

    out = tmp_path / "s.jsonl"
    hepreco.run(Path(__file__).parents[1] / "job.yaml", events=50, set={"modules.out.file": str(out)})
    assert main(["smear-summary", str(out)]) == 0
    text = capsys.readouterr().out
    assert "50 events, written by job 'smeared'" in text and "smeared:" in text and "mean" in text
    assert main(["smear-summary", str(out), "--column", "nope"]) == 2
    assert "no column 'nope'" in capsys.readouterr().err


def test_batch_executor_gives_the_inline_job(tmp_path):
    """The plugin's executor (one process per chunk) through hepreco's client: the same file and histogram."""
    from hepreco_smear.jsonl import read_jsonl

    job = Path(__file__).parents[1] / "job.yaml"
    inline = hepreco.run(job, events=300, set={"modules.out.file": str(tmp_path / "a.jsonl")})
    batch = hepreco.run(
        job,
        events=300,
        set={"modules.out.file": str(tmp_path / "b.jsonl")},
        executor={"kind": "batch", "workers": 2, "chunk_size": 100},
    )
    assert batch.executor["executor"] == "batch (2 at a time)" and batch.executor["chunks"] == 3
    assert read_jsonl(tmp_path / "a.jsonl")[1] == read_jsonl(tmp_path / "b.jsonl")[1]
    assert inline.histograms["h"]["h"] == batch.histograms["h"]["h"]


def test_jsonl_source_reads_back_what_the_output_wrote(tmp_path):
    """The plugin's source: the same events, ids and values, in batches of any size, with first/events."""
    from hepreco_smear.jsonl import read_jsonl

    out = tmp_path / "s.jsonl"
    hepreco.run(Path(__file__).parents[1] / "job.yaml", events=250, set={"modules.out.file": str(out)})
    _doc, written = read_jsonl(out)
    again = tmp_path / "again.jsonl"
    job = {
        "process": "readback",
        "source": {"module": "smear.JsonLinesSource", "files": [str(out)], "batch_size": 40, "first": 10,
                   "events": 200},
        "modules": {"out": {"module": "smear.JsonLinesOutput", "file": str(again)}},
        "end_paths": {"e": ["out"]},
    }  # fmt: skip
    result = hepreco.run(job)
    assert result.events == 200
    doc, back = read_jsonl(again)
    assert back == written[10:210]
    assert [h["process"] for h in doc["history"]] == ["smeared", "readback"]  # provenance carried through
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    job["source"]["files"] = [str(bad)]
    with pytest.raises(hepreco.ConfigError, match=r"bad\.jsonl"):
        hepreco.run(job)


def test_batch_files_with_a_bad_signature_are_never_unpickled(tmp_path):
    from hepreco_smear.batch import _read_signed, _write_signed

    path = tmp_path / "task.pkl"
    _write_signed(path, b"payload", "k1")
    assert _read_signed(path, "k1") == b"payload"
    with pytest.raises(ValueError, match="bad signature"):
        _read_signed(path, "k2")
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    with pytest.raises(ValueError, match="bad signature"):
        _read_signed(path, "k1")
