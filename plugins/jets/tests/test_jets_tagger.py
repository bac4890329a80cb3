"""The taggers through hepreco.ml.TorchInference: the GPU code path (autocast, batching) exercised on the CPU,
a checkpoint for another model refused, and the GPU itself where there is one."""

from __future__ import annotations

import numpy as np
import pytest
from hepreco_jets.mpnn import MPNNParams, build

from hepreco.ml import TorchInference, get_model, save_checkpoint


def _inputs(n=40, p=24, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, p + 1, n)
    mask = np.arange(p)[None, :] < counts[:, None]
    x = (rng.normal(size=(n, p, 7)) * mask[..., None]).astype(np.float32)
    return x, mask


@pytest.fixture
def checkpoint(tmp_path, torch1):
    torch1.manual_seed(0)
    spec = get_model("jets-mpnn")
    hp = MPNNParams(max_particles=24)
    x, mask = _inputs()
    pre = spec.input_spec(hp).fit({"x": x, "mask": mask})
    save_checkpoint(tmp_path / "mpnn", spec=spec, model=build(hp), hparams=hp, preprocessing=pre)
    return tmp_path / "mpnn"


class _Tagger(TorchInference):
    model_name = "jets-mpnn"


def test_gpu_path_on_cpu_matches_fp32(checkpoint):
    x, mask = _inputs(seed=1)
    ref = _Tagger()
    ref.load_model(str(checkpoint), device="cpu")
    fp32 = ref.predict({"x": x, "mask": mask})
    gpu_like = _Tagger()
    # bf16 autocast as on a GPU, pieces of 7 jets (the out-of-memory splitting's code path)
    gpu_like.load_model(str(checkpoint), device="cpu", precision="bf16", on_cpu=True, batch_size=7)
    assert gpu_like.inference.precision == "bf16"
    bf16 = gpu_like.predict({"x": x, "mask": mask})
    assert fp32.shape == bf16.shape == (40, 1)
    assert np.abs(fp32 - bf16).max() < 0.03  # bf16 keeps 8 bits of mantissa
    assert not np.array_equal(fp32, bf16)  # autocast really ran
    pieces = _Tagger()
    pieces.load_model(str(checkpoint), device="cpu", batch_size=7)
    assert np.allclose(pieces.predict({"x": x, "mask": mask}), fp32, atol=1e-6)


def test_checkpoint_of_another_model_is_refused(checkpoint):
    class PN(TorchInference):
        model_name = "jets-particlenet"

    with pytest.raises(Exception, match="jets-mpnn"):
        PN().load_model(str(checkpoint))


@pytest.mark.gpu
def test_on_the_gpu(checkpoint, torch1):
    if not torch1.cuda.is_available():
        pytest.skip("no CUDA device")
    x, mask = _inputs(n=500)
    cpu = _Tagger()
    cpu.load_model(str(checkpoint), device="cpu")
    gpu = _Tagger()
    gpu.load_model(str(checkpoint), device="cuda", precision="bf16")
    assert np.abs(cpu.predict({"x": x, "mask": mask}) - gpu.predict({"x": x, "mask": mask})).max() < 0.03
