"""Shared fixtures of the LArTPC plugin's tests: a small simulated sample, reused across tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "lartpc"


@pytest.fixture(scope="session")
def nu_events():
    """Six neutrino-like ProtoDUNE-SP events (seeds 1..6)."""
    from hepreco_lartpc.simulation import simulate

    return simulate(np.arange(1, 7, dtype=np.uint64))


@pytest.fixture(scope="session")
def em_like_on_collection_views():
    """A function ``(logits_of) -> (em_like, target)``: ``logits_of(image, rows, cols)`` (an EM/track/Michel
    network's logits at the hits of one view) run on the collection view of four held-out neutrino events with
    cosmics (seeds 70..73, never a training seed), giving each hit's ``p_em / (p_em + p_track)`` and its true
    class (0 em, 1 track, 2 none)."""
    import torch
    from hepreco_lartpc.emtrkmichel import scores
    from hepreco_lartpc.hit_patches import hit_targets
    from hepreco_lartpc.patches import hit_pixels
    from hepreco_lartpc.simulation import SimParameters, simulate

    out = simulate(np.arange(70, 74, dtype=np.uint64), SimParameters(mode="neutrino", cosmics=2, adc_images=True))

    def run(logits_of):
        em_like, t = [], []
        for e in range(4):
            h = out["hits"][e]
            m = np.asarray(h.view) == 2
            img = np.asarray(out["adc_W"])[e]
            rows, cols = hit_pixels(np.asarray(h.wire)[m], np.asarray(h.tick)[m], 6, img.shape)
            s = scores(torch.from_numpy(logits_of(img, rows, cols))).numpy()
            em_like.append(s[:, 0] / (s[:, 0] + s[:, 1]))
            t.append(hit_targets(np.asarray(h.label)[m], np.asarray(h.michel)[m]) % 3)
        return np.concatenate(em_like), np.concatenate(t)

    return run


#: the tests that neither compile numba kernels nor run networks: the fast lane (``pytest -m "not slow"``)
FAST = {"test_lartpc_plugin.py"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if path.parent == here and path.name not in FAST:
            item.add_marker(pytest.mark.slow)
