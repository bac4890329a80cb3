"""Names a package loads on first use (PEP 562), so that importing it stays cheap: hepreco's own packages and
plugins use it to keep ``hepreco --help`` and a plugin's registration free of numpy, awkward, numba or torch.

Examples:
    In a package's ``__init__.py``::

        from hepreco.lazy import lazy_attributes

        __all__ = ["simulate", "SimParameters"]
        __getattr__, __dir__ = lazy_attributes(__name__, {
            "simulate": "mypkg.simulation",
            "SimParameters": "mypkg.simulation",
        })

    ``mypkg.simulate`` and ``from mypkg import simulate`` then import ``mypkg.simulation`` the first time.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(module: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` that import ``table[name]`` (a module path) when ``name`` is
    first asked for, keep the value in the module, and list the lazy names with the others."""

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[module], name, value)  # once
        return value

    def __dir__() -> list[str]:
        mod = sys.modules[module]
        return sorted(set(vars(mod)) | set(table) | set(getattr(mod, "__all__", ())))

    return __getattr__, __dir__
