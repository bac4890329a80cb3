"""The framework's own plugin, registered like any other: built-in sources, modules and services."""

from __future__ import annotations

from hepreco._version import __version__
from hepreco.commands import Command
from hepreco.hookspecs import hookimpl

PLUGIN_NAME = "hepreco"
__all__ = ["PLUGIN_NAME", "__version__"]  # the version: the registry need not search the installed distributions


@hookimpl
def hepreco_sources() -> list[str]:
    return [
        "hepreco.modules.empty_source:EmptySource",
        "hepreco.io.root_source:RootSource",
        "hepreco.io.parquet:ParquetSource",
    ]


@hookimpl
def hepreco_modules() -> list[str]:
    return [
        "hepreco.modules.histfill:HistFill",
        "hepreco.modules.dump:DumpProducts",
        "hepreco.io.root_output:RootOutput",
        "hepreco.io.parquet:ParquetOutput",
    ]


@hookimpl
def hepreco_services() -> list[str]:
    return [
        "hepreco.services.timing:TimeTracker",
        "hepreco.services.memory:MemoryTracker",
        "hepreco.services.random:RandomNumbers",
        "hepreco.services.histograms:Histograms",
        "hepreco.services.device:Device",
        "hepreco.services.progress:Progress",
        "hepreco.monitor.service:Monitor",
    ]


@hookimpl
def hepreco_commands() -> list[Command]:
    """The core's commands, added as any plugin adds its own (``hepreco.commands.Command``)."""
    return [
        Command("run", "run a job", run="hepreco.cli:cmd_run", arguments="hepreco.cli:run_args"),
        Command(
            "validate",
            "check a job config (every check, no events)",
            run="hepreco.cli:cmd_validate",
            arguments="hepreco.cli:job_args",
        ),
        Command(
            "config",
            "print the fully resolved config (after includes and overrides)",
            run="hepreco.cli:cmd_config",
            arguments="hepreco.cli:config_args",
        ),
        Command(
            "graph",
            "print the data flow between modules as Graphviz DOT",
            run="hepreco.cli:cmd_graph",
            arguments="hepreco.cli:job_args",
        ),
        Command(
            "describe",
            "print every parameter of a module, source or service type",
            run="hepreco.cli:cmd_describe",
            arguments="hepreco.cli:describe_args",
        ),
        Command(
            "list",
            "list registered modules, sources and services by plugin",
            run="hepreco.cli:cmd_list",
            arguments="hepreco.cli:list_args",
        ),
        Command(
            "new-plugin",
            "write a plugin package skeleton that installs and runs as it is",
            run="hepreco.cli:cmd_new_plugin",
            arguments="hepreco.cli:newplugin_args",
        ),
        Command(
            "plot",
            "draw histograms and graphs of a ROOT file with mplhep (PNG and PDF)",
            run="hepreco.cli:cmd_plot",
            arguments="hepreco.cli:plot_args",
        ),
        Command(
            "completion",
            'print a shell completion script: eval "$(hepreco completion bash)"',
            run="hepreco.cli:cmd_completion",
            arguments="hepreco.cli:completion_args",
        ),
        Command(
            "dump",
            "list the trees, branches, types, entries, products and provenance of ROOT or Parquet files",
            run="hepreco.io.cli:cmd_dump",
            arguments="hepreco.io.cli:dump_args",
        ),
        Command(
            "monitor",
            "serve the live-monitoring page for finished files: histograms, graphs, displays; --ref compares two",
            run="hepreco.monitor.files:cmd_monitor",
            arguments="hepreco.monitor.files:monitor_args",
        ),
        Command(
            "provenance",
            "print how a file hepreco wrote was made: every job, its config, versions, seed and inputs",
            run="hepreco.io.cli:cmd_provenance",
            arguments="hepreco.io.cli:prov_args",
        ),
    ]


@hookimpl
def hepreco_executors() -> list[str]:
    """The core's executors: this process, a local process pool, a Dask cluster."""
    return [
        "hepreco.executors.inline:InlineExecutor",
        "hepreco.executors.processes:ProcessesExecutor",
        "hepreco.executors.dask:DaskExecutor",
    ]
