"""The shipped EM/track/Michel checkpoint is LArSoft's network, trained by the recipe, and separates em from
track and Michel from other hits on a held-out event (a few hits: no full evaluation here)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_the_shipped_checkpoint_is_larsofts_network_and_separates_classes(em_like_on_collection_views):
    from hepreco_lartpc.emtrkmichel_modes import run_view

    from hepreco.ml import load_checkpoint

    ckpt = load_checkpoint("builtin:lartpc-emtrkmichel", model="lartpc-emtrkmichel")
    hp = ckpt.metadata["hparams"]
    assert (hp["patch"], hp["filters"], hp["kernel"], hp["dense1"], hp["dense2"]) == (48, 48, 5, 128, 32)
    assert ckpt.metadata["training"]["optimizer"]["nesterov"] is True
    net = ckpt.build().eval()
    em_like, t = em_like_on_collection_views(lambda img, rows, cols: run_view(net, img, rows, cols, "shared")[0])
    assert (t == 0).sum() > 20 and (t == 1).sum() > 20
    assert em_like[t == 0].mean() > em_like[t == 1].mean() + 0.2


def test_the_shipped_checkpoint_is_int8_on_disk_and_float32_in_the_network():
    from safetensors import safe_open

    from hepreco.ml import load_checkpoint
    from hepreco.ml.checkpoint import INT8_SCALE_SUFFIX

    ckpt = load_checkpoint("builtin:lartpc-emtrkmichel", model="lartpc-emtrkmichel")
    # 11.9 M parameters: 47.6 MB as float32, 23.8 MB as float16, 11.9 MB as int8
    assert ckpt.weights_path.stat().st_size < 20e6
    assert ckpt.metadata["weights"]["dtype"] == "int8"
    assert ckpt.metadata["epoch"] == 2 and ckpt.metadata["converted_from"]["dtype"] == "float32"
    quantized = ckpt.metadata["weights"]["quantization"]["tensors"]
    assert "dense1.weight" in quantized
    with safe_open(str(ckpt.weights_path), framework="pt") as f:
        dtypes = {k: str(f.get_tensor(k).dtype) for k in f.keys()}
    assert {dtypes[k] for k in quantized} == {"torch.int8"}
    assert {dtypes[k + INT8_SCALE_SUFFIX] for k in quantized} == {"torch.float32"}
    assert {v for k, v in dtypes.items() if k not in quantized} == {"torch.float32"}  # biases and scales
    assert {str(p.dtype) for p in ckpt.build().parameters()} == {"torch.float32"}


@pytest.mark.parametrize("name", ["lartpc-emtrkmichel", "lartpc-emtrkmichel-fcn"])
def test_the_shipped_checkpoints_record_a_michel_working_point_chosen_on_training_side_events(name):
    from hepreco.ml import load_checkpoint

    wp = load_checkpoint(f"builtin:{name}").working_point
    assert 0 < wp["michel_threshold"] < 1
    assert "--seed 11" in wp["data"] and "seed 31" not in wp["data"].replace("never the held-out seed 31", "")
