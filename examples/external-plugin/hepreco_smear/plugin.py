"""Registers the plugin with hepreco (the entry point names this module): a module, an output format, an
executor and a command-line command, each by name so that registering imports nothing but hepreco."""

from __future__ import annotations

import argparse

import hepreco
from hepreco.commands import Command


@hepreco.hookimpl
def hepreco_modules() -> list[str]:
    return ["hepreco_smear.smear:Smear", "hepreco_smear.jsonl:JsonLinesOutput"]


@hepreco.hookimpl
def hepreco_sources() -> list[str]:
    return ["hepreco_smear.jsonl:JsonLinesSource"]


def _summary_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a JSON Lines file smear.JsonLinesOutput wrote")
    p.add_argument("--column", default="smeared", help="the column to summarise (default: smeared)")


@hepreco.hookimpl
def hepreco_commands() -> list[Command]:
    return [
        Command(
            "smear-summary",
            "events, provenance and the mean of a column of a JSON Lines file",
            run="hepreco_smear.cli:main",
            arguments=_summary_args,
        )
    ]


@hepreco.hookimpl
def hepreco_executors() -> list[str]:
    return ["hepreco_smear.batch:BatchExecutor"]  # kind "batch"
