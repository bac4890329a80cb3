"""This module defines :class:`Command`, a ``hepreco`` command-line command that a plugin adds through the
``hepreco_commands`` hook — the built-in commands (``run``, ``validate``, ``train``, ``dump``...) are added
the same way, by the framework's own plugins.

A command has a name, a one-line help, a function that adds its arguments to an ``argparse`` parser and a
function that runs it (``Namespace -> exit code``). Either function may be given as
``"package.module:function"``, imported only when the command is used, so that ``hepreco --help`` stays
fast whatever a plugin's command imports.

Examples:
    A plugin's ``plugin.py`` (its entry point)::

        import hepreco
        from hepreco.commands import Command

        def _args(p):
            p.add_argument("file", help="a ROOT file the LArTPC job wrote")

        @hepreco.hookimpl
        def hepreco_commands():
            return [Command("lartpc-display", "draw the events of a file", run="hepreco_lartpc.display:main", arguments=_args)]

    Every command also gets ``-v``/``-q``. The run function returns 0 on success; a ``hepreco.ConfigError``
    it raises prints as a config error (exit 2), any other exception as a runtime error (exit 1).

    >>> cmd = Command("hello", "say hello", run=lambda ns: 0)
    >>> cmd.handler()(None)
    0
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Command", "resolve"]

Handler = Callable[[argparse.Namespace], int]
AddArguments = Callable[[argparse.ArgumentParser], None]


def resolve(target: Any) -> Any:
    """``target`` itself, or the object a ``"package.module:attr"`` string names (imported now)."""
    if not isinstance(target, str):
        return target
    modpath, sep, attr = target.partition(":")
    if not sep:
        raise ValueError(f"{target!r}: give 'package.module:function'")
    return getattr(importlib.import_module(modpath), attr)


@dataclass(frozen=True)
class Command:
    """A ``hepreco NAME ...`` command.

    Attributes:
        name: the command (``lartpc-display``): lower case, words joined by ``-``.
        help: one line for ``hepreco --help``.
        run: ``Namespace -> int`` (the exit code), or ``"package.module:function"``.
        arguments: adds the command's arguments to its ``argparse`` parser (or ``"package.module:function"``);
            None: no arguments.
    """

    name: str
    help: str
    run: Handler | str
    arguments: AddArguments | str | None = None

    def __post_init__(self) -> None:
        if not self.name or not all(part.isalnum() for part in self.name.split("-")) or self.name != self.name.lower():
            raise ValueError(f"command name {self.name!r}: lower-case words joined by '-' (lartpc-display)")

    def handler(self) -> Handler:
        """The run function (imported if given by name)."""
        fn: Handler = resolve(self.run)
        return fn

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's arguments to ``parser``."""
        if self.arguments is not None:
            resolve(self.arguments)(parser)
