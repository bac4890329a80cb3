"""The checkpoint format: round trips, builtin: names, and every refusal naming what was expected and found."""

import json
import shutil

import numpy as np
import pytest
import torch

from hepreco.ml import CheckpointError, get_model, load_checkpoint, resolve_checkpoint, save_checkpoint
from hepreco.ml.checkpoint import sha256_file


@pytest.fixture
def linear(tmp_path, registry):
    spec = get_model("toy-linear")
    torch.manual_seed(0)
    model = spec.build_model()
    ckpt = save_checkpoint(
        tmp_path / "ckpt",
        spec=spec,
        model=model,
        training={"epochs": 3},
        data={"job": {"seed": 7}},
        metrics={"valid": {"auc": 0.9}},
    )
    return ckpt, model


def test_round_trip_torch(linear):
    ckpt, model = linear
    loaded = load_checkpoint(ckpt.path, model="toy-linear", inputs={"x": (3,)})
    assert loaded.hash == sha256_file(ckpt.path / "model.safetensors") == ckpt.hash
    meta = loaded.metadata
    assert meta["model"] == "toy-linear" and meta["hparams"] == {"features": 3}
    assert meta["training"] == {"epochs": 3} and meta["data"] == {"job": {"seed": 7}}
    assert meta["metrics"]["valid"]["auc"] == 0.9
    assert meta["versions"]["torch"] == torch.__version__ and meta["versions"]["plugin"]["name"] == "mltoys"
    assert meta["versions"]["hepreco"]
    net = loaded.build()
    for a, b in zip(net.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    expect = torch.sigmoid(model(torch.from_numpy(x))).detach().numpy()
    np.testing.assert_allclose(loaded.predict({"x": x}), expect, rtol=1e-6)
    # no pickle anywhere in the folder
    assert sorted(p.name for p in ckpt.path.iterdir()) == ["metadata.json", "model.safetensors"]


def test_same_weights_same_file(tmp_path, registry):
    spec = get_model("toy-linear")
    torch.manual_seed(5)
    m = spec.build_model()
    a = save_checkpoint(tmp_path / "a", spec=spec, model=m)
    b = save_checkpoint(tmp_path / "b", spec=spec, model=m)
    assert a.hash == b.hash
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_another_model_is_refused(linear):
    ckpt, _ = linear
    with pytest.raises(
        CheckpointError, match=r"is for model 'toy-linear', but 'toy-mlp' is expected \(module 'hitid'\)"
    ):
        load_checkpoint(ckpt.path, model="toy-mlp", expected_by="module 'hitid'")
    # a module that runs either of several networks names them all
    assert load_checkpoint(ckpt.path, model=("toy-mlp", "toy-linear")).model_name == "toy-linear"
    with pytest.raises(CheckpointError, match=r"but one of 'toy-mlp', 'toy-cnn' is expected"):
        load_checkpoint(ckpt.path, model=("toy-mlp", "toy-cnn"))


def test_another_input_shape_is_refused(linear):
    ckpt, _ = linear
    with pytest.raises(CheckpointError, match=r"input 'x': expected shape \(4,\), found \(3,\)"):
        load_checkpoint(ckpt.path, inputs={"x": (4,)})
    with pytest.raises(
        CheckpointError, match=r"input 'image': expected shape \(2, 71, 71\), the checkpoint has no such input"
    ):
        load_checkpoint(ckpt.path, inputs={"image": (2, 71, 71)})


def test_another_preprocessing_is_refused(linear):
    ckpt, _ = linear
    want = {"x": {"shape": [3], "transforms": [{"op": "log1p"}]}}
    with pytest.raises(
        CheckpointError,
        match=r"preprocessing differs: input 'x': expected \(3,\) float32 log1p, found \(3,\) float32 no transforms",
    ):
        load_checkpoint(ckpt.path, preprocessing=want)


def _edit_meta(path, **changes):
    meta = json.loads((path / "metadata.json").read_text())
    meta.update(changes)
    (path / "metadata.json").write_text(json.dumps(meta))


def test_weights_that_do_not_fit_are_refused_tensor_by_tensor(linear):
    ckpt, _ = linear
    _edit_meta(ckpt.path, hparams={"features": 5}, preprocessing={"inputs": {"x": {"shape": [5]}}})
    loaded = load_checkpoint(ckpt.path)  # the metadata is consistent, the weights are not
    with pytest.raises(CheckpointError) as err:
        loaded.build()
    msg = str(err.value)
    assert "model.safetensors: the weights do not fit model 'toy-linear' with hparams features=5" in msg
    assert "tensor 'weight' has shape (1, 3) in the file, the model expects (1, 5)" in msg


def test_inputs_that_differ_from_the_installed_model_are_refused(linear):
    ckpt, _ = linear
    _edit_meta(ckpt.path, preprocessing={"inputs": {"x": {"shape": [4]}}})
    with pytest.raises(
        CheckpointError,
        match=r"differ from model 'toy-linear' as installed now: input 'x': expected \(3,\) float32 no transforms, found \(4,\)",
    ):
        load_checkpoint(ckpt.path)


def test_corrupt_and_truncated_files_are_named(linear):
    ckpt, _ = linear
    w = ckpt.path / "model.safetensors"
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CheckpointError,
        match=r"model\.safetensors: corrupt or modified: its sha256 is \w+\.\.\., metadata\.json records",
    ):
        load_checkpoint(ckpt.path)
    unverified = load_checkpoint(ckpt.path, verify=False)
    with pytest.raises(
        CheckpointError, match=r"model\.safetensors: not a readable safetensors file \(corrupt or truncated\?\)"
    ):
        unverified.build()
    meta = ckpt.path / "metadata.json"
    meta.write_text(meta.read_text()[:100])
    with pytest.raises(
        CheckpointError, match=r"metadata\.json: not valid JSON \(line \d+, column \d+\).*corrupt or truncated"
    ) as err:
        load_checkpoint(ckpt.path)
    assert err.value.path == str(meta)


def test_missing_pieces_are_named(linear, tmp_path):
    ckpt, _ = linear
    with pytest.raises(CheckpointError, match="checkpoint 'nowhere' does not exist"):
        load_checkpoint("nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match=r"not a hepreco checkpoint: no metadata\.json"):
        load_checkpoint(empty)
    (ckpt.path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"model\.safetensors: weights file is missing"):
        load_checkpoint(ckpt.path)


def test_format_and_model_problems(linear):
    ckpt, _ = linear
    _edit_meta(ckpt.path, hepreco_checkpoint=99)
    with pytest.raises(CheckpointError, match="checkpoint format 99 is newer"):
        load_checkpoint(ckpt.path)
    _edit_meta(ckpt.path, hepreco_checkpoint=1, model="toy-linaer")
    with pytest.raises(
        CheckpointError,
        match=r"is for model 'toy-linaer', which no loaded plugin provides; it was made with plugin 'mltoys'.*did you mean 'toy-linear'",
    ):
        load_checkpoint(ckpt.path)
    _edit_meta(ckpt.path, model="toy-linear", hparams={"featurez": 3})
    with pytest.raises(CheckpointError, match="recorded hyper-parameters do not fit model 'toy-linear'"):
        load_checkpoint(ckpt.path)


def test_a_file_in_the_folder_names_the_folder(linear):
    ckpt, _ = linear
    assert load_checkpoint(ckpt.path / "model.safetensors").path == ckpt.path


def test_builtin_resolves_through_the_plugin_hook(registry):
    path = resolve_checkpoint("builtin:toy-linear")
    assert path.name == "toy-linear" and path.is_dir()
    ckpt = load_checkpoint("builtin:toy-linear", model="toy-linear")
    assert ckpt.ref == "builtin:toy-linear"
    out = ckpt.predict({"x": np.ones((1, 3), np.float32)})
    assert out[0, 0] == pytest.approx(1 / (1 + np.exp(0.25)))
    with pytest.raises(
        CheckpointError,
        match=r"unknown builtin checkpoint 'builtin:toy-linaer' \(did you mean 'builtin:toy-linear'\?\); builtin checkpoints of the installed plugins: .*builtin:toy-linear",
    ):
        load_checkpoint("builtin:toy-linaer")
    with pytest.raises(
        CheckpointError,
        match=r"builtin checkpoint 'builtin:toy-missing' points to '.*no-such-checkpoint', which does not exist",
    ):
        load_checkpoint("builtin:toy-missing")


def test_save_replaces_a_checkpoint_atomically(linear, tmp_path):
    ckpt, model = linear
    with torch.no_grad():
        model.bias += 1
    again = save_checkpoint(ckpt.path, spec=ckpt.spec, model=model)
    assert again.hash != ckpt.hash
    assert load_checkpoint(ckpt.path).hash == again.hash
    assert [p.name for p in ckpt.path.parent.iterdir() if p.name.startswith(".")] == []


def test_lightgbm_checkpoint_round_trip(tmp_path, registry):
    from hepreco.ml import LightGBMModel, TrainData
    from hepreco.ml.config import TrainingConfig
    from hepreco.ml.fitting import FitContext

    spec = get_model("toy-gbdt")
    rng = np.random.default_rng(0)
    y = rng.random(600) < 0.5
    x = np.stack([rng.normal(y * 2.0, 1), rng.normal(0, 1, 600)], axis=1)
    data = TrainData({"hit": x}, y.astype(np.float32))
    model = spec.build_model(spec.make_hparams({"n_estimators": 20}))
    ctx = FitContext(
        config=TrainingConfig(early_stopping=None),
        output=tmp_path / "gb",
        spec=spec,
        hparams=model.params,
        preprocessing=spec.input_spec(),
        trainable=model,
        quiet=True,
    )
    model.fit(data.take(slice(0, 500)), data.take(slice(500, None)), ctx)
    ckpt = load_checkpoint(tmp_path / "gb" / "best", model="toy-gbdt")
    assert ckpt.metadata["weights"]["format"] == "lightgbm-text"
    assert (ckpt.path / "model.txt").read_text().startswith("tree")
    assert ckpt.metadata["versions"]["lightgbm"]
    np.testing.assert_allclose(ckpt.predict({"hit": x}), model.predict({"hit": x}), rtol=1e-6)
    (ckpt.path / "model.txt").write_text("garbage")
    with pytest.raises(CheckpointError, match=r"model\.txt: corrupt or modified"):
        load_checkpoint(ckpt.path)
    bad = load_checkpoint(ckpt.path, verify=False)
    with pytest.raises(CheckpointError, match=r"model\.txt: cannot be read by model 'toy-gbdt'"):
        bad.build()
    assert isinstance(model, LightGBMModel)
    shutil.rmtree(tmp_path / "gb")


def test_float16_weights_are_stored_half_size_and_upcast_when_loaded(linear, tmp_path, registry):
    from safetensors.torch import load_file

    from hepreco.ml import convert_checkpoint

    ckpt, model = linear
    half = convert_checkpoint(ckpt.path, tmp_path / "half", weights_dtype="float16")
    stored = load_file(str(half.weights_path))
    assert {str(t.dtype) for t in stored.values()} == {"torch.float16"}
    assert half.metadata["weights"]["dtype"] == "float16" and ckpt.metadata["weights"]["dtype"] == "float32"
    assert half.metadata["converted_from"]["sha256"] == ckpt.hash and half.hash != ckpt.hash
    # everything else of the metadata is kept
    for key in ("model", "hparams", "preprocessing", "training", "data", "metrics"):
        assert half.metadata[key] == ckpt.metadata[key], key
    loaded = load_checkpoint(half.path, model="toy-linear")  # the hash in the metadata is the fp16 file's
    net = loaded.build()
    for name, p in net.state_dict().items():
        assert p.dtype == torch.float32, name  # upcast into the network's float32 parameters
        torch.testing.assert_close(p, model.state_dict()[name].half().float(), rtol=0, atol=0)
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict({"x": x}), ckpt.predict({"x": x}), atol=2e-3)
    # converting back to float32 stores the fp16-rounded values as float32
    back = convert_checkpoint(half.path, tmp_path / "back", weights_dtype="float32")
    assert {str(t.dtype) for t in load_file(str(back.weights_path)).values()} == {"torch.float32"}


def test_weights_dtype_is_checked(tmp_path, registry):
    spec = get_model("toy-linear")
    model = spec.build_model()
    with pytest.raises(ValueError, match="weights_dtype 'float8'"):
        save_checkpoint(tmp_path / "a", spec=spec, model=model, weights_dtype="float8")
    with torch.no_grad():
        next(iter(model.parameters())).fill_(1e6)  # beyond float16's 65504
    with pytest.raises(ValueError, match="beyond float16's range"):
        save_checkpoint(tmp_path / "b", spec=spec, model=model, weights_dtype="float16")
    assert not (tmp_path / "b").exists()
    ok = save_checkpoint(tmp_path / "c", spec=spec, model=model, weights_dtype="bfloat16")
    assert ok.metadata["weights"]["dtype"] == "bfloat16"
    assert ok.build().state_dict()[next(iter(model.state_dict()))].dtype == torch.float32


def _int8_cnn(tmp_path):
    """toy-cnn (two 3x3 convolutions around a BatchNorm) with random weights and BatchNorm statistics, saved as
    float32 and converted to int8."""
    from hepreco.ml import convert_checkpoint

    spec = get_model("toy-cnn")
    torch.manual_seed(3)
    model = spec.build_model()
    with torch.no_grad():
        bn = model[1]
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.normal_()
        model[0].weight[1].zero_()  # an all-zero output row: scale 0, stored exactly
    f32 = save_checkpoint(tmp_path / "f32", spec=spec, model=model, metrics={"valid": {"auc": 0.7}})
    q = convert_checkpoint(f32.path, tmp_path / "int8", weights_dtype="int8")
    return spec, model, f32, q


def test_int8_weights_round_trip_within_half_a_scale_step(tmp_path, registry):
    from safetensors.torch import load_file

    from hepreco.ml.checkpoint import INT8_SCALE_SUFFIX

    _, model, f32, q = _int8_cnn(tmp_path)
    stored = load_file(str(q.weights_path))
    ref = model.state_dict()
    assert q.metadata["weights"]["dtype"] == "int8"
    quant = q.metadata["weights"]["quantization"]
    assert quant["scale_suffix"] == INT8_SCALE_SUFFIX
    assert quant["tensors"] == ["0.weight", "3.weight"]  # every floating tensor of >= 2 dimensions
    assert q.metadata["converted_from"] == {**q.metadata["converted_from"], "sha256": f32.hash, "dtype": "float32"}
    assert q.metadata["metrics"] == f32.metadata["metrics"]
    for name in quant["tensors"]:
        w, s = ref[name], stored[name + INT8_SCALE_SUFFIX]
        assert stored[name].dtype == torch.int8 and stored[name].shape == w.shape
        assert s.dtype == torch.float32 and s.shape == (w.shape[0],)
        torch.testing.assert_close(s, w.reshape(w.shape[0], -1).abs().amax(1) / 127, rtol=1e-6, atol=0)
        assert int(stored[name].abs().max()) == 127
        back = stored[name].float() * s.reshape(-1, 1, 1, 1)
        err = (back - w).abs().reshape(w.shape[0], -1)
        assert bool((err <= s[:, None] / 2 * (1 + 1e-5) + 1e-12).all()), name
        assert float(err.max()) > 0  # it is quantized, not stored exactly
    assert bool((stored["0.weight"][1] == 0).all()) and float(stored["0.weight" + INT8_SCALE_SUFFIX][1]) == 0.0
    # 1-D tensors (biases, BatchNorm) are kept as float32, exactly; the integer counter as it was
    for name in ("0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.bias"):
        assert stored[name].dtype == torch.float32 and torch.equal(stored[name], ref[name]), name
    assert stored["1.num_batches_tracked"].dtype == torch.int64
    # no scale tensor name can be a state-dict key
    assert all(INT8_SCALE_SUFFIX not in k for k in ref)


def test_int8_weights_load_as_their_dequantized_float32_values(tmp_path, registry):
    from safetensors.torch import load_file

    from hepreco.ml.checkpoint import INT8_SCALE_SUFFIX

    _, model, f32, q = _int8_cnn(tmp_path)
    stored = load_file(str(q.weights_path))
    loaded = load_checkpoint(q.path, model="toy-cnn")
    net = loaded.build()
    for name, p in net.state_dict().items():
        if name in q.metadata["weights"]["quantization"]["tensors"]:
            s = stored[name + INT8_SCALE_SUFFIX].reshape(-1, 1, 1, 1)
            assert p.dtype == torch.float32
            assert torch.equal(p, stored[name].float() * s), name
        else:
            assert torch.equal(p, model.state_dict()[name]), name
    x = np.random.default_rng(1).normal(size=(4, 2, 8, 8)).astype(np.float32)
    a, b = loaded.predict({"image": x}), f32.predict({"image": x})
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(a, b, atol=0.05)
    # TorchInference's cached loader dequantizes the same way
    from hepreco.ml.inference import InferenceSettings, cached_model

    cached = cached_model(loaded, InferenceSettings())
    for name, p in net.state_dict().items():
        assert torch.equal(cached.state_dict()[name], p), name


def test_int8_file_is_about_a_quarter_of_float32(tmp_path, registry):
    from hepreco.ml import convert_checkpoint

    spec = get_model("toy-linear")
    torch.manual_seed(2)
    model = spec.build_model(spec.make_hparams({"features": 20000}))
    f32 = save_checkpoint(tmp_path / "f32", spec=spec, model=model, hparams={"features": 20000})
    q = convert_checkpoint(f32.path, tmp_path / "int8", weights_dtype="int8")
    ratio = q.weights_path.stat().st_size / f32.weights_path.stat().st_size
    assert 0.24 < ratio < 0.27, ratio
    x = np.random.default_rng(0).normal(size=(5, 20000)).astype(np.float32)
    np.testing.assert_allclose(q.predict({"x": x}), f32.predict({"x": x}), atol=0.02)
    # int8 -> float32 stores the dequantized values
    back = convert_checkpoint(q.path, tmp_path / "back", weights_dtype="float32")
    assert back.metadata["weights"]["dtype"] == "float32" and back.metadata["converted_from"]["dtype"] == "int8"
    assert torch.equal(back.build().state_dict()["weight"], q.build().state_dict()["weight"])


def test_int8_refuses_non_finite_weights_and_unmatched_scales(tmp_path, registry):
    from safetensors.torch import load_file, save_file

    from hepreco.ml.checkpoint import INT8_SCALE_SUFFIX

    spec = get_model("toy-cnn")
    model = spec.build_model()
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"tensor '0\.weight' holds NaN or infinite values: not stored as int8"):
        save_checkpoint(tmp_path / "nan", spec=spec, model=model, weights_dtype="int8")
    assert not (tmp_path / "nan").exists()
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] = 0.0
        model[1].bias[0] = float("inf")  # a 1-D tensor too
    with pytest.raises(ValueError, match=r"tensor '1\.bias' holds NaN or infinite values"):
        save_checkpoint(tmp_path / "inf", spec=spec, model=model, weights_dtype="int8")
    with torch.no_grad():
        model[1].bias[0] = 0.0
    ok = save_checkpoint(tmp_path / "ok", spec=spec, model=model, weights_dtype="int8")
    stored = load_file(str(ok.weights_path))
    # a scale tensor without its int8 tensor, and an int8 tensor without its scale, are refused by name
    broken = dict(stored)
    broken["3.weight"] = broken.pop("0.weight")  # wrong shape for 3.weight's scale
    del broken["0.weight" + INT8_SCALE_SUFFIX]
    save_file(broken, str(tmp_path / "broken.safetensors"))
    from hepreco.ml.checkpoint import load_torch_weights

    with pytest.raises(CheckpointError, match=r"tensor '3\.weight' \(int8 \(4, 2, 3, 3\)\) does not fit its scale"):
        load_torch_weights(spec.build_model(), tmp_path / "broken.safetensors", what="toy-cnn")
    nosc = dict(stored)
    del nosc["3.weight" + INT8_SCALE_SUFFIX]
    save_file(nosc, str(tmp_path / "noscale.safetensors"))
    with pytest.raises(CheckpointError, match=r"tensor '3\.weight' is int8 in the file without its scale tensor"):
        load_torch_weights(spec.build_model(), tmp_path / "noscale.safetensors", what="toy-cnn")
    # a NaN scale is refused at load like any non-finite tensor
    bad = dict(stored)
    bad["0.weight" + INT8_SCALE_SUFFIX] = torch.full_like(bad["0.weight" + INT8_SCALE_SUFFIX], float("nan"))
    save_file(bad, str(tmp_path / "nanscale.safetensors"))
    with pytest.raises(CheckpointError, match="holds NaN or infinite values"):
        load_torch_weights(spec.build_model(), tmp_path / "nanscale.safetensors", what="toy-cnn")
