"""Outputs are atomic; services: Histograms on file, MemoryTracker, Device, RandomNumbers, reports."""

import json

import numpy as np
import pytest
import uproot

import hepreco
from hepreco.services.random import event_seeds


def job(toy_plugin, tmp_path, **mods):
    cfg = {
        "process": "out",
        "plugins": [toy_plugin],
        "source": {"module": "EmptySource", "events": 30, "batch_size": 8},
        "services": {"Histograms": {"file": str(tmp_path / "hists.root")}, "MemoryTracker": {}},
        "modules": {
            "nums": {"module": "toy.Numbers"},
            "even": {"module": "Modulo"},
            "out": {
                "module": "TextOutput",
                "file": str(tmp_path / "out.txt"),
                "select": ["p"],
                "keep": ["nums:*"],
                "drop": ["*:hits"],
            },
            "h": {
                "module": "HistFill",
                "axes": [{"fill": "nums:x", "bins": 30, "start": 0.5, "stop": 30.5, "label": "event"}],
            },
            "h2": {
                "module": "HistFill",
                "name": "xy",
                "axes": [
                    {"fill": "nums:x", "bins": 3, "start": 0, "stop": 30},
                    {"fill": "nums:hits", "bins": 4, "start": -2, "stop": 2},
                ],
            },
        },
        "paths": {"p": ["nums", "even"]},
        "end_paths": {"e": ["out", "h", "h2"]},
    }
    cfg["modules"].update(mods)
    return cfg


def test_output_select_keep_drop_and_histogram_file(toy_plugin, tmp_path):
    r = hepreco.run(job(toy_plugin, tmp_path))
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert [int(x.split()[0]) for x in lines] == list(range(2, 31, 2))
    assert all(x.split()[1] == "nums:x" for x in lines)
    assert set(r.outputs) == {tmp_path / "out.txt", tmp_path / "hists.root"}
    assert not list(tmp_path.glob(".*hepreco-tmp"))
    with uproot.open(tmp_path / "hists.root") as f:
        h = f["h/h"]
        assert np.array_equal(h.values(), np.ones(30))
        assert h.member("fXaxis").member("fTitle") == "event"
        assert f["h2/xy"].values().shape == (3, 4)
    mem = r.services["MemoryTracker"]
    assert mem["peak_rss_bytes"] > 0 and set(mem["max_growth_per_call_bytes"]) <= {
        "nums",
        "even",
        "out",
        "h",
        "h2",
    }


def test_failed_job_leaves_no_output(toy_plugin, tmp_path):
    cfg = job(toy_plugin, tmp_path, boom={"module": "Boom", "at": 20})
    cfg["paths"]["q"] = ["boom"]
    with pytest.raises(hepreco.ModuleError, match="module 'boom'"):
        hepreco.run(cfg)
    assert list(tmp_path.iterdir()) == []


def test_report_json(toy_plugin, tmp_path):
    hepreco.run(job(toy_plugin, tmp_path), report=tmp_path / "report.json")
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["events"] == 30
    assert rep["trig_report"]["paths"]["p"]["passed"] == 15
    mods = rep["time_report"]["modules"]
    assert mods["nums"]["batches"] == 4 and mods["nums"]["events"] == 30
    assert mods["nums"]["min_s"] <= mods["nums"]["median_s"] <= mods["nums"]["max_s"]


def test_event_seeds_are_stable_and_distinct():
    ev = np.arange(1, 1001, dtype=np.uint64)
    s = event_seeds(1, "sim", np.ones(1000), np.zeros(1000), ev)
    assert len(np.unique(s)) == 1000
    assert np.array_equal(s[500:], event_seeds(1, "sim", np.ones(500), np.zeros(500), ev[500:]))
    assert not np.array_equal(s, event_seeds(1, "sim2", np.ones(1000), np.zeros(1000), ev))
    assert not np.array_equal(s, event_seeds(2, "sim", np.ones(1000), np.zeros(1000), ev))


def test_device_service_resolves_on_cpu():
    from hepreco.services.device import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda"}


def test_device_cuda_without_gpu_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from hepreco.services.device import resolve_device

    with pytest.raises(RuntimeError, match="torch sees no CUDA GPU"):
        resolve_device("cuda")


def test_services_reachable_by_name(toy_plugin, tmp_path):
    plan = hepreco.prepare(job(toy_plugin, tmp_path))
    svc = plan.modules["nums"].services
    assert svc.Histograms is svc["histograms"] is svc["hepreco.Histograms"]
    assert "Device" in svc and "Nope" not in svc
    with pytest.raises(AttributeError, match="did you mean 'Histograms'"):
        _ = svc.Histogram


def test_counter_random_numbers_are_per_event_and_well_distributed():
    from hepreco.services.random import counter_uniform

    seeds = event_seeds(7, "m", np.ones(20000), np.zeros(20000), np.arange(20000, dtype=np.uint64))
    counts = np.arange(20000) % 5
    u = counter_uniform(seeds, counts)
    assert len(u) == counts.sum()
    # the same event's numbers whatever the batch it is in
    tail = counter_uniform(seeds[10000:], counts[10000:])
    assert np.array_equal(u[-len(tail) :], tail)
    # uniform: mean 1/2, variance 1/12, flat histogram, uncorrelated neighbours, streams independent
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    hist, _ = np.histogram(u, bins=20, range=(0, 1))
    assert hist.min() > 0.9 * len(u) / 20
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.02
    v = counter_uniform(seeds, counts, stream=1)
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.02
