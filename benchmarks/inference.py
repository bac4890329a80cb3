"""DnCNN inference: the comet.DnCNNHitClassifier module in a job vs bare ``model(x)`` on the same tensors.

Simulates a few hundred COMET events once and images them; then, for each batch size, runs

- **bare**: the checkpoint's network on those images, ``torch.inference_mode``, sigmoid, batch by batch
  (on a GPU: the batch copied to the device and the result back, synchronised);
- **job**: ``hepreco.run`` of a job whose source replays the same images (and hit maps) in batches of the
  same size into ``comet.DnCNNHitClassifier`` (input checks, preprocessing, device transfer, the
  pixel -> hit map, products), the model already loaded (one load per process);

and prints events/s of both and the framework's overhead ratio, job time / bare time - 1 (target: at most
5% at batch 256). Bare and job alternate ``--repeat`` times; the medians are reported. Nothing is
asserted: this script measures. It prints the device, and runs on a GPU when torch sees one.

    python benchmarks/inference.py                                  # builtin:comet-dncnn, batches 1, 16, 256
    python benchmarks/inference.py --weights out/comet_dncnn_training/best --batches 1 16 256 --device cpu
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import hepreco

PLUGIN_CODE = '''
import awkward as ak
import numpy as np
import hepreco


class Replay(hepreco.GeneratorSource):
    """Replays images and hit maps from an .npz file (event i gets cached event (i - 1) % n)."""

    class Config(hepreco.GeneratorSource.Config):
        file: str

    produces = ("image", "hit_pixel")

    def begin_job(self):
        with np.load(self.config.file, allow_pickle=False) as f:
            self.image = f["image"]
            self.offsets = f["offsets"]
            self.hit_pixel = f["hit_pixel"]

    def generate(self, ids):
        idx = (ids.event.astype(np.int64) - 1) % len(self.image)
        counts = self.offsets[idx + 1] - self.offsets[idx]
        flat = np.concatenate([self.hit_pixel[self.offsets[i]:self.offsets[i + 1]] for i in idx])
        return {"image": self.image[idx], "hit_pixel": ak.unflatten(flat, counts)}


@hepreco.hookimpl
def hepreco_sources():
    return [Replay]
'''


def make_images(n: int, layout: str, seed: int) -> dict[str, np.ndarray]:
    """``n`` simulated events through comet.HitImager (a job run now, via hepreco.ml.iter_job)."""
    import awkward as ak

    from hepreco.ml import iter_job

    cfg = {
        "process": "bench_images",
        "seed": seed,
        "source": {"module": "comet.CDCSimSource", "events": n, "batch_size": 64},
        "modules": {"imager": {"module": "comet.HitImager", "layout": layout, "inverse_map": False}},
        "paths": {"reco": ["imager"]},
    }
    images, pixels = [], []
    for batch in iter_job(cfg, ["imager:image", "imager:hit_pixel"]):
        images.append(np.asarray(ak.to_numpy(batch.products["imager:image"]), dtype=np.float32))
        pixels.append(batch.products["imager:hit_pixel"])
    hp = ak.concatenate(pixels)
    offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(hp, axis=1)))]).astype(np.int64)
    return {
        "image": np.concatenate(images),
        "offsets": offsets,
        "hit_pixel": ak.to_numpy(ak.flatten(hp)).astype(np.int32),
    }


def bare(model, spec_task: str, images: np.ndarray, events: int, batch: int, device: str) -> float:
    """Seconds to run ``events`` events through ``model`` in batches of ``batch`` (replaying ``images``)."""
    import torch

    n_cache = len(images)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, events, batch):
            idx = np.arange(start, min(start + batch, events)) % n_cache
            x = torch.from_numpy(images[idx]).to(device)
            out = torch.sigmoid(model(x)).float().cpu()
            assert out.shape[0] == len(idx)
    sync()
    return time.perf_counter() - t0


def job(data_file: Path, plugin: Path, weights: str, layout: str, events: int, batch: int, device: str) -> float:
    cfg = {
        "process": "bench_inference",
        "plugins": [str(plugin)],
        "services": {"Device": {"device": device}},
        "source": {"module": "Replay", "file": str(data_file), "events": events, "batch_size": batch},
        "modules": {
            "dncnn": {
                "module": "comet.DnCNNHitClassifier",
                "image": "source:image",
                "hit_pixel": "source:hit_pixel",
                "weights": weights,
                "layout": layout,
            }
        },
        "paths": {"reco": ["dncnn"]},
    }
    t0 = time.perf_counter()
    r = hepreco.run(cfg)
    seconds = time.perf_counter() - t0
    assert r.events == events
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default="builtin:comet-dncnn")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256])
    ap.add_argument(
        "--events", type=int, nargs="+", default=None, help="events per batch size (default: 64, 512, 1024)"
    )
    ap.add_argument("--cache", type=int, default=256, help="distinct simulated events, replayed")
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
    layout = hp.layout  # type: ignore[attr-defined]
    print(f"device: {device} ({name}); torch {torch.__version__}")
    print(f"model: {ckpt.model_name} depth {hp.depth} x width {hp.width}, layout {layout}, {ckpt.ref}")  # type: ignore[attr-defined]
    model = ckpt.build(device).eval()
    defaults = {1: 64, 16: 512, 256: 1024}
    events = args.events or [defaults.get(b, max(4 * b, 256)) for b in args.batches]
    with tempfile.TemporaryDirectory() as tmp:
        plugin = Path(tmp) / "bench_replay.py"
        plugin.write_text(PLUGIN_CODE)
        t0 = time.perf_counter()
        data = make_images(args.cache, layout, seed=5)
        data_file = Path(tmp) / "images.npz"
        np.savez(data_file, **data)
        print(f"{args.cache} events simulated and imaged in {time.perf_counter() - t0:.1f} s")
        # warm-up: model cache, numba, torch kernels
        job(data_file, plugin, args.weights, layout, 2, 2, device)
        bare(model, ckpt.spec.task, data["image"], 2, 2, device)
        print(f"{'batch':>6} {'events':>7} {'bare ev/s':>10} {'job ev/s':>10} {'overhead':>9}")
        for b, n in zip(args.batches, events, strict=True):
            tb, tj = [], []
            for _ in range(args.repeat):
                tb.append(bare(model, ckpt.spec.task, data["image"], n, b, device))
                tj.append(job(data_file, plugin, args.weights, layout, n, b, device))
            b_s, j_s = statistics.median(tb), statistics.median(tj)
            print(f"{b:>6} {n:>7} {n / b_s:>10.1f} {n / j_s:>10.1f} {100 * (j_s / b_s - 1):>8.1f}%", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
