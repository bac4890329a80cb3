"""LArTPC U-Net inference per event on the CPU: the lartpc.UNetTrackShower module in a job vs the bare network
on the same tiles, beside NuGraph2's 0.12 s/event on a CPU (arXiv:2403.11872) as the reference point.

Runs ``sim -> lartpc.ViewImager -> lartpc.UNetTrackShower`` on ``--events`` simulated neutrino-like events
(ProtoDUNE-SP), with a capture analyzer that keeps the exact tiles the module saw; then runs the checkpoint's
bare network (``torch.inference_mode``, softmax) on those tiles, batch by batch as the module did. Prints
seconds per event of the simulation, the imager, the module and the bare network, the module/bare ratio (the
framework's overhead: input checks, the pixel -> hit map, products), and the same module through the GPU code
path run on the CPU (bf16 autocast, channels-last, pieces of ``--piece`` tiles). Nothing is asserted.

    python benchmarks/lartpc_unet.py                              # builtin:lartpc-unet, 40 events, 1 thread
    python benchmarks/lartpc_unet.py --weights lartpc_unet_training/best --events 100 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import hepreco

PLUGIN_CODE = '''
import awkward as ak
import numpy as np
import hepreco

CAPTURED = []


class CaptureTiles(hepreco.Analyzer):
    """Keeps every batch's tiles (as the U-Net module received them)."""

    class Config(hepreco.Analyzer.Config):
        tiles: hepreco.InputTag = hepreco.InputTag("imager:tiles")

    def analyze(self, events):
        CAPTURED.append(np.asarray(ak.to_numpy(ak.flatten(events[self.config.tiles], axis=1)), dtype=np.float32))


@hepreco.hookimpl
def hepreco_modules():
    return [CaptureTiles]
'''


def job(events: int, batch: int, weights: str, size: int, plugin: str, device: dict, **unet: object) -> dict:
    return {
        "process": "bench",
        "seed": 77,
        "plugins": [plugin],
        "source": {"module": "lartpc.LArTPCSimSource", "events": events, "batch_size": batch},
        "services": {"Device": device},
        "modules": {
            "imager": {"module": "lartpc.ViewImager", "size": size},
            "unet": {"module": "lartpc.UNetTrackShower", "weights": weights, "size": size, **unet},
            "capture": {"module": "CaptureTiles"},
        },
        "paths": {"reco": ["imager", "unet"]},
        "end_paths": {"ana": ["capture"]},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default="builtin:lartpc-unet")
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--batch", type=int, default=20, help="events per job batch")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--piece", type=int, default=16, help="tiles per forward pass on the GPU code path")
    args = ap.parse_args(argv)

    import torch

    from hepreco.ml import load_checkpoint

    torch.set_num_threads(args.threads)
    ckpt = load_checkpoint(args.weights, model="lartpc-unet")
    size = int(ckpt.hparams.tile)  # type: ignore[attr-defined]
    print(f"checkpoint {ckpt.ref}: {ckpt.hparams}; torch {torch.__version__}, {args.threads} thread(s), CPU")
    with tempfile.TemporaryDirectory() as tmp:
        plugin = str(Path(tmp) / "capture_plugin.py")
        Path(plugin).write_text(PLUGIN_CODE)
        cfg = job(args.events, args.batch, args.weights, size, plugin, {"device": "cpu"})
        hepreco.run(job(2, 2, args.weights, size, plugin, {"device": "cpu"}))  # numba compile, model load
        mod = sys.modules[next(m for m in sys.modules if m.endswith("capture_plugin"))]
        module_times, sims, imagers = [], [], []
        for _ in range(args.repeat):
            mod.CAPTURED.clear()
            r = hepreco.run(cfg)
            tr = r.time_report.modules
            module_times.append(sum(tr["unet"].seconds) / args.events)
            sims.append(sum(tr["source"].seconds) / args.events)
            imagers.append(sum(tr["imager"].seconds) / args.events)
        tiles = list(mod.CAPTURED)
        n_tiles = sum(len(t) for t in tiles)
        net = ckpt.build("cpu").eval()
        bare, bare_cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            with torch.inference_mode():
                for x in tiles:
                    torch.softmax(net(torch.from_numpy(x)), dim=1).numpy()
            bare.append((time.perf_counter() - t0) / args.events)
            bare_cpu.append((time.process_time() - c0) / args.events)
        gpu_path = []
        cfg_gpu = job(args.events, args.batch, args.weights, size, plugin,
                      {"device": "cpu", "precision": "bf16", "channels_last": True},
                      batch_size=args.piece, gpu_path_on_cpu=True)  # fmt: skip
        for _ in range(max(1, args.repeat - 1)):
            r = hepreco.run(cfg_gpu)
            gpu_path.append(sum(r.time_report.modules["unet"].seconds) / args.events)
    m, b = statistics.median(module_times), statistics.median(bare)
    print(
        f"{args.events} events, {n_tiles / args.events:.1f} tiles of {size}x{size} per event (medians of {args.repeat})"
    )
    print(f"  simulation          {statistics.median(sims):8.4f} s/event")
    print(f"  imager              {statistics.median(imagers):8.4f} s/event")
    c = statistics.median(bare_cpu)
    print(
        f"  bare U-Net          {b:8.4f} s/event   ({b / (n_tiles / args.events):.4f} s/tile; CPU time {c:.4f} s/event:"
    )
    print(f"                      wall/CPU = {b / c:.2f}, above 1 when other processes share the cores)")
    print(f"  UNetTrackShower     {m:8.4f} s/event   module / bare = {m / b:.3f} (overhead {100 * (m / b - 1):+.1f}%)")
    print(
        f"  GPU path on CPU     {statistics.median(gpu_path):8.4f} s/event   (bf16 autocast, channels-last, pieces of {args.piece})"
    )
    print(f"  NuGraph2 reference  {0.12:8.4f} s/event on a CPU (arXiv:2403.11872): module / NuGraph2 = {m / 0.12:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
