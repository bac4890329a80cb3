"""Issue 15: LArSoft's EM/track/none + Michel CNN: its architecture and loss, the five inference modes giving the
same scores, the module's products in a job (and through the GPU code path on the CPU), the training patches."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepreco

torch = pytest.importorskip("torch")

from hepreco_lartpc.emtrkmichel import build, emtrkmichel_loss, joint_logits, scores  # noqa: E402
from hepreco_lartpc.emtrkmichel_modes import MODES, run_view  # noqa: E402
from hepreco_lartpc.emtrkmichel_spec import EmTrkMichelParams  # noqa: E402
from hepreco_lartpc.hit_patches import hit_targets  # noqa: E402
from hepreco_lartpc.patches import extract_patches  # noqa: E402

from hepreco.ml import get_model, load_train_config, save_checkpoint  # noqa: E402

from .conftest import EXAMPLES  # noqa: E402

SMALL = EmTrkMichelParams(patch=16, filters=6, kernel=5, dense1=16, dense2=8)


def test_the_network_is_larsofts():
    net = build(EmTrkMichelParams())
    assert net.conv.in_channels == 1 and net.conv.out_channels == 48 and net.conv.kernel_size == (5, 5)
    assert net.conv.padding == (0, 0)  # valid: 48 -> 44
    assert net.dense1.in_features == 44 * 44 * 48 and net.dense1.out_features == 128
    assert net.dense2.out_features == 32 and net.em_trk_none.out_features == 3 and net.michel.out_features == 1
    assert sum(p.numel() for p in net.parameters()) == 11_900_420
    assert {type(m).__name__ for m in net.modules()} >= {"Conv2d", "Dropout", "Linear"}
    cfg = load_train_config(EXAMPLES / "train_emtrkmichel.yaml")[0]
    opt = cfg.training.optimizer
    assert opt.name == "sgd" and opt.nesterov and opt.momentum == 0.9
    assert get_model("lartpc-emtrkmichel").task == "multiclass"


def test_joint_softmax_is_the_product_of_the_heads_and_the_loss_weights_them():
    torch.manual_seed(3)
    logits = torch.randn(7, 4)
    s = scores(logits)
    joint = torch.softmax(joint_logits(logits), dim=1)
    p3, pm = s[:, :3], s[:, 3:]
    assert torch.allclose(joint, torch.cat([p3 * (1 - pm), p3 * pm], dim=1), atol=1e-6)
    target = torch.tensor([0, 1, 2, 3, 4, 5, 0])
    cls, michel = target % 3, (target >= 3).float()
    expected = (
        0.1 * torch.nn.functional.cross_entropy(logits[:, :3], cls, reduction="none")
        + (torch.sigmoid(logits[:, 3]) - michel) ** 2
    ).mean()
    assert torch.isclose(emtrkmichel_loss(joint_logits(logits), {"target": target}), expected, atol=1e-6)


def _image(rng, shape=(70, 90)):
    img = np.zeros(shape, np.float32)
    img[rng.random(shape) < 0.15] = 1.0
    return img * rng.exponential(3e4, size=shape).astype(np.float32)


@pytest.mark.parametrize(("hp", "fft"), [(SMALL, 32), (EmTrkMichelParams(), 64)])
def test_every_mode_gives_the_same_scores(hp, fft):
    rng = np.random.default_rng(5)
    torch.manual_seed(1)
    net = build(hp).eval()
    for p in net.parameters():  # random weights large enough that a misplaced window shows
        p.data.normal_(0, 0.05)
    img = _image(rng)
    n = 40 if hp.patch < 48 else 12
    rows = np.concatenate([[0, 69, 0, 69], rng.integers(0, 70, n)])  # the corners: windows cross the edges
    cols = np.concatenate([[0, 89, 89, 0], rng.integers(0, 90, n)])
    rows, cols = np.append(rows, rows[5]), np.append(cols, cols[5])  # two hits in one pixel
    ref = run_view(net, img, rows, cols, "patch")[0]
    assert ref.shape == (n + 5, 4) and np.ptp(ref, axis=0).min() > 1e-3  # the hits differ
    for mode in MODES:
        got, used = run_view(net, img, rows, cols, mode, batch_size=7, fft=fft, blocks_per_pass=2)
        assert used in MODES and used != "auto"
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(), err_msg=mode)
    # a hit moved by one pixel changes its scores: the modes do look at the right windows
    moved = run_view(net, img, rows + 1, cols, "shared")[0]
    assert np.abs(moved[4:] - ref[4:]).max() > 1e-3
    np.testing.assert_array_equal(ref[-1], ref[5])


def test_patches_are_centred_on_the_hit():
    img = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    p = extract_patches(img, np.array([5, 0]), np.array([7, 29]), 8)
    assert p.shape == (2, 1, 8, 8)
    assert p[0, 0, 4, 4] == img[5, 7] and p[0, 0, 0, 0] == img[1, 3]
    assert p[1, 0, 4, 4] == img[0, 29] and p[1, 0, :4].sum() == 0 and p[1, 0, :, 5:].sum() == 0


def test_targets_follow_the_simulation_truth():
    t = hit_targets(np.array([1, 2, 0, 1, 2]), np.array([False, False, False, True, False]))
    assert t.tolist() == [0, 1, 2, 3, 1]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    spec = get_model("lartpc-emtrkmichel")
    torch.manual_seed(0)
    net = spec.build_model(SMALL)
    for p in net.parameters():
        p.data.normal_(0, 0.05)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", spec=spec, model=net, hparams=SMALL)


def _job(weights, mode, *, device=None, gpu_path=False):
    return {
        "process": "emt",
        "seed": 4,
        "source": {"module": "lartpc.LArTPCSimSource", "events": 2, "batch_size": 2, "mode": "single",
                   "single_pdg": [13], "single_momentum": [0.2, 0.3], "adc_images": True},
        "services": {"Device": device or {"device": "cpu"}},
        "modules": {
            "emt": {"module": "lartpc.EmTrackMichelId", "weights": str(weights), "mode": mode, "fft": 32,
                    "batch_size": 50, "gpu_path_on_cpu": gpu_path},
            "patches": {"module": "lartpc.HitPatches", "patch": 16, "per_class": 5, "michel": 5, "empty": 3},
            "out": {"module": "RootOutput", "file": "emt.root", "keep": ["source:hits", "emt:*", "patches:target", "patches:view"]},
        },
        "paths": {"p": ["emt", "patches"]},
        "end_paths": {"o": ["out"]},
    }  # fmt: skip


def _read(path):
    import uproot

    return uproot.open(path)["events"].arrays()


def test_the_module_scores_every_hit_the_same_in_every_mode(tiny_ckpt, tmp_path, monkeypatch):
    out = {}
    for mode in ("batched", "patch", "shared", "dense", "auto"):
        (tmp_path / mode).mkdir()
        monkeypatch.chdir(tmp_path / mode)
        res = hepreco.run(_job(tiny_ckpt.path, mode))
        out[mode] = a = _read("emt.root")
        assert res.summaries["emt"]["hits"] == int(ak.sum(ak.num(a["hits_charge"])))
    a = out["batched"]
    n = ak.num(a["hits_charge"])
    assert ak.sum(n) > 50
    names = ("em_score", "track_score", "none_score", "michel_score")
    for name in names:
        assert ak.all(ak.num(a[f"emt_{name}"]) == n)
    total = a["emt_em_score"] + a["emt_track_score"] + a["emt_none_score"]
    assert ak.all(abs(ak.flatten(total) - 1) < 1e-5)
    for mode, b in out.items():
        for name in names:
            d = np.abs(ak.to_numpy(ak.flatten(b[f"emt_{name}"])) - ak.to_numpy(ak.flatten(a[f"emt_{name}"])))
            assert d.max() < 1e-4, (mode, name)
    # the training patches' targets: every class of the hits, and the empty patches as none
    assert ak.all(ak.num(a["patches_view"]) == ak.num(a["patches_target"]))
    assert set(ak.to_numpy(ak.flatten(a["patches_target"])).tolist()) <= set(range(6))
    assert 2 in ak.to_numpy(ak.flatten(a["patches_target"])).tolist()  # the empty patches are class none


def test_the_gpu_path_on_the_cpu_gives_the_scores_to_bf16_precision(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hepreco.run(_job(tiny_ckpt.path, "shared"))
    ref = ak.to_numpy(ak.flatten(_read("emt.root")["emt_em_score"]))
    (tmp_path / "bf16").mkdir()
    monkeypatch.chdir(tmp_path / "bf16")
    res = hepreco.run(_job(tiny_ckpt.path, "shared", device={"device": "cpu", "precision": "bf16"}, gpu_path=True))
    assert res.summaries["emt"]["model_precision"] == "bf16"
    got = ak.to_numpy(ak.flatten(_read("emt.root")["emt_em_score"]))
    diff = np.abs(got - ref)
    assert 0 < diff.max() < 0.1


def test_a_protodune_event_has_six_apas_with_consistent_truth():
    from hepreco_lartpc.simulation import SimParameters, simulate

    p = SimParameters(mode="single", single_pdg=[211], single_momentum=(1.0, 1.0), single_isotropic=False,
                      cosmics=6.0, apas=6, adc_images=True)  # fmt: skip
    one = simulate(np.array([3], dtype=np.uint64), p.model_copy(update={"apas": 1}))
    out = simulate(np.array([3], dtype=np.uint64), p)
    h, parts = out["hits"][0], out["particles"][0]
    assert np.asarray(out["adc_W"]).shape[:2] == (1, 6) and np.asarray(out["adc_U"]).shape[2] == 1120
    apa = np.asarray(h.apa)
    assert set(apa.tolist()) == set(range(6))  # cosmics in every APA
    # APA 0 is the event simulated alone (the beam APA keeps the event's seed)
    assert len(one["hits"][0]) == int(np.sum(apa == 0))
    assert np.array_equal(np.asarray(one["adc_W"])[0], np.asarray(out["adc_W"])[0, 0])
    # every hit's particle is in the same APA, and parents stay inside their APA
    hp = np.asarray(h.particle)
    ok = hp >= 0
    assert np.array_equal(np.asarray(parts.apa)[hp[ok]], apa[ok])
    assert np.array_equal(np.asarray(parts.id), np.arange(len(parts)))
    par = np.asarray(parts.parent)
    assert np.array_equal(np.asarray(parts.apa)[par[par >= 0]], np.asarray(parts.apa)[par >= 0])
    assert int(np.sum(np.asarray(parts.process) == 9)) >= 6  # cosmic muons overlaid in the five others too


def test_metrics_give_the_rocs_and_per_class_figures(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = _job(tiny_ckpt.path, "shared")
    job["modules"]["metrics"] = {"module": "lartpc.EmTrackMichelMetrics", "scores": "emt", "plot_dir": "plots"}
    job["end_paths"]["o"].append("metrics")
    res = hepreco.run(job)
    s = res.summaries["metrics"]
    cm = np.array(s["confusion"])
    assert cm.shape == (3, 3) and cm.sum() == s["hits"] == res.summaries["emt"]["hits"]
    assert 0 <= s["em_auc"] <= 1 and s["em_efficiency"] == pytest.approx(cm[0, 0] / cm[0].sum(), abs=1e-5)
    assert (tmp_path / "plots" / "metrics_em_roc.png").exists()
