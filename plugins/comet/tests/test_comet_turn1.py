"""The turn-1 extractor: the network, its start from the hit classifier, the imager of the kept hits, the
module in a job, and the turn-1 metrics."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import hepreco
from hepreco import ConfigError

torch = pytest.importorskip("torch")

from hepreco_comet.models import Turn1Params  # noqa: E402
from hepreco_comet.nets.turn1 import build  # noqa: E402

PROBE = str(Path(__file__).with_name("cometprobe.py"))


def test_three_classes_per_pixel_on_every_layout():
    for layout, shape in {"wire": (71, 71), "layercell": (20, 306)}.items():
        net = build(Turn1Params(depth=3, width=4, layout=layout))
        assert net(torch.rand(2, 2, *shape)).shape == (2, 3, *shape)
        convs = [m for m in net.body if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == 3 and net.head.out_channels == 3


def test_body_starts_from_the_shipped_hit_classifier():
    from hepreco.ml import load_checkpoint

    clf = load_checkpoint("builtin:comet-dncnn")
    hp = clf.hparams
    net = build(Turn1Params(depth=hp.depth, width=hp.width, layout=hp.layout, pretrained="builtin:comet-dncnn"))
    ref = clf.build("cpu").state_dict()
    body = net.body.state_dict()
    assert body and all(torch.equal(v, ref[f"denoiser.body.{k}"]) for k, v in body.items())
    with pytest.raises(ValueError, match=r"depth 8.*depth 3"):
        build(Turn1Params(depth=3, width=hp.width, layout=hp.layout, pretrained="builtin:comet-dncnn"))
    # a dilated body is another network: the shipped undilated classifier does not start it
    dil = (1, 2, 4, 8, 16, 4, 2, 1)
    with pytest.raises(ValueError, match=r"dilations None.*dilations \(1, 2, 4, 8, 16"):
        build(Turn1Params(depth=8, width=hp.width, layout=hp.layout, pretrained="builtin:comet-dncnn", dilations=dil))
    assert build(Turn1Params(depth=8, width=4, layout="layercell", dilations=dil))(torch.rand(1, 2, 20, 306)).shape == (
        1, 3, 20, 306,
    )  # fmt: skip
    with pytest.raises(ValueError, match="'dilations' is a DnCNN option"):
        Turn1Params(arch="unet", layout="layercell", dilations=(1,) * 17)


def test_0016_dncnn_head_from_the_hidden_features_with_input_features_and_periodic_padding():
    """``head: features`` reads the classes from the body's last ``width`` hidden channels (no 2-channel
    bottleneck); ``features`` and ``circular`` work on the DnCNN as on the U-Net."""
    dil = (1, 2, 4, 1)
    hp = Turn1Params(depth=4, width=6, layout="layercell", dilations=dil, head="features", circular=True,
                     features=("occupancy", "relative_time", "stereo", "layer"))  # fmt: skip
    net = build(hp).eval()
    convs = [m for m in net.body if isinstance(m, torch.nn.Conv2d)]
    assert [c.in_channels for c in convs] == [6, 6, 6]  # 2 image + 4 feature channels in; no conv to 2 channels
    assert (net.head.in_channels, net.head.out_channels, net.head.kernel_size) == (6, 3, (1, 1))
    x = torch.rand(2, 2, 20, 306)
    out = net(x)
    assert out.shape == (2, 3, 20, 306)
    # periodic in azimuth: rolling the image rolls the logits (the features do not depend on the column)
    torch.testing.assert_close(net(x.roll(17, -1)), out.roll(17, -1))
    flat = build(hp.model_copy(update={"circular": False})).eval()
    assert not torch.allclose(flat(x.roll(17, -1)), flat(x).roll(17, -1))
    # the features reach the body: a network with the same weights but no stereo channel gives other logits
    torch.manual_seed(0)
    a = build(Turn1Params(depth=3, width=4, layout="layercell", features=("stereo",))).eval()
    assert a.body[0].in_channels == 3
    z = torch.zeros(1, 2, 20, 306)
    y = a(z)[0]  # rows 5, 6 and 7 are beyond the 3 layers' reach of the image's edges
    assert not torch.allclose(y[:, 5], y[:, 6])  # they differ only by their stereo sign
    torch.testing.assert_close(y[:, 5], y[:, 7])


def test_0016_head_from_features_starts_from_the_hit_classifier_body():
    from hepreco.ml import load_checkpoint

    clf = load_checkpoint("builtin:comet-dncnn")
    hp = clf.hparams
    net = build(Turn1Params(depth=hp.depth, width=hp.width, layout=hp.layout, head="features",
                            pretrained="builtin:comet-dncnn"))  # fmt: skip
    ref = clf.build("cpu").state_dict()
    body = net.body.state_dict()
    assert len([k for k in body if k.endswith("weight")]) == 2 * (hp.depth - 2) + 1  # no last conv
    assert all(torch.equal(v, ref[f"denoiser.body.{k}"]) for k, v in body.items())


def _images_job(events=4, **kept):
    return {
        "process": "t",
        "seed": 5,
        "plugins": [PROBE],
        "source": {"module": "comet.CDCSimSource", "events": events, "batch_size": 3, "pileup": 0.3},
        "modules": {
            "all": {"module": "comet.HitImager", "layout": "layercell", "targets": True},
            "kept": {
                "module": "comet.HitImager",
                "layout": "layercell",
                "select": "source:hits.is_signal",
                "targets": True,
                "occupied": True,
                **kept,
            },
            "keep": {
                "module": "cometprobe.Keep",
                "src": [
                    "source:hits.is_signal",
                    "all:hit_pixel",
                    "all:turn_target",
                    "kept:image",
                    "kept:hit_pixel",
                    "kept:pixel_hit",
                    "kept:occupied",
                    "kept:turn_target",
                ],
            },
        },
        "paths": {"reco": ["all", "kept"]},
        "end_paths": {"ana": ["keep"]},
    }


def test_imager_with_select_images_only_the_selected_hits():
    r = hepreco.run(_images_job())
    from hepreco_userplugin_cometprobe import KEPT

    assert r.summaries["kept"]["hits_not_selected"] > 0
    assert len(KEPT["keep"]) == 4
    for _, ev in KEPT["keep"]:
        sig = np.asarray(ev["source:hits.is_signal"], dtype=bool)
        full, kept = np.asarray(ev["all:hit_pixel"]), np.asarray(ev["kept:hit_pixel"])
        assert np.all(kept[~sig] == -1)  # unselected hits are not imaged
        assert np.array_equal(kept[sig], full[sig])  # selected ones land where the full imager puts them
        pixel_hit = np.asarray(ev["kept:pixel_hit"]).ravel()
        assert np.all(sig[pixel_hit[pixel_hit >= 0]])  # the inverse map points into the full hit list
        assert np.array_equal(kept[pixel_hit[pixel_hit >= 0]], np.flatnonzero(pixel_hit >= 0))
        occupied = np.asarray(ev["kept:occupied"]).ravel()
        assert np.array_equal(occupied, pixel_hit >= 0)
        image = np.asarray(ev["kept:image"]).reshape(2, -1)
        assert not np.any(image[:, ~occupied])
        # only signal pixels are imaged, so the labels there are the full imager's turn labels
        assert np.array_equal(
            np.asarray(ev["kept:turn_target"]).ravel()[occupied], np.asarray(ev["all:turn_target"]).ravel()[occupied]
        )


def test_select_with_the_wrong_length_names_the_event():
    job = _images_job(select="all:turn_target")  # one value per pixel, not per hit
    with pytest.raises(hepreco.ModuleError, match="kept"):
        hepreco.run(job)


def test_select_on_a_producer_is_not_a_path_selection():
    """``select`` is the end-path modules' path list; a producer may use the name for its own option."""
    job = _images_job()
    job["modules"]["out"] = {"module": "DumpProducts", "select": ["nopath"]}
    job["end_paths"]["ana"].append("out")
    with pytest.raises(ConfigError, match="unknown path 'nopath'") as err:
        hepreco.run(job)
    assert "modules.kept" not in str(err.value) and "modules.out.select" in str(err.value)


@pytest.fixture(scope="module")
def tiny_turn1(tmp_path_factory):
    """A 3x4 turn-1 extractor trained one epoch on 8 events of the chain's kept hits."""
    import yaml

    from hepreco.ml import train

    out = tmp_path_factory.mktemp("turn1")
    job = {
        "process": "images",
        "seed": 2,
        "source": {"module": "comet.CDCSimSource", "events": 8, "batch_size": 4, "pileup": 0.3},
        "modules": {
            "imager": {"module": "comet.HitImager", "layout": "layercell", "inverse_map": False},
            "dncnn": {"module": "comet.DnCNNHitClassifier", "layout": "layercell"},
            "kept": {
                "module": "comet.HitImager",
                "layout": "layercell",
                "select": "dncnn:selected",
                "inverse_map": False,
                "targets": True,
                "occupied": True,
            },
        },
        "paths": {"reco": ["imager", "dncnn", "kept"]},
    }
    (out / "job.yaml").write_text(yaml.safe_dump(job))
    return train(
        {
            "plugins": ["hepreco_comet.plugin"],
            "model": {"name": "comet-turn1", "hparams": {"depth": 3, "width": 4, "layout": "layercell"}},
            "data": {
                "job": str(out / "job.yaml"),
                "inputs": {"image": "kept:image"},
                "target": "kept:turn_target",
                "mask": "kept:occupied",
                "split": {"train": 0.6, "valid": 0.4, "test": 0.0},
            },
            "training": {"epochs": 1, "batch_size": 4, "seed": 1, "threads": 1, "early_stopping": None},
        },
        output=out / "train",
        quiet=True,
    )


def _chain(weights, events=3, cut=0.5):
    return {
        "process": "chain",
        "seed": 9,
        "plugins": [PROBE],
        "source": {"module": "comet.CDCSimSource", "events": events, "batch_size": 2, "pileup": 0.3},
        "modules": {
            "imager": {"module": "comet.HitImager", "layout": "layercell", "inverse_map": False},
            "dncnn": {"module": "comet.DnCNNHitClassifier", "layout": "layercell"},
            "kept": {
                "module": "comet.HitImager",
                "layout": "layercell",
                "select": "dncnn:selected",
                "inverse_map": False,
            },
            "turn1": {"module": "comet.Turn1Extractor", "weights": str(weights), "layout": "layercell", "cut": cut},
            "keep": {
                "module": "cometprobe.Keep",
                "src": ["kept:image", "kept:hit_pixel", "dncnn:selected", "turn1:score", "turn1:mask", "turn1:turn"],
            },
        },
        "paths": {"reco": ["imager", "dncnn", "kept", "turn1"]},
        "end_paths": {"ana": ["keep"]},
    }


def test_extractor_scores_return_to_the_kept_hits(tiny_turn1):
    from hepreco.ml import load_checkpoint

    hepreco.run(_chain(tiny_turn1.best, cut=0.3))
    from hepreco_userplugin_cometprobe import KEPT

    ckpt = load_checkpoint(tiny_turn1.best)
    assert ckpt.spec.name == "comet-turn1"
    for _, ev in KEPT["keep"]:
        prob = ckpt.predict({"image": np.asarray(ev["kept:image"], dtype=np.float32)[None]})[0]  # (3, H, W)
        pix = np.asarray(ev["kept:hit_pixel"])
        score, mask = np.asarray(ev["turn1:score"]), np.asarray(ev["turn1:mask"])
        selected = np.asarray(ev["dncnn:selected"])
        assert score.shape == mask.shape == selected.shape == pix.shape
        on = pix >= 0
        np.testing.assert_allclose(score[on], prob[1].ravel()[pix[on]], rtol=1e-5, atol=1e-6)
        assert np.all(score[~on] == 0.0) and not mask[~selected].any()  # the turn-1 mask is within the kept hits
        assert np.array_equal(mask, on & (score >= 0.3))
        turn = np.asarray(ev["turn1:turn"])
        assert np.array_equal(turn[on], prob.reshape(3, -1).argmax(axis=0)[pix[on]]) and np.all(turn[~on] == -1)


def test_turn1_metrics_at_the_module_cut():
    """task turn1_all with the truth ``is_signal`` as a score: turn-1 hits all pass, the others pass when
    they are later-turn signal; the figures at ``cut`` equal a direct per-event computation."""
    job = {
        "process": "m",
        "seed": 4,
        "plugins": [PROBE],
        "source": {"module": "comet.CDCSimSource", "events": 6, "batch_size": 4, "pileup": 0.3},
        "modules": {
            "m": {
                "module": "comet.HitClassificationMetrics",
                "score": "source:hits.is_signal",
                "task": "turn1_all",
                "cut": 0.5,
                "edep_max": None,
                "thresholds": 11,
            },
            "keep": {"module": "cometprobe.Keep", "src": ["source:hits"]},
        },
        "paths": {},
        "end_paths": {"ana": ["m", "keep"]},
    }
    r = hepreco.run(job)
    from hepreco_userplugin_cometprobe import KEPT

    rej = []
    for _, ev in KEPT["keep"]:
        hits = ak.Array(ev["source:hits"])
        sig, turn = np.asarray(hits.is_signal, dtype=bool), np.asarray(hits.turn)
        other = ~(sig & (turn <= 1))
        rej.append(1 - np.mean(sig[other]))
    s = r.summaries["m"]
    assert s["turn-1_acceptance_at_cut"] == 1.0
    assert s["other_rejection_at_cut"] == pytest.approx(np.mean(rej), abs=1e-5)
