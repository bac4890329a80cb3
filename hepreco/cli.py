"""This module is the ``hepreco`` command line: run, validate, config, graph, describe, list, new-plugin.

Exit codes: 0 success, 2 config error (or bad command line), 1 runtime error.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from hepreco._version import __version__
from hepreco.errors import ConfigError, ModuleError, PluginError

__all__ = ["main"]

EXIT_OK, EXIT_RUNTIME, EXIT_CONFIG = 0, 1, 2

# Commands added by later parts of the framework register here: name -> (add_arguments, handler, help)
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {}


def command(name: str, help: str) -> Callable[..., Any]:
    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        add = getattr(fn, "_add_args", lambda p: None)
        COMMANDS[name] = (add, fn, help)
        return fn

    return deco


def args(add: Callable[[argparse.ArgumentParser], None]) -> Callable[..., Any]:
    def deco(fn: Any) -> Any:
        fn._add_args = add
        return fn

    return deco


def _job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="the job config (YAML)")
    p.add_argument("-n", "--events", type=int, default=None, help="stop after N events (sets source.events)")
    p.add_argument("--seed", type=int, default=None, help="the job seed")
    add_set_argument(p)


def add_set_argument(p: argparse.ArgumentParser, example: str = "") -> None:
    """The repeatable ``--set KEY.PATH=VALUE`` override flag, shared by every command that reads a config."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value (YAML-typed); repeatable" + (f", e.g. --set {example}" if example else ""),
    )


def _prepare(ns: argparse.Namespace, *, quiet: bool = False) -> Any:
    from hepreco.core.runner import prepare

    opts = {
        "kind": getattr(ns, "executor", None),
        "workers": getattr(ns, "workers", None),
        "scheduler": getattr(ns, "scheduler", None),
        "chunk_size": getattr(ns, "chunk_size", None),
        "retries": getattr(ns, "retries", None),
        "journal": getattr(ns, "journal", None),
    }
    if opts["scheduler"] is not None and opts["kind"] is None:
        opts["kind"] = "dask"  # --scheduler ADDRESS alone means Dask on that scheduler
    executor = {k: v for k, v in opts.items() if v is not None} or None
    from hepreco.executors.config import EXECUTOR_FLAGS

    return prepare(
        ns.config,
        events=ns.events,
        seed=ns.seed,
        overrides=ns.overrides,
        quiet=quiet,
        executor=executor,
        executor_origin=EXECUTOR_FLAGS,
    )


def _executor_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("executors (the same as the config's executor: key)")
    g.add_argument(
        "--executor",
        metavar="{inline,processes,dask}",
        help="run in this process (inline, the default), on local processes, or on Dask",
    )
    g.add_argument("--workers", type=int, metavar="N", help="worker processes (default: the number of cores)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (tcp://host:8786)")
    g.add_argument("--chunk-size", type=int, metavar="N", help="split the input into chunks of at most N events")
    g.add_argument("--retries", type=int, metavar="N", help="run a failing chunk again N times (default 1)")
    g.add_argument(
        "--journal", metavar="DIR", help="record finished chunks in DIR; run again to redo only the unfinished ones"
    )


# --- run / validate / config / graph -------------------------------------------------------------
def _run_args(p: argparse.ArgumentParser) -> None:
    _job_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no reports printed")
    p.add_argument("--report", metavar="FILE.json", help="write the TrigReport/TimeReport and summaries as JSON")
    p.add_argument(
        "--skip-bad-files",
        action="store_true",
        help="go on past bad input (sets source.skip_bad_files): input files that cannot be read, or for generated "
        "events a chunk that still fails after its retries; what was skipped is listed at the end",
    )
    _executor_args(p)


@command("run", "run a job")
@args(_run_args)
def cmd_run(ns: argparse.Namespace) -> int:
    from hepreco.core.runner import execute

    if ns.skip_bad_files:
        ns.overrides.append("source.skip_bad_files=true")
    plan = _prepare(ns, quiet=ns.quiet)
    result = execute(plan, report=ns.report)
    if not ns.quiet:
        print(f"hepreco: {result.events} events processed by '{result.process}'", file=sys.stderr)
    return EXIT_OK


@command("validate", "check a job config (every check, no events)")
@args(_job_args)
def cmd_validate(ns: argparse.Namespace) -> int:
    plan = _prepare(ns, quiet=True)
    n = len(plan.modules)
    print(f"{ns.config}: OK ({n} modules, {len(plan.paths)} paths, {len(plan.end_paths)} end paths)")
    return EXIT_OK


def _config_args(p: argparse.ArgumentParser) -> None:
    _job_args(p)
    p.add_argument("--annotate", action="store_true", help="say which file:line or flag set each value")
    p.add_argument("--json", action="store_true", help="print JSON instead of YAML")


@command("config", "print the fully resolved config (after includes and overrides)")
@args(_config_args)
def cmd_config(ns: argparse.Namespace) -> int:
    import yaml

    from hepreco.config.loader import dump_annotated, load_config

    resolved = load_config(ns.config, overrides=ns.overrides, events=ns.events, seed=ns.seed)
    if ns.json:
        print(json.dumps(resolved.data, indent=2))
    elif ns.annotate:
        sys.stdout.write(dump_annotated(resolved))
    else:
        sys.stdout.write(yaml.safe_dump(resolved.data, sort_keys=False))
    return EXIT_OK


@command("graph", "print the data flow between modules as Graphviz DOT")
@args(_job_args)
def cmd_graph(ns: argparse.Namespace) -> int:
    from hepreco.core.graph import to_dot

    print(to_dot(_prepare(ns, quiet=True)))
    return EXIT_OK


# --- describe / list ------------------------------------------------------------------------------
def _describe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("type", help="a module, source or service type, e.g. HistFill or comet.HitImager")


@command("describe", "print every parameter of a module, source or service type")
@args(_describe_args)
def cmd_describe(ns: argparse.Namespace) -> int:
    from hepreco.core.describe import describe
    from hepreco.plugins import TypeLookupError, get_registry

    reg = get_registry()
    try:
        cls = reg.resolve(ns.type)
    except TypeLookupError as err:
        try:
            cls = reg.resolve_service(ns.type)
        except TypeLookupError:
            raise ConfigError(str(err)) from None
    print(describe(cls))
    return EXIT_OK


@command("list", "list registered modules, sources and services by plugin")
@args(lambda p: p.add_argument("--json", action="store_true", help="print JSON"))
def cmd_list(ns: argparse.Namespace) -> int:
    from hepreco.plugins import get_registry

    reg = get_registry()
    if ns.json:
        print(json.dumps({n: p.__dict__ for n, p in reg.plugins.items()}, indent=2, default=str))
        return EXIT_OK
    for name, info in sorted(reg.plugins.items(), key=lambda kv: (kv[0] != "hepreco", kv[0])):
        print(f"{name} {info.version or ''}  ({info.origin})")
        if info.error:
            print(f"  FAILED TO LOAD: {info.error}")
            continue
        for title, items in (
            ("sources", info.sources),
            ("modules", info.modules),
            ("services", info.services),
            ("models", info.models),
        ):
            if items:
                print(f"  {title}:")
                for full in items:
                    if title == "models":
                        spec = reg.models.get(full)
                        kind = f"{getattr(spec, 'kind', 'model')}/{getattr(spec, 'task', '')}".rstrip("/")
                        doc = (getattr(spec, "doc", "") or "").strip().splitlines()
                        print(f"    {full:<36} {kind:<9} {doc[0] if doc else ''}")
                        continue
                    cls = reg.types.get(full) or reg.service_types.get(full)
                    doc = (cls.__doc__ or "").strip().splitlines()[0] if cls is not None and cls.__doc__ else ""
                    kind = getattr(cls, "kind", "service")
                    print(f"    {full:<36} {kind:<9} {doc}")
    return EXIT_OK


# --- new-plugin -----------------------------------------------------------------------------------
def _newplugin_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the plugin name (an identifier); the package is hepreco_NAME")
    p.add_argument("--dir", default=".", help="where to create the NAME/ folder")


@command("new-plugin", "write a plugin package skeleton that installs and runs as it is")
@args(_newplugin_args)
def cmd_new_plugin(ns: argparse.Namespace) -> int:
    from hepreco.core.skeleton import write_plugin_skeleton

    root = write_plugin_skeleton(ns.name, ns.dir)
    print(f"created {root}: pip install -e {root} && hepreco run {root}/job.yaml && pytest {root}/tests")
    return EXIT_OK


# --- plot (hepreco.plotting) ----------------------------------------------------------------------
def _plot_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a ROOT file (the Histograms service's file, or any other)")
    p.add_argument("names", nargs="*", metavar="NAME", help="objects to draw (default: every histogram and graph)")
    p.add_argument("-d", "--dir", default=".", help="where to write NAME.png and NAME.pdf (default: here)")
    p.add_argument("--label", default="Simulation", help="the experiment label, e.g. 'COMET Simulation'")
    p.add_argument("--logy", action="store_true", help="a logarithmic y axis")
    p.add_argument("--internal", action="store_true", help="also draw the internal/ accumulators")
    p.add_argument("--no-rebin", dest="rebin", action="store_false", help="keep every bin of sparse histograms")


@command("plot", "draw histograms and graphs of a ROOT file with mplhep (PNG and PDF)")
@args(_plot_args)
def cmd_plot(ns: argparse.Namespace) -> int:
    from hepreco.plotting import plot_file

    try:
        written = plot_file(
            ns.file, ns.names, out_dir=ns.dir, label=ns.label, logy=ns.logy, internal=ns.internal, rebin=ns.rebin
        )
    except (ImportError, KeyError, FileNotFoundError) as err:
        print(f"hepreco: {str(err).strip(chr(34) + chr(39))}", file=sys.stderr)
        return EXIT_CONFIG
    for path in written:
        print(path)
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hepreco",
        description="Run art-like reconstruction jobs on columnar batches of events.",
    )
    parser.add_argument("--version", action="version", version=f"hepreco {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show full tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add, _fn, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
    return parser


def _load_extra_commands() -> None:
    """Commands that live in other parts of the framework (train, dump, ...) register on import."""
    import importlib

    for mod in ("hepreco.io.cli", "hepreco.ml.cli"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            # the optional part is absent (not its own imports failing)
            if err.name is None or not (mod == err.name or mod.startswith(err.name + ".")):
                raise


def main(argv: Sequence[str] | None = None) -> int:
    """The ``hepreco`` entry point; returns the exit code."""
    import logging

    _load_extra_commands()
    parser = build_parser()
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if ns.verbose else logging.WARNING, format="%(name)s: %(message)s")
    if ns.command is None:
        parser.print_help()
        return EXIT_CONFIG
    _add, fn, _help = COMMANDS[ns.command]
    try:
        return fn(ns)
    except ConfigError as err:
        print(f"hepreco: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except PluginError as err:
        print(f"hepreco: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except ModuleError as err:
        print(f"hepreco: error: {err}", file=sys.stderr)
        cause = err.__cause__
        if cause is not None:
            print("Original traceback (most recent call last):", file=sys.stderr)
            tb = traceback.format_exception(type(cause), cause, cause.__traceback__)
            sys.stderr.write("".join(tb))
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print("hepreco: interrupted; no output file was completed", file=sys.stderr)
        return 130
    except Exception as err:  # a bug or an environment problem: keep the whole traceback
        print(f"hepreco: error: {type(err).__name__}: {err}", file=sys.stderr)
        traceback.print_exc()
        return EXIT_RUNTIME


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
