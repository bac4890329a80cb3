"""The COMET plugin's tests compile numba kernels and run networks: all but the registration checks are ``slow``
(left out of the fast lane, ``pytest -m "not slow"``; the full suite and CI run them)."""

from __future__ import annotations

from pathlib import Path

import pytest

FAST = {"test_comet_registration.py"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if path.parent == here and path.name not in FAST:
            item.add_marker(pytest.mark.slow)
