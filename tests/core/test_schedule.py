"""art's path semantics on batches: filters, producers on filtered events, end paths, select."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hepreco


def job(toy_plugin, n=20, batch=7, **extra):
    cfg = {
        "process": "test",
        "seed": 3,
        "plugins": [toy_plugin],
        "source": {"module": "EmptySource", "events": n, "batch_size": batch},
        "modules": {
            "nums": {"module": "toy.Numbers"},
            "even": {"module": "Modulo", "divisor": 2},
            "by3": {"module": "Modulo", "divisor": 3},
            "dbl": {"module": "Scale", "src": "nums:x"},
            "quad": {"module": "Scale", "src": "dbl"},
            "col": {"module": "Collect", "src": "quad"},
            "colsel": {"module": "Collect", "src": "nums:x", "select": ["p1"]},
            "colhits": {"module": "Collect", "src": "nums:hits"},
            "h": {"module": "HistFill", "axes": [{"fill": "nums:hits", "bins": 12, "start": -3, "stop": 3}]},
        },
        "paths": {"p1": ["nums", "even", "dbl", "by3", "quad"]},
        "end_paths": {"e": ["col", "colsel", "colhits", "h"]},
    }
    for k, v in extra.items():
        cfg[k] = v
    return cfg


def test_filters_and_option_products(toy_plugin, collected):
    r = hepreco.run(job(toy_plugin))
    assert r.events == 20
    got = dict(collected["col"])
    for e in range(1, 21):
        expected = 4.0 * e if (e % 2 == 0 and e % 3 == 0) else None
        assert got[e] == expected, e
    assert [e for e, _ in collected["colsel"]] == [6, 12, 18]
    tr = r.trig_report
    assert (tr.paths["p1"].visited, tr.paths["p1"].passed) == (20, 3)
    mods = {m.label: m for m in tr.paths["p1"].modules}
    assert (mods["even"].visited, mods["even"].passed, mods["even"].failed) == (20, 10, 10)
    assert (mods["dbl"].visited, mods["by3"].visited, mods["by3"].passed, mods["quad"].visited) == (
        10,
        10,
        3,
        3,
    )
    assert r.path_events == {"p1": 3}


def test_veto_and_ignore(toy_plugin, collected):
    cfg = job(toy_plugin)
    cfg["paths"] = {"p1": ["nums", "!even", "dbl", "-by3", "quad"]}
    r = hepreco.run(cfg)
    got = dict(collected["col"])
    assert [e for e, v in got.items() if v is not None] == list(range(1, 21, 2))
    assert r.path_events == {"p1": 10}


def test_module_on_two_paths_runs_once_on_union(toy_plugin, collected):
    cfg = job(toy_plugin)
    cfg["modules"]["odd"] = {"module": "Modulo", "divisor": 2, "remainder": 1}
    cfg["modules"]["by5"] = {"module": "Modulo", "divisor": 5}
    cfg["paths"] = {"a": ["nums", "by3", "dbl", "quad"], "b": ["nums", "by5", "dbl"]}
    cfg["modules"]["col"]["src"] = "dbl"
    cfg["modules"]["colsel"]["select"] = ["a", "b"]
    r = hepreco.run(cfg)
    got = dict(collected["col"])
    assert [e for e, _ in collected["colsel"]] == [3, 5, 6, 9, 10, 12, 15, 18, 20]
    for e in range(1, 21):
        assert got[e] == (2.0 * e if e % 3 == 0 or e % 5 == 0 else None)
    assert r.time_report.stats("dbl")["batches"] == 3  # once per batch
    assert r.path_events == {"a": 6, "b": 4}


def test_unscheduled_producer_runs_when_consumed(toy_plugin, collected):
    cfg = job(toy_plugin)
    cfg["paths"] = {}
    cfg["modules"] = {k: cfg["modules"][k] for k in ("nums", "dbl", "col")}
    cfg["modules"]["col"]["src"] = "dbl"
    cfg["end_paths"] = {"e": ["col"]}
    hepreco.run(cfg)
    assert dict(collected["col"])[7] == 14.0


def test_random_numbers_do_not_depend_on_batching(toy_plugin, collected):
    hepreco.run(job(toy_plugin, batch=20))
    a = list(collected["colhits"])
    collected.clear()
    hepreco.run(job(toy_plugin, batch=3))
    b = list(collected["colhits"])
    assert a == b
    assert any(len(v) for _, v in a)
    collected.clear()
    hepreco.run(job(toy_plugin, batch=3), seed=4)
    assert list(collected["colhits"]) != a


def test_empty_selection_in_a_batch(toy_plugin, collected):
    # batch of 1: most batches have no event passing both filters; products read as None
    r = hepreco.run(job(toy_plugin, n=12, batch=1))
    assert [e for e, v in collected["col"] if v is not None] == [6, 12]
    assert r.trig_report.batches == 12


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.integers(min_value=1, max_value=60), n=st.integers(min_value=0, max_value=45))
def test_results_do_not_depend_on_batch_size(toy_plugin, collected, batch, n):
    ref = hepreco.run(job(toy_plugin, n=n, batch=64))
    ref_seen = {k: list(v) for k, v in collected.items()}
    collected.clear()
    r = hepreco.run(job(toy_plugin, n=n, batch=batch))
    assert {k: list(v) for k, v in collected.items()} == ref_seen
    assert r.trig_report.to_dict()["paths"] == ref.trig_report.to_dict()["paths"]
    assert r.events == ref.events == n
    h, href = r.histograms["h"]["h"], ref.histograms["h"]["h"]
    assert np.array_equal(h.values(flow=True), href.values(flow=True))
    collected.clear()


def test_events_limit_truncates(toy_plugin, collected):
    r = hepreco.run(job(toy_plugin, n=100, batch=30), events=41)
    assert r.events == 41
    assert [e for e, _ in collected["col"]] == list(range(1, 42))


def test_module_error_names_label_method_and_events(toy_plugin):
    cfg = job(toy_plugin)
    cfg["modules"]["boom"] = {"module": "Boom", "at": 9}
    cfg["paths"]["p2"] = ["boom"]
    with pytest.raises(hepreco.ModuleError) as info:
        hepreco.run(cfg)
    err = info.value
    assert err.label == "boom" and err.method == "produce"
    assert "run 1 subrun 0 events 8..14" in str(err)
    assert "ZeroDivisionError: boom" in str(err)
    assert isinstance(err.__cause__, ZeroDivisionError)


def test_filter_must_return_one_bool_per_event(tmp_path):
    plugin = tmp_path / "badfilter.py"
    plugin.write_text(
        "import numpy as np, hepreco\n"
        "class Half(hepreco.Filter):\n"
        "    def filter(self, events):\n"
        "        return np.ones(len(events) // 2, dtype=bool)\n"
        "@hepreco.hookimpl\n"
        "def hepreco_modules():\n"
        "    return [Half]\n"
    )
    cfg = {
        "plugins": [str(plugin)],
        "source": {"module": "EmptySource", "events": 4},
        "modules": {"f": {"module": "badfilter.Half"}},
        "paths": {"p": ["f"]},
    }
    with pytest.raises(hepreco.ModuleError, match=r"module 'f'.*filter\(\) returned shape \(2,\) for 4 events"):
        hepreco.run(cfg)
