"""MPNN jet tagger inference: the jets.MPNNTagger module in a job vs the bare model on the same tensors.

Makes the padded graphs of ``--cache`` jets once (by default synthetic jets with Pythia-like multiplicities,
55-70 particles on average; with ``--files`` the jets of generate.yaml's ROOT files through graphs.yaml), then,
for each batch size, runs

- **bare**: the checkpoint's network on those tensors (standardised as in training), ``torch.inference_mode``,
  sigmoid, batch by batch (on a GPU: copied to the device and back, synchronised);
- **job**: ``hepreco.run`` of a job whose source replays the same features and masks in batches of that size
  into ``jets.MPNNTagger`` (input checks, preprocessing, device transfer, products), the model loaded once;

and prints jets/s of both and the ratio job time / bare time (the framework's overhead; the issue's target is
at most 5%). Bare and job alternate ``--repeat`` times; medians are reported. Nothing is asserted: this script
measures. It runs on a GPU when torch sees one (``--device``).

    python benchmarks/jets_tagger.py                                     # builtin:jets-mpnn, batches 100, 1000
    python benchmarks/jets_tagger.py --weights jets_mpnn_training/best --batches 100 1000 5000 --threads 1
    python benchmarks/jets_tagger.py --files jets_w_0.root jets_qcd_0.root
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import hepreco

PLUGIN_CODE = '''
import numpy as np
import hepreco


class ReplayGraphs(hepreco.GeneratorSource):
    """Replays padded jet features and masks from an .npz file (event i gets cached jet (i - 1) % n)."""

    class Config(hepreco.GeneratorSource.Config):
        file: str

    produces = ("features", "mask")

    def begin_job(self):
        with np.load(self.config.file, allow_pickle=False) as f:
            self.x = f["x"]
            self.mask = f["mask"]

    def generate(self, ids):
        idx = (ids.event.astype(np.int64) - 1) % len(self.x)
        return {"features": self.x[idx], "mask": self.mask[idx]}


@hepreco.hookimpl
def hepreco_sources():
    return [ReplayGraphs]
'''


def synthetic(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` jets with Pythia-like multiplicities (a gamma distribution, mean ~62, up to ``p``)."""
    rng = np.random.default_rng(seed)
    counts = np.clip(rng.gamma(9.0, 62.0 / 9.0, n).astype(np.int64), 5, p)
    mask = np.arange(p)[None, :] < counts[:, None]
    x = rng.normal(size=(n, p, 7)).astype(np.float32) * mask[..., None]
    return x, mask


def from_files(files: list[str], n: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    import awkward as ak

    from hepreco.ml import iter_job

    repo = Path(__file__).resolve().parents[1]
    xs, ms = [], []
    overrides = [("source.files", [str(Path(f).resolve()) for f in files]), ("modules.graphs.max_particles", p)]
    for batch in iter_job(repo / "examples" / "jets" / "graphs.yaml", ["graphs:features", "graphs:mask"],
                          overrides=overrides):  # fmt: skip
        xs.append(np.asarray(ak.to_numpy(batch.products["graphs:features"]), dtype=np.float32))
        ms.append(np.asarray(ak.to_numpy(batch.products["graphs:mask"]), dtype=bool))
        if sum(len(x) for x in xs) >= n:
            break
    return np.concatenate(xs)[:n], np.concatenate(ms)[:n]


def bare(model, pre, x: np.ndarray, mask: np.ndarray, jets: int, batch: int, device: str) -> float:
    """Seconds to run ``jets`` jets through ``model`` in batches of ``batch`` (replaying the cache)."""
    import torch

    n_cache = len(x)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, jets, batch):
            idx = np.arange(start, min(start + batch, jets)) % n_cache
            arrays = pre.apply({"x": x[idx], "mask": mask[idx]})
            xt = torch.from_numpy(arrays["x"]).to(device)
            mt = torch.from_numpy(arrays["mask"]).to(device)
            out = torch.sigmoid(model(xt, mt)).float().cpu()
            assert out.shape[0] == len(idx)
    sync()
    return time.perf_counter() - t0


def job(data_file: Path, plugin: Path, weights: str, jets: int, batch: int, device: str) -> float:
    cfg = {
        "process": "bench_jets_tagger",
        "plugins": [str(plugin)],
        "services": {"Device": {"device": device}},
        "source": {"module": "ReplayGraphs", "file": str(data_file), "events": jets, "batch_size": batch},
        "modules": {"mpnn": {"module": "jets.MPNNTagger", "features": "source:features", "mask": "source:mask",
                             "weights": weights}},
        "paths": {"tag": ["mpnn"]},
    }  # fmt: skip
    t0 = time.perf_counter()
    r = hepreco.run(cfg)
    seconds = time.perf_counter() - t0
    assert r.events == jets
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default="builtin:jets-mpnn")
    ap.add_argument("--batches", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--jets", type=int, default=4000, help="jets per measurement")
    ap.add_argument("--cache", type=int, default=2000, help="distinct jets, replayed")
    ap.add_argument("--files", nargs="*", default=None, help="generate.yaml ROOT files (default: synthetic jets)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    import torch

    from hepreco.ml import load_checkpoint

    if args.threads:
        torch.set_num_threads(args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    ckpt = load_checkpoint(args.weights)
    hp = ckpt.hparams
    p = hp.max_particles  # type: ignore[attr-defined]
    print(f"device: {device} ({name}); torch {torch.__version__}")
    print(f"model: {ckpt.model_name} hidden {hp.hidden}, {hp.iterations} iterations, {hp.implementation}, "  # type: ignore[attr-defined]
          f"{p} particles, {ckpt.ref}")  # fmt: skip
    model = ckpt.build(device).eval()
    pre = ckpt.preprocessing
    x, mask = from_files(args.files, args.cache, p) if args.files else synthetic(args.cache, p, seed=5)
    print(f"{len(x)} jets, {mask.sum(1).mean():.1f} particles on average ({'files' if args.files else 'synthetic'})")
    with tempfile.TemporaryDirectory() as tmp:
        plugin = Path(tmp) / "bench_replay_graphs.py"
        plugin.write_text(PLUGIN_CODE)
        data_file = Path(tmp) / "graphs.npz"
        np.savez(data_file, x=x, mask=mask)
        job(data_file, plugin, args.weights, 10, 10, device)  # warm-up: model cache, kernels
        bare(model, pre, x, mask, 10, 10, device)
        print(f"{'batch':>6} {'jets':>7} {'bare jets/s':>12} {'job jets/s':>11} {'job/bare':>9}")
        for b in args.batches:
            tb, tj = [], []
            for _ in range(args.repeat):
                tb.append(bare(model, pre, x, mask, args.jets, b, device))
                tj.append(job(data_file, plugin, args.weights, args.jets, b, device))
            b_s, j_s = statistics.median(tb), statistics.median(tj)
            print(f"{b:>6} {args.jets:>7} {args.jets / b_s:>12.1f} {args.jets / j_s:>11.1f} {j_s / b_s:>9.3f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
