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
