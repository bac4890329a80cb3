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
