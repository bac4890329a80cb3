"""Issue 10, point 6: figures through mplhep with the experiment label, PNG >= 150 dpi and PDF; ``hepreco plot``
draws any histogram or graph of a file; matplotlib stays out of ``import hepreco``."""

from __future__ import annotations

import subprocess
import sys

import hist
import numpy as np
import pytest

import hepreco
from hepreco.cli import main
from hepreco.services.histograms import write_histograms

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


@pytest.fixture
def hfile(tmp_path):
    rng = np.random.default_rng(1)
    h = hist.Hist(hist.axis.Regular(100, -3, 3, label="m(#mu#mu) [GeV]"), storage=hist.storage.Weight(), label="peak")
    h.fill(rng.normal(size=60), weight=rng.uniform(0.5, 1.5, size=60))
    h2 = hist.Hist(hist.axis.Regular(5, 0, 1), hist.axis.Regular(4, 0, 1))
    h2.fill(rng.uniform(size=30), rng.uniform(size=30))
    acc = hist.Hist(hist.axis.Integer(0, 3))
    acc._hepreco_internal = True
    eff = hepreco.efficiency_graph([0.1, 0.5, 0.9], [9, 5, 1], [10, 10, 10], title="acceptance", xlabel="cut")
    path = tmp_path / "h.root"
    write_histograms(path, {"ana": {"mass": h, "xy": h2, "sums": acc}}, {"ana": {"eff": eff}})
    return path


def test_0010_hepreco_plot_draws_every_histogram_and_graph(hfile, tmp_path, capsys):
    out = tmp_path / "plots"
    assert main(["plot", str(hfile), "-d", str(out), "--label", "COMET Simulation"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"{stem}.{ext}" for stem in ("ana_mass", "ana_xy", "results_ana_eff") for ext in ("png", "pdf")
    )
    from PIL import Image

    for png in out.glob("*.png"):
        with Image.open(png) as im:
            assert min(im.info["dpi"]) >= 149, png
    assert (out / "ana_mass.pdf").read_bytes()[:5] == b"%PDF-"
    printed = capsys.readouterr().out.split()
    assert str(out / "ana_mass.png") in printed


def test_0010_hepreco_plot_names_and_errors(hfile, tmp_path, capsys):
    assert main(["plot", str(hfile), "internal/ana/sums", "-d", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "internal_ana_sums.png").is_file()
    assert main(["plot", str(hfile), "ana/nope", "-d", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "no object 'ana/nope'" in err and "ana/mass" in err and "results/ana/eff" in err


def test_0010_sparse_histograms_are_rebinned_for_the_plot():
    from hepreco.plotting import rebin_for_entries

    h = hist.Hist(hist.axis.Regular(100, 0, 1))
    h.fill(np.linspace(0.005, 0.995, 60))
    assert rebin_for_entries(h).axes[0].size == 20  # 2 sqrt(60) = 15 bins wanted: 100 / 5
    h.fill(np.random.default_rng(0).uniform(size=10**6))
    assert rebin_for_entries(h).axes[0].size == 100


def test_0010_no_matplotlib_at_import():
    code = "import sys, hepreco, hepreco.cli, hepreco.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_0010_a_missing_mplhep_names_the_plot_extra(monkeypatch):
    from hepreco.plotting import figure

    monkeypatch.setitem(sys.modules, "mplhep", None)
    with pytest.raises(ImportError, match=r"hepreco\[plot\]"), figure():
        pass


def test_0010_roc_figure_png_and_pdf(tmp_path):
    from hepreco.ml import roc_curve, working_point
    from hepreco.ml.plots import plot_roc

    rng = np.random.default_rng(2)
    y = rng.uniform(size=4000) < 0.4
    s = rng.normal(np.where(y, 1.5, -1.5), 1.0)
    wp = working_point(s, y, signal_acceptance=0.95).to_dict()
    plot_roc({"toy classifier": roc_curve(s, y)}, tmp_path / "roc.png", working_points={"toy classifier": wp},
             label="COMET Simulation")  # fmt: skip
    from PIL import Image

    with Image.open(tmp_path / "roc.png") as im:
        assert min(im.info["dpi"]) >= 149
    assert (tmp_path / "roc.pdf").read_bytes()[:5] == b"%PDF-"
