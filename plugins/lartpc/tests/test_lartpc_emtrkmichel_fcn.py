"""Issue 15's fully convolutional EM/track/none + Michel network (``lartpc-emtrkmichel-fcn``): translation
equivariant by construction, so the one pass over a view gives every hit the output its patch gives in training;
selectable in ``lartpc.EmTrackMichelId`` by the checkpoint; trainable by ``hepreco train`` on the same patches."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepreco

torch = pytest.importorskip("torch")

from hepreco_lartpc.emtrkmichel_fcn import build, run_view  # noqa: E402
from hepreco_lartpc.emtrkmichel_fcn_spec import EmTrkMichelFCNParams  # noqa: E402
from hepreco_lartpc.patches import extract_patches  # noqa: E402

from hepreco.ml import get_model, load_train_config, save_checkpoint  # noqa: E402

from .conftest import EXAMPLES  # noqa: E402

SMALL = EmTrkMichelFCNParams(patch=16, channels=(4, 6, 6), dilations=(1, 2, 3), hidden=8)


def _net(hp, seed=0):
    torch.manual_seed(seed)
    net = build(hp).eval()
    with torch.no_grad():
        for p in net.parameters():  # lively random weights: every ReLU sometimes on, sometimes off
            p.normal_(0, 0.3)
    return net


def _image(rng, shape):
    img = rng.gamma(1.0, 3e4, size=shape).astype(np.float32)
    img[rng.random(shape) < 0.8] = 0
    return img


def test_the_network_is_fully_convolutional_with_a_patch_sized_receptive_field():
    hp = EmTrkMichelFCNParams()
    net = build(hp)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 6 and all(c.padding == (0, 0) for c in convs)
    assert all(c.stride == (1, 1) for c in convs) and [c.dilation[0] for c in convs] == [1, 2, 4, 8, 4, 2]
    assert net.radius == 21 and 2 * net.radius + 1 <= hp.patch  # 43 x 43 of LArSoft's 48 x 48 patch
    assert not any(isinstance(m, torch.nn.Linear) and m.in_features > 64 for m in net.modules())
    assert sum(p.numel() for p in net.parameters()) < 20_000  # LArSoft's: 11.9 M
    # the output at the patch centre depends on the patch within the radius only
    x = torch.from_numpy(_image(np.random.default_rng(0), (2, 1, 48, 48)))
    y = x.clone()
    y[..., :3, :] = 1e5  # rows 0-2 lie outside 24 +- 21
    y[..., 46:, :] = -1e5
    with torch.no_grad():
        assert torch.equal(net.eval()(x), net(y))
    with pytest.raises(ValueError, match="receptive radius 26"):
        EmTrkMichelFCNParams(dilations=(1, 2, 4, 8, 8, 3))
    assert get_model("lartpc-emtrkmichel-fcn").task == "multiclass"
    cfg = load_train_config(EXAMPLES / "train_emtrkmichel_fcn.yaml")[0]
    assert cfg.model.name == "lartpc-emtrkmichel-fcn" and cfg.training.threads == 1
    larsoft = load_train_config(EXAMPLES / "train_emtrkmichel.yaml")[0]
    assert cfg.data == larsoft.data  # the same training data as LArSoft's network


@pytest.mark.parametrize("hp", [SMALL, EmTrkMichelFCNParams()], ids=["small", "default"])
@pytest.mark.parametrize("tile", [0, 1, 7, 32, 1000])
def test_the_view_pass_equals_the_patch_pass_at_the_centre_pixel(hp, tile):
    rng = np.random.default_rng(tile)
    net = _net(hp, seed=tile)
    img = _image(rng, (61, 83))
    # hits everywhere, the view's edges and corners included, and a pixel twice
    rows = np.concatenate([rng.integers(0, 61, 60), [0, 0, 60, 60, 30, 30]])
    cols = np.concatenate([rng.integers(0, 83, 60), [0, 82, 0, 82, 41, 41]])
    with torch.no_grad():
        ref = net(torch.from_numpy(extract_patches(img, rows, cols, hp.patch))).numpy()
    got = run_view(net, img, rows, cols, tile=tile, tiles_per_pass=3, chunk=50)
    assert got.shape == (66, 4) and np.abs(ref).max() > 1
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    # and the convolutions over the whole zero-padded view, read at the hits
    r = hp.radius
    with torch.no_grad():
        f = net.features(torch.from_numpy(np.pad(img, r))[None, None])[0]
        whole = net.head(f[:, rows, cols].T).numpy()
    np.testing.assert_allclose(whole, ref, rtol=1e-4, atol=1e-4)
    assert run_view(net, img, rows[:0], cols[:0]).shape == (0, 4)


@pytest.fixture(scope="module")
def fcn_ckpt(tmp_path_factory):
    spec = get_model("lartpc-emtrkmichel-fcn")
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "fcn", spec=spec, model=_net(SMALL), hparams=SMALL)


def _job(weights, mode, tile=0):
    return {
        "process": "emt",
        "seed": 4,
        "source": {"module": "lartpc.LArTPCSimSource", "events": 2, "batch_size": 2, "mode": "single",
                   "single_pdg": [13], "single_momentum": [0.2, 0.3], "adc_images": True},
        "modules": {
            "emt": {"module": "lartpc.EmTrackMichelId", "weights": str(weights), "mode": mode, "tile": tile,
                    "batch_size": 50},
            "out": {"module": "RootOutput", "file": "emt.root", "keep": ["source:hits", "emt:*"]},
        },
        "paths": {"p": ["emt"]},
        "end_paths": {"o": ["out"]},
    }  # fmt: skip


def test_the_module_runs_the_network_its_checkpoint_names(fcn_ckpt, tmp_path, monkeypatch):
    import uproot

    out = {}
    for mode, tile in (("batched", 0), ("patch", 0), ("view", 0), ("auto", 24)):
        (tmp_path / mode).mkdir()
        monkeypatch.chdir(tmp_path / mode)
        res = hepreco.run(_job(fcn_ckpt.path, mode, tile))
        assert res.summaries["emt"]["model"] == "lartpc-emtrkmichel-fcn"
        out[mode] = uproot.open("emt.root")["events"].arrays()
    assert res.summaries["emt"]["hits_view"] == res.summaries["emt"]["hits"] > 50
    a = out["batched"]
    names = ("em_score", "track_score", "none_score", "michel_score")
    for name in names:
        assert ak.all(ak.num(a[f"emt_{name}"]) == ak.num(a["hits_charge"]))
        for mode, b in out.items():
            d = np.abs(ak.to_numpy(ak.flatten(b[f"emt_{name}"])) - ak.to_numpy(ak.flatten(a[f"emt_{name}"])))
            assert d.max() < 1e-4, (mode, name)
    s = np.stack([ak.to_numpy(ak.flatten(a[f"emt_{n}"])) for n in names], axis=1)
    assert np.allclose(s[:, :3].sum(axis=1), 1, atol=1e-5) and s.std(axis=0).max() > 1e-3
    # LArSoft's network's modes do not run this one, and are refused before the first event
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="mode 'shared' does not run model 'lartpc-emtrkmichel-fcn'"):
        hepreco.run(_job(fcn_ckpt.path, "shared"))


def test_another_models_checkpoint_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="one of 'lartpc-emtrkmichel', 'lartpc-emtrkmichel-fcn' is expected"):
        hepreco.run(_job("builtin:lartpc-unet", "auto"))


def test_the_shipped_checkpoint_is_small_and_separates_classes_on_held_out_events(em_like_on_collection_views):
    from hepreco.ml import load_checkpoint

    ckpt = load_checkpoint("builtin:lartpc-emtrkmichel-fcn", model="lartpc-emtrkmichel-fcn")
    assert ckpt.weights_path.stat().st_size < 300_000
    assert ckpt.metadata["data"]["job"]["seed"] == 11  # LArSoft's network's training data (emtrkmichel_patches.yaml)
    net = ckpt.build().eval()
    em_like, t = em_like_on_collection_views(lambda img, rows, cols: run_view(net, img, rows, cols))
    assert (t == 0).sum() > 20 and (t == 1).sum() > 20
    assert em_like[t == 0].mean() > em_like[t == 1].mean() + 0.2
