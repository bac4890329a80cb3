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
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 5)
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
