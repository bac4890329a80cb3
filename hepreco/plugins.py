"""This module defines the plugin registry: pluggy's manager plus the tables of module, source and service types.

Plugins come from three places, all registered the same way: the framework's own built-ins
(``hepreco.builtin``), installed packages with an entry point in group ``hepreco``, and the
``plugins:`` list of a job config (an importable module or a path to a ``.py`` file). A plugin that
fails to import is recorded with its error; the others still load.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata as md
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from hepreco import hookspecs
from hepreco.errors import PluginError, suggest

if TYPE_CHECKING:
    from hepreco.core.module import Module


def module_kind(cls: Any) -> str | None:
    """``hepreco.core.module.module_kind``, imported when a class is checked (registration by name needs none)."""
    from hepreco.core.module import module_kind as kind

    return kind(cls)


def ensure_config_base(cls: Any) -> None:
    from hepreco.core.module import ensure_config_base as ensure

    ensure(cls)


__all__ = ["ENTRY_POINT_GROUP", "PluginInfo", "Registry", "TypeLookupError", "get_registry"]

ENTRY_POINT_GROUP = "hepreco"
BUILTIN_PLUGIN = "hepreco"


@dataclass
class PluginInfo:
    """A plugin as the registry knows it."""

    name: str
    version: str | None
    origin: str
    error: str | None = None
    modules: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class TypeLookupError(LookupError):
    """An unknown or ambiguous module/source/service type name; the message lists the choices."""


def _import_named(spec: str, plugin: str, what: str) -> Any:
    """The object a plugin registered as ``"package.module:Name"``, imported now; PluginError naming the plugin,
    what it registered and why the import failed."""
    modpath, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(modpath), attr)
    except Exception as err:
        raise PluginError(f"plugin '{plugin}': {what} ({spec}) failed to import: {_short_error(err)}") from err


def _spec_doc(spec: str) -> tuple[str, str]:
    """``(kind/task, first doc line)`` of ``"package.module:ATTR"``, an assignment ``ATTR = ModelSpec(...)``
    read from the module's source without importing it."""
    import ast
    import importlib.util

    modpath, _, attr = spec.partition(":")
    try:
        found = importlib.util.find_spec(modpath)
        origin = found.origin if found is not None else None
        tree = ast.parse(Path(origin).read_text()) if origin else None
    except (ImportError, OSError, SyntaxError, ValueError):
        tree = None
    for node in tree.body if tree is not None else []:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == attr for t in node.targets)
            and isinstance(node.value, ast.Call)
        ):
            kw = {k.arg: k.value for k in node.value.keywords if k.arg}
            text = {key: v.value for key, v in kw.items() if isinstance(v, ast.Constant) and isinstance(v.value, str)}
            kind = f"{text.get('kind', 'torch')}/{text.get('task', '')}".rstrip("/")
            doc = text.get("doc", "").strip().splitlines()
            return kind, doc[0] if doc else ""
    return "model", ""


def _executor_kind(spec: str) -> str:
    """The kind of an executor registered as ``"package.module:Class"``: the class name lower-cased, without
    ``Executor`` (``ThreadsExecutor`` -> ``threads``)."""
    return spec.partition(":")[2].removesuffix("Executor").lower()


def _short_error(err: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(err), err)).strip()


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(md.packages_distributions())


def _dist_version(module: ModuleType) -> str | None:
    v = getattr(module, "__version__", None)
    if isinstance(v, str):
        return v
    top = module.__name__.split(".")[0]
    if top.startswith("hepreco_userplugin_"):  # a .py file named in a config
        return None
    try:
        for dist in _packages_distributions().get(top, []):
            return md.version(dist)
    except Exception:  # pragma: no cover - metadata oddities
        return None
    return None


class Registry:
    """The plugins of this process and the types they register.

    Examples:
        >>> reg = Registry.default()
        >>> reg.resolve("EmptySource", kinds=("source",)).type_name
        'hepreco.EmptySource'
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("hepreco")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.types: dict[str, type] = {}  # "plugin.Class" -> class (modules and sources)
        self.service_types: dict[str, type] = {}
        #: types registered by name (``"package.module:Class"``), imported when a job first uses them:
        #: "plugin.Class" -> (spec, hook kinds, plugin)
        self.lazy: dict[str, tuple[str, tuple[str, ...], str]] = {}
        self.lazy_services: dict[str, tuple[str, tuple[str, ...], str]] = {}
        self._models: dict[str, Any] = {}
        #: models registered by name (``{"comet-dncnn": "hepreco_comet.models:DNCNN"}``): name -> (spec, plugin)
        self._lazy_models: dict[str, tuple[str, str]] = {}
        self._checkpoints: dict[str, str] = {}
        self._model_owner: dict[str, str] = {}
        self._checkpoint_owner: dict[str, str] = {}
        #: plugins whose models and checkpoints are asked for on first use (their specs import pydantic)
        self._pending_models: list[tuple[Any, PluginInfo]] = []
        #: the command-line commands (``hepreco_commands``): name -> (Command, plugin)
        self.commands: dict[str, tuple[Any, str]] = {}
        #: the executors (``hepreco_executors``): kind -> (class or "package.module:Class", plugin)
        self.executors: dict[str, tuple[Any, str]] = {}
        #: the event displays (``hepreco_displays``): name -> (hepreco.monitor.Display, plugin)
        self.displays: dict[str, tuple[Any, str]] = {}
        self._objects: dict[int, str] = {}

    # --- models and checkpoints, collected on first use -------------------------------------------
    @property
    def models(self) -> dict[str, Any]:
        """``{name: ModelSpec}`` of every plugin (``hepreco_models``); imports every spec registered by name."""
        self._load_models()
        for name in list(self._lazy_models):
            self.model(name)
        return self._models

    def model_names(self) -> list[str]:
        """The names of every registered model, sorted, without importing the specs registered by name."""
        self._load_models()
        return sorted({*self._models, *self._lazy_models})

    def model(self, name: str) -> Any:
        """The spec registered as ``name`` (imported now if it was registered by name); None if there is none."""
        self._load_models()
        if name in self._lazy_models:
            spec, plugin = self._lazy_models[name]
            obj = _import_named(spec, plugin, f"model '{name}'")
            if getattr(obj, "name", name) != name:
                msg = f"plugin '{plugin}' registers {spec} as model '{name}', but that spec is named '{obj.name}'"
                raise PluginError(msg)
            del self._lazy_models[name]
            self._models[name] = obj
        return self._models.get(name)

    def model_doc(self, name: str) -> tuple[str, str]:
        """``(kind/task, first line of doc)`` of a model, read from the source of a spec registered by name
        (``ModelSpec(..., kind=..., task=..., doc=...)``) so that ``hepreco list`` imports no spec."""
        self._load_models()
        if name not in self._lazy_models:
            spec = self._models.get(name)
            kind = f"{getattr(spec, 'kind', 'model')}/{getattr(spec, 'task', '')}".rstrip("/")
            doc = (getattr(spec, "doc", "") or "").strip().splitlines()
            return kind, doc[0] if doc else ""
        return _spec_doc(self._lazy_models[name][0])

    @property
    def checkpoints(self) -> dict[str, str]:
        """``{name: folder}`` of the checkpoints the plugins ship (``builtin:NAME``)."""
        self._load_models()
        return self._checkpoints

    @property
    def model_owner(self) -> dict[str, str]:
        self._load_models()
        return self._model_owner

    @property
    def checkpoint_owner(self) -> dict[str, str]:
        self._load_models()
        return self._checkpoint_owner

    def _load_models(self) -> None:
        while self._pending_models:
            obj, info = self._pending_models.pop(0)
            try:
                self._collect_models(obj, info)
            except Exception as err:
                info.error = _short_error(err)

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def default(cls, *, entry_points: bool = True) -> Registry:
        """A registry with the built-ins and (unless told otherwise) every installed plugin."""
        reg = cls()
        from hepreco import builtin

        reg.register(builtin, BUILTIN_PLUGIN, version=_dist_version(builtin) or "", origin="built-in")
        if entry_points:
            reg.load_entry_points()
        return reg

    def load_entry_points(self) -> None:
        """Load every plugin in entry-point group ``hepreco``; a failing one is recorded, not fatal."""
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in self.plugins:
                continue
            version = ep.dist.version if ep.dist is not None else None
            origin = f"entry point {ep.value}" + (f" ({ep.dist.name})" if ep.dist is not None else "")
            try:
                obj = ep.load()
            except Exception as err:
                self.plugins[ep.name] = PluginInfo(ep.name, version, origin, error=_short_error(err))
                continue
            self.register(obj, ep.name, version=version, origin=origin)

    def load_spec(self, spec: str, *, base_dir: Path | None = None) -> str:
        """Load a plugin named in a job config: an importable module or a path to a ``.py`` file.

        Returns the plugin's name. Raises PluginError (naming the plugin) when it cannot be loaded.
        """
        if spec.endswith(".py") or "/" in spec or "\\" in spec:
            path = Path(spec)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            path = path.resolve()  # one plugin, however a config names its file (dir/../plugin.py)
            name = path.stem
            if not path.is_file():
                msg = f"plugin file '{path}' does not exist"
                raise PluginError(msg)
            modname = f"hepreco_userplugin_{name}"
            other = self.plugins.get(name)
            if other is not None and other.origin.endswith(".py") and Path(other.origin).resolve() != path.resolve():
                msg = (
                    f"two plugin files are named '{path.name}': {other.origin} and {path}; a plugin's name is its "
                    "file name, so rename one of them"
                )
                raise PluginError(msg)
            if modname in sys.modules and getattr(sys.modules[modname], "__file__", None) == str(path):
                module = sys.modules[modname]
            else:
                sp = importlib.util.spec_from_file_location(modname, path)
                assert sp is not None and sp.loader is not None
                module = importlib.util.module_from_spec(sp)
                sys.modules[modname] = module
                try:
                    sp.loader.exec_module(module)
                except Exception as err:
                    del sys.modules[modname]
                    msg = f"plugin '{name}' ({path}) failed to import: {_short_error(err)}"
                    raise PluginError(msg) from err
            origin = str(path)
        else:
            try:
                module = importlib.import_module(spec)
            except Exception as err:
                msg = f"plugin '{spec}' failed to import: {_short_error(err)}"
                raise PluginError(msg) from err
            name = getattr(module, "PLUGIN_NAME", None) or spec.split(".")[0].removeprefix("hepreco_")
            origin = f"module {spec}"
        name = getattr(module, "PLUGIN_NAME", None) or name
        if id(module) in self._objects:
            return self._objects[id(module)]
        other = self.plugins.get(name)
        if other is not None and other.origin != origin:
            msg = (
                f"plugin '{name}' ({origin}) has the name of an already loaded plugin ({other.origin}): "
                "give one another name (its file name, or PLUGIN_NAME in it)"
            )
            raise PluginError(msg)
        self.register(module, name, version=_dist_version(module), origin=origin)
        info = self.plugins[name]
        pending = [p for p in self._pending_models if p[0] is module]
        for entry in pending:  # a plugin a config names is checked whole now: its models too
            self._pending_models.remove(entry)
            try:
                self._collect_models(*entry)
            except Exception as err:
                info.error = _short_error(err)
        if info.error:
            raise PluginError(f"plugin '{name}' could not be registered: {info.error}")
        return name

    def register(self, obj: Any, name: str, *, version: str | None, origin: str) -> None:
        """Register ``obj`` (a module or object with hook implementations) as plugin ``name``."""
        if id(obj) in self._objects:
            return
        info = PluginInfo(name, version, origin)
        self.plugins[name] = info
        try:
            self.pm.register(obj, name=name)
        except Exception as err:
            info.error = f"registration failed: {_short_error(err)}"
            return
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as err:
            self.pm.unregister(obj)
            info.error = f"{err} (known hooks: {', '.join(sorted(self._hook_names()))})"
            return
        self._objects[id(obj)] = name
        try:
            self._collect(obj, info)
        except Exception as err:
            info.error = _short_error(err)

    def _hook_names(self) -> list[str]:
        return [n for n in dir(hookspecs) if n.startswith("hepreco_")]

    def _call(self, obj: Any, hook: str, info: PluginInfo) -> Any:
        caller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():
            if impl.plugin is obj:
                try:
                    return impl.function()
                except Exception as err:
                    msg = f"plugin '{info.name}' hook {hook}() raised: {_short_error(err)}"
                    raise PluginError(msg) from err
        return None

    @staticmethod
    def _lazy_name(info: PluginInfo, hook: str, spec: str) -> str:
        modpath, sep, clsname = spec.partition(":")
        if not sep or not modpath or not clsname.isidentifier():
            msg = f"plugin '{info.name}' hook {hook}() returned {spec!r}: give a class or 'package.module:ClassName'"
            raise PluginError(msg)
        return f"{info.name}.{clsname}"

    def _add_type(self, cls: Any, kinds: tuple[str, ...], hook: str, plugin: str, full: str | None = None) -> str:
        kind = module_kind(cls)
        if kind not in kinds:
            msg = (
                f"plugin '{plugin}' hook {hook}() returned {cls!r}, which is not a "
                f"{' or '.join(k.capitalize() for k in kinds)} subclass"
            )
            raise PluginError(msg)
        ensure_config_base(cls)
        full = full or f"{plugin}.{cls.__name__}"
        if full in self.types and self.types[full] is not cls:
            raise PluginError(f"plugin '{plugin}' registers two types named {full}")
        # the first plugin that registers a class names it
        if not cls.__dict__.get("type_name"):
            cls.type_name = full
            cls.plugin_name = plugin
        self.types[full] = cls
        return full

    def _add_service(self, cls: Any, plugin: str, full: str | None = None) -> str:
        from hepreco.core.service import Service

        if not (isinstance(cls, type) and issubclass(cls, Service)):
            msg = f"plugin '{plugin}' hook hepreco_services() returned {cls!r}, not a Service subclass"
            raise PluginError(msg)
        full = full or f"{plugin}.{cls.__name__}"
        if not cls.__dict__.get("type_name"):
            cls.type_name = full
        self.service_types[full] = cls
        return full

    def _collect(self, obj: Any, info: PluginInfo) -> None:
        for hook, kinds, target in (
            ("hepreco_sources", ("source",), info.sources),
            ("hepreco_modules", ("producer", "filter", "analyzer", "output"), info.modules),
        ):
            for cls in self._call(obj, hook, info) or []:
                if isinstance(cls, str):  # imported when a job uses it: registration stays cheap
                    full = self._lazy_name(info, hook, cls)
                    if full in self.types or full in self.lazy:
                        raise PluginError(f"plugin '{info.name}' registers two types named {full}")
                    self.lazy[full] = (cls, kinds, info.name)
                    target.append(full)
                    continue
                target.append(self._add_type(cls, kinds, hook, info.name))
        for cls in self._call(obj, "hepreco_services", info) or []:
            if isinstance(cls, str):
                full = self._lazy_name(info, "hepreco_services", cls)
                self.lazy_services[full] = (cls, ("service",), info.name)
                info.services.append(full)
                continue
            info.services.append(self._add_service(cls, info.name))
        for cmd in self._call(obj, "hepreco_commands", info) or []:
            from hepreco.commands import Command

            if not isinstance(cmd, Command):
                msg = f"plugin '{info.name}' hook hepreco_commands() returned {cmd!r}, not a hepreco.commands.Command"
                raise PluginError(msg)
            if cmd.name in self.commands and self.commands[cmd.name][1] != info.name:
                owner = self.commands[cmd.name][1]
                raise PluginError(f"plugin '{info.name}' adds command '{cmd.name}', already added by plugin '{owner}'")
            self.commands[cmd.name] = (cmd, info.name)
            info.commands.append(cmd.name)
        for ex in self._call(obj, "hepreco_executors", info) or []:
            if isinstance(ex, str):
                self._lazy_name(info, "hepreco_executors", ex)  # checks the form
                kind = _executor_kind(ex)
            else:
                kind = getattr(ex, "name", "")
            if not kind or not isinstance(kind, str):
                msg = f"plugin '{info.name}' hook hepreco_executors() returned {ex!r}: an Executor subclass with a name"
                raise PluginError(msg)
            if kind in self.executors and self.executors[kind][1] != info.name:
                owner = self.executors[kind][1]
                raise PluginError(f"plugin '{info.name}' adds executor '{kind}', already added by plugin '{owner}'")
            self.executors[kind] = (ex, info.name)
        for disp in self._call(obj, "hepreco_displays", info) or []:
            name = getattr(disp, "name", None)
            if not isinstance(name, str) or not hasattr(disp, "render"):
                msg = f"plugin '{info.name}' hook hepreco_displays() returned {disp!r}, not a hepreco.monitor.Display"
                raise PluginError(msg)
            if name in self.displays and self.displays[name][1] != info.name:
                owner = self.displays[name][1]
                raise PluginError(f"plugin '{info.name}' adds display '{name}', already added by plugin '{owner}'")
            self.displays[name] = (disp, info.name)
        self._pending_models.append((obj, info))

    def executor_class(self, kind: str) -> Any:
        """The Executor subclass of ``kind`` (imported now if it was registered by name)."""
        ex, plugin = self.executors[kind]
        if isinstance(ex, str):
            ex = _import_named(ex, plugin, f"executor '{kind}'")
            self.executors[kind] = (ex, plugin)
        return ex

    def _collect_models(self, obj: Any, info: PluginInfo) -> None:
        found = self._call(obj, "hepreco_models", info) or []
        if isinstance(found, dict):  # {name: "package.module:ATTR" or spec}: those by name imported when used
            objects = []
            for mname, spec in found.items():
                if not isinstance(spec, str):
                    objects.append(spec)
                    continue
                self._lazy_name(info, "hepreco_models", spec)  # checks the form
                known = self._model_owner.get(mname)
                if known is not None and self._lazy_models.get(mname, ("", ""))[0] != spec:
                    msg = f"plugin '{info.name}' registers model '{mname}', already registered by plugin '{known}'"
                    raise PluginError(msg)
                self._lazy_models[mname] = (spec, info.name)
                self._model_owner[mname] = info.name
                info.models.append(mname)
            found = objects
        for model in found:
            mname = getattr(model, "name", None) or getattr(model, "__name__", None) or str(model)
            if mname in self._models and self._models[mname] is not model:
                owner = self._model_owner.get(mname, "?")
                raise PluginError(
                    f"plugin '{info.name}' registers model '{mname}', already registered by plugin '{owner}'"
                )
            self._models[mname] = model
            self._model_owner[mname] = info.name
            info.models.append(mname)
        for cname, path in (self._call(obj, "hepreco_builtin_checkpoints", info) or {}).items():
            if cname in self._checkpoints and self._checkpoints[cname] != path:
                owner = self._checkpoint_owner.get(cname, "?")
                msg = f"plugin '{info.name}' ships checkpoint 'builtin:{cname}', already shipped by plugin '{owner}'"
                raise PluginError(msg)
            self._checkpoints[cname] = path
            self._checkpoint_owner[cname] = info.name

    # --- lookup -------------------------------------------------------------------------------
    def load_lazy(self, full: str) -> None:
        """Import a type registered by name (``"package.module:Class"``) and register the class."""

        services = full in self.lazy_services
        table = self.lazy_services if services else self.lazy
        entry = table.get(full)
        if entry is None:
            return
        spec, kinds, plugin = entry
        cls = _import_named(spec, plugin, f"type {full}")
        del table[full]
        if services:
            self._add_service(cls, plugin, full)
        else:
            self._add_type(cls, kinds, "hepreco_modules" if "source" not in kinds else "hepreco_sources", plugin, full)

    def load_all(self) -> None:
        """Import every type registered by name (``hepreco describe``, documentation tools)."""
        for full in [*self.lazy, *self.lazy_services]:
            self.load_lazy(full)

    def lazy_doc(self, full: str) -> tuple[str, str]:
        """``(kind, first docstring line)`` of a type registered by name, read from its source file without
        importing it (``hepreco list`` stays fast)."""
        import ast
        import importlib.util

        entry = self.lazy.get(full) or self.lazy_services.get(full)
        if entry is None:
            return "", ""
        spec, kinds, _plugin = entry
        modpath, _, clsname = spec.partition(":")
        kind = kinds[0] if len(kinds) == 1 else "module"
        try:
            found = importlib.util.find_spec(modpath)
            tree = ast.parse(Path(found.origin).read_text()) if found and found.origin else None
        except (ImportError, OSError, SyntaxError, ValueError):
            return kind, ""
        for node in tree.body if tree is not None else []:
            if isinstance(node, ast.ClassDef) and node.name == clsname:
                bases = [str(getattr(b, "attr", getattr(b, "id", ""))) for b in node.bases]
                for k in ("Producer", "Filter", "Analyzer", "Output", "Source"):
                    if any(base.endswith(k) for base in bases):  # FileOutput, GeneratorSource, ...
                        kind = k.lower()
                        break
                doc = ast.get_docstring(node) or ""
                return kind, doc.strip().splitlines()[0] if doc.strip() else ""
        return kind, ""

    def _lookup(self, name: str, table: dict[str, type], what: str, kinds: Iterable[str] | None) -> type:
        kinds = tuple(kinds) if kinds is not None else None
        lazy = self.lazy_services if what == "service" else self.lazy
        if name in lazy:
            self.load_lazy(name)
        elif "." not in name:
            for full in [k for k in lazy if k.split(".", 1)[1] == name]:
                self.load_lazy(full)

        def ok(cls: type) -> bool:
            return kinds is None or module_kind(cls) in kinds or what == "service"

        if name in table and ok(table[name]):
            return table[name]
        if "." not in name:
            candidates = sorted(k for k, c in table.items() if k.split(".", 1)[1] == name and ok(c))
            if len(candidates) == 1:
                return table[candidates[0]]
            if len(candidates) > 1:
                msg = f"{what} type '{name}' is ambiguous: it is registered by several plugins; use one of " + (
                    ", ".join(candidates)
                )
                raise TypeLookupError(msg)
        choices = [k for k, c in table.items() if ok(c)] + list(lazy)
        bare = [k.split(".", 1)[1] for k in choices]
        if name in table:  # exists, wrong kind
            cls = table[name]
            msg = f"'{name}' is a {module_kind(cls)}, not a {' or '.join(kinds or ())}"
            raise TypeLookupError(msg)
        close = suggest(name, choices) if "." in name else suggest(name, bare + choices)
        close = [c for c in close if "." not in c or c.split(".", 1)[1] not in close]
        hint = (" (did you mean " + " or ".join(repr(c) for c in close) + "?)") if close else ""
        msg = f"unknown {what} type '{name}'{hint}"
        plugin = name.split(".", 1)[0] if "." in name else None
        failed = {n: p for n, p in self.plugins.items() if not p.ok}
        if plugin and plugin in failed:
            msg += f"; plugin '{plugin}' failed to load: {failed[plugin].error}"
        elif plugin and plugin not in self.plugins:
            msg += f"; no plugin named '{plugin}' is installed (plugins: {', '.join(sorted(self.plugins))})"
        elif failed:
            msg += "; plugins that failed to load: " + ", ".join(sorted(failed))
        raise TypeLookupError(msg)

    def resolve(self, name: str, *, kinds: Iterable[str] | None = None) -> type[Module]:
        """The module or source class named ``plugin.ClassName`` (or a unique bare ``ClassName``)."""
        return self._lookup(name, self.types, "module", kinds)

    def resolve_service(self, name: str) -> Any:
        return self._lookup(name, self.service_types, "service", None)

    def type_names(self, *, kinds: Iterable[str] | None = None) -> list[str]:
        kinds = tuple(kinds) if kinds is not None else None
        if kinds is not None:
            self.load_all()
        names = [k for k, c in self.types.items() if kinds is None or module_kind(c) in kinds]
        return sorted(names + ([] if kinds is not None else list(self.lazy)))

    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if not p.ok]


_DEFAULT: Registry | None = None


def get_registry(*, fresh: bool = False) -> Registry:
    """The process-wide registry (built-ins + installed plugins), built once."""
    global _DEFAULT
    if _DEFAULT is None or fresh:
        _DEFAULT = Registry.default()
    return _DEFAULT
