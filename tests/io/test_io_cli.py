"""``hepreco dump FILE`` and ``hepreco provenance FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import hepreco
from hepreco.cli import main

IO_PLUGIN = Path(__file__).resolve().with_name("ioplugin.py")


def write_file(tmp_path, name="out.root", module="RootOutput"):
    path = tmp_path / name
    hepreco.run(
        {
            "process": "dumped",
            "seed": 11,
            "plugins": [str(IO_PLUGIN)],
            "source": {"module": "EmptySource", "events": 9, "batch_size": 4},
            "modules": {
                "lay": {"module": "Layouts"},
                "every3": {"module": "Every", "n": 3},
                "der": {"module": "Derived"},
                "out": {"module": module, "file": str(path)},
            },
            "paths": {"p": ["lay", "every3", "der"]},
            "end_paths": {"e": ["out"]},
        }
    )
    return path


def test_dump_a_root_file_hepreco_wrote(tmp_path, io_plugin, capsys):
    path = write_file(tmp_path)
    assert main(["dump", str(path)]) == 0
    out = capsys.readouterr().out
    assert "events: TTree, 9 entries" in out
    assert "lay_image" in out and "float[3][4][2]" in out and "3 * 4 * 2 * float32" in out
    assert "nlay_hits" in out and "var * float32" in out
    assert "der_y__valid" in out
    assert "products (11;" in out and "der:y" in out and "?float64" in out
    assert "provenance: 1 job: dumped" in out


def test_dump_files_root_wrote(root_files, capsys):
    assert main(["dump", str(root_files / "uproot-HZZ.root"), str(root_files / "uproot-histograms.root")]) == 0
    out = capsys.readouterr().out
    assert "events: TTree, 2421 entries, 51 branches" in out
    assert "Muon_Px" in out and "float[]" in out
    assert "one: TH1F" in out and "two: TH1F" in out
    assert main(["dump", str(root_files / "nanoAOD_2015_CMS_Open_Data_ttbar.root")]) == 0
    assert "Events: TTree, 200 entries, 947 branches" in capsys.readouterr().out


def test_dump_parquet_and_errors(tmp_path, io_plugin, capsys):
    path = write_file(tmp_path, "out.parquet", "ParquetOutput")
    assert main(["dump", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Parquet file" in out and "9 rows in 3 row groups" in out and "lay_tracks" in out
    assert main(["dump", str(tmp_path / "nope.root")]) == 1
    assert "nope.root: no such file" in capsys.readouterr().err


def test_provenance_command(tmp_path, io_plugin, capsys):
    path = write_file(tmp_path)
    assert main(["provenance", str(path)]) == 0
    out = capsys.readouterr().out
    assert "written by 1 job" in out and "process 'dumped'" in out and "seed:      11" in out
    assert "resolved config:" in out and "module: Layouts" in out
    assert main(["provenance", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["history"][0]["process"] == "dumped" and doc["products"]["der_y"]["valid"] == "der_y__valid"


def test_provenance_of_a_foreign_file(root_files, capsys):
    assert main(["provenance", str(root_files / "uproot-Zmumu.root")]) == 1
    assert "holds no hepreco provenance" in capsys.readouterr().err
