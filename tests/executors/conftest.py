"""Fixtures of the executor tests: a small job on the toy plugin, and one Dask LocalCluster for them all."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def dask_scheduler():
    """The address of a LocalCluster of 2 single-threaded worker processes, shared by the tests."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture
def make_job(toy_plugin, tmp_path):
    """``make_job(name, **source_params)``: a job on three fake files of 10 events (producers, a filter,
    two histograms, a summary from histograms, a text output under ``tmp_path/name``)."""

    def make(name: str = "out", **source) -> dict:
        src = {"module": "FakeFiles", "files": 3, "entries": 10, "batch_size": 4, **source}
        return {
            "process": "exec",
            "seed": 7,
            "plugins": [toy_plugin],
            "source": src,
            "modules": {
                "nums": {"module": "toy.Numbers"},
                "even": {"module": "Modulo", "divisor": 2},
                "dbl": {"module": "Scale", "src": "nums:x"},
                "h": {"module": "HistFill", "axes": [{"fill": "nums:hits", "bins": 12, "start": -3, "stop": 3}]},
                "hx": {"module": "HistFill", "axes": [{"fill": "dbl", "bins": 20, "start": 0, "stop": 80}]},
                "mean": {"module": "MeanOf", "src": "nums:hits"},
                "out": {"module": "TextOutput", "file": str(tmp_path / name / "events.txt"), "select": ["p1"]},
            },
            "paths": {"p1": ["nums", "even", "dbl"]},
            "end_paths": {"e": ["h", "hx", "mean", "out"]},
        }

    return make
