"""The example jobs chain: generate.yaml writes jets, pt_spectrum.yaml their spectra for the pT-flattening
weights, train_*.yaml train on them (a couple of steps), tag.yaml
runs the three taggers and the metrics on its own mixed events (MPI/ISR off to keep it fast)."""

from __future__ import annotations

import pytest
import uproot

import hepreco
from hepreco.ml import train

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow


def test_generate_train_tag(jets_file, tmp_path, torch1, examples, fast):
    EXAMPLES, FAST = examples, fast
    with uproot.open(jets_file) as f:
        t = f["events"]
        n = t.num_entries
        assert {"antikt_leading_pt", "antikt_constituents_px", "truth_label", "nsub_tau21"} <= set(t.keys())
        pt = t["antikt_leading_pt"].array(library="np")
        labels = set(t["truth_label"].array(library="np").tolist())
    assert n >= 10 and labels == {0, 1}
    assert ((pt > 250) & (pt < 300)).all()  # only selected jets are written

    spectrum = tmp_path / "spectrum.root"
    hepreco.run(EXAMPLES / "pt_spectrum.yaml", set={"source.files": [str(jets_file)],
                                                  "services.Histograms.file": str(spectrum)})  # fmt: skip
    files = [("data.set.source.files", [str(jets_file)]), ("data.set.modules.weights.spectra", [str(spectrum)])]
    ckpt = {}
    for name, extra in (("mpnn", [("training.epochs", 1)]), ("particlenet", [("training.epochs", 1)]), ("tau21", [])):
        res = train(EXAMPLES / f"train_{name}.yaml", overrides=files + extra, output=tmp_path / name, quiet=True)
        ckpt[name] = str(res.best)

    result = hepreco.run(
        EXAMPLES / "tag.yaml",
        events=120,
        seed=17,
        set={**FAST, "source.batch_size": 60, "services.Histograms.file": str(tmp_path / "h.root"),
             "modules.roc.plot_file": str(tmp_path / "roc.png"),
             "modules.mpnn_tagger.weights": ckpt["mpnn"], "modules.particlenet_tagger.weights": ckpt["particlenet"],
             "modules.tau21_mass_tagger.weights": ckpt["tau21"]},
    )  # fmt: skip
    for label in ("mpnn", "particlenet", "tau21_mass"):
        s = result.summaries[label]
        assert 0.0 <= s["auc"] <= 1.0, label
        assert "inv_eps_b_at_50" in s
        assert s["jets_signal"] > 0 and s["jets_background"] > 0
    assert (tmp_path / "roc.png").exists()

    # the same taggers on the generated files (tag_files.yaml: a RootSource instead of Pythia)
    on_files = hepreco.run(
        EXAMPLES / "tag_files.yaml",
        set={"source.files": [str(jets_file)], "services.Histograms.file": str(tmp_path / "hf.root"),
             "modules.roc.plot_file": str(tmp_path / "roc_files.png"),
             "modules.mpnn_tagger.weights": ckpt["mpnn"], "modules.particlenet_tagger.weights": ckpt["particlenet"],
             "modules.tau21_mass_tagger.weights": ckpt["tau21"]},
    )  # fmt: skip
    with uproot.open(jets_file) as f:
        n_jets = f["events"].num_entries
    s = on_files.summaries["mpnn"]
    assert s["jets_signal"] + s["jets_background"] == n_jets


def test_many_cores_recipe_generates_until_its_deadline_and_trains_all_three(tmp_path):
    # the script that made the shipped checkpoints, small: 2 generating processes for a few seconds (MPI and ISR
    # off), one epoch of each network on the CPU
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "examples" / "jets" / "many_cores_recipe.sh"
    env = {**os.environ, "EVENTS": "100", "MPNN_EPOCHS": "1", "PARTICLENET_EPOCHS": "1", "OMP_NUM_THREADS": "1",
           "GENERATE_ARGS": "--set source.mpi=false --set source.isr=false",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    out = tmp_path / "recipe"
    proc = subprocess.run(["bash", str(script), str(out), "45", "2", "300"], env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = (out / "files.txt").read_text().split()
    assert any("/w/jets_w_run1000.root" in f for f in files) and any("/qcd/jets_qcd_run2000.root" in f for f in files)
    assert "generated" in proc.stdout and "W jets" in proc.stdout
    for name in ("mpnn", "particlenet", "tau21"):
        assert (out / name / "best" / "metadata.json").is_file(), name
    assert not list(out.glob("*/*.hepreco-tmp*"))  # a job cut at the deadline leaves nothing half-written
