"""Job configs: YAML safe loading, includes, overrides, origins, and every check before the first event."""

import pytest

import hepreco
from hepreco import prepare
from hepreco.config.loader import dump_annotated, load_config


def base(toy_plugin):
    return {
        "process": "test",
        "plugins": [toy_plugin],
        "source": {"module": "EmptySource", "events": 10},
        "modules": {
            "nums": {"module": "toy.Numbers"},
            "even": {"module": "Modulo"},
            "dbl": {"module": "Scale", "src": "nums:x"},
            "col": {"module": "Collect", "src": "dbl", "select": ["p1"]},
        },
        "paths": {"p1": ["nums", "even", "dbl"]},
        "end_paths": {"e": ["col"]},
    }


def issues_of(cfg, **kw):
    with pytest.raises(hepreco.ConfigError) as info:
        prepare(cfg, **kw)
    return info.value.issues


def one_issue(cfg, **kw):
    issues = issues_of(cfg, **kw)
    assert len(issues) == 1, issues
    return issues[0]


def test_valid_config_builds(toy_plugin):
    plan = prepare(base(toy_plugin))
    assert [s.label for s in plan.steps] == ["nums", "even", "dbl"]
    assert plan.end_paths == {"e": ["col"]}


def test_unknown_top_level_key(toy_plugin):
    cfg = base(toy_plugin) | {"modulez": {}}
    i = one_issue(cfg)
    assert i.key == "modulez" and "did you mean 'modules'" in i.message


def test_unknown_parameter_suggests(toy_plugin):
    cfg = base(toy_plugin)
    cfg["modules"]["nums"]["scael"] = 2
    i = one_issue(cfg)
    assert (i.key, i.label) == ("modules.nums.scael", "nums")
    assert "unknown parameter 'scael' (did you mean 'scale'?)" in i.message


def test_wrong_type_and_bounds(toy_plugin):
    cfg = base(toy_plugin)
    cfg["modules"]["nums"]["scale"] = -1
    cfg["modules"]["even"]["divisor"] = "two"
    found = {i.key: i.message for i in issues_of(cfg)}
    assert "greater than 0" in found["modules.nums.scale"]
    assert "valid integer" in found["modules.even.divisor"]


def test_unknown_module_type_suggests(toy_plugin):
    cfg = base(toy_plugin)
    cfg["modules"]["dbl"]["module"] = "toy.Scal"
    i = one_issue(cfg)
    assert i.key == "modules.dbl.module" and "did you mean 'toy.Scale'" in i.message


def test_unknown_plugin_in_type_name(toy_plugin):
    cfg = base(toy_plugin)
    cfg["modules"]["dbl"]["module"] = "nope.Scale"
    assert "no plugin named 'nope'" in one_issue(cfg).message


def test_missing_product(toy_plugin):
    cfg = base(toy_plugin)
    cfg["modules"]["dbl"]["src"] = "nums:xx"
    i = one_issue(cfg)
    assert i.key == "modules.dbl.src" and i.label == "dbl"
    assert "'nums' produces only nums:hits, nums:x" in i.message and "did you mean 'nums:x'" in i.message


def test_producer_on_end_path_and_analyzer_on_path(toy_plugin):
    cfg = base(toy_plugin)
    cfg["end_paths"]["e"] = ["col", "dbl"]
    cfg["paths"]["p1"] = ["nums", "even", "col"]
    msgs = [i.message for i in issues_of(cfg)]
    assert any("'dbl' is a producer" in m and "cannot be on an end path" in m for m in msgs)
    assert any("'col' is an analyzer" in m and "cannot be on a trigger path" in m for m in msgs)


def test_product_declared_twice(toy_plugin, tmp_path):
    plugin = tmp_path / "twice.py"
    plugin.write_text(
        "import hepreco\n"
        "class Twice(hepreco.Producer):\n"
        "    produces = ('a', 'a')\n"
        "    def produce(self, events): pass\n"
        "@hepreco.hookimpl\n"
        "def hepreco_modules():\n"
        "    return [Twice]\n"
    )
    cfg = base(toy_plugin)
    cfg["plugins"].append(str(plugin))
    cfg["modules"]["t"] = {"module": "Twice"}
    cfg["paths"]["p1"].append("t")
    assert "product 't:a' is declared twice" in one_issue(cfg).message


def test_duplicate_label_in_yaml_is_an_error(write_config, toy_plugin):
    path = write_config(
        f"plugins: [{toy_plugin}]\nsource: {{module: EmptySource, events: 1}}\nmodules:\n"
        "  nums: {module: toy.Numbers}\n  nums: {module: toy.Numbers, scale: 2}\n"
    )
    i = one_issue(str(path))
    assert i.line == 5 and "duplicate key 'nums'" in i.message and i.file == str(path)


def test_cycle(toy_plugin):
    cfg = base(toy_plugin)
    cfg["modules"]["a"] = {"module": "Scale", "src": "b"}
    cfg["modules"]["b"] = {"module": "Scale", "src": "a"}
    cfg["paths"]["p2"] = ["a", "b"]
    i = one_issue(cfg)
    assert "cycle between modules" in i.message and "'a' consumes 'b'" in i.message


def test_path_order_against_data_flow_is_a_cycle(toy_plugin):
    cfg = base(toy_plugin)
    cfg["paths"]["p1"] = ["dbl", "nums"]
    i = one_issue(cfg)
    assert "path 'p1' runs 'dbl' before 'nums'" in i.message


def test_unknown_path_in_select(toy_plugin):
    cfg = base(toy_plugin)
    cfg["modules"]["col"]["select"] = ["p2"]
    i = one_issue(cfg)
    assert i.key == "modules.col.select.0" and "unknown path 'p2'" in i.message


def test_unknown_label_on_path_suggests(toy_plugin):
    cfg = base(toy_plugin)
    cfg["paths"]["p1"] = ["nums", "evn", "dbl"]
    i = one_issue(cfg)
    assert i.key == "paths.p1.1" and "did you mean 'even'" in i.message


def test_errors_name_file_and_line(write_config, toy_plugin):
    path = write_config(
        f"process: t\nplugins: [{toy_plugin}]\nsource: {{module: EmptySource, events: 1}}\n"
        "modules:\n  nums: {module: toy.Numbers, scael: 2}\npaths: {p: [nums]}\n"
    )
    i = one_issue(str(path))
    assert (i.file, i.line) == (str(path), 5)
    assert str(i).startswith(f"{path}:5, key 'modules.nums.scael', module 'nums': unknown parameter")


def test_includes_are_deep_merged_and_relative(tmp_path, toy_plugin):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "common.yaml").write_text(
        f"plugins: [{toy_plugin}]\nsource: {{module: EmptySource, events: 5, batch_size: 2}}\n"
        "modules:\n  nums: {module: toy.Numbers, scale: 3}\n"
    )
    (tmp_path / "base.yaml").write_text("include: sub/common.yaml\nprocess: base\n")
    (tmp_path / "job.yaml").write_text(
        "include: [base.yaml]\nsource: {events: 7}\nmodules:\n  nums: {scale: 4}\npaths: {p: [nums]}\n"
    )
    r = load_config(tmp_path / "job.yaml", overrides=["modules.nums.scale=5"], seed=9)
    assert r.data["source"] == {"module": "EmptySource", "events": 7, "batch_size": 2}
    assert r.data["modules"]["nums"] == {"module": "toy.Numbers", "scale": 5}
    assert r.data["process"] == "base" and r.data["seed"] == 9
    assert str(r.origins["source.events"]).endswith("job.yaml:2")
    assert str(r.origins["source.batch_size"]).endswith("common.yaml:2")
    assert str(r.origins["modules.nums.scale"]) == "--set"
    text = dump_annotated(r)
    assert "scale: 5  # --set" in text and "seed: 9  # --seed" in text
    assert hepreco.run(tmp_path / "job.yaml").events == 7


def test_include_cycle_and_missing_include(tmp_path):
    (tmp_path / "a.yaml").write_text("include: b.yaml\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\n")
    with pytest.raises(hepreco.ConfigError, match="include cycle"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("include: nothere.yaml\n")
    with pytest.raises(hepreco.ConfigError, match=r"nothere.yaml' does not exist"):
        load_config(tmp_path / "c.yaml")


def test_yaml_is_loaded_safely(write_config):
    path = write_config("process: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(hepreco.ConfigError, match="not valid YAML"):
        load_config(path)


def test_set_values_are_yaml_typed(toy_plugin):
    r = load_config(base(toy_plugin), overrides=["modules.nums.scale=2.5", "paths.p1=[nums]", "description=hi"])
    assert r.data["modules"]["nums"]["scale"] == 2.5
    assert r.data["paths"]["p1"] == ["nums"]
    with pytest.raises(hepreco.ConfigError, match=r"expected KEY\.PATH=VALUE"):
        load_config(base(toy_plugin), overrides=["modules.nums.scale"])


def test_missing_config_file_names_it(tmp_path):
    with pytest.raises(hepreco.ConfigError, match=r"config file '.*nothere.yaml' does not exist"):
        load_config(tmp_path / "nothere.yaml")
