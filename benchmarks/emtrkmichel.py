"""Seconds per ProtoDUNE-SP-scale event of LArSoft's EM/track/Michel CNN in every inference mode, and of the
fully convolutional network trained on the same targets (``lartpc-emtrkmichel-fcn``).

The event is ``examples/lartpc/protodune_event.yaml``'s (6 APAs, a beam pi+ and ~65 cosmic muons, simulated
by the LArTPC plugin); the network is ``builtin:lartpc-emtrkmichel`` (``--weights random``: LArSoft's
architecture with random weights, same cost). Each mode scores every hit of the event (``patch`` times
``--patch-hits`` hits and scales up: one patch at a time is the slow reference). Printed beside the seed's
figures for LArSoft's ``EmTrackMichelId`` on a ProtoDUNE event: 606 s (simple C++, 4 CPUs) and 50.7 s
(TensorFlow with AVX, 4 CPUs). Also the largest logit difference of each mode from ``batched``.

The rows ``fcn`` (each layer at the pixels the hits need: the module's ``mode: view``, ``tile: 0``) and
``fcn-tiles`` (dense over the 16 x 16 tiles that hold hits, ``tile: 16``) run ``builtin:lartpc-emtrkmichel-fcn``
(``--fcn-weights``) over every hit, one pass per view; their difference column is from the same network run on
each hit's 48 x 48 patch (as in training) for the first ``--patch-hits`` hits. Their time is also printed as a
ratio to every LArSoft mode measured in the same run.

    python benchmarks/emtrkmichel.py                       # 1 event, 2 threads
    python benchmarks/emtrkmichel.py --events 2 --threads 1 --modes batched shared dense auto fcn
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

SEED_CPP = 606.107  # s per event, LArSoft EmTrackMichelId, simple C++ CNN, 4 CPUs (the seed's talk)
SEED_TF = 50.716  # s per event, the same with TensorFlow (AVX), 4 CPUs
CONFIG = Path(__file__).resolve().parents[1] / "examples" / "lartpc" / "protodune_event.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", default="builtin:lartpc-emtrkmichel", help="a checkpoint, or 'random'")
    ap.add_argument("--fcn-weights", default="builtin:lartpc-emtrkmichel-fcn", help="a checkpoint, or 'random'")
    ap.add_argument("--modes", nargs="+", default=["patch", "batched", "shared", "dense", "auto", "fcn", "fcn-tiles"])
    ap.add_argument("--patch-hits", type=int, default=1000, help="hits timed in patch mode (then scaled up)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--fft", type=int, default=128)
    ap.add_argument("--hits-per-block", type=float, default=150.0)
    ap.add_argument("--seed", type=int, default=41)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from hepreco_lartpc.emtrkmichel import build
    from hepreco_lartpc.emtrkmichel_modes import run_view
    from hepreco_lartpc.emtrkmichel_spec import EmTrkMichelParams
    from hepreco_lartpc.simulation import SimParameters, simulate

    from hepreco.ml import load_checkpoint

    if args.weights == "random":
        torch.manual_seed(0)
        net = build(EmTrkMichelParams()).eval()
    else:
        net = load_checkpoint(args.weights, model="lartpc-emtrkmichel").build("cpu").eval()
    fcn = None
    if any(m.startswith("fcn") for m in args.modes):
        from hepreco_lartpc.emtrkmichel_fcn import build as build_fcn
        from hepreco_lartpc.emtrkmichel_fcn import run_view as run_fcn
        from hepreco_lartpc.emtrkmichel_fcn_spec import EmTrkMichelFCNParams

        if args.fcn_weights == "random":
            torch.manual_seed(0)
            fcn = build_fcn(EmTrkMichelFCNParams()).eval()
        else:
            fcn = load_checkpoint(args.fcn_weights, model="lartpc-emtrkmichel-fcn").build("cpu").eval()
    src = yaml.safe_load(CONFIG.read_text())["source"]
    params = SimParameters(**{k: v for k, v in src.items() if k in SimParameters.model_fields})
    t0 = time.perf_counter()
    sim = simulate(np.arange(args.seed, args.seed + args.events, dtype=np.uint64), params)
    t_sim = (time.perf_counter() - t0) / args.events
    hits = sim["hits"]
    images = [np.asarray(sim[f"adc_{v}"], dtype=np.float32) for v in "UVW"]
    ds = params.adc_downsample
    groups = []  # (event, apa, view, rows, cols)
    n_hits = 0
    for e in range(args.events):
        h = hits[e]
        view, apa = np.asarray(h.view), np.asarray(h.apa)
        wire, tick = np.asarray(h.wire, np.int64), np.asarray(h.tick, np.float64)
        n_hits += len(view)
        for a in range(params.apas):
            for v in range(3):
                m = (view == v) & (apa == a)
                img = images[v][e, a]
                rows = np.clip(wire[m], 0, img.shape[0] - 1)
                cols = np.clip((tick[m] // ds).astype(np.int64), 0, img.shape[1] - 1)
                groups.append((img, rows, cols))
    print(f"ProtoDUNE-SP-scale event ({CONFIG.name}): {params.apas} APAs, {n_hits / args.events:,.0f} hits per event, "
          f"simulated in {t_sim:.1f} s/event; torch {torch.__version__}, {args.threads} thread(s), weights {args.weights}"
          + (f", FCN weights {args.fcn_weights}" if fcn is not None else ""))  # fmt: skip
    run = {"batch_size": args.batch_size, "fft": args.fft, "hits_per_block": args.hits_per_block}
    run_view(net, groups[0][0], groups[0][1][:50], groups[0][2][:50], "dense", **run)  # warm-up (and FFT of W1)
    results: dict[str, tuple[float, float, np.ndarray | None, dict[str, int]]] = {}
    fcn_ref = None
    if fcn is not None:  # the FCN on patches (its training computation), for the first --patch-hits hits
        refs, left = [], args.patch_hits
        for img, rows, cols in groups:
            if left <= 0:
                break
            refs.append(run_view(fcn, img, rows[:left], cols[:left], "batched", **run)[0])
            left -= len(refs[-1])
        fcn_ref = np.concatenate(refs)
        run_fcn(fcn, groups[0][0], groups[0][1][:50], groups[0][2][:50])  # warm-up
    for mode in args.modes:
        outs: list[np.ndarray] = []
        used: dict[str, int] = {}
        w0, c0 = time.perf_counter(), time.process_time()
        timed = 0
        for img, rows, cols in groups:
            if mode.startswith("fcn"):
                assert fcn is not None
                outs.append(run_fcn(fcn, img, rows, cols, tile=16 if mode == "fcn-tiles" else 0))
                timed += len(rows)
                used["view"] = used.get("view", 0) + len(rows)
                continue
            if mode == "patch":
                take = max(0, min(len(rows), args.patch_hits - timed))
                if take == 0:
                    continue
                rows, cols = rows[:take], cols[:take]
            out, u = run_view(net, img, rows, cols, mode, **run)
            timed += len(rows)
            used[u] = used.get(u, 0) + len(rows)
            outs.append(out)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        scale = n_hits / max(timed, 1)
        logits = np.concatenate(outs) if outs and mode != "patch" else None
        results[mode] = (wall * scale / args.events, cpu * scale / args.events, logits, used)
    ref = results.get("batched", (0, 0, None, {}))[2]
    print(f"\n{'mode':8} {'s/event':>8} {'CPU s/event':>11} {'hits/s':>8} {'vs C++ 606 s':>13} {'vs TF 50.7 s':>13} "
          f"{'max |Δ logit| vs batched':>25}  modes used")  # fmt: skip
    for mode, (wall, cpu, logits, used) in results.items():
        diff = "" if logits is None or ref is None else f"{np.abs(logits - ref).max():.2e}"
        if mode.startswith("fcn") and logits is not None and fcn_ref is not None:
            diff = f"{np.abs(logits[: len(fcn_ref)] - fcn_ref).max():.2e} (vs its patches)"
        note = f" (scaled from {args.patch_hits} hits)" if mode == "patch" else ""
        print(f"{mode:8} {wall:8.2f} {cpu:11.2f} {n_hits / args.events / wall:8.0f} {SEED_CPP / wall:12.1f}x "
              f"{SEED_TF / wall:12.1f}x {diff:>25}  {used}{note}")  # fmt: skip
    larsoft = {m: r for m, r in results.items() if not m.startswith("fcn")}
    for mode, (wall, cpu, _, _) in results.items():
        if mode.startswith("fcn") and larsoft:
            ratios = ", ".join(f"{m} {w / wall:.1f}x" for m, (w, *_) in larsoft.items())
            cpus = ", ".join(f"{m} {c / max(cpu, 1e-9):.1f}x" for m, (_, c, *_) in larsoft.items())
            print(f"\n{mode}: faster than LArSoft's network in this run by (wall) {ratios}; (CPU) {cpus}")
    print("\ntarget: <= 5 s/event on 2 cores (10x the seed's TensorFlow on 4 CPUs)")


if __name__ == "__main__":
    main()
