"""This module adds ``hepreco train`` and ``hepreco evaluate`` to the command line (imported by ``hepreco.cli``)."""

from __future__ import annotations

import argparse
import sys

from hepreco.cli import EXIT_CONFIG, EXIT_OK, add_set_argument

__all__: list[str] = []


def _common(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("config", help=f"the {what} config (YAML)")
    add_set_argument(p, "training.epochs=5")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def train_args(p: argparse.ArgumentParser) -> None:
    _common(p, "training")
    p.add_argument("-o", "--output", default=None, help="the output folder (overrides 'output')")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT", help="continue from a training's 'last' checkpoint")


def cmd_train(ns: argparse.Namespace) -> int:
    from hepreco.ml.checkpoint import CheckpointError
    from hepreco.ml.training import train

    try:
        train(ns.config, overrides=ns.overrides, output=ns.output, resume=ns.resume, quiet=ns.quiet)
    except CheckpointError as err:
        print(f"hepreco: {err}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK


def eval_args(p: argparse.ArgumentParser) -> None:
    _common(p, "evaluation")


def cmd_evaluate(ns: argparse.Namespace) -> int:
    from hepreco.ml.checkpoint import CheckpointError
    from hepreco.ml.evaluation import evaluate

    try:
        evaluate(ns.config, overrides=ns.overrides, quiet=ns.quiet)
    except CheckpointError as err:
        print(f"hepreco: {err}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK
