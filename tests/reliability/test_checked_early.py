"""Checked before the first event: bounded YAML, --set paths, everything a job writes, values that passed
validation and failed later, every bad input at once, checkpoints at validate time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from hepreco.cli import main

TOY = Path(__file__).resolve().parents[1] / "data" / "toyplugin.py"


def toy_job(**modules) -> dict:
    return {
        "process": "rel",
        "plugins": [str(TOY)],
        "source": {"module": "EmptySource", "events": 20, "batch_size": 5},
        "modules": {"nums": {"module": "Numbers"}, **modules},
        "paths": {"p": ["nums"]},
        "end_paths": {"e": list(modules)} if modules else {},
    }


def cli(tmp_path: Path, cfg: dict | str, *args: str, command: str = "run") -> int:
    path = tmp_path / "job.yaml"
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    return main([command, str(path), *(["-q"] if command == "run" else []), *args])


LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=False)]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LAUGHS, "expands to more than"),
        ("a: &a [*a]\n", "recursive alias"),
        ("process: x\n1: 2\n", "key '1' is read as a int"),
        ("process: x\ntrue: 2\n", "key 'true' is read as a bool"),
    ],
)
def test_yaml_that_explodes_recurses_or_has_odd_keys_is_a_config_error(tmp_path, capsys, text, expected):
    assert cli(tmp_path, text, command="validate") == 2
    err = capsys.readouterr().err
    assert expected in err and str(tmp_path / "job.yaml") in err


def test_a_merge_key_override_is_not_a_duplicate(tmp_path, capsys):
    text = f"""
plugins: [{TOY}]
source: {{module: EmptySource, events: 4}}
modules:
  nums: &n {{module: Numbers, scale: 1.0}}
  big:
    <<: *n
    scale: 3.0
paths: {{p: [nums, big]}}
"""
    assert cli(tmp_path, text, command="validate") == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "expected"), [("paths.p.7=x", "index 7 is out of range"), ("paths.p.foo=1", "not 'foo'")]
)
def test_set_with_a_bad_list_index_is_a_config_error(tmp_path, capsys, setting, expected):
    assert cli(tmp_path, toy_job(), "--set", setting, command="validate") == 2
    err = capsys.readouterr().err
    assert expected in err and setting.split("=")[0] in err


def test_everything_a_job_writes_is_checked_before_the_first_event(tmp_path, capsys):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    cfg = toy_job(
        out={"module": "RootOutput", "file": str(folder)},
        out2={"module": "RootOutput", "file": str(tmp_path / "plainfile" / "x.root")},
    )
    (tmp_path / "plainfile").write_text("not a folder")
    assert cli(tmp_path, cfg, "--report", str(tmp_path / "missing" / "r.json")) == 2
    err = capsys.readouterr().err
    assert f"'{folder}' is an existing folder" in err
    assert "plainfile' is a file" in err
    assert "--report" in err and "does not exist" in err
    assert ".hepreco-tmp" not in err  # the user's paths, never a temporary name


def test_a_journal_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "journal").write_text("x")
    assert cli(tmp_path, toy_job(), "--journal", str(tmp_path / "journal")) == 2
    assert "is an existing file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"start": float("nan")}, "start is nan"),
        ({"stop": float("inf")}, "stop is inf"),
        ({"bins": 10**12}, "GiB of memory"),
    ],
)
def test_histfill_values_that_would_fail_later(tmp_path, capsys, change, expected):
    axis = {"fill": "nums:x", "bins": 10, "start": 0.0, "stop": 20.0, **change}
    assert cli(tmp_path, toy_job(h={"module": "HistFill", "axes": [axis]}), command="validate") == 2
    assert expected in capsys.readouterr().err


def test_a_seed_beyond_64_bits_is_refused(tmp_path, capsys):
    assert cli(tmp_path, toy_job(), "--seed", str(2**64), command="validate") == 2
    assert "2**64-1" in capsys.readouterr().err


def test_first_past_the_end_of_the_input_is_said(tmp_path, root_files, capsys):
    cfg = {"source": {"module": "RootSource", "files": str(root_files / "uproot-HZZ.root"), "first": 5000}}
    assert cli(tmp_path, cfg, command="validate") == 2
    err = capsys.readouterr().err
    assert "source.first" in err and "2421 entries" in err


@pytest.mark.parametrize("step", [-5, "lots", "-3 MB"])
def test_a_bad_step_size_is_a_config_error(tmp_path, root_files, capsys, step):
    cfg = {"source": {"module": "RootSource", "files": str(root_files / "uproot-HZZ.root"), "step_size": step}}
    assert cli(tmp_path, cfg, command="validate") == 2
    assert "step_size" in capsys.readouterr().err


def test_workers_without_executor_means_processes(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(toy_job()))
    assert main(["run", str(path), "-q", "--workers", "2", "--report", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["executor"]["executor"].startswith("processes")


def test_validate_loads_checkpoint_metadata(tmp_path, capsys):
    pytest.importorskip("hepreco_comet")
    cfg = {
        "source": {"module": "comet.CDCSimSource", "events": 4},
        "modules": {
            "features": {"module": "comet.HitFeatures"},
            "gbdt": {"module": "comet.GBDTHitClassifier", "weights": "builtin:nosuch"},
        },
        "paths": {"p": ["features", "gbdt"]},
    }
    assert cli(tmp_path, cfg, command="validate") == 2
    err = capsys.readouterr().err
    assert "modules.gbdt.weights" in err and "nosuch" in err


def test_every_bad_input_is_reported_at_once(tmp_path, root_files, capsys):
    hzz = str(root_files / "uproot-HZZ.root")
    cfg = {
        "source": {"module": "RootSource", "files": [str(tmp_path / "no1.root"), hzz, str(tmp_path / "no2.root")]},
        "modules": {"h": {"module": "HistFill", "axes": [{"fill": "source:NMuon", "bins": 5, "start": 0, "stop": 5}]}},
        "end_paths": {"e": ["h"]},
    }
    assert cli(tmp_path, cfg, command="validate") == 2
    err = capsys.readouterr().err
    assert "no1.root" in err and "no2.root" in err
    assert "produces nothing" not in err
    cfg["source"] = {"module": "RootSource", "files": hzz, "branches": ["NMuonz", "Muon_Pq"]}
    assert cli(tmp_path, cfg, command="validate") == 2
    err = capsys.readouterr().err
    assert "NMuonz" in err and "Muon_Pq" in err and "produces nothing" not in err


def test_a_checkpoint_naming_a_file_outside_its_folder_is_refused_unread(tmp_path):
    comet = pytest.importorskip("hepreco_comet")
    from hepreco.ml import CheckpointError, load_checkpoint

    src = Path(comet.__file__).parent / "checkpoints" / "comet-dncnn"
    ckpt = tmp_path / "ckpt"
    shutil.copytree(src, ckpt)
    meta = json.loads((ckpt / "metadata.json").read_text())
    meta["weights"]["file"] = "../../etc/passwd"
    (ckpt / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a file name inside the checkpoint folder"):
        load_checkpoint(ckpt)


def test_nan_weights_are_refused_at_load_naming_the_tensor(tmp_path):
    comet = pytest.importorskip("hepreco_comet")
    from safetensors.torch import load_file, save_file

    from hepreco.ml import CheckpointError, load_checkpoint
    from hepreco.ml.checkpoint import sha256_file

    src = Path(comet.__file__).parent / "checkpoints" / "comet-dncnn"
    ckpt = tmp_path / "ckpt"
    shutil.copytree(src, ckpt)
    meta = json.loads((ckpt / "metadata.json").read_text())
    weights = ckpt / meta["weights"]["file"]
    tensors = load_file(str(weights))
    name = sorted(tensors)[0]
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(weights))
    meta["weights"]["sha256"] = sha256_file(weights)
    (ckpt / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=f"tensor '{name}' holds NaN"):
        load_checkpoint(ckpt).build()
