"""The LArTPC U-Net on a CUDA GPU: inference per tile and per event, and training steps, at Pandora's size
(depth 4, 16 filters, 256 x 256) and the shipped size (8 filters, 128 x 128). Prints timings; asserts nothing.

    python benchmarks/gpu_lartpc.py                       # needs torch with CUDA; exits with a message otherwise
    python benchmarks/gpu_lartpc.py --events 50 --steps 30

Tiles are made from simulated neutrino-like ProtoDUNE-SP events (the plugin's simulation and imager), so the
sparsity is the real one; per-event figures use the mean tiles per event of those events.
"""

from __future__ import annotations

import argparse
import time

import awkward as ak
import numpy as np


def tiles_for(events: int, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    from hepreco_lartpc.simulation import simulate
    from hepreco_lartpc.tiles import make_tiles

    out = simulate(np.arange(1, events + 1, dtype=np.uint64))
    h = out["hits"]
    off = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(h)))])
    f = {k: ak.to_numpy(ak.flatten(h[k])) for k in ("view", "x", "w", "charge", "label")}
    t = make_tiles(off, f["view"], f["x"], f["w"], f["charge"], f["label"], size=size)
    return t.image, t.truth.astype(np.int64), len(t.image) / events


def sync() -> None:
    import torch

    torch.cuda.synchronize()


def train_step(net, opt, x_all, y_all, i: int, bs: int, prec: str) -> None:  # type: ignore[no-untyped-def]
    """One optimizer step on tiles ``[i*bs, (i+1)*bs)`` (cycling), with bf16 autocast or not."""
    import torch
    from hepreco_lartpc.unet import weighted_cross_entropy

    start = (i * bs) % max(len(x_all) - bs, 1)
    ctx = torch.autocast("cuda", dtype=torch.bfloat16) if prec == "bf16" else torch.autocast("cuda", enabled=False)
    with ctx:
        loss = weighted_cross_entropy(net(x_all[start : start + bs]), {"target": y_all[start : start + bs]})
    opt.zero_grad()
    loss.backward()
    opt.step()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=30)
    ap.add_argument("--steps", type=int, default=20, help="training steps timed (after 3 warm-up steps)")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("no CUDA device visible to torch: this benchmark needs a GPU")
        return 1
    dev = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(dev)}")
    from hepreco_lartpc.unet import UNetParams, build

    for hp in (UNetParams(depth=4, filters=16, tile=256), UNetParams(depth=4, filters=8, tile=128)):
        x_np, y_np, per_event = tiles_for(args.events, hp.tile)
        net = build(hp).to(dev)
        n_par = sum(p.numel() for p in net.parameters())
        print(f"\n{hp} ({n_par:,} parameters); {len(x_np)} tiles, {per_event:.1f} per event")
        x_all = torch.from_numpy(x_np).to(dev)
        net.eval()
        for prec in ("fp32", "bf16"):
            for bs in (1, 16, 64):
                xs = x_all[: max(bs, min(len(x_all), 4 * bs))]
                ctx = (
                    torch.autocast("cuda", dtype=torch.bfloat16)
                    if prec == "bf16"
                    else torch.autocast("cuda", enabled=False)
                )
                with torch.inference_mode(), ctx:
                    for _ in range(3):
                        net(xs[:bs])
                    sync()
                    t0 = time.perf_counter()
                    n = 0
                    for _ in range(5):
                        for s in range(0, len(xs), bs):
                            torch.softmax(net(xs[s : s + bs]).float(), dim=1)
                            n += len(xs[s : s + bs])
                    sync()
                dt = (time.perf_counter() - t0) / n
                print(f"  inference {prec} batch {bs:3d}: {1e3 * dt:7.3f} ms/tile, {1e3 * dt * per_event:7.2f} ms/event, "
                      f"{1 / dt:8.1f} tiles/s")  # fmt: skip
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        y_all = torch.from_numpy(y_np).to(dev)
        for bs in (16, 32):
            for prec in ("fp32", "bf16"):
                for i in range(3):
                    train_step(net, opt, x_all, y_all, i, bs, prec)
                sync()
                t0 = time.perf_counter()
                for i in range(args.steps):
                    train_step(net, opt, x_all, y_all, i, bs, prec)
                sync()
                dt = time.perf_counter() - t0
                print(
                    f"  training {prec} batch {bs}: {args.steps * bs / dt:8.1f} tiles/s ({1e3 * dt / args.steps:.1f} ms/step)"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
