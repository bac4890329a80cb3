"""Nothing lost: outputs cannot replace inputs or each other, overwrites are said (or refused), keep patterns
that match nothing are reported, a journal refuses changed plugin code (issue: nothing lost, nothing hung)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import uproot
import yaml

import hepreco
from hepreco.cli import main

TOY = Path(__file__).resolve().parents[1] / "data" / "toyplugin.py"


@pytest.fixture
def own_registry():
    """A registry of its own for tests that load extra plugin files (copies of the toy plugin), so that the
    process-wide one keeps 'Numbers' unambiguous for the tests after."""
    import hepreco.plugins as plugins

    saved = plugins._DEFAULT
    plugins._DEFAULT = plugins.Registry.default()
    try:
        yield plugins._DEFAULT
    finally:
        plugins._DEFAULT = saved


def toy_job(tmp_path: Path, **modules) -> dict:
    return {
        "process": "rel",
        "plugins": [str(TOY)],
        "source": {"module": "EmptySource", "events": 20, "batch_size": 5},
        "modules": {"nums": {"module": "Numbers"}, **modules},
        "paths": {"p": ["nums"]},
        "end_paths": {"e": list(modules)},
    }


def run_cli(tmp_path: Path, cfg: dict, *args: str) -> int:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return main(["run", str(path), "-q", *args])


def test_an_output_onto_an_input_file_is_refused_naming_both_keys(tmp_path, root_files, capsys):
    copy = tmp_path / "hzz.root"
    shutil.copy(root_files / "uproot-HZZ.root", copy)
    before = copy.read_bytes()
    cfg = {
        "source": {"module": "RootSource", "files": str(copy)},
        "modules": {"out": {"module": "RootOutput", "file": str(copy)}},
        "end_paths": {"e": ["out"]},
    }
    assert run_cli(tmp_path, cfg) == 2
    err = capsys.readouterr().err
    assert "modules.out.file" in err and "source.files" in err and "replace the input" in err
    assert copy.read_bytes() == before


@pytest.mark.parametrize("case", ["two-outputs", "output-and-histograms", "report-onto-output"])
def test_two_writers_of_one_file_are_refused(tmp_path, capsys, case):
    target = str(tmp_path / "same.root")
    mods = {"out": {"module": "RootOutput", "file": target}}
    if case == "two-outputs":
        mods["out2"] = {"module": "RootOutput", "file": target}
    cfg = toy_job(tmp_path, **mods)
    args: list[str] = []
    if case == "output-and-histograms":
        cfg["services"] = {"Histograms": {"file": target}}
    if case == "report-onto-output":
        args = ["--report", target]
    assert run_cli(tmp_path, cfg, *args) == 2
    err = capsys.readouterr().err
    assert "two writers of one file" in err
    assert not Path(target).exists()


def test_an_overwrite_is_said_and_no_clobber_refuses(tmp_path, capsys):
    target = tmp_path / "out.root"
    cfg = toy_job(tmp_path, out={"module": "RootOutput", "file": str(target)})
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "--no-progress"]) == 0
    assert "replaced the existing file" not in capsys.readouterr().out
    assert main(["run", str(path), "--no-progress"]) == 0
    assert f"{target} (replaced the existing file)" in capsys.readouterr().out
    stamp = target.stat().st_mtime_ns
    assert main(["run", str(path), "-q", "--no-clobber"]) == 2
    assert "--no-clobber" in capsys.readouterr().err
    cfg["modules"]["out"]["overwrite"] = False
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "-q"]) == 2
    assert "overwrite: false" in capsys.readouterr().err
    assert target.stat().st_mtime_ns == stamp


def test_keep_patterns_that_match_nothing_warn_and_keeping_nothing_fails(tmp_path, caplog):
    cfg = toy_job(tmp_path, out={"module": "RootOutput", "file": str(tmp_path / "a.root"), "keep": ["nums:x", "numz"]})
    with caplog.at_level(logging.WARNING, logger="hepreco"):
        hepreco.run(cfg)
    assert any("keep pattern 'numz' matches no product" in r.getMessage() for r in caplog.records)
    assert "nums_x" in uproot.open(tmp_path / "a.root")["events"].keys()
    cfg["modules"]["out"]["keep"] = ["numz"]
    with pytest.raises(hepreco.ConfigError, match="keeps no product"):
        hepreco.run(cfg)


def test_a_journal_refuses_to_resume_after_the_plugin_code_changed(tmp_path, own_registry):
    plugin = tmp_path / "myplug.py"
    source = TOY.read_text().replace('PLUGIN_NAME = "toy"', 'PLUGIN_NAME = "myplug"')
    plugin.write_text(source)
    cfg = toy_job(tmp_path, out={"module": "RootOutput", "file": str(tmp_path / "a.root")})
    cfg["plugins"] = [str(plugin)]
    cfg["modules"]["nums"]["module"] = "myplug.Numbers"
    journal = str(tmp_path / "journal")
    hepreco.run(cfg, executor={"kind": "inline", "journal": journal, "chunk_size": 5})
    meta = json.loads((tmp_path / "journal" / "journal.json").read_text())
    assert "sha256" in meta["plugins"]["myplug"]
    plugin.write_text(source + "\n# a changed line\n")
    with pytest.raises(hepreco.ConfigError, match=r"other plugin code.*plugin 'myplug': its file changed"):
        hepreco.run(cfg, executor={"kind": "inline", "journal": journal, "chunk_size": 5})


def test_two_plugin_files_of_one_name_get_a_clear_message(tmp_path, own_registry):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    source = TOY.read_text().replace('PLUGIN_NAME = "toy"', "")
    (a / "dup.py").write_text(source)
    (b / "dup.py").write_text(source)
    cfg = toy_job(tmp_path, out={"module": "RootOutput", "file": str(tmp_path / "x.root")})
    cfg["plugins"] = [str(a / "dup.py"), str(b / "dup.py")]
    with pytest.raises(hepreco.ConfigError, match=r"two plugin files are named 'dup.py'.*rename one") as info:
        hepreco.run(cfg)
    assert len(str(info.value)) < 600  # a sentence, not a registry dump


def test_one_plugin_file_named_two_ways_is_one_plugin(tmp_path, own_registry):
    """``dir/../plugin.py`` and ``plugin.py`` are the same file: loaded once, not refused as a name clash."""
    sub = tmp_path / "sub"
    sub.mkdir()
    plugin = tmp_path / "myplug.py"
    plugin.write_text(TOY.read_text().replace('PLUGIN_NAME = "toy"', ""))
    cfg = toy_job(tmp_path, out={"module": "RootOutput", "file": str(tmp_path / "x.root")})
    cfg["modules"]["nums"]["module"] = "myplug.Numbers"
    cfg["plugins"] = [str(plugin)]
    hepreco.run(cfg)
    cfg["plugins"] = [str(sub / ".." / "myplug.py")]
    assert hepreco.run(cfg).events > 0
