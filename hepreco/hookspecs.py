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
    where it is unique among all plugins. Give a class, or its name as ``"package.module:ClassName"``:
    a name is imported only when a job uses the type, so that registering the plugin imports nothing heavy
    (numba, torch, matplotlib) and every command starts at once; ``hepreco list`` reads its docstring from
    the source file.
    """


@hookspec
def hepreco_sources() -> list[type]:
    """The Source classes this plugin provides (named like modules; classes or ``"package.module:Class"``)."""


@hookspec
def hepreco_services() -> list[type]:
    """The Service classes this plugin provides (classes or ``"package.module:Class"``); a job config names
    them under ``services:``."""


@hookspec
def hepreco_models() -> list[Any]:
    """The trainable models this plugin provides, as ``hepreco.ml.ModelSpec`` objects.

    A spec names the model (``comet-dncnn``), its builder from hyper-parameters (a torch network, or a
    ``hepreco.ml.Trainable`` such as a GBDT), the hyper-parameter model, the inputs and their
    preprocessing, and the task. ``hepreco train`` trains them by name and checkpoints record the name.
    Keep this hook cheap: a spec refers to its builder (a callable or ``"package.module:attr"``) and never
    imports torch or builds a network itself. Return ``{name: "package.module:ATTR"}`` instead of the specs
    and they are imported only when a model is used (``hepreco list`` reads their ``kind``, ``task`` and
    ``doc`` from the source).
    """


@hookspec
def hepreco_builtin_checkpoints() -> dict[str, str]:
    """Checkpoints shipped inside the plugin package: ``{name: folder}``, found as ``builtin:NAME``.

    Each folder is a hepreco checkpoint (``metadata.json`` plus the weights, see
    ``hepreco.ml.checkpoint``); give absolute paths, e.g. ``str(Path(__file__).parent / "checkpoints" / NAME)``,
    and ship the folders as package data.
    """


@hookspec
def hepreco_commands() -> list[Any]:
    """Command-line commands this plugin adds (``hepreco NAME ...``), as :class:`hepreco.commands.Command`
    objects. Keep this hook cheap (it runs for ``hepreco --help``): give a command's functions as
    ``"package.module:function"`` strings when their module imports anything heavy."""


@hookspec
def hepreco_executors() -> list[Any]:
    """Executors this plugin adds (``executor: {kind: NAME}``, ``--executor NAME``): subclasses of
    :class:`hepreco.executors.Executor` (dataclasses whose ``name`` is the kind), or
    ``"package.module:Class"`` strings imported when a job uses them. The executor gets the ``executor:``
    fields its dataclass has (``workers``, ``chunk_size``, ``retries``, ``journal``, ``merge``, ``workdir``...).
    A pool of workers needs only a :class:`hepreco.executors.Backend` and :func:`hepreco.executors.run_chunked`
    (see the README's "A new executor")."""


@hookspec
def hepreco_displays() -> list[Any]:
    """Event displays this plugin adds to the Monitor's page (``hepreco run --monitor``, ``hepreco monitor``),
    as :class:`hepreco.monitor.Display` objects: a name, a title, the product drawn (by its record fields or
    its name) and the render function, given as ``"package.module:function"`` so that this hook imports
    nothing heavy (``hepreco.monitor.display`` itself imports only the standard library). The page knows no
    detector: it draws what the render function returns (points in panels, or an image)."""
