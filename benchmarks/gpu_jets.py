"""The jet taggers on a GPU: MPNN (dense and MessagePassing) and ParticleNet-Lite inference and training
steps, jets/s, fp32 and bf16; plus the jets.MPNNTagger module in a job against the bare model.

Synthetic jets with Pythia-like multiplicities (mean ~62 particles, padded to 128): the networks' cost depends
only on the sizes. Prints a table; asserts nothing. Without a CUDA device it runs a small CPU smoke check.

    python benchmarks/gpu_jets.py                       # all of it, on cuda:0
    python benchmarks/gpu_jets.py --steps 20 --batches 100 1000 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def jets(torch, n: int, p: int, device: str, seed: int = 0):
    g = np.random.default_rng(seed)
    counts = np.clip(g.gamma(9.0, 62.0 / 9.0, n).astype(np.int64), 5, p)
    mask = np.arange(p)[None, :] < counts[:, None]
    x = g.normal(size=(n, p, 7)).astype(np.float32) * mask[..., None]
    y = (g.random(n) < 0.5).astype(np.float32)[:, None]
    return torch.from_numpy(x).to(device), torch.from_numpy(mask).to(device), torch.from_numpy(y).to(device)


def timed(torch, fn, device: str, repeat: int) -> float:
    fn()  # warm-up (kernels, autotuning)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batches", type=int, nargs="+", default=None)
    ap.add_argument("--steps", type=int, default=10, help="timed training steps / inference passes")
    ap.add_argument("--train-batch", type=int, default=100, help="the paper's batch size (also try 500, 1000)")
    args = ap.parse_args()

    import torch
    from hepreco_jets.mpnn import MPNNParams
    from hepreco_jets.mpnn import build as build_mpnn
    from hepreco_jets.particlenet import ParticleNetParams
    from hepreco_jets.particlenet import build as build_pn

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    gpu = device.startswith("cuda")
    name = torch.cuda.get_device_name(0) if gpu else f"CPU, {torch.get_num_threads()} threads (no CUDA: smoke check)"
    print(f"device: {device} ({name}); torch {torch.__version__}")
    batches = args.batches or ([100, 1000, 10000] if gpu else [100])
    steps = args.steps if gpu else 2
    p = 128
    torch.manual_seed(0)
    nets = {
        "mpnn-dense": build_mpnn(MPNNParams()),
        "mpnn-message-passing": build_mpnn(MPNNParams(implementation="message_passing")),
        "particlenet-lite": build_pn(ParticleNetParams()),
    }
    print(f"\n{'inference':<22} {'batch':>6} {'precision':>9} {'jets/s':>11}")
    for label, net in nets.items():
        net = net.to(device).eval()
        for b in batches:
            if label == "mpnn-message-passing" and b > 1000:
                continue  # explicit edges: b * 62^2 of them
            x, mask, _ = jets(torch, b, p, device)
            for prec in ("fp32", "bf16") if gpu else ("fp32",):

                def run(net=net, x=x, mask=mask, prec=prec):
                    with (
                        torch.inference_mode(),
                        torch.autocast(
                            device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=prec == "bf16"
                        ),
                    ):
                        torch.sigmoid(net(x, mask)).float()

                try:
                    s = timed(torch, run, device, steps)
                    print(f"{label:<22} {b:>6} {prec:>9} {b / s:>11.0f}", flush=True)
                except torch.OutOfMemoryError:
                    print(f"{label:<22} {b:>6} {prec:>9} {'OOM':>11}", flush=True)
                    torch.cuda.empty_cache()

    print(f"\n{'training step':<22} {'batch':>6} {'precision':>9} {'jets/s':>11}")
    for label, net in nets.items():
        net = net.to(device).train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x, mask, y = jets(torch, args.train_batch, p, device, seed=1)
        for prec in ("fp32", "bf16") if gpu else ("fp32",):

            def step(net=net, x=x, mask=mask, y=y, opt=opt, prec=prec):
                with torch.autocast(
                    device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=prec == "bf16"
                ):
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, mask).float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            s = timed(torch, step, device, steps)
            print(f"{label:<22} {args.train_batch:>6} {prec:>9} {args.train_batch / s:>11.0f}", flush=True)

    # the module in a job vs the bare model on the same tensors
    try:
        import subprocess
        import sys
        from pathlib import Path

        from hepreco.ml import load_checkpoint

        load_checkpoint("builtin:jets-mpnn")
        bench = Path(__file__).with_name("jets_tagger.py")
        print("\njets.MPNNTagger in a job vs the bare model (benchmarks/jets_tagger.py):", flush=True)
        subprocess.run([sys.executable, str(bench), "--device", device, "--batches", *map(str, batches),
                        "--jets", str(max(4000, 2 * max(batches))), "--repeat", "3" if gpu else "1"], check=False)  # fmt: skip
    except Exception as err:  # the shipped checkpoint is missing: the rest stands
        print(f"(job benchmark skipped: {err})")


if __name__ == "__main__":
    main()
