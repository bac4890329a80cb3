"""This module defines Device: which compute device and precision networks run on."""

from __future__ import annotations

from typing import Any, Literal

from hepreco.core.module import ModuleConfig
from hepreco.core.service import Service

__all__ = ["Device", "resolve_device"]


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda``/``cuda:N`` are checked."""
    if device == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError as err:
        if device == "auto":
            return "cpu"
        msg = "Device: device 'cuda' needs PyTorch: pip install torch"
        raise RuntimeError(msg) from err
    has_cuda = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if not has_cuda:
        msg = f"Device: device '{device}' was asked for but torch sees no CUDA GPU (use device: auto or cpu)"
        raise RuntimeError(msg)
    return device


class Device(Service):
    """Where networks run (``cpu``, ``cuda``, ``cuda:N`` or ``auto``) and at which precision."""

    essential = True

    class Config(ModuleConfig):
        device: str = "auto"
        """``auto`` (a GPU when torch sees one), ``cpu``, ``cuda`` or ``cuda:N``."""
        precision: Literal["fp32", "bf16", "fp16"] = "fp32"
        """Autocast precision for inference on a GPU (fp32 = no autocast)."""
        channels_last: bool = True
        """Use the channels-last memory format for convolutions on a GPU."""

    _resolved: str | None = None

    @property
    def device(self) -> str:
        """The resolved device string (resolved on first use, importing torch only then)."""
        if self._resolved is None:
            self._resolved = resolve_device(self.config.device)
        return self._resolved

    @property
    def torch_device(self) -> Any:
        import torch

        return torch.device(self.device)

    @property
    def is_gpu(self) -> bool:
        return self.device.startswith("cuda")

    def report(self) -> dict[str, Any] | None:
        if self._resolved is None:
            return None
        return {"device": self._resolved, "precision": self.config.precision}
