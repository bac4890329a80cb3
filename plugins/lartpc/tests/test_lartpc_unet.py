"""The U-Net is Pandora's network, its loss weights classes by inverse frequency, and UNetTrackShower returns the
network's pixels to the hits, through the GPU code path (autocast, channels-last, batching) run on the CPU."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepreco

torch = pytest.importorskip("torch")

from hepreco_lartpc.unet import UNetParams, build, weighted_cross_entropy  # noqa: E402

from hepreco.ml import get_model, save_checkpoint  # noqa: E402


def test_pandoras_network_has_its_size_and_the_layers_of_the_talk():
    net = build(UNetParams())  # depth 4, 16 filters, 256 x 256
    assert sum(p.numel() for p in net.parameters()) == 2_161_875
    kinds = {type(m).__name__ for m in net.modules()}
    assert {"Conv2d", "ConvTranspose2d", "GroupNorm", "ReLU", "Dropout2d", "MaxPool2d"} <= kinds
    assert net.head.out_channels == 3
    with pytest.raises(ValueError, match="multiple of 2\\*\\*depth"):
        UNetParams(tile=100)


def test_loss_weights_rare_classes_up():
    logits = torch.zeros(1, 3, 1, 10)
    logits[0, 1, 0, :] = 2.0  # every pixel called shower
    target = torch.tensor([[[0, 0, 0, 0, 0, 0, 0, 0, 1, 2]]])
    plain = torch.nn.functional.cross_entropy(logits, target)
    weighted = weighted_cross_entropy(logits, {"target": target})
    # each class weighs the same in total: the wrong track pixel counts as much as all eight null pixels
    per = torch.nn.functional.cross_entropy(logits, target, reduction="none")[0, 0]
    expected = (per[:8].mean() + per[8] + per[9]) / 3
    assert torch.isclose(weighted, expected, atol=1e-6) and not torch.isclose(weighted, plain)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    spec = get_model("lartpc-unet")
    hp = UNetParams(depth=2, filters=8, tile=32)
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", spec=spec, model=spec.build_model(hp), hparams=hp)


def _job(weights, *, device, batch_size=None, gpu_path=False, size=32):
    return {
        "process": "unet",
        "seed": 2,
        "source": {"module": "lartpc.LArTPCSimSource", "events": 3, "batch_size": 3},
        "services": {"Device": device},
        "modules": {
            "imager": {"module": "lartpc.ViewImager", "size": size},
            "unet": {"module": "lartpc.UNetTrackShower", "weights": str(weights), "size": size,
                     "batch_size": batch_size, "gpu_path_on_cpu": gpu_path},
            "out": {"module": "RootOutput", "file": "unet.root", "keep": ["source:hits", "unet:*"]},
        },
        "paths": {"p": ["imager", "unet"]},
        "end_paths": {"o": ["out"]},
    }  # fmt: skip


def _read(path):
    import uproot

    return uproot.open(path)["events"].arrays()


def test_scores_reach_every_hit_and_the_gpu_path_agrees(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ref = hepreco.run(_job(tiny_ckpt.path, device={"device": "cpu"}))
    a = _read("unet.root")
    n = ak.num(a["hits_charge"])
    assert ak.all(ak.num(a["unet_track_score"]) == n) and ak.all(ak.num(a["unet_label"]) == n)
    t, s = ak.flatten(a["unet_track_score"]), ak.flatten(a["unet_shower_score"])
    assert ak.all(abs(t + s - 1) < 1e-5) and ak.all((t >= 0) & (t <= 1))
    assert ak.all((a["unet_label"] == 2) == (a["unet_track_score"] >= 0.5))
    assert ref.summaries["unet"]["model_precision"] == "fp32"

    # the GPU code path on the CPU: channels-last and pieces of 4 tiles give the same scores ...
    (tmp_path / "cl").mkdir()
    monkeypatch.chdir(tmp_path / "cl")
    cl = hepreco.run(_job(tiny_ckpt.path, device={"device": "cpu", "channels_last": True}, batch_size=4,
                          gpu_path=True))  # fmt: skip
    assert cl.summaries["unet"]["model_channels_last"] is True
    c = ak.to_numpy(ak.flatten(_read("unet.root")["unet_track_score"]))
    assert np.abs(c - ak.to_numpy(t)).max() < 1e-3  # float32 rounding of another convolution algorithm
    # ... and bf16 autocast gives them to bf16 precision
    (tmp_path / "bf16").mkdir()
    monkeypatch.chdir(tmp_path / "bf16")
    gpu = hepreco.run(_job(tiny_ckpt.path, device={"device": "cpu", "precision": "bf16", "channels_last": True},
                           batch_size=4, gpu_path=True))  # fmt: skip
    s = gpu.summaries["unet"]
    assert s["model_precision"] == "bf16" and s["model_channels_last"] is True
    b = ak.to_numpy(ak.flatten(_read("unet.root")["unet_track_score"]))
    diff = np.abs(b - ak.to_numpy(t))
    assert np.quantile(diff, 0.99) < 0.05 and 0 < diff.max() < 0.2


def test_a_checkpoint_for_another_tile_size_is_refused_at_start(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="32") as err:
        hepreco.run(_job(tiny_ckpt.path, device={"device": "cpu"}, size=64))
    assert "64" in str(err.value)
