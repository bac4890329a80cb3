"""Running networks in jobs: TorchInference, the per-process model cache, out-of-memory splitting,
autocast and channels-last (the GPU code path, exercised on the CPU), provenance."""

import awkward as ak
import numpy as np
import pytest
import torch

import hepreco
from hepreco.ml import (
    InferenceOOM,
    InferenceSettings,
    clear_model_cache,
    get_model,
    load_checkpoint,
    model_cache_info,
    model_provenance,
    run_model,
    save_checkpoint,
)
from hepreco.ml.inference import run_in_pieces


@pytest.fixture
def oom_ckpt(tmp_path, registry):
    def make(limit):
        spec = get_model("oom-net")
        hp = spec.make_hparams({"limit": limit})
        return save_checkpoint(tmp_path / f"oom{limit}", spec=spec, model=spec.build_model(hp), hparams=hp)

    return make


def test_out_of_memory_halves_the_batch_and_retries(oom_ckpt):
    ckpt = oom_ckpt(5)
    model = ckpt.build()
    x = np.arange(60, dtype=np.float32).reshape(20, 3)
    res = run_model(model, {"x": x}, ckpt.spec)
    np.testing.assert_allclose(res.output[:, 0], x.sum(axis=1))
    assert res.batch_size == 5 and res.splits == 2  # 20 -> 10 -> 5
    assert model.calls[:3] == [20, 10, 5]
    assert set(model.calls[3:]) == {5}


def test_out_of_memory_while_sending_the_batch_falls_back_to_pieces(oom_ckpt, monkeypatch):
    import hepreco.ml.inference as inf

    real = inf._to_tensor

    def no_room(a, settings, device):
        if device is not None:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated transfer)")
        return real(a, settings, device)

    monkeypatch.setattr(inf, "_to_tensor", no_room)
    ckpt = oom_ckpt(4)
    x = np.arange(24, dtype=np.float32).reshape(8, 3)
    res = run_model(ckpt.build(), {"x": x}, ckpt.spec)
    np.testing.assert_allclose(res.output[:, 0], x.sum(axis=1))
    assert res.splits == 1


def test_an_empty_batch_keeps_the_output_shape(oom_ckpt):
    ckpt = oom_ckpt(4)
    assert run_model(ckpt.build(), {"x": np.zeros((0, 3), np.float32)}, ckpt.spec).output.shape == (0, 1)


def test_out_of_memory_for_one_event_is_an_error(oom_ckpt):
    ckpt = oom_ckpt(0)
    with pytest.raises(InferenceOOM, match="out of memory on cpu even for one event at a time"):
        run_model(ckpt.build(), {"x": np.ones((4, 3), np.float32)}, ckpt.spec)


def test_other_errors_are_not_swallowed():
    def boom(a, b):
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        run_in_pieces(boom, 10)


def test_module_splits_remembers_the_size_and_records_provenance(oom_ckpt, registry):
    ckpt = oom_ckpt(7)
    clear_model_cache()
    job = {
        "plugins": ["hepreco.ml.plugin"],
        "source": {"module": "EmptySource", "events": 50, "batch_size": 25},
        "modules": {
            "t": {"module": "Triples"},
            "net": {"module": "OOMClassifier", "src": "t:xyz", "weights": str(ckpt.path)},
        },
        "paths": {"p": ["t", "net"]},
    }
    r = hepreco.run(job)
    s = r.summaries["net"]
    assert s["model"] == "oom-net" and s["model_hash"] == ckpt.hash
    assert s["model_device"] == "cpu" and s["model_precision"] == "fp32" and s["model_channels_last"] is False
    assert s["model_oom_splits"] == 2 and s["model_batch_size"] == 6  # 25 -> 12 -> 6; the 2nd batch starts at 6
    assert model_provenance(r.summaries)["net"]["hash"] == ckpt.hash


def test_a_model_loads_once_per_process(registry):
    clear_model_cache()
    job = {
        "source": {"module": "EmptySource", "events": 10},
        "modules": {
            "t": {"module": "Triples"},
            "a": {"module": "OOMClassifier", "src": "t:xyz", "weights": "builtin:toy-linear"},
        },
        "paths": {"p": ["t", "a"]},
    }
    with pytest.raises(  # before the first event (TorchInference.check), naming the key
        hepreco.ConfigError,
        match=r"modules\.a\.weights.*is for model 'toy-linear', but 'oom-net' is expected \(module 'a'\)",
    ):
        hepreco.run(job)

    class Holder(hepreco.ml.TorchInference):
        model_name = "toy-linear"

    a, b = Holder(), Holder()
    a.load_model("builtin:toy-linear")
    b.load_model("builtin:toy-linear")
    assert a.model is b.model
    assert model_cache_info() == {"models": 1, "builds": 1, "hits": 1}
    x = np.ones((4, 3), np.float32)
    np.testing.assert_allclose(a.predict({"x": x}), load_checkpoint("builtin:toy-linear").predict({"x": x}))
    with pytest.raises(ValueError, match=r"expected per-example shape \(3,\), found \(4,\)"):
        a.predict({"x": np.ones((2, 4), np.float32)})


def test_predict_before_load_is_explained():
    class Holder(hepreco.ml.TorchInference):
        pass

    with pytest.raises(RuntimeError, match=r"predict\(\) before load_model\(\)"):
        Holder().predict({"x": np.ones((1, 3))})


def test_settings_apply_gpu_options_on_gpus_only():
    assert InferenceSettings.choose("cpu", "bf16", True) == InferenceSettings("cpu", "fp32", False)
    assert InferenceSettings.choose("cuda:1", "fp16", False) == InferenceSettings("cuda:1", "fp16", False)
    assert InferenceSettings.choose("cpu", "bf16", True, on_cpu=True) == InferenceSettings("cpu", "bf16", True)
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, fp16"):
        InferenceSettings.choose("cuda", "fp8")


def test_gpu_code_path_on_cpu_autocast_and_channels_last(tmp_path, registry):
    spec = get_model("toy-cnn")
    torch.manual_seed(0)
    net = spec.build_model()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    ckpt = save_checkpoint(tmp_path / "cnn", spec=spec, model=net)
    x = np.random.default_rng(0).normal(size=(6, 2, 8, 8)).astype(np.float32)
    ref = torch.sigmoid(net.eval()(torch.from_numpy(x))).detach().numpy()

    class CNN(hepreco.ml.TorchInference):
        model_name = "toy-cnn"

    clear_model_cache()
    fast = CNN()
    fast.load_model(str(ckpt.path), precision="bf16", channels_last=True, on_cpu=True)
    assert fast.model_provenance["precision"] == "bf16" and fast.model_provenance["channels_last"] is True
    assert fast.model[0].weight.is_contiguous(memory_format=torch.channels_last)
    out = fast.predict({"image": x})
    assert out.dtype == np.float32 and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=0.02)  # bf16 precision
    plain = CNN()
    plain.load_model(str(ckpt.path), device="cpu")
    assert plain.model is not fast.model  # another memory format: another cached copy
    np.testing.assert_allclose(plain.predict({"image": x}), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # trains a network first
def test_inference_module_in_a_job_matches_the_checkpoint(trained, make_job, registry):
    result = trained[0]
    job = make_job(events=300, batch_size=100, clf={"module": "ToyClassifier", "weights": str(result.best)})
    job["paths"]["make"].append("clf")
    job["plugins"].append("hepreco.ml.plugin")
    job["modules"]["m"] = {"module": "ml.BinaryMetrics", "score": "clf:score", "target": "toy:label"}
    job["end_paths"] = {"e": ["m"]}
    r = hepreco.run(job)
    assert r.summaries["clf"]["model_hash"] == result.weights_hash
    assert r.summaries["m"]["auc"] > 0.85 and r.summaries["m"]["entries"] == 300
    (batch,) = [b for b in hepreco.ml.iter_job(job, ["toy:features", "clf:score"], events=100)]
    ckpt = load_checkpoint(result.best)
    np.testing.assert_allclose(
        ak.to_numpy(batch.products["clf:score"]),
        ckpt.predict({"x": ak.to_numpy(batch.products["toy:features"])})[:, 0],
        rtol=1e-6,
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_real_gpu(oom_ckpt):  # pragma: no cover - no GPU here
    class Holder(hepreco.ml.TorchInference):
        model_name = "oom-net"

    h = Holder()
    h.load_model(str(oom_ckpt(1000).path), device="cuda", precision="bf16", channels_last=True)
    out = h.predict({"x": np.ones((64, 3), np.float32)})
    assert h.model_provenance["device"] == "cuda" and h.model_provenance["precision"] == "bf16"
    np.testing.assert_allclose(out[:, 0], 3.0, rtol=1e-2)
