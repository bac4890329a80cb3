"""Benchmark the COMET hit imager: the numba kernel against the pure-numpy reference, on the same events.

    python benchmarks/imager.py [--simulate 200] [--copies 50] [--batch-size 1000] [--repeat 3]

Simulates ``--simulate`` events with the calibrated mixture (~475 hits each), repeats them ``--copies``
times, and images them batch by batch, as a hepreco job calls HitImager, with
:func:`hepreco_comet.images.make_images` (numba, one core) and
:func:`hepreco_comet.images.make_images_numpy` (``np.minimum.at`` / ``np.add.at``), for every layout,
with and without the inverse map and targets. Prints the best-of-``--repeat`` hits/s and the ratio, and
checks that both give the same images. It measures; it asserts no timing.

Like ``hepreco run``, it first tunes glibc malloc to keep freed memory for reuse (``--no-malloc-tuning``
to compare): the images are dense (40 kB per event for the wire layout), and memory returned to the
system comes back zero-filled one page fault at a time, which then costs more than the imaging itself.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import awkward as ak
import numpy as np
from hepreco_comet import simulate
from hepreco_comet.images import LAYOUTS, image_layout, make_images, make_images_numpy


def tune_malloc() -> bool:
    """glibc: arrays below 32 MB from the heap, freed memory kept (the settings ``hepreco run`` uses)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    return all(libc.mallopt(o, v) == 1 for o, v in ((m_mmap_threshold, 32 << 20), (m_trim_threshold, 256 << 20),
                                                   (m_top_pad, 64 << 20)))  # fmt: skip


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--simulate", type=int, default=200, help="events to simulate")
    ap.add_argument("--copies", type=int, default=50, help="times the simulated events are repeated")
    ap.add_argument("--batch-size", type=int, default=1000, help="events per imager call")
    ap.add_argument("--repeat", type=int, default=3, help="timings per measurement (the best is kept)")
    ap.add_argument("--no-malloc-tuning", action="store_true", help="leave glibc malloc as it is")
    args = ap.parse_args()
    tuned = False if args.no_malloc_tuning else tune_malloc()

    t0 = time.perf_counter()
    hits, _ = simulate(np.arange(args.simulate, dtype=np.uint64))
    counts = np.tile(ak.to_numpy(ak.num(hits)), args.copies)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = ak.flatten(hits)
    arrays = {
        f: np.tile(ak.to_numpy(flat[f]), args.copies) for f in ("wire", "drift_time", "edep", "is_signal", "turn")
    }
    n_hits = int(offsets[-1])
    print(f"{len(counts)} events, {n_hits} hits ({n_hits / len(counts):.0f} per event); "
          f"simulated in {time.perf_counter() - t0:.1f} s; batches of {args.batch_size} events; "
          f"malloc tuned: {tuned}")  # fmt: skip
    starts = range(0, len(counts), args.batch_size)
    batches = []
    for b in starts:
        o = offsets[b : b + args.batch_size + 1]
        sl = slice(o[0], o[-1])
        batches.append((o - o[0], {k: v[sl] for k, v in arrays.items()}))

    print(f"{'layout':10s} {'products':28s} {'numba hits/s':>14s} {'numpy hits/s':>14s} {'ratio':>7s}")
    for layout in LAYOUTS:
        lay = image_layout(layout)
        for what, truth in (("image + hit_pixel", False), ("+ pixel_hit + targets", True)):

            def run(fn, lay=lay, truth=truth):  # type: ignore[no-untyped-def]
                for o, a in batches:
                    kw = {"pixel_hit": truth}
                    if truth:
                        kw.update(is_signal=a["is_signal"], turn=a["turn"])
                    fn(o, a["wire"], a["drift_time"], a["edep"], lay, **kw)

            o, a = batches[0]
            kw = {"pixel_hit": truth, **({"is_signal": a["is_signal"], "turn": a["turn"]} if truth else {})}
            x = make_images(o, a["wire"], a["drift_time"], a["edep"], lay, **kw)  # compiles
            y = make_images_numpy(o, a["wire"], a["drift_time"], a["edep"], lay, **kw)
            for name in ("image", "hit_pixel", "pixel_hit", "target_signal", "target_turn", "n_shared"):
                assert np.array_equal(getattr(x, name), getattr(y, name)), name
            del x, y
            t_nb = best_time(lambda run=run: run(make_images), args.repeat)
            t_np = best_time(lambda run=run: run(make_images_numpy), 1)
            print(f"{layout:10s} {what:28s} {n_hits / t_nb / 1e6:11.1f} M {n_hits / t_np / 1e6:11.1f} M "
                  f"{t_np / t_nb:6.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
