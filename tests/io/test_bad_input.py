"""Bad input files: each error names the file, the tree and the branch, and no output file is left behind;
``--skip-bad-files`` goes on past them, lists them, and fails only when nothing could be read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import uproot

import hepreco
from hepreco.cli import main
from hepreco.io import read_provenance


@pytest.fixture
def files(root_files, tmp_path) -> dict[str, Path]:
    """A good copy of the HZZ sample and broken files beside it, in tmp_path/in."""
    d = tmp_path / "in"
    d.mkdir()
    good = d / "good.root"
    shutil.copy(root_files / "uproot-HZZ.root", good)
    data = good.read_bytes()
    (d / "truncated.root").write_bytes(data[: len(data) // 2])
    (d / "text.root").write_text("this is not a ROOT file\n")
    (d / "empty.root").write_bytes(b"")
    with uproot.recreate(d / "other_tree.root") as f:  # a ROOT file with another tree and fewer branches
        f.mktree("tree", {"NMuon": "int32"}).extend({"NMuon": [1, 2]})
    with uproot.recreate(d / "no_muon_px.root") as f:
        f.mktree("events", {"NMuon": "int32"}).extend({"NMuon": [1, 2]})
    return {p.stem: p for p in d.iterdir()} | {"missing": d / "missing.root"}


def job(tmp_path, inputs, **source):
    out = tmp_path / "out"
    return {
        "process": "bad",
        "source": {
            "module": "RootSource",
            "files": [str(p) for p in inputs],
            "tree": "events",
            "branches": ["NMuon", "Muon_Px"],
            **source,
        },
        "services": {"Histograms": {"file": str(out / "hists.root")}},
        "modules": {
            "h": {"module": "HistFill", "axes": [{"fill": "source:NMuon", "type": "integer", "start": 0, "stop": 6}]},
            "o": {"module": "RootOutput", "file": str(out / "o.root")},
        },
        "end_paths": {"e": ["h", "o"]},
    }


def nothing_written(tmp_path) -> bool:
    out = tmp_path / "out"
    return not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("missing", r"missing\.root: no such file"),
        ("text", r"text\.root: not a ROOT file: it does not start with ROOT's 'root' signature"),
        ("empty", r"empty\.root: not a ROOT file"),
        (
            "truncated",
            r"truncated\.root: truncated ROOT file: its header says it ends at byte 217945 but it has 108972",
        ),
        ("other_tree", r"other_tree\.root: no TTree or RNTuple 'events'.*trees in the file: tree"),
        ("no_muon_px", r"no_muon_px\.root: tree 'events': no branch 'Muon_Px'"),
    ],
)
def test_each_bad_file_is_named_and_nothing_is_written(files, tmp_path, name, pattern):
    with pytest.raises(hepreco.ConfigError, match=pattern) as err:
        hepreco.run(job(tmp_path, [files[name]]))
    assert "key 'source'" in str(err.value)
    assert nothing_written(tmp_path)


def test_a_later_file_missing_a_branch_names_the_first_file(files, tmp_path):
    with pytest.raises(
        hepreco.ConfigError,
        match=r"no_muon_px\.root: tree 'events': no branch 'Muon_Px'.* \(the first file, .*good\.root, has it\)",
    ):
        hepreco.run(job(tmp_path, [files["good"], files["no_muon_px"]]))
    assert nothing_written(tmp_path)


def test_a_missing_branch_suggests_the_nearest(files, tmp_path):
    with pytest.raises(hepreco.ConfigError, match=r"no branch 'Muon_Pxx' \(did you mean 'Muon_Px'"):
        hepreco.run(job(tmp_path, [files["good"]], branches=["Muon_Pxx"]))


def test_skip_bad_files_goes_on_and_lists_them(files, tmp_path):
    bad = ["text", "truncated", "missing", "other_tree", "no_muon_px"]
    r = hepreco.run(
        job(tmp_path, [files["text"], files["good"], *(files[b] for b in bad[1:]), files["good"]], skip_bad_files=True)
    )
    assert r.events == 2 * 2421
    summary = r.summaries["source"]
    assert summary["files_read"] == 1 and summary["files_skipped"] == 5  # good.root twice is one file
    skipped_text = " ".join(str(v) for k, v in summary.items() if k.startswith("skipped "))
    for b in bad:
        assert f"{b}.root" in skipped_text
    history = read_provenance(tmp_path / "out" / "o.root")
    skipped = history[-1]["skipped_files"]
    assert [Path(s["file"]).stem for s in skipped] == bad
    assert "not a ROOT file" in skipped[0]["error"]
    assert [Path(p).name for p in history[-1]["inputs"]] == ["good.root"]


def test_skip_bad_files_fails_when_nothing_can_be_read(files, tmp_path):
    with pytest.raises(
        hepreco.ConfigError,
        match=r"no ROOT file could be read:\s+.*text\.root: not a ROOT file.*\s+.*missing\.root: no such file",
    ):
        hepreco.run(job(tmp_path, [files["text"], files["missing"]], skip_bad_files=True))
    assert nothing_written(tmp_path)


def test_cli_skip_bad_files_flag_and_exit_codes(files, tmp_path, write_config, capsys):
    cfg = write_config(job(tmp_path, [files["good"], files["text"]]))
    assert main(["run", str(cfg), "-q"]) == 2
    assert "text.root: not a ROOT file" in capsys.readouterr().err
    assert nothing_written(tmp_path)
    assert main(["run", str(cfg), "--skip-bad-files"]) == 0
    out = capsys.readouterr().out
    assert "files_skipped" in out and "text.root: not a ROOT file" in out
    assert (tmp_path / "out" / "o.root").exists()
    cfg = write_config(job(tmp_path, [files["text"]]), name="all_bad.yaml")
    assert main(["run", str(cfg), "--skip-bad-files", "-q"]) == 2
    assert "no ROOT file could be read" in capsys.readouterr().err


def test_parquet_bad_files(tmp_path):
    (tmp_path / "bad.parquet").write_text("nope")
    with pytest.raises(hepreco.ConfigError, match=r"bad\.parquet: not a Parquet file"):
        hepreco.run({"source": {"module": "ParquetSource", "files": str(tmp_path / "bad.parquet")}})
    with pytest.raises(hepreco.ConfigError, match=r"nothere\.parquet: no such file"):
        hepreco.run({"source": {"module": "ParquetSource", "files": str(tmp_path / "nothere.parquet")}})
    with pytest.raises(hepreco.ConfigError, match=r"no file matches this pattern"):
        hepreco.run({"source": {"module": "ParquetSource", "files": str(tmp_path / "x*.parquet")}})
