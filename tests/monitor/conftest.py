"""The Monitor's tests share a toy job: deterministic hits, two histograms, a throttle, an event display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PLUGIN = str(Path(__file__).resolve().parents[1] / "data" / "monitor_plugin.py")


def job_config(events: int, *, throttle: float = 0.0, monitor: dict[str, Any] | None = None, **extra: Any) -> dict:
    cfg: dict[str, Any] = {
        "process": "montest",
        "plugins": [PLUGIN],
        "source": {"module": "EmptySource", "events": events, "batch_size": 100},
        "services": {},
        "modules": {
            "hits": {"module": "MonitorToyHits"},
            "h_x": {"module": "HistFill", "axes": [{"fill": "hits.x", "bins": 20, "start": 0, "stop": 1}]},
            "h_xy": {
                "module": "HistFill",
                "axes": [
                    {"fill": "hits.x", "bins": 10, "start": 0, "stop": 1},
                    {"fill": "hits.y", "bins": 10, "start": 0, "stop": 1},
                ],
            },
            "slow": {"module": "MonitorThrottle", "seconds": throttle},
        },
        "paths": {"p": ["hits"]},
        "end_paths": {"e": ["h_x", "h_xy", "slow"]},
        **extra,
    }
    if monitor is not None:
        cfg["services"]["Monitor"] = {"address": "127.0.0.1:0", **monitor}
    return cfg


@pytest.fixture
def monitor_job() -> Any:
    """``job_config(events, *, throttle=0, monitor=None, **extra)``: the toy job's config (``monitor``: the Monitor
    service's parameters, on 127.0.0.1, any free port)."""
    return job_config
