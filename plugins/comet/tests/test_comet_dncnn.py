"""The DnCNN hit classifier: network shapes, the masked loss, training, and the module in jobs."""

from __future__ import annotations

import numpy as np
import pytest

import hepreco
from hepreco import ModuleError

torch = pytest.importorskip("torch")

from hepreco_comet.models import DnCNNParams, image_shape  # noqa: E402
from hepreco_comet.nets.dncnn import build, build_denoiser, masked_loss  # noqa: E402

SHAPES = {"wire": (71, 71), "xy": (128, 128), "layercell": (20, 306)}


@pytest.mark.parametrize("layout", list(SHAPES))
def test_shapes_for_every_layout(layout):
    hp = DnCNNParams(depth=3, width=4, layout=layout)
    assert image_shape(hp) == SHAPES[layout]
    x = torch.rand(2, 2, *SHAPES[layout])
    assert build(hp)(x).shape == (2, 1, *SHAPES[layout])
    assert build_denoiser(hp)(x).shape == (2, 2, *SHAPES[layout])


def test_architecture_follows_the_paper():
    net = build(DnCNNParams(depth=5, width=8))
    body = list(net.denoiser.body)
    convs = [m for m in body if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in body if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == 5 and len(norms) == 3  # first and last without BatchNorm
    assert isinstance(body[1], torch.nn.ReLU) and not isinstance(body[-1], torch.nn.ReLU)
    assert convs[0].in_channels == 2 and convs[-1].out_channels == 2
    assert net.head.in_channels == 2 and net.head.out_channels == 1


def test_masked_loss_ignores_pixels_outside_the_mask():
    torch.manual_seed(0)
    out = torch.randn(2, 1, 4, 5, requires_grad=True)
    target = (torch.rand(2, 4, 5) > 0.5).float()
    mask = torch.zeros(2, 4, 5)
    mask[:, 1:3] = 1
    loss = masked_loss(out, {"target": target, "mask": mask})
    ref = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0][mask > 0], target[mask > 0])
    assert torch.allclose(loss, ref)
    loss.backward()
    assert torch.all(out.grad[:, 0][mask == 0] == 0)
    assert torch.any(out.grad[:, 0][mask > 0] != 0)
    # without a mask: every pixel counts
    full = masked_loss(out, {"target": target, "mask": None})
    assert torch.allclose(full, torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], target))


def _job(imager_layout="layercell", weights="builtin:comet-dncnn", events=4, **dncnn):
    return {
        "process": "test",
        "seed": 3,
        "source": {"module": "comet.CDCSimSource", "events": events, "batch_size": 2, "pileup": 0.3},
        "modules": {
            "imager": {"module": "comet.HitImager", "layout": imager_layout},
            "dncnn": {"module": "comet.DnCNNHitClassifier", "weights": weights, **dncnn},
        },
        "paths": {"reco": ["imager", "dncnn"]},
    }


@pytest.mark.parametrize("name", ["comet-dncnn", "comet-dncnn-1d", "comet-dncnn-dae"])
def test_shipped_checkpoint_in_a_job(name):
    from hepreco.ml import model_provenance

    r = hepreco.run(_job(weights=f"builtin:{name}", cut=0.3))
    prov = model_provenance(r.summaries)["dncnn"]
    assert prov["model"] == "comet-dncnn" and prov["device"] == "cpu" and len(prov["hash"]) == 64


@pytest.fixture(scope="module")
def tiny_dncnn(tmp_path_factory):
    """A 3x4 DnCNN trained one epoch on 10 events (wire layout), and its denoiser pre-training."""
    from hepreco.ml import train

    out = tmp_path_factory.mktemp("dncnn")
    job = {
        "process": "images",
        "seed": 2,
        "source": {"module": "comet.CDCSimSource", "events": 10, "batch_size": 5, "pileup": 0.3},
        "modules": {
            "imager": {"module": "comet.HitImager", "layout": "wire", "targets": True, "mask": True},
            "clean": {"module": "comet.SignalImage"},
        },
        "paths": {"reco": ["imager", "clean"]},
    }
    import yaml

    (out / "job.yaml").write_text(yaml.safe_dump(job))
    common = {
        "plugins": ["hepreco_comet.plugin"],
        "training": {"epochs": 1, "batch_size": 4, "seed": 1, "threads": 1, "early_stopping": None},
    }
    data = {
        "job": str(out / "job.yaml"),
        "inputs": {"image": "imager:image"},
        "mask": "imager:mask",
        "split": {"train": 0.6, "valid": 0.4, "test": 0.0},
    }
    hp = {"depth": 3, "width": 4, "layout": "wire"}
    den = train(
        {**common, "model": {"name": "comet-dncnn-denoiser", "hparams": hp}, "data": {**data, "target": "clean:image"}},
        output=out / "den",
        quiet=True,
    )
    clf = train(
        {
            **common,
            "model": {"name": "comet-dncnn", "hparams": {**hp, "pretrained": str(den.best)}},
            "data": {**data, "target": "imager:target"},
        },
        output=out / "clf",
        quiet=True,
    )
    return den, clf


def test_denoiser_pretraining_starts_the_classifier(tiny_dncnn):
    from safetensors.torch import load_file

    den, clf = tiny_dncnn
    assert "val_loss" in den.history[0] and "val_auc" in clf.history[0]
    pre = load_file(str(den.best / "model.safetensors"))
    net = build(DnCNNParams(depth=3, width=4, layout="wire", pretrained=str(den.best)))
    for name, value in pre.items():
        assert torch.equal(net.denoiser.state_dict()[name], value)


def test_scores_return_to_their_hits(tiny_dncnn):
    """Per hit, the module's score is the network's output at the hit's pixel; dropped hits get ``fill``."""
    from hepreco.ml import load_checkpoint

    _, clf = tiny_dncnn
    cfg = _job(imager_layout="wire", weights=str(clf.best), events=3, fill=-1.0, cut=0.5)
    cfg["plugins"] = [str(__import__("pathlib").Path(__file__).with_name("cometprobe.py"))]
    cfg["modules"]["keep"] = {
        "module": "cometprobe.Keep",
        "src": ["imager:image", "imager:hit_pixel", "dncnn:score", "dncnn:selected"],
    }
    cfg["end_paths"] = {"ana": ["keep"]}
    hepreco.run(cfg)
    from hepreco_userplugin_cometprobe import KEPT

    ckpt = load_checkpoint(clf.best)
    for _, ev in KEPT["keep"]:
        image = np.asarray(ev["imager:image"], dtype=np.float32)[None]
        prob = ckpt.predict({"image": image})[0, 0].ravel()
        pix = np.asarray(ev["imager:hit_pixel"])
        score = np.asarray(ev["dncnn:score"])
        assert score.shape == pix.shape
        np.testing.assert_allclose(score[pix >= 0], prob[pix[pix >= 0]], rtol=1e-5, atol=1e-6)
        assert np.all(score[pix < 0] == -1.0)
        assert np.array_equal(np.asarray(ev["dncnn:selected"]), score >= 0.5)


def test_checkpoint_for_another_layout_is_refused(tiny_dncnn):
    _, clf = tiny_dncnn
    # the module is told the layout: refused when the job starts, naming both
    with pytest.raises(ModuleError, match=r"(?s)\(2, 20, 306\).*\(2, 71, 71\)|\(2, 71, 71\).*\(2, 20, 306\)"):
        hepreco.run(_job(imager_layout="layercell", weights=str(clf.best), layout="layercell"))
    # not told: the image shape is checked on the first batch
    with pytest.raises(ModuleError, match="image"):
        hepreco.run(_job(imager_layout="layercell", weights=str(clf.best)))


@pytest.mark.parametrize("layout", list(SHAPES))
def test_the_talks_other_classifiers_keep_the_image_shape(layout):
    x = torch.rand(2, 2, *SHAPES[layout])
    for arch in ("dncnn1d", "dae"):
        assert build(DnCNNParams(depth=3, width=4, layout=layout, arch=arch))(x).shape == (2, 1, *SHAPES[layout])


def test_1d_dncnn_sees_only_its_own_row():
    # a change in one row of the image never reaches another row's logits: the convolutions are 1 x 3
    torch.manual_seed(0)
    net = build(DnCNNParams(depth=4, width=4, layout="layercell", arch="dncnn1d")).eval()
    x = torch.rand(1, 2, 20, 306)
    y = x.clone()
    y[0, :, 7, 100] += 1.0
    d = (net(y) - net(x)).abs()[0, 0]
    assert d[7].max() > 0
    assert torch.all(d[:7] == 0) and torch.all(d[8:] == 0)
    assert torch.all(d[7, :90] == 0)  # 4 layers + the head: 5 pixels either side at most


def test_dilations_widen_what_a_pixel_sees():
    # depth 4 + head, 3 x 3: a change reaches 5 pixels either side; dilated 1, 4, 8, 1, it reaches 15 (1+4+8+1+1)
    torch.manual_seed(0)
    x = torch.rand(1, 2, 71, 71)
    y = x.clone()
    y[0, :, 35, 35] += 1.0
    for dil, reach in ((None, 5), ((1, 4, 8, 1), 15)):
        net = build(DnCNNParams(depth=4, width=4, layout="wire", dilations=dil)).eval()
        d = (net(y) - net(x)).abs()[0, 0]
        cols = torch.nonzero(d.amax(dim=0) > 0).ravel()
        assert d.shape == (71, 71) and int(cols.max()) - 35 == reach and 35 - int(cols.min()) == reach
    with pytest.raises(ValueError, match=r"3 entries: give one per layer \(depth 4\)"):
        DnCNNParams(depth=4, dilations=(1, 2, 1))
    with pytest.raises(ValueError, match="dae"):
        DnCNNParams(depth=2, dilations=(1, 2), arch="dae")


def test_a_pretrained_body_must_have_the_same_dilations(tiny_dncnn):
    den, _ = tiny_dncnn
    with pytest.raises(ValueError, match=r"dilations None.*dilations \[?\(?1, 2, 1"):
        build(DnCNNParams(depth=3, width=4, layout="wire", pretrained=str(den.best), dilations=(1, 2, 1)))


def test_autoencoder_squeezes_the_image_and_refuses_a_denoiser():
    net = build(DnCNNParams(width=4, layout="wire", arch="dae"))
    x = torch.rand(1, 2, 71, 71)
    assert net.down2(net.down1(net.inp(x))).shape == (1, 16, 18, 18)  # a 4x smaller code, 4 x width channels
    with pytest.raises(ValueError, match="dae"):
        build(DnCNNParams(width=4, arch="dae", pretrained="builtin:comet-dncnn"))


@pytest.mark.parametrize("arch", ["dncnn1d", "dae"])
def test_other_classifiers_train_and_run_in_a_job(tmp_path, arch):
    from hepreco.ml import train

    job = {
        "process": "images",
        "seed": 2,
        "source": {"module": "comet.CDCSimSource", "events": 8, "batch_size": 4, "pileup": 0.3},
        "modules": {"imager": {"module": "comet.HitImager", "layout": "layercell", "targets": True, "mask": True}},
        "paths": {"reco": ["imager"]},
    }
    import yaml

    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    res = train(
        {
            "plugins": ["hepreco_comet.plugin"],
            "model": {"name": "comet-dncnn", "hparams": {"depth": 3, "width": 4, "layout": "layercell", "arch": arch}},
            "data": {"job": str(tmp_path / "job.yaml"), "inputs": {"image": "imager:image"}, "target": "imager:target",
                     "mask": "imager:mask", "split": {"train": 0.5, "valid": 0.5, "test": 0.0}},
            "training": {"epochs": 1, "batch_size": 4, "seed": 1, "threads": 1, "early_stopping": None},
        },
        output=tmp_path / "out",
        quiet=True,
    )  # fmt: skip
    r = hepreco.run(_job(weights=str(res.best)))
    assert r.summaries["dncnn"]["model"] == "comet-dncnn"
