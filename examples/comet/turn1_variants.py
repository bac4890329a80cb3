"""Issue 16's turn-1 experiments: train a comet-turn1 variant quickly on in-memory images and measure it the
talk's way on tuning events (the plugin README's "what was tried" table).

    python examples/comet/turn1_variants.py data --seed 21 --events 6000 --out turn1_train.npz
    python examples/comet/turn1_variants.py data --seed 41 --events 600 --out turn1_tune.npz
    python examples/comet/turn1_variants.py train turn1_train.npz turn1_tune.npz --events 3000 --epochs 3 \\
        --hparams '{"arch": "unet", "widths": [8, 16, 32, 64], "layout": "layercell", "circular": true,
                    "features": ["occupancy", "relative_time", "stereo", "layer"]}'
    python examples/comet/turn1_variants.py measure turn1_tune.npz --weights builtin:comet-turn1

``data`` runs turn1_images.yaml (simulation -> shipped DnCNN -> image of the kept hits) and keeps what the
training and the measurement need; ``train`` is ``hepreco train``'s loop in miniature (Adam, one cycle, the
cross-entropy masked to the kept hits, the training split of hepreco.ml.split_index), one thread;
``measure`` prints the per-event turn-1 acceptance and later-turn rejection at cut 0.5, the balanced cut,
the rejection at 95% acceptance and the per-hit AUC, whole chain (hits the DnCNN dropped score 0).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import awkward as ak
import numpy as np

HERE = Path(__file__).resolve().parent


def make_data(args: argparse.Namespace) -> None:
    from hepreco.ml import iter_job

    products = ["kept:image", "kept:turn_target", "kept:occupied", "kept:hit_pixel", "dncnn:selected", "source:hits"]
    keep: dict[str, list[np.ndarray]] = {
        k: [] for k in ("image", "target", "occupied", "counts", "hit_pixel", "selected", "turn", "is_signal", "event")
    }
    for batch in iter_job(HERE / "turn1_images.yaml", products, events=args.events, seed=args.seed):
        p = batch.products
        keep["image"].append(np.asarray(ak.to_numpy(p["kept:image"]), dtype=np.float16))
        keep["target"].append(np.asarray(ak.to_numpy(p["kept:turn_target"]), dtype=np.uint8))
        keep["occupied"].append(np.asarray(ak.to_numpy(p["kept:occupied"]), dtype=bool))
        keep["counts"].append(ak.to_numpy(ak.num(p["kept:hit_pixel"])))
        keep["hit_pixel"].append(ak.to_numpy(ak.flatten(p["kept:hit_pixel"])).astype(np.int32))
        keep["selected"].append(ak.to_numpy(ak.flatten(p["dncnn:selected"])))
        keep["turn"].append(ak.to_numpy(ak.flatten(p["source:hits"].turn)))
        keep["is_signal"].append(ak.to_numpy(ak.flatten(p["source:hits"].is_signal)))
        keep["event"].append(np.asarray(batch.ids.event))
    np.savez(args.out, **{k: np.concatenate(v) for k, v in keep.items()})


def _load(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


def _predict(net, image: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    import torch

    net.eval()
    with torch.no_grad():
        out = [
            torch.softmax(net(torch.from_numpy(image[i : i + 64].astype(np.float32))), 1)[:, 1].numpy()
            for i in range(0, len(image), 64)
        ]
    return np.concatenate(out)


def measure(prob: np.ndarray, d: dict[str, np.ndarray]) -> dict[str, float]:
    from hepreco_comet.acceptance import ThresholdScan

    from hepreco.ml import roc_auc

    n = prob.shape[0]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(d["counts"], out=offsets[1:])
    pix = d["hit_pixel"].astype(np.int64)
    event = np.repeat(np.arange(n), d["counts"])
    on = d["selected"] & (pix >= 0)
    score = np.zeros(pix.size)
    score[on] = prob.reshape(n, -1)[event[on], pix[on]]
    pos = d["is_signal"] & (d["turn"] == 1)
    neg = d["is_signal"] & (d["turn"] >= 2)
    cuts = np.linspace(0, 1, 2001)
    scan = ThresholdScan(cuts)
    scan.fill(offsets, score, pos, negative=neg)
    acc, rej = scan.acceptance(), scan.rejection()
    k = int(np.searchsorted(cuts, 0.5))
    j = int(np.nanargmax(np.minimum(acc, rej)))
    j95 = np.flatnonzero(acc >= 0.95)[-1]
    both = pos | neg
    return {
        "acceptance": acc[k],
        "rejection": rej[k],
        "balanced": min(acc[j], rej[j]),
        "balanced_cut": cuts[j],
        "rejection_at_95": rej[j95],
        "auc": roc_auc(score[both], pos[both].astype(np.int8)),
    }


def train(args: argparse.Namespace) -> None:
    import torch
    import torch.nn.functional as F
    from hepreco_comet.models import Turn1Params
    from hepreco_comet.nets.turn1 import build

    from hepreco.ml import split_index

    torch.set_num_threads(1)
    torch.manual_seed(1)
    tr, tune = _load(args.train), _load(args.tune)
    ev = tr["event"].astype(np.int64)
    idx = np.flatnonzero(split_index(np.ones_like(ev), np.zeros_like(ev), ev, (0.8, 0.1, 0.1)) == 0)[: args.events]
    x = torch.from_numpy(tr["image"][idx].astype(np.float32))
    y = torch.from_numpy(tr["target"][idx].astype(np.int64))
    m = torch.from_numpy(tr["occupied"][idx])
    net = build(Turn1Params(**json.loads(args.hparams)))
    if args.init:
        net.load_state_dict(torch.load(args.init))
    opt = torch.optim.Adam(net.parameters(), lr=args.max_lr / 25)
    steps = args.epochs * math.ceil(len(idx) / args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.max_lr, total_steps=steps, pct_start=0.2)
    t0 = time.time()
    for epoch in range(args.epochs):
        net.train()
        for b in torch.randperm(len(idx)).split(args.batch_size):
            loss = F.cross_entropy(net(x[b]).permute(0, 2, 3, 1)[m[b]], y[b][m[b]])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        r = measure(_predict(net, tune["image"]), tune)
        print(
            json.dumps(
                {
                    "epoch": epoch + 1,
                    "seconds": round(time.time() - t0),
                    **{k: round(float(v), 4) for k, v in r.items()},
                }
            ),
            flush=True,
        )
    torch.save(net.state_dict(), args.save)


def measure_weights(args: argparse.Namespace) -> None:
    from hepreco.ml import load_checkpoint

    d = _load(args.tune)
    r = measure(_predict(load_checkpoint(args.weights).build("cpu"), d["image"]), d)
    print(json.dumps({k: round(float(v), 4) for k, v in r.items()}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data")
    d.add_argument("--seed", type=int, required=True)
    d.add_argument("--events", type=int, required=True)
    d.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("train")
    t.add_argument("tune")
    t.add_argument("--hparams", required=True, help="comet-turn1 hyper-parameters (JSON)")
    t.add_argument("--events", type=int, default=100_000, help="training events (of the training split)")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--max-lr", type=float, default=0.004)
    t.add_argument("--init", default="", help="start from these weights (a state dict saved by --save)")
    t.add_argument("--save", default="turn1_variant.pt")
    m = sub.add_parser("measure")
    m.add_argument("tune")
    m.add_argument("--weights", default="builtin:comet-turn1")
    args = p.parse_args()
    {"data": make_data, "train": train, "measure": measure_weights}[args.cmd](args)


if __name__ == "__main__":
    main()
