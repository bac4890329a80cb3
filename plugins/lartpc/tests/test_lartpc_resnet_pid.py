"""Issue 15: the particle-ID ResNet: depth a hyper-parameter (18 by default, 50 with bottlenecks), the images and
targets of single-particle events, lartpc.ParticleID in a job and its confusion matrix and e/gamma figures."""

from __future__ import annotations

import numpy as np
import pytest

import hepreco

torch = pytest.importorskip("torch")

from hepreco_lartpc.particle_imager import particle_images, pid_class  # noqa: E402
from hepreco_lartpc.resnet_pid import build  # noqa: E402
from hepreco_lartpc.resnet_pid_spec import ResNetPIDParams  # noqa: E402

from hepreco.ml import get_model, save_checkpoint  # noqa: E402


@pytest.mark.parametrize(("depth", "convs"), [(10, 9), (18, 17), (34, 33), (50, 49)])
def test_depth_is_the_resnets(depth, convs):
    net = build(ResNetPIDParams(depth=depth, width=8, size=32))
    # the stem and every block's convolutions (shortcut projections aside) make the depth, the linear layer the last
    body = [m for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d) and "short" not in n]
    assert len(body) == convs
    assert net(torch.zeros(2, 9, 32, 32)).shape == (2, 5)
    assert get_model("lartpc-resnet-pid").make_hparams().depth == 18


def test_classes_and_images():
    assert pid_class(np.array([-11, 22, 13, -211, 2212, 111])).tolist() == [0, 1, 2, 3, 4, -1]
    off = np.array([0, 3, 3])
    img = particle_images(off, np.array([0, 1, 2]), np.array([0.0, 1.0, 3.0]), np.array([0.0, 9.0, 0.0]),
                          np.array([1e4, 2e4, 5e4]), size=8, pixel=1.0)  # fmt: skip
    assert img.shape == (2, 3, 8, 8) and img[1].sum() == 0
    assert img[0, 0].sum() == 1.0 and img[0, 1].sum() == 2.0  # each view centred on its own w centroid
    assert img[0, 2, 4, 4] == 5.0  # the x centroid is at 2.125 cm: the W hit at 3 cm is in column 4
    far = particle_images(off, np.array([0, 1, 2]), np.array([0.0, 1.0, 30.0]), np.array([0.0, 9.0, 0.0]),
                          np.array([1e4, 2e4, 5e4]), size=8, pixel=1.0)  # fmt: skip
    assert far[0].sum() == 0.0  # the x centroid (19 cm) is more than 4 cm from every hit: none is in the window


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    spec = get_model("lartpc-resnet-pid")
    hp = ResNetPIDParams(depth=10, width=8, size=16)
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "pid", spec=spec, model=spec.build_model(hp), hparams=hp)


def test_particle_id_in_a_job(tiny_ckpt):
    job = {
        "process": "pid",
        "seed": 3,
        "source": {"module": "lartpc.LArTPCSimSource", "events": 12, "batch_size": 5, "mode": "single",
                   "single_pdg": [11, 22, 13, 211, 2212], "single_momentum": [0.2, 0.4]},
        "modules": {
            "pidimager": {"module": "lartpc.ParticleImager", "size": 16, "targets": True},
            "pid": {"module": "lartpc.ParticleID", "weights": str(tiny_ckpt.path)},
            "metrics": {"module": "lartpc.ParticleIDMetrics"},
        },
        "paths": {"p": ["pidimager", "pid"]},
        "end_paths": {"a": ["metrics"]},
    }  # fmt: skip
    res = hepreco.run(job)
    s = res.summaries["metrics"]
    cm = np.array(s["confusion"])
    assert cm.shape == (5, 5) and cm.sum() == s["events"] > 0
    assert s["accuracy"] == pytest.approx(np.trace(cm) / cm.sum(), abs=1e-5)
    assert {"electron_accuracy", "photon_accuracy"} <= set(s) or cm[:2].sum() == 0


def test_images_centred_on_a_given_point():
    off = np.array([0, 2, 3])
    view, x, w, q = np.array([2, 0, 2]), np.array([10.0, 10.0, 3.0]), np.array([5.0, 7.0, 0.0]), np.full(3, 1e4)
    # event 0 around (x 10, w 5 in every view); event 1's centre is NaN: its centroid stays
    cx = np.array([10.0, np.nan])
    cw = np.array([[7.0, 7.0, 5.0], [np.nan] * 3])
    img = particle_images(off, view, x, w, q, size=8, pixel=1.0, center=(cx, cw))
    assert img[0, 2, 4, 4] == 1.0 and img[0, 0, 4, 4] == 1.0  # each hit at its view's centre
    assert img[1, 2, 4, 4] == 1.0  # the lone hit of event 1 is its own centroid
    coarse = particle_images(off, view, x + np.array([6.0, 0, 0]), w, q, size=8, pixel=4.0, center=(cx, cw))
    assert coarse[0, 2, 4, 5] == 1.0  # 6 cm away in x: one 4-cm pixel to the right


def _images(tmp_path, name, **imager):
    import uproot

    job = {
        "process": "pidimg",
        "seed": 5,
        "source": {"module": "lartpc.LArTPCSimSource", "events": 6, "batch_size": 6, "mode": "single",
                   "single_pdg": [22, 11, 13], "single_momentum": [0.3, 0.5]},
        "modules": {"img": {"module": "lartpc.ParticleImager", "size": 32, "targets": True, **imager},
                    "out": {"module": "RootOutput", "file": str(tmp_path / f"{name}.root"), "keep": ["img:*"]}},
        "paths": {"p": ["img"]},
        "end_paths": {"o": ["out"]},
    }  # fmt: skip
    hepreco.run(job)
    return uproot.open(tmp_path / f"{name}.root")["events"].arrays(library="np")


def test_vertex_centre_and_context_in_a_job(tmp_path):
    cen = _images(tmp_path, "cen", windows=[{"center": "centroid", "pixel": 1.0}])
    vtx = _images(tmp_path, "vtx", windows=[{"center": "vertex", "pixel": 1.0}, {"center": "vertex", "pixel": 4.0}])
    both = _images(tmp_path, "default")
    key = next(k for k in cen if k.endswith("image"))
    tkey, vkey = (next(k for k in vtx if k.endswith(s)) for s in ("target", "valid"))
    img_c, img_v = np.stack(cen[key]), np.stack(vtx[key])
    assert img_c.shape == (6, 3, 32, 32) and img_v.shape == (6, 6, 32, 32)
    # the default windows are the shipped network's: start at 1 cm, start at 4 cm, centroid at 1 cm
    img_d = np.stack(both[key])
    assert img_d.shape == (6, 9, 32, 32)
    assert np.array_equal(img_d[:, :6], img_v) and np.array_equal(img_d[:, 6:], img_c)
    checked = 0
    for e in range(6):
        if not vtx[vkey][e] or int(vtx[tkey][e]) == 1:
            continue  # a photon starts with a gap: nothing need be at its start
        fine, coarse = img_v[e, :3], img_v[e, 3:]
        # the particle starts at the centre: the collection view has charge in the central pixels
        assert fine[2, 14:18, 14:18].sum() > 0
        # the coarse window (4 cm pixels) holds all the fine window's charge and more
        assert coarse.sum() >= fine.sum() * 0.999
        checked += 1
    assert checked >= 2
    assert not np.allclose(img_c, img_v[:, :3])


def test_log_input_and_flips():
    hp = ResNetPIDParams(depth=10, width=8, size=16, windows=2, log_input=True, flip=True)
    net = build(hp)
    assert net.stem[0].in_channels == 6
    from hepreco_lartpc.resnet_pid_spec import resnet_pid_inputs

    assert resnet_pid_inputs(hp)["image"].shape == (6, 16, 16)
    x = torch.rand(4, 6, 16, 16) * 50
    net.eval()
    y1, y2 = net(x), net(x)
    assert torch.equal(y1, y2)  # no flips outside training
    # log_input: the network sees log1p(charge): a network without it fed log1p(x) gives the same outputs
    plain = build(ResNetPIDParams(depth=10, width=8, size=16, windows=2, log_input=False, flip=False))
    plain.load_state_dict(net.state_dict())
    plain.eval()
    assert torch.allclose(plain(torch.log1p(x)), y1, atol=1e-5)
    # in training mode the flips change what the network sees: with BatchNorm in batch mode the outputs change
    net.train()
    torch.manual_seed(0)
    outs = {tuple(net(x).detach().flatten().round(decimals=4).tolist()) for _ in range(8)}
    assert len(outs) > 1
    # outside training the flips are off: the network is the same as one built without them
    net_nf = build(ResNetPIDParams(depth=10, width=8, size=16, windows=2, log_input=True, flip=False))
    net_nf.load_state_dict(net.state_dict())
    net_nf.eval()
    net.eval()
    assert torch.allclose(net_nf(x), net(x))


def test_group_norm_is_the_same_in_training_and_evaluation():
    net = build(ResNetPIDParams(depth=18, width=8, size=16, norm="group", windows=1, flip=False))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert sum(isinstance(m, torch.nn.GroupNorm) for m in net.modules()) == 1 + 2 * 8 + 3
    x = torch.rand(3, 3, 16, 16)
    net.train()
    y_train = net(x)
    net.eval()
    assert torch.allclose(net(x), y_train, atol=1e-6)
    # BatchNorm's outputs differ between the two (batch statistics against running statistics)
    bn = build(ResNetPIDParams(depth=18, width=8, size=16, norm="batch", windows=1, flip=False))
    bn.train()
    y_bn = bn(x)
    bn.eval()
    assert not torch.allclose(bn(x), y_bn, atol=1e-3)
