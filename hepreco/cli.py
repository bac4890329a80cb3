"""This module is the ``hepreco`` command line: run, validate, config, graph, describe, list, new-plugin.

Exit codes: 0 success, 2 config error (or bad command line), 1 runtime error.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from hepreco._version import __version__
from hepreco.errors import ConfigError, ModuleError, PluginError

__all__ = ["build_parser", "commands", "main"]

EXIT_OK, EXIT_RUNTIME, EXIT_CONFIG = 0, 1, 2


def job_args(p: argparse.ArgumentParser) -> None:
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
    from hepreco._api import prepare

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
    elif opts["workers"] is not None and opts["kind"] is None:
        opts["kind"] = "processes"  # --workers N alone means N local processes
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


def executor_args(p: argparse.ArgumentParser) -> None:
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
def run_args(p: argparse.ArgumentParser) -> None:
    job_args(p)
    g = p.add_argument_group("art's shortcuts")
    g.add_argument("-s", "--source", nargs="+", metavar="FILE", help="read these input files (sets source.files)")
    g.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the output to FILE: sets the file of the job's one file output, or, if it has none, adds a "
        "RootOutput (ParquetOutput for .parquet) of every product",
    )
    g.add_argument("--nskip", type=int, metavar="N", help="skip the first N input events (sets source.first)")
    p.add_argument("--report", metavar="FILE.json", help="write the TrigReport/TimeReport and summaries as JSON")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show (or hide) the progress bar (default: shown when stderr is a terminal)",
    )
    p.add_argument(
        "--no-reports", dest="reports", action="store_false", help="print no TrigReport, TimeReport or summaries"
    )
    p.add_argument(
        "--no-clobber",
        action="store_true",
        help="refuse to replace existing output files (by default they are replaced, and the output list says so)",
    )
    p.add_argument(
        "--skip-bad-files",
        action="store_true",
        help="go on past bad input (sets source.skip_bad_files): input files that cannot be read, or for generated "
        "events a chunk that still fails after its retries; what was skipped is listed at the end",
    )
    p.add_argument(
        "--monitor",
        metavar="[HOST:]PORT",
        help="serve a live web page of the job (progress, reports, histograms, event displays) while it runs; "
        "HOST defaults to 127.0.0.1 (this machine only); another host gets a token in the printed URL; "
        "needs hepreco[monitor] (sets services.Monitor.address)",
    )
    executor_args(p)


def cmd_run(ns: argparse.Namespace) -> int:
    from hepreco._api import execute

    if ns.skip_bad_files:
        ns.overrides.append("source.skip_bad_files=true")
    ns.overrides.extend(_shortcut_overrides(ns))
    if ns.quiet:
        ns.progress, ns.reports = False, False
    if ns.progress is not None:
        ns.overrides.append(f"services.Progress.enabled={'true' if ns.progress else 'false'}")
    if ns.monitor is not None:
        from hepreco.monitor.server import parse_address

        try:
            parse_address(ns.monitor)
        except ValueError as err:
            raise ConfigError(f"--monitor: {err}") from None
        _require_monitor_extra()
        ns.overrides.append("services.Monitor.address=" + json.dumps(str(ns.monitor)))
    plan = _prepare(ns, quiet=ns.quiet)
    plan.job.print_reports = bool(ns.reports)
    plan.job.no_clobber = bool(ns.no_clobber)
    result = execute(plan, report=ns.report)
    if not ns.quiet:
        print(f"hepreco: {result.events} events processed by '{result.process}'", file=sys.stderr)
    return EXIT_OK


def _require_monitor_extra() -> None:
    """``--monitor`` without Starlette, uvicorn or uhi: a config error naming the extra, before the job starts."""
    import importlib.util

    for name in ("starlette", "uvicorn", "uhi"):
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            raise ConfigError(f"--monitor needs {name} (Starlette, uvicorn, uhi): pip install 'hepreco[monitor]'")


def _shortcut_overrides(ns: argparse.Namespace) -> list[str]:
    """art's ``-s``, ``-o`` and ``--nskip`` as ``--set`` overrides of the job config."""
    out: list[str] = []
    if ns.source:
        out.append("source.files=" + json.dumps(list(ns.source)))
    if ns.nskip is not None:
        if ns.nskip < 0:
            raise ConfigError(f"--nskip {ns.nskip}: give a number of events >= 0")
        out.append(f"source.first={int(ns.nskip)}")
    if ns.output:
        out.extend(_output_overrides(ns))
    return out


def _output_overrides(ns: argparse.Namespace) -> list[str]:
    """``-o FILE``: the file of the job's one file output, or a new output of every product."""
    from hepreco.config.loader import load_config
    from hepreco.io import FileOutput
    from hepreco.plugins import TypeLookupError, get_registry

    resolved = load_config(ns.config, overrides=ns.overrides, events=ns.events, seed=ns.seed)
    data = resolved.data
    reg = get_registry()
    for spec in data.get("plugins") or []:
        try:
            reg.load_spec(str(spec), base_dir=resolved.base_dir)
        except Exception:  # reported by the job's own checks
            pass
    outputs: list[str] = []
    for label, mod in (data.get("modules") or {}).items():
        if not isinstance(mod, dict) or not isinstance(mod.get("module"), str):
            continue
        try:
            cls = reg.resolve(mod["module"])
        except TypeLookupError:
            continue
        if isinstance(cls, type) and issubclass(cls, FileOutput):
            outputs.append(str(label))
    if len(outputs) == 1:
        return [f"modules.{outputs[0]}.file={json.dumps(ns.output)}"]
    if len(outputs) > 1:
        raise ConfigError(
            f"-o/--output {ns.output}: the job has {len(outputs)} file outputs ({', '.join(outputs)}); "
            f"set one with --set modules.LABEL.file={ns.output}"
        )
    label = next(x for x in ("output", "cli_output", "cli_output_1") if x not in (data.get("modules") or {}))
    kind = "ParquetOutput" if ns.output.endswith((".parquet", ".pq")) else "RootOutput"
    return [
        f"modules.{label}=" + json.dumps({"module": kind, "file": ns.output}),
        f"end_paths.{label}=" + json.dumps([label]),
    ]


def _is_training_config(path: str) -> bool:
    """Whether ``path`` is a training config (``model:`` and ``data:``, no ``source:``), read with a safe loader."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the job loader reports it
    return isinstance(data, dict) and "model" in data and "data" in data and "source" not in data


def cmd_validate(ns: argparse.Namespace) -> int:
    from hepreco.core.outputs import check_outputs
    from hepreco.executors import executor_config

    if _is_training_config(ns.config):
        from hepreco.ml.training import validate_training

        what = validate_training(ns.config, overrides=ns.overrides)
        print(f"{ns.config}: OK (training config: {what})")
        return EXIT_OK
    plan = _prepare(ns, quiet=True)
    check_outputs(plan, journal=executor_config(plan).journal)
    n = len(plan.modules)
    print(f"{ns.config}: OK ({n} modules, {len(plan.paths)} paths, {len(plan.end_paths)} end paths)")
    return EXIT_OK


def config_args(p: argparse.ArgumentParser) -> None:
    job_args(p)
    p.add_argument("--annotate", action="store_true", help="say which file:line or flag set each value")
    p.add_argument("--json", action="store_true", help="print JSON instead of YAML")


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


def cmd_graph(ns: argparse.Namespace) -> int:
    from hepreco.core.graph import to_dot

    print(to_dot(_prepare(ns, quiet=True)))
    return EXIT_OK


# --- describe / list ------------------------------------------------------------------------------
def describe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("type", help="a module, source or service type, e.g. HistFill or comet.HitImager")


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


def list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_list(ns: argparse.Namespace) -> int:
    from hepreco.plugins import get_registry

    reg = get_registry()
    reg.model_names()  # the plugins' models and checkpoints are collected on first use (specs stay unimported)
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
            ("commands", info.commands),
        ):
            if items:
                print(f"  {title}:")
                for full in items:
                    if title == "commands":
                        cmd = reg.commands[full][0]
                        print(f"    hepreco {full:<28} {'':<9} {cmd.help}")
                        continue
                    if title == "models":
                        kind, doc = reg.model_doc(full)
                        print(f"    {full:<36} {kind:<9} {doc}")
                        continue
                    cls = reg.types.get(full) or reg.service_types.get(full)
                    if cls is None:  # registered by name: described from its source, not imported
                        kind, doc = reg.lazy_doc(full)
                        print(f"    {full:<36} {kind:<9} {doc}")
                        continue
                    doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
                    kind = getattr(cls, "kind", "service")
                    print(f"    {full:<36} {kind:<9} {doc}")
    return EXIT_OK


# --- new-plugin -----------------------------------------------------------------------------------
def newplugin_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the plugin name (an identifier); the package is hepreco_NAME")
    p.add_argument("--dir", default=".", help="where to create the NAME/ folder")


def cmd_new_plugin(ns: argparse.Namespace) -> int:
    from hepreco.core.skeleton import write_plugin_skeleton

    root = write_plugin_skeleton(ns.name, ns.dir)
    print(f"created {root}: pip install -e {root} && hepreco run {root}/job.yaml && pytest {root}/tests")
    return EXIT_OK


# --- plot (hepreco.plotting) ----------------------------------------------------------------------
def plot_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a ROOT file (the Histograms service's file, or any other)")
    p.add_argument("names", nargs="*", metavar="NAME", help="objects to draw (default: every histogram and graph)")
    p.add_argument("-d", "--dir", default=".", help="where to write NAME.png and NAME.pdf (default: here)")
    p.add_argument("--label", default="Simulation", help="the experiment label, e.g. 'COMET Simulation'")
    p.add_argument("--logy", action="store_true", help="a logarithmic y axis")
    p.add_argument("--internal", action="store_true", help="also draw the internal/ accumulators")
    p.add_argument("--no-rebin", dest="rebin", action="store_false", help="keep every bin of sparse histograms")


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


# --- completion -----------------------------------------------------------------------------------
_BASH_COMPLETION = """# hepreco's bash completion: eval "$(hepreco completion bash)"
_hepreco_complete() {
    local cur prev cmd opts
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    cmd=""
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -*) ;;
            *) cmd="${COMP_WORDS[i]}"; break ;;
        esac
    done
    case "$cmd" in
%(cases)s
        *) opts="%(commands)s %(top)s" ;;
    esac
    if [[ "$cur" == -* || -z "$cmd" ]]; then
        COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    else
        COMPREPLY=( $(compgen -f -- "$cur") )
    fi
    return 0
}
complete -o default -F _hepreco_complete hepreco
"""


def completion_script(shell: str) -> str:
    """A completion script for ``shell`` (bash or zsh), made from the parser: commands and their options."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cases = []
    for name, p in sub.choices.items():
        flags = sorted({o for a in p._actions for o in a.option_strings})
        cases.append(f'        {name}) opts="{" ".join(flags)}" ;;')
    top = sorted({o for a in parser._actions for o in a.option_strings})
    text = _BASH_COMPLETION % {"cases": "\n".join(cases), "commands": " ".join(sub.choices), "top": " ".join(top)}
    if shell == "zsh":
        text = "autoload -U +X bashcompinit && bashcompinit\n" + text
    return text


def completion_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=["bash", "zsh"], help="the shell")


def cmd_completion(ns: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(ns.shell))
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
def _common_flags(p: argparse.ArgumentParser, *, top: bool) -> None:
    """``-v``/``-q``, accepted before and after the command (``hepreco run job.yaml -v``)."""
    default: Any = argparse.SUPPRESS
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else default,
        help="hepreco's own messages (modules, files, chunks, merges) and full tracebacks; -vv: debug messages",
    )
    try:
        p.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            default=False if top else default,
            help="print nothing but errors (no progress bar, no reports)",
        )
    except argparse.ArgumentError:  # the command has a -q of its own
        pass


def commands(registry: Any = None) -> dict[str, Any]:
    """Every command (``hepreco.commands.Command``) the plugins add, the core's first, by name."""
    from hepreco.plugins import BUILTIN_PLUGIN, get_registry

    reg = registry or get_registry()
    table = reg.commands
    order = sorted(table, key=lambda n: table[n][1] not in (BUILTIN_PLUGIN, "ml"))
    return {name: table[name][0] for name in order}


def build_parser(registry: Any = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hepreco",
        description="Run art-like reconstruction jobs on columnar batches of events.",
        epilog='Shell completion: eval "$(hepreco completion bash)" (or zsh) in your shell\'s rc file.',
    )
    parser.add_argument("--version", action="version", version=f"hepreco {__version__}")
    _common_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in commands(registry).items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        _common_flags(p, top=False)
    return parser


def setup_logging(verbose: int) -> None:
    """hepreco's own loggers at INFO (``-v``) or DEBUG (``-vv``); other libraries' at WARNING whatever ``-v``,
    so that a verbose run shows what hepreco does without third-party debug floods."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.getLogger("hepreco").setLevel(level)


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the job is, so that it ends as after Ctrl-C: outputs removed, workers stopped."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """The ``hepreco`` entry point; returns the exit code."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)  # like Ctrl-C: the job cleans up, nothing half-written stays
    parser = build_parser()
    ns = parser.parse_args(argv)
    setup_logging(int(getattr(ns, "verbose", 0) or 0))
    if ns.command is None:
        parser.print_help()
        return EXIT_CONFIG
    try:
        return int(commands()[ns.command].handler()(ns))
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
    except Terminated:
        print("hepreco: terminated (SIGTERM); no output file was completed", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("hepreco: interrupted; no output file was completed", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (hepreco run ... | head): nothing more to say
        _silence_stdout()
        return EXIT_OK
    except Exception as err:  # a bug or an environment problem: keep the whole traceback
        print(f"hepreco: error: {type(err).__name__}: {err}", file=sys.stderr)
        traceback.print_exc()
        return EXIT_RUNTIME


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
