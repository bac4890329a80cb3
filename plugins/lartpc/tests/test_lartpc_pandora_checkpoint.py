"""The GPU-trained, Pandora-size checkpoint ships, loads on the CPU and is Pandora's network."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")


def test_pandora_size_checkpoint_loads_and_is_pandoras_network():
    from hepreco.ml import load_checkpoint

    ckpt = load_checkpoint("builtin:lartpc-unet-pandora", model="lartpc-unet")
    hp = ckpt.metadata["hparams"]
    assert (hp["depth"], hp["filters"], hp["tile"]) == (4, 16, 256)
    net = ckpt.build()
    assert sum(p.numel() for p in net.parameters()) == 2_161_875
    assert ckpt.metadata["data"]  # the recipe that made it is recorded
