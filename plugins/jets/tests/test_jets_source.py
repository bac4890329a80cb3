"""jets.PythiaSource: the processes, and events that do not depend on the batch size or the executor."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepreco

#: spawns processes, runs ROOT, trains or compiles: left out of the fast lane (pytest -m "not slow")
pytestmark = pytest.mark.slow

JOB = {
    "process": "gen",
    "seed": 3,
    "source": {"module": "jets.PythiaSource", "process": "mixed", "events": 12, "batch_size": 12,
               "mpi": False, "isr": False},
    "modules": {"antikt": {"module": "jets.AntiKtJets"}},
    "paths": {"p": ["antikt"]},
}  # fmt: skip


def _products(job, **kw):
    import copy

    from hepreco.ml import iter_job

    cfg = copy.deepcopy(job)
    out = {"particles": [], "truth": [], "leading": []}
    for batch in iter_job(cfg, ["source:particles", "source:truth", "antikt:leading"], **kw):
        out["particles"].append(batch.products["source:particles"])
        out["truth"].append(batch.products["source:truth"])
        out["leading"].append(batch.products["antikt:leading"])
    return {k: ak.concatenate(v) for k, v in out.items()}


def test_events_independent_of_batch_size_and_executor(tmp_path):
    whole = _products(JOB)
    small = JOB | {"source": JOB["source"] | {"batch_size": 5}}
    pieces = _products(small)
    for key in ("particles", "truth", "leading"):
        assert ak.to_list(whole[key]) == ak.to_list(pieces[key]), key
    # both processes appear in a mixed sample of 12 events (seeded: this is not luck that changes)
    labels = ak.to_numpy(whole["truth"].label)
    assert set(labels.tolist()) == {0, 1}
    # a chunked executor (2 local processes, chunks of 4 events) makes the very same jets
    res = hepreco.run(
        {**JOB, "modules": {**JOB["modules"], "h": {"module": "jets.JetSelection", "pt_min": 1.0, "pt_max": 1e4,
                                                     "mass_min": 0.0, "mass_max": 1e4, "max_abs_eta": 10.0},
                            "out": {"module": "RootOutput", "file": str(tmp_path / "a.root"),
                                    "keep": ["antikt:leading", "source:truth"]}},
         "paths": {"p": ["antikt", "h"]}, "end_paths": {"e": ["out"]}},
        executor={"kind": "processes", "workers": 2, "chunk_size": 4},
    )  # fmt: skip
    assert res is not None
    import uproot

    with uproot.open(tmp_path / "a.root") as f:
        t = f["events"]
        pt = t["antikt_leading_pt"].array(library="np")
        ev = t["event"].array(library="np")
    ref = ak.to_numpy(ak.fill_none(whole["leading"].pt, np.nan))
    assert np.allclose(pt, ref[ev - 1], equal_nan=True)


def test_processes_make_what_they_should():
    from hepreco_jets.pythia import GeneratorSettings, generate_events

    settings = [GeneratorSettings("wprime_wz", mpi=False, isr=False), GeneratorSettings("qcd", mpi=False, isr=False)]
    particles, truth, partons = generate_events(settings, np.array([0, 0, 1, 1]), np.arange(4) + 100, 7)
    assert ak.to_list(truth.label) == [1, 1, 0, 0]
    # the W' events hold a W (|pdg| 24) among the hard-process particles; QCD events none
    has_w = ak.to_list(ak.any(abs(partons.pdg) == 24, axis=1))
    assert has_w == [True, True, False, False]
    # no neutrinos in the visible final state, and every particle has positive energy
    pdg = np.abs(ak.to_numpy(ak.flatten(particles.pdg)))
    assert not np.isin(pdg, (12, 14, 16)).any()
    assert (ak.to_numpy(ak.flatten(particles.E)) > 0).all()
    # QCD pT-hat inside its window
    assert all(240 <= v <= 320 for v in ak.to_list(truth.pthat[2:]))


def test_unknown_process_is_refused():
    with pytest.raises(hepreco.ConfigError, match="process"):
        hepreco.run({**JOB, "source": JOB["source"] | {"process": "zprime"}})
