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
