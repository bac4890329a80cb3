"""This module turns a resolved job config into a checked plan: types resolved, parameters validated,
products and paths checked, and a global module order — all before the first event.

Every problem found is collected and raised together as one ConfigError naming the file, the key
path and the module label, with the nearest valid choices.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import pydantic

from hepreco.config.loader import ResolvedConfig
from hepreco.core.inputtag import LABEL_RE, InputTag
from hepreco.core.job import JobContext
from hepreco.core.module import Module, ModuleConfig, Source
from hepreco.core.service import Services
from hepreco.errors import ConfigError, ConfigIssue, PluginError, did_you_mean
from hepreco.plugins import Registry, TypeLookupError

__all__ = ["ESSENTIAL_SERVICES", "TOP_LEVEL_KEYS", "JobPlan", "Step", "build_plan", "validate_params"]

log = logging.getLogger("hepreco")

TOP_LEVEL_KEYS = {
    "process": "the process name (art's process_name)",
    "description": "free text describing the job",
    "seed": "the job seed (random numbers of every module derive from it)",
    "plugins": "plugins to load: importable modules or paths to .py files",
    "source": "the source: {module: TYPE, ...parameters}",
    "services": "services and their parameters: {Name: {...}}",
    "modules": "module label -> {module: TYPE, ...parameters}",
    "paths": "path name -> list of producer and filter labels",
    "end_paths": "end path name -> list of analyzer and output labels",
    "executor": "how the job runs: inline, processes or dask, with workers, chunk_size, retries, journal",
}

ESSENTIAL_SERVICES = ("TimeTracker", "RandomNumbers", "Histograms", "Device", "Progress")


@dataclass
class Step:
    """One module in the global order, with the trigger paths it sits on (path index, mode)."""

    label: str
    module: Module
    kind: str
    #: (path index, position in path, mode) with mode "" (normal), "!" (veto) or "-" (ignore)
    paths: list[tuple[int, int, str]] = field(default_factory=list)
    #: an unscheduled producer that something consumes: runs on every event
    unconditional: bool = False
    #: for end-path modules: indices of trigger paths in its ``select`` (empty = all events)
    select: list[int] = field(default_factory=list)
    #: for end-path modules: (end path name, position)
    end_paths: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class JobPlan:
    """A checked job: the source, the services, the modules in global order and the paths."""

    job: JobContext
    source_label: str
    source: Source
    services: Services
    steps: list[Step]
    end_steps: list[Step]
    paths: dict[str, list[tuple[str, str]]]  # trigger path -> [(mode, label)]
    end_paths: dict[str, list[str]]
    modules: dict[str, Module]
    producers: dict[tuple[str, str], str]  # (label, instance) -> producing label

    @property
    def path_names(self) -> list[str]:
        return list(self.paths)


def validate_params(
    cfg_cls: type[ModuleConfig],
    params: dict[str, Any],
    *,
    key: str,
    label: str | None,
    resolved: ResolvedConfig,
) -> tuple[ModuleConfig | None, list[ConfigIssue]]:
    """Validate ``params`` against ``cfg_cls``; issues name the key path and suggest parameter names."""
    from hepreco.config.validation import validation_issues

    try:
        return cfg_cls(**params), []
    except pydantic.ValidationError as err:
        return None, validation_issues(err, cfg_cls, resolved, prefix=key, label=label, noun="parameter")


def _split_spec(
    spec: Any, key: str, resolved: ResolvedConfig, label: str | None
) -> tuple[str | None, dict[str, Any], list[ConfigIssue]]:
    if not isinstance(spec, dict):
        return (
            None,
            {},
            [resolved.issue(f"expected a mapping {{module: TYPE, ...}}, got {spec!r}", key, label)],
        )
    params = dict(spec)
    typ = params.pop("module", None)
    if typ is None:
        return None, params, [resolved.issue("missing 'module: TYPE' (e.g. module: EmptySource)", key, label)]
    if not isinstance(typ, str):
        return None, params, [resolved.issue(f"'module' is a type name, not {typ!r}", f"{key}.module", label)]
    return typ, params, []


def _parse_path_entry(entry: Any) -> tuple[str, str]:
    text = str(entry)
    if text[:1] in "!-":
        return text[0], text[1:]
    return "", text


def build_plan(resolved: ResolvedConfig, registry: Registry, *, quiet: bool = False) -> JobPlan:
    """Check everything about a job config and build its plan, or raise one ConfigError listing every problem.

    The checks run in steps, each collecting every problem it finds: the config itself (top-level keys,
    process, seed, plugins), instantiating the services, the source and the modules (their parameters, through
    pydantic), the paths, the product graph (who produces what each module consumes), what only the inputs
    reveal (``Module.check``: a missing checkpoint, an input file), and the global order of the modules.
    A step that depends on an earlier one runs only if that one found nothing wrong.
    """
    b = _PlanBuilder(resolved, registry, quiet=quiet)
    b.check_config()
    b.instantiate()
    b.check_paths()
    b.product_graph()
    if not b.issues:
        b.check_inputs()
    if b.issues:
        raise ConfigError(b.issues)
    return b.order()


class _PlanBuilder:
    """The steps of :func:`build_plan`, sharing what each finds."""

    def __init__(self, resolved: ResolvedConfig, registry: Registry, *, quiet: bool) -> None:
        self.resolved = resolved
        self.registry = registry
        self.quiet = quiet
        self.issues: list[ConfigIssue] = []

    def check_config(self) -> None:
        """Top-level keys, process name, seed; the plugins the config names are loaded."""
        resolved, registry, quiet = self.resolved, self.registry, self.quiet
        issues = self.issues
        data = resolved.data

        for key in data:
            if key not in TOP_LEVEL_KEYS:
                msg = f"unknown top-level key '{key}'{did_you_mean(key, TOP_LEVEL_KEYS)}; keys: {', '.join(TOP_LEVEL_KEYS)}"
                issues.append(resolved.issue(msg, key))

        process = data.get("process", "hepreco")
        if not isinstance(process, str) or not LABEL_RE.match(process):
            issues.append(resolved.issue(f"'process' is an identifier, not {process!r}", "process"))
            process = "hepreco"
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
            issues.append(resolved.issue(f"'seed' is an integer from 0 to 2**64-1, not {seed!r}", "seed"))
            seed = 0

        # the ``executor:`` key is checked by whoever runs the plan (``hepreco.prepare``)

        # --- plugins named by the config -----------------------------------------------------------
        plugins = data.get("plugins") or []
        if not isinstance(plugins, list):
            issues.append(resolved.issue("'plugins' is a list of module names or .py paths", "plugins"))
            plugins = []
        for i, spec in enumerate(plugins):
            try:
                registry.load_spec(str(spec), base_dir=resolved.base_dir)
            except PluginError as err:
                issues.append(resolved.issue(str(err), f"plugins.{i}"))

        job = JobContext(process=process, seed=seed, config=resolved, registry=registry, quiet=quiet)
        self.data, self.job = data, job

    def instantiate(self) -> None:
        """The services, the source and the modules, their parameters validated."""
        resolved, registry, data, job = self.resolved, self.registry, self.data, self.job
        issues = self.issues
        # --- services ------------------------------------------------------------------------------
        services = Services()
        svc_cfg = data.get("services") or {}
        if not isinstance(svc_cfg, dict):
            issues.append(resolved.issue("'services' is a mapping {ServiceName: {parameters}}", "services"))
            svc_cfg = {}
        wanted = dict.fromkeys(ESSENTIAL_SERVICES, None) | dict(svc_cfg)
        for name, params in wanted.items():
            key = f"services.{name}"
            try:
                cls = registry.resolve_service(str(name))
            except TypeLookupError as err:
                issues.append(resolved.issue(str(err), key))
                continue
            if params is None:
                params = {}
            if not isinstance(params, dict):
                issues.append(resolved.issue(f"service parameters are a mapping, not {params!r}", key))
                continue
            cfg, errs = validate_params(cls.Config, params, key=key, label=None, resolved=resolved)
            issues.extend(errs)
            if cfg is not None:
                services.add(cls.__name__, cls(cfg, job=job))

        # --- source --------------------------------------------------------------------------------
        source: Source | None = None
        src_spec = data.get("source")
        source_label = "source"
        if src_spec is None:
            issues.append(
                resolved.issue("missing 'source' (e.g. source: {module: EmptySource, events: 100})", "source")
            )
        else:
            typ, params, errs = _split_spec(src_spec, "source", resolved, None)
            issues.extend(errs)
            source_label = str(params.pop("label", "source"))
            if not LABEL_RE.match(source_label):
                issues.append(resolved.issue(f"source label {source_label!r} is not an identifier", "source.label"))
                source_label = "source"
            if typ is not None:
                try:
                    cls = registry.resolve(typ, kinds=("source",))
                except TypeLookupError as err:
                    issues.append(resolved.issue(str(err), "source.module", source_label))
                else:
                    cfg, errs = validate_params(cls.Config, params, key="source", label=source_label, resolved=resolved)
                    issues.extend(errs)
                    if cfg is not None:
                        source = cls(cfg, label=source_label, services=services, job=job)  # type: ignore[assignment]

        # --- modules -------------------------------------------------------------------------------
        modules: dict[str, Module] = {}
        mod_specs = data.get("modules") or {}
        if not isinstance(mod_specs, dict):
            issues.append(resolved.issue("'modules' is a mapping {label: {module: TYPE, ...}}", "modules"))
            mod_specs = {}
        for label, spec in mod_specs.items():
            key = f"modules.{label}"
            label = str(label)
            if not LABEL_RE.match(label):
                issues.append(resolved.issue(f"module label {label!r} is not an identifier", key, label))
                continue
            if label == source_label:
                issues.append(resolved.issue(f"label '{label}' is the source's label", key, label))
                continue
            typ, params, errs = _split_spec(spec, key, resolved, label)
            issues.extend(errs)
            if typ is None:
                continue
            try:
                cls = registry.resolve(typ, kinds=("producer", "filter", "analyzer", "output"))
            except TypeLookupError as err:
                issues.append(resolved.issue(str(err), f"{key}.module", label))
                continue
            cfg, errs = validate_params(cls.Config, params, key=key, label=label, resolved=resolved)
            issues.extend(errs)
            if cfg is not None:
                modules[label] = cls(cfg, label=label, services=services, job=job)
        self.services, self.source, self.source_label = services, source, source_label
        self.modules, self.mod_specs = modules, mod_specs

    def check_paths(self) -> None:
        """Trigger paths and end paths (what may go on which), end-path modules' ``select``."""
        resolved, data, modules, mod_specs = self.resolved, self.data, self.modules, self.mod_specs
        issues = self.issues
        # --- paths ---------------------------------------------------------------------------------
        paths: dict[str, list[tuple[str, str]]] = {}
        end_paths: dict[str, list[str]] = {}
        all_labels = list(mod_specs)
        for section, want_kinds, is_end in (
            ("paths", ("producer", "filter"), False),
            ("end_paths", ("analyzer", "output"), True),
        ):
            sec = data.get(section) or {}
            if not isinstance(sec, dict):
                issues.append(resolved.issue(f"'{section}' is a mapping {{name: [labels]}}", section))
                continue
            for pname, entries in sec.items():
                pkey = f"{section}.{pname}"
                pname = str(pname)
                if pname in paths or pname in end_paths:
                    issues.append(resolved.issue(f"path name '{pname}' is used twice", pkey))
                    continue
                if not LABEL_RE.match(pname):
                    issues.append(resolved.issue(f"path name {pname!r} is not an identifier", pkey))
                    continue
                if not isinstance(entries, list):
                    issues.append(resolved.issue(f"a path is a list of module labels, not {entries!r}", pkey))
                    continue
                seen: set[str] = set()
                parsed: list[tuple[str, str]] = []
                for i, entry in enumerate(entries):
                    ekey = f"{pkey}.{i}"
                    mode, label = _parse_path_entry(entry)
                    if is_end and mode:
                        issues.append(resolved.issue(f"'{mode}' applies to filters on trigger paths only", ekey, label))
                        continue
                    if label in seen:
                        issues.append(resolved.issue(f"module '{label}' appears twice on path '{pname}'", ekey, label))
                        continue
                    seen.add(label)
                    if label not in mod_specs:
                        msg = f"unknown module label '{label}'{did_you_mean(label, all_labels)}"
                        issues.append(resolved.issue(msg, ekey, label))
                        continue
                    mod = modules.get(label)
                    if mod is None:  # its own problem is already reported
                        continue
                    kind = mod.kind
                    if kind not in want_kinds:
                        where = "an end path" if is_end else "a trigger path"
                        fix = "trigger paths ('paths')" if is_end else "end paths ('end_paths')"
                        art = "an" if kind[0] in "aeiou" else "a"
                        msg = f"'{label}' is {art} {kind} ({type(mod).type_name}); {art} {kind} cannot be on {where}: put it on {fix}"
                        issues.append(resolved.issue(msg, ekey, label))
                        continue
                    if mode and kind != "filter":
                        issues.append(resolved.issue(f"'{mode}{label}': '{mode}' applies to filters only", ekey, label))
                        continue
                    parsed.append((mode, label))
                if is_end:
                    end_paths[pname] = [lab for _, lab in parsed]
                else:
                    paths[pname] = parsed

        # --- selections ---------------------------------------------------------------------------
        for label, mod in modules.items():
            if mod.kind not in ("analyzer", "output"):  # only end-path modules have the path selection
                continue
            sel = getattr(mod.config, "select", None)
            for i, pname in enumerate(sel or []):
                if pname not in paths:
                    extra = " (it is an end path)" if pname in end_paths else ""
                    msg = f"select: unknown path '{pname}'{extra}{did_you_mean(pname, paths)}; trigger paths: {', '.join(paths) or 'none'}"
                    issues.append(resolved.issue(msg, f"modules.{label}.select.{i}", label))
        self.paths, self.end_paths, self.all_labels = paths, end_paths, all_labels

    def product_graph(self) -> None:
        """What the source and each module produce, and whether everything a module consumes is produced."""
        resolved, source, source_label = self.resolved, self.source, self.source_label
        modules, mod_specs, paths, end_paths = self.modules, self.mod_specs, self.paths, self.end_paths
        issues = self.issues
        # --- products ------------------------------------------------------------------------------
        producers: dict[tuple[str, str], str] = {}
        source_failed = False
        if source is not None:
            try:
                src_products = source.products()
            except (OSError, ValueError, KeyError) as err:
                issues.append(
                    resolved.issue(
                        err.args[0] if isinstance(err, KeyError) and err.args else str(err), "source", source_label
                    )
                )
                src_products = ()
                source_failed = True  # its consumers' 'produces nothing' would only repeat this
            for inst in src_products:
                producers[(source_label, inst)] = source_label
        for label, mod in modules.items():
            prods = mod.products()
            for inst in prods:
                if inst and not LABEL_RE.match(inst):
                    issues.append(
                        resolved.issue(
                            f"product instance name {inst!r} is not an identifier", f"modules.{label}", label
                        )
                    )
                if (label, inst) in producers:
                    name = f"{label}:{inst}" if inst else label
                    issues.append(resolved.issue(f"product '{name}' is declared twice", f"modules.{label}", label))
                producers[(label, inst)] = label

        scheduled = {lab for p in paths.values() for _, lab in p} | {lab for p in end_paths.values() for lab in p}
        consumers: dict[str, list[InputTag]] = {}
        for label, mod in modules.items():
            try:
                consumers[label] = list(mod.consumes())
            except Exception as err:
                issues.append(resolved.issue(f"consumes() failed: {err}", f"modules.{label}", label))
                consumers[label] = []
        labels_with_products = {lab for lab, _ in producers}
        for label, tags in consumers.items():
            for tag in tags:
                if tag.key in producers:
                    continue
                if source_failed and tag.label == source_label:
                    continue
                if tag.label in mod_specs and tag.label not in modules:
                    continue  # that module's own problem is reported already
                key = _find_param_key(modules[label].config, tag, f"modules.{label}")
                if tag.label in labels_with_products:
                    insts = sorted(i for lab, i in producers if lab == tag.label)
                    shown = [f"{tag.label}:{i}" if i else tag.label for i in insts]
                    msg = (
                        f"consumes '{tag.product}', but '{tag.label}' produces only {', '.join(shown)}"
                        f"{did_you_mean(tag.product, shown)}"
                    )
                elif tag.label in mod_specs or tag.label == source_label:
                    msg = f"consumes '{tag.product}', but module '{tag.label}' produces nothing"
                else:
                    choices = sorted({f"{lab}:{i}" if i else lab for lab, i in producers})
                    msg = f"consumes '{tag.product}', which no source or module produces{did_you_mean(tag.product, choices)}"
                issues.append(resolved.issue(msg, key, label))
        self.producers, self.consumers, self.scheduled = producers, consumers, scheduled

    def check_inputs(self) -> None:
        """What only the inputs reveal (``Module.check``), once everything else is right."""
        resolved, source, modules = self.resolved, self.source, self.modules
        issues = self.issues
        checked: list[tuple[str, Module]] = [("source", source)] if source is not None else []
        checked += [(f"modules.{label}", mod) for label, mod in modules.items()]
        for prefix, mod in checked:
            try:
                problems = mod.check()
            except Exception as err:
                problems = [("", f"check() failed: {type(err).__name__}: {err}")]
            for param, message in problems:
                key = f"{prefix}.{param}" if param else prefix
                issues.append(resolved.issue(message, key, mod.label))

    def order(self) -> JobPlan:
        """The global order of the modules (paths and the product graph), then the plan."""
        resolved, source, source_label = self.resolved, self.source, self.source_label
        modules, paths, end_paths, all_labels = self.modules, self.paths, self.end_paths, self.all_labels
        producers, consumers, scheduled = self.producers, self.consumers, self.scheduled
        services, job = self.services, self.job
        issues = self.issues
        assert source is not None
        # --- global order --------------------------------------------------------------------------
        needed_unscheduled: set[str] = set()
        for tags in consumers.values():
            for tag in tags:
                prod = producers.get(tag.key)
                if prod and prod != source_label and prod not in scheduled:
                    needed_unscheduled.add(prod)
        # unscheduled producers feeding other unscheduled producers
        changed = True
        while changed:
            changed = False
            for lab in list(needed_unscheduled):
                for tag in consumers.get(lab, []):
                    prod = producers.get(tag.key)
                    if prod and prod != source_label and prod not in scheduled and prod not in needed_unscheduled:
                        needed_unscheduled.add(prod)
                        changed = True
        for lab in needed_unscheduled:
            if modules[lab].kind != "producer":
                issues.append(
                    resolved.issue(
                        f"'{lab}' is a {modules[lab].kind} that is on no path, but other modules consume its products",
                        f"modules.{lab}",
                        lab,
                    )
                )
        for label in modules:
            if label not in scheduled and label not in needed_unscheduled:
                log.warning("module '%s' is on no path and nothing consumes its products: it will not run", label)

        trig_nodes = [lab for p in paths.values() for _, lab in p]
        nodes = list(dict.fromkeys([*sorted(needed_unscheduled, key=all_labels.index), *trig_nodes]))
        node_set = set(nodes)
        edges: dict[str, set[str]] = {n: set() for n in nodes}
        why: dict[tuple[str, str], str] = {}
        for pname, entries in paths.items():
            for (_, a), (_, b) in itertools.pairwise(entries):
                edges[a].add(b)
                why.setdefault((a, b), f"path '{pname}' runs '{a}' before '{b}'")
        for label in nodes:
            for tag in consumers.get(label, []):
                prod = producers.get(tag.key)
                if prod in node_set and prod != label:
                    edges[prod].add(label)
                    why.setdefault((prod, label), f"'{label}' consumes '{tag.product}'")
                elif prod == label:
                    issues.append(
                        resolved.issue(
                            f"module '{label}' consumes its own product '{tag.product}'",
                            f"modules.{label}",
                            label,
                        )
                    )
        order = _toposort(nodes, edges)
        if order is None:
            cycle = _find_cycle(nodes, edges)
            reasons = "; ".join(why.get((a, b), f"{a} -> {b}") for a, b in itertools.pairwise(cycle))
            msg = f"cycle between modules {' -> '.join(cycle)}: {reasons}"
            issues.append(resolved.issue(msg, "paths", cycle[0]))
        if issues:
            raise ConfigError(issues)
        assert order is not None

        path_index = {p: i for i, p in enumerate(paths)}
        steps: list[Step] = []
        for label in order:
            mod = modules[label]
            on = [
                (path_index[p], pos, mode)
                for p, entries in paths.items()
                for pos, (mode, lab) in enumerate(entries)
                if lab == label
            ]
            steps.append(Step(label, mod, mod.kind, paths=on, unconditional=label in needed_unscheduled))
        end_steps: list[Step] = []
        end_order = list(dict.fromkeys(lab for p in end_paths.values() for lab in p))
        for label in end_order:
            mod = modules[label]
            sel = [path_index[p] for p in (getattr(mod.config, "select", None) or [])]
            on_end = [(p, pos) for p, labs in end_paths.items() for pos, lab in enumerate(labs) if lab == label]
            end_steps.append(Step(label, mod, mod.kind, select=sel, end_paths=on_end))

        _check_keep(resolved, modules, producers)

        return JobPlan(
            job=job,
            source_label=source_label,
            source=source,
            services=services,
            steps=steps,
            end_steps=end_steps,
            paths=paths,
            end_paths=end_paths,
            modules=modules,
            producers=producers,
        )


def _check_keep(resolved: ResolvedConfig, modules: dict[str, Module], producers: dict[tuple[str, str], str]) -> None:
    """Outputs' ``keep`` patterns against the job's products: a pattern that matches none is a warning
    naming it (a typo writes a file without the product); an output that keeps no product at all is an error."""
    from hepreco.core.selection import match_product, select_products

    names = [f"{lab}:{inst}" if inst else lab for lab, inst in producers]
    issues: list[ConfigIssue] = []
    for label, mod in modules.items():
        if mod.kind != "output":
            continue
        keep = list(getattr(mod.config, "keep", None) or [])
        drop = list(getattr(mod.config, "drop", None) or [])
        for i, pattern in enumerate(keep):
            if not any(match_product(n, pattern) for n in names):
                o = resolved.origin(f"modules.{label}.keep.{i}")
                log.warning(
                    "%smodule '%s': keep pattern '%s' matches no product of this job%s",
                    f"{o}: " if o else "",
                    label,
                    pattern,
                    did_you_mean(pattern, names),
                )
        if not select_products(names, keep, drop):
            msg = (
                f"keeps no product: keep {keep} and drop {drop} select none of this job's products "
                f"({', '.join(names[:8])}{', ...' if len(names) > 8 else ''}); the file would hold only event ids"
            )
            issues.append(resolved.issue(msg, f"modules.{label}.keep", label))
    if issues:
        raise ConfigError(issues)


def _find_param_key(config: ModuleConfig, tag: InputTag, prefix: str) -> str:
    """The key path of the config field that holds ``tag`` (for error messages)."""

    def walk(value: Any, path: str) -> str | None:
        if isinstance(value, InputTag):
            return path if value == tag else None
        if isinstance(value, pydantic.BaseModel):
            for name in type(value).model_fields:
                found = walk(getattr(value, name), f"{path}.{name}")
                if found:
                    return found
        elif isinstance(value, dict):
            for k, v in value.items():
                found = walk(v, f"{path}.{k}")
                if found:
                    return found
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                found = walk(v, f"{path}.{i}")
                if found:
                    return found
        return None

    return walk(config, prefix) or prefix


def _toposort(nodes: list[str], edges: dict[str, set[str]]) -> list[str] | None:
    """Kahn's algorithm; ties broken by the order of ``nodes`` (so the config's order is kept)."""
    indeg = dict.fromkeys(nodes, 0)
    for a in nodes:
        for b in edges[a]:
            indeg[b] += 1
    rank = {n: i for i, n in enumerate(nodes)}
    ready = sorted((n for n in nodes if indeg[n] == 0), key=rank.__getitem__)
    out: list[str] = []
    while ready:
        n = ready.pop(0)
        out.append(n)
        for b in edges[n]:
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
        ready.sort(key=rank.__getitem__)
    return out if len(out) == len(nodes) else None


def _find_cycle(nodes: list[str], edges: dict[str, set[str]]) -> list[str]:
    color = dict.fromkeys(nodes, 0)
    stack: list[str] = []

    def dfs(n: str) -> list[str] | None:
        color[n] = 1
        stack.append(n)
        for m in sorted(edges[n]):
            if color[m] == 1:
                return [*stack[stack.index(m) :], m]
            if color[m] == 0:
                found = dfs(m)
                if found:
                    return found
        stack.pop()
        color[n] = 2
        return None

    for n in nodes:
        if color[n] == 0:
            found = dfs(n)
            if found:
                return found
    return nodes[:1]
