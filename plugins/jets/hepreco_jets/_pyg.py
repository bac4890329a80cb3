"""This module imports torch_geometric quietly: its import calls ``torch.jit.script``, which torch 2.13
deprecates with a DeprecationWarning (an error where warnings are errors, as in the test suite)."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["pyg"]


def pyg() -> Any:
    """``torch_geometric``, imported with the ``torch.jit.script`` deprecation silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
        import torch_geometric
        import torch_geometric.data
        import torch_geometric.nn
        import torch_geometric.utils

    return torch_geometric
