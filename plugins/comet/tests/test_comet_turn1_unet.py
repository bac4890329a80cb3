"""Issue 16: the turn-1 extractor's U-Net (``arch: unet``): its hyper-parameters, a receptive field that spans
the chamber, periodic padding in azimuth, the input features."""

from __future__ import annotations

import pydantic
import pytest

torch = pytest.importorskip("torch")

from hepreco_comet.models import Turn1Params  # noqa: E402
from hepreco_comet.nets.turn1 import build  # noqa: E402
from hepreco_comet.nets.turn1_unet import AzimuthConv, Turn1UNet, turn1_features  # noqa: E402

SMALL = {"arch": "unet", "widths": (4, 4, 4, 4, 4, 4), "layout": "layercell", "circular": True}


def test_0016_unet_keeps_the_image_shape_on_every_layout():
    for layout, shape in {"wire": (71, 71), "layercell": (20, 306), "xy": (32, 32)}.items():
        net = build(Turn1Params(arch="unet", widths=(4, 8, 8), layout=layout, xy_size=32))
        assert isinstance(net, Turn1UNet)
        assert net(torch.rand(2, 2, *shape)).shape == (2, 3, *shape)


def test_0016_unet_options_are_checked():
    with pytest.raises(pydantic.ValidationError, match="'head' is a DnCNN option"):
        Turn1Params(arch="unet", layout="layercell", head="features")
    with pytest.raises(pydantic.ValidationError, match="first convolution reads the 2-channel image"):
        Turn1Params(layout="layercell", features=("occupancy",), pretrained="builtin:comet-dncnn")
    with pytest.raises(pydantic.ValidationError, match="layercell layout"):
        Turn1Params(layout="wire", circular=True)
    with pytest.raises(pydantic.ValidationError, match="layercell layout"):
        Turn1Params(arch="unet", layout="wire", features=("stereo",))
    with pytest.raises(pydantic.ValidationError, match="layercell layout"):
        Turn1Params(arch="unet", layout="xy", circular=True)
    with pytest.raises(pydantic.ValidationError, match="twice"):
        Turn1Params(arch="unet", layout="layercell", features=("layer", "layer"))
    old = Turn1Params(depth=8, width=32, layout="layercell", pretrained=None)  # an old checkpoint's hparams
    assert old.arch == "dncnn" and not isinstance(build(old), Turn1UNet)


def _reach(net, out_pixel, in_pixels):
    """Whether the output logit at ``out_pixel`` depends on the input near each of ``in_pixels`` (a non-zero
    gradient within 3 pixels: max-pooling routes the gradient through one pixel of each window, so a single
    pixel may be skipped by chance; a pixel outside the receptive field never has one)."""
    torch.manual_seed(0)
    net.eval()
    x = torch.rand(4, 2, 20, 306, requires_grad=True)
    net(x)[:, 1, out_pixel[0], out_pixel[1]].sum().backward()
    g = x.grad.abs().sum((0, 1))
    return [bool(g[max(r - 3, 0) : r + 4, max(c - 3, 0) : c + 4].sum() > 0) for r, c in in_pixels]


def test_0016_receptive_field_spans_the_chamber_and_wraps_in_azimuth():
    """A first and a later turn overlap in the image; what separates them is spread over the whole arc:
    every layer and ~100 columns. The talk's 8-layer DnCNN sees 17 x 17 pixels."""
    torch.manual_seed(1)
    far = [(19, 153), (0, 100), (19, 60)]  # the outermost layer half the chamber away, ...
    wrapped = [(10, 296), (19, 280)]  # ... and across azimuth 0 from column 2
    assert all(_reach(build(Turn1Params(**SMALL)), (0, 2), far + wrapped))
    dncnn = build(Turn1Params(depth=8, width=4, layout="layercell"))
    assert not any(_reach(dncnn, (0, 2), far + wrapped))
    four = build(Turn1Params(**{**SMALL, "widths": (4, 4, 4, 4)}))
    assert _reach(four, (0, 2), [(19, 36), (0, 150)]) == [True, False]  # four levels: about +-45 columns
    flat = build(Turn1Params(**{**SMALL, "circular": False, "widths": (4, 8)}))
    assert not any(_reach(flat, (0, 2), wrapped))  # zero padding, two levels: no path across azimuth 0


def test_0016_azimuth_padding_is_periodic():
    conv = AzimuthConv(3, 5).eval()
    x = torch.rand(2, 3, 20, 306)
    for shift in (1, 7, 305):
        torch.testing.assert_close(conv(x.roll(shift, -1)), conv(x).roll(shift, -1))
    flat = AzimuthConv(3, 5, circular=False).eval()
    assert not torch.allclose(flat(x.roll(1, -1)), flat(x).roll(1, -1))


def test_0016_features():
    x = torch.zeros(2, 2, 20, 306)
    x[0, 0, 3, 10], x[0, 1, 3, 10] = 0.40, 0.02  # event 0: hits at t = 0.40 and 0.55
    x[0, 0, 7, 99], x[0, 1, 7, 99] = 0.55, 0.03
    x[1, 1, 0, 0] = 0.05  # event 1: one hit at t = 0
    f = turn1_features(x, ("layer", "stereo", "relative_time", "occupancy"))  # stacked in a fixed order
    assert f.shape == (2, 6, 20, 306)
    torch.testing.assert_close(f[:, :2], x)
    assert f[0, 2].sum() == 2 and f[1, 2].sum() == 1 and f[0, 2, 3, 10] == 1  # occupancy
    assert f[0, 3, 3, 10] == 0 and f[0, 3, 7, 99] == pytest.approx(0.15) and f[0, 3].count_nonzero() == 1
    assert f[1, 3].count_nonzero() == 0  # relative to the event's own earliest hit, zero off the hits
    assert f[0, 4, :, 0].tolist() == [-1.0, 1.0] * 10  # stereo sign alternates layer by layer
    torch.testing.assert_close(f[1, 5, :, 200], torch.arange(20.0) / 19)  # layer
    shifted = x.clone()
    shifted[0, 0][x[0, 0] > 0] += 0.2  # a common time offset does not change relative_time
    torch.testing.assert_close(turn1_features(shifted, ("relative_time",))[:, 2], f[:, 3])


def test_0016_the_unet_recipe_is_the_documented_network():
    from pathlib import Path

    from hepreco.ml import get_model, load_train_config

    examples = Path(__file__).resolve().parents[3] / "examples" / "comet"
    cfg, _ = load_train_config(examples / "train_turn1_unet.yaml")
    hp = get_model(cfg.model.name).make_hparams(cfg.model.hparams)
    assert (hp.arch, hp.layout, hp.circular, len(hp.widths)) == ("unet", "layercell", True, 6)
    assert set(hp.features) == {"occupancy", "relative_time", "stereo", "layer"}
    assert (examples / cfg.data.job).is_file()
    torch.manual_seed(1)
    net = build(hp)
    assert net(torch.zeros(1, 2, 20, 306)).shape == (1, 3, 20, 306)
    assert _reach(net, (5, 0), [(19, 153), (0, 200)]) == [True, True]  # the whole image
