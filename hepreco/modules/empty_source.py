"""This module defines EmptySource, art's EmptyEvent: N events with ids and no products."""

from __future__ import annotations

from hepreco.core.module import GeneratorSource

__all__ = ["EmptySource"]


class EmptySource(GeneratorSource):
    """``events`` events numbered from ``first_event`` in run ``run``, subrun ``subrun``, no products
    (art's EmptyEvent): the start of every job whose producers make their own data."""
