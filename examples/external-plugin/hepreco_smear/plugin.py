"""Registers the plugin's modules with hepreco (the entry point names this module)."""

from __future__ import annotations

import hepreco
from hepreco_smear.smear import Smear


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [Smear]
