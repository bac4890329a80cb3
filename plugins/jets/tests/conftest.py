"""Fixtures of the jets plugin's tests: a small generated sample (MPI and ISR off: fast, fine for tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "jets"
FAST = {"source.mpi": False, "source.isr": False}


@pytest.fixture(scope="session")
def examples() -> Path:
    """examples/jets/."""
    return EXAMPLES


@pytest.fixture(scope="session")
def fast() -> dict[str, bool]:
    """Overrides that switch MPI and ISR off (5-10x faster generation: fine for tests, not for physics)."""
    return dict(FAST)


@pytest.fixture(scope="session")
def torch1():
    """torch with one thread (the machine is shared)."""
    import torch

    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="session")
def jets_file(tmp_path_factory) -> Path:
    """generate.yaml on 160 mixed events (MPI/ISR off): a ROOT file of ~35 selected jets."""
    import hepreco

    out = tmp_path_factory.mktemp("gen") / "jets.root"
    hepreco.run(
        EXAMPLES / "generate.yaml",
        events=160,
        seed=5,
        set={**FAST, "modules.out.file": str(out), "services.Histograms.file": str(out.with_suffix(".hists.root")),
             "source.batch_size": 80},
    )  # fmt: skip
    return out


FAKE_PLUGIN = '''
import numpy as np
import hepreco


class Scores(hepreco.GeneratorSource):
    """Per event: a label, a tagger-like score (two normals 2 sigma apart, sigmoid) and a useless one."""

    produces = ("label", "score", "noise")

    def generate(self, ids):
        u = self.random_uniform(ids, 1, stream=0)
        g = self.random_normal(ids, 1, stream=1)
        label = (u < 0.5).astype(np.int32)
        score = 1.0 / (1.0 + np.exp(-(g + 2.0 * label)))
        return {"label": label, "score": score, "noise": self.random_uniform(ids, 1, stream=3)}


@hepreco.hookimpl
def hepreco_sources():
    return [Scores]
'''


@pytest.fixture
def write_plugin(tmp_path) -> str:
    """A plugin file ``fake.py`` with a source of labels and scores (``fake.Scores``)."""
    path = tmp_path / "fake.py"
    path.write_text(FAKE_PLUGIN)
    return str(path)
