"""This module defines the keep/drop product selection of outputs (art's outputCommands)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

__all__ = ["match_product", "select_products"]


def match_product(name: str, pattern: str) -> bool:
    """Whether product ``name`` (``label`` or ``label:instance``) matches ``pattern``.

    A pattern without ``:`` names a label and matches all its instances; ``*`` and ``?`` are wildcards.

    Examples:
        >>> match_product("hitid:mask", "hitid"), match_product("source:hits", "source:*")
        (True, True)
        >>> match_product("imager:image", "hit*:*")
        False
    """
    label, _, instance = name.partition(":")
    if ":" in pattern:
        plab, _, pins = pattern.partition(":")
        return fnmatch.fnmatchcase(label, plab) and fnmatch.fnmatchcase(instance, pins)
    return fnmatch.fnmatchcase(label, pattern)


def select_products(names: Iterable[str], keep: Sequence[str], drop: Sequence[str]) -> list[str]:
    """The names kept by any ``keep`` pattern and dropped by no ``drop`` pattern, in input order."""
    return [n for n in names if any(match_product(n, k) for k in keep) and not any(match_product(n, d) for d in drop)]
