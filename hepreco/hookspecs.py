"""Every hook a hepreco plugin can implement, grouped by what it registers.

A plugin is a module (or object) with functions marked ``@hepreco.hookimpl`` whose names are hook names
below. It is found through the entry-point group ``hepreco`` (``[project.entry-points.hepreco]
name = "package.module"``) or named in a job config's ``plugins:`` list. Hooks are called once at
start-up, never per batch.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("hepreco")
hookimpl = pluggy.HookimplMarker("hepreco")


# --- registration: what a plugin provides ------------------------------------------------------
@hookspec
def hepreco_modules() -> list[type]:
    """The module classes (Producer, Filter, Analyzer, Output subclasses) this plugin provides.

    Their type names in job configs are ``<plugin>.<ClassName>``; the bare ``ClassName`` works
    where it is unique among all plugins.
    """


@hookspec
def hepreco_sources() -> list[type]:
    """The Source classes this plugin provides (named like modules)."""


@hookspec
def hepreco_services() -> list[type]:
    """The Service classes this plugin provides; a job config names them under ``services:``."""


@hookspec
def hepreco_models() -> list[Any]:
    """Trainable models this plugin provides (network classes and other trainable models), for
    ``hepreco train`` and the inference modules; see ``hepreco.ml``."""


@hookspec
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """Checkpoints shipped inside the plugin package: ``{name: path}``, resolved by ``builtin:NAME``."""
