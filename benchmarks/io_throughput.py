"""I/O throughput: RootSource and RootOutput against bare uproot on a file of jagged hit records.

Makes a TTree of ``--events`` events (default 10 M, about 1 GB) whose hits (x, y, z, e: float32; layer:
int16; Poisson(6) per event) are one list-of-records product, then measures in the same run:

- write: a job (a source handing out in-memory batches -> RootOutput) vs ``mktree``/``extend`` of the same
  arrays with bare uproot, same compression (zlib level 1), same batches;
- read: RootSource through a job with one trivial analyzer vs a bare ``uproot.iterate`` over the same
  branches doing the same work;
- peak RSS of the read job (a child process each) for the file and for one ``--rss-factor`` times larger.

Prints figures; asserts nothing. Files go under ``--dir`` (default: a temporary folder under /tmp) and are
deleted unless ``--keep``.

    python benchmarks/io_throughput.py                       # 10 M events (~1 GB) and 40 M for the RSS
    python benchmarks/io_throughput.py --events 1000000 --rss-factor 4
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np

import hepreco

BRANCHES = ["run", "subrun", "event", "hits_x", "hits_y", "hits_z", "hits_e", "hits_layer"]


# --- the plugin this script is to hepreco jobs (named in their ``plugins:``) -------------------------
@functools.cache
def make_pool(events: int, seed: int, mean_hits: float = 6.0) -> ak.Array:
    """``events`` events of jagged hit records; every batch of a job or of the bare loops is this one."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(mean_hits, events)
    n = int(counts.sum())
    hits = ak.zip(
        {
            "x": rng.normal(0, 50, n).astype(np.float32),
            "y": rng.normal(0, 50, n).astype(np.float32),
            "z": rng.uniform(-100, 100, n).astype(np.float32),
            "e": rng.exponential(1.0, n).astype(np.float32),
            "layer": rng.integers(0, 18, n).astype(np.int16),
        }
    )
    return ak.to_packed(ak.unflatten(hits, counts))


class PoolSource(hepreco.GeneratorSource):
    """Hands out the same in-memory batch of hits again and again (the batch size is the pool size)."""

    class Config(hepreco.GeneratorSource.Config):
        seed: int = 1

    produces = ("hits",)

    def products(self) -> tuple[str, ...]:
        return ("hits",)

    def generate(self, ids: hepreco.EventIDs) -> dict:
        pool = make_pool(int(self.config.batch_size), int(self.config.seed))
        return {"hits": pool if len(ids) == len(pool) else pool[: len(ids)]}


class CountHits(hepreco.Analyzer):
    """The trivial analyzer: counts events and hits."""

    class Config(hepreco.Analyzer.Config):
        hits: hepreco.InputTag = hepreco.InputTag("source:hits")

    def begin_job(self) -> None:
        self.events = 0
        self.hits = 0

    def analyze(self, events: hepreco.Events) -> None:
        self.events += len(events)
        self.hits += int(np.sum(ak.num(events[self.config.hits], axis=1)))

    def end_job(self) -> None:
        self.summary(events=self.events, hits=self.hits)


@hepreco.hookimpl
def hepreco_sources() -> list[type]:
    return [PoolSource]


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [CountHits]


# --- measurements ----------------------------------------------------------------------------------
def bare_write(path: Path, events: int, batch: int, seed: int) -> float:
    import uproot

    pool = make_pool(batch, seed)
    t0 = time.perf_counter()
    with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
        tree = None
        for start in range(0, events, batch):
            n = min(batch, events - start)
            data = {
                "run": np.ones(n, dtype=np.uint32),
                "subrun": np.zeros(n, dtype=np.uint32),
                "event": np.arange(start + 1, start + n + 1, dtype=np.uint64),
                "hits": pool if n == batch else pool[:n],
            }
            if tree is None:
                tree = f.mktree(
                    "events", {k: (v.dtype if isinstance(v, np.ndarray) else v.type) for k, v in data.items()}
                )
            tree.extend(data)
    return time.perf_counter() - t0


def job_write(path: Path, events: int, batch: int, seed: int) -> float:
    cfg = {
        "process": "bench_write",
        "plugins": [__file__],
        "source": {"module": "PoolSource", "events": events, "batch_size": batch, "seed": seed},
        "modules": {"out": {"module": "RootOutput", "file": str(path), "compression": "zlib:1"}},
        "end_paths": {"e": ["out"]},
    }
    t0 = time.perf_counter()
    hepreco.run(cfg)
    return time.perf_counter() - t0


def bare_read(path: Path, batch: int) -> tuple[float, int, int]:
    import uproot

    t0 = time.perf_counter()
    nev = nhits = 0
    for arrays in uproot.iterate(f"{path}:events", BRANCHES, step_size=batch, library="ak"):
        nev += len(arrays)
        nhits += int(np.sum(ak.num(arrays["hits_x"], axis=1)))
    return time.perf_counter() - t0, nev, nhits


def job_read(path: Path, batch: int) -> tuple[float, int, int]:
    cfg = {
        "process": "bench_read",
        "plugins": [__file__],
        "source": {
            "module": "RootSource",
            "files": str(path),
            "batch_size": batch,
            "groups": {"hits": {"counter": "nhits"}},
        },
        "modules": {"count": {"module": "CountHits"}},
        "end_paths": {"e": ["count"]},
    }
    t0 = time.perf_counter()
    r = hepreco.run(cfg)
    dt = time.perf_counter() - t0
    return dt, r.summaries["count"]["events"], r.summaries["count"]["hits"]


def child_rss(mode: str, path: Path, batch: int) -> tuple[float, float, float]:
    """(seconds, peak RSS, RSS after imports, in MB) of reading ``path`` in a fresh process (``mode``: job or bare)."""
    cmd = [sys.executable, __file__, "--child", mode, "--child-file", str(path), "--batch", str(batch)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
    info = json.loads(out.strip().splitlines()[-1])
    return info["seconds"], info["rss_mb"], info["rss_at_start_mb"]


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would include the parent's at fork time)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, path: Path, batch: int) -> None:
    from hepreco.core.allocator import tune_allocator

    tune_allocator()
    if mode == "job":  # load the plugins (installed ones import numba, scipy...) before the baseline
        from hepreco.plugins import get_registry

        get_registry().load_spec(__file__)
    before = peak_rss_mb()
    dt, _n, _h = job_read(path, batch) if mode == "job" else bare_read(path, batch)
    print(json.dumps({"seconds": dt, "rss_mb": peak_rss_mb(), "rss_at_start_mb": before}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000, help="events in the file (default 10 M, ~1 GB)")
    ap.add_argument("--batch", type=int, default=100_000, help="events per batch, for every measurement")
    ap.add_argument("--rss-factor", type=int, default=4, help="the second file for peak RSS is this many times larger")
    ap.add_argument("--repeat", type=int, default=2, help="best of N for the throughput figures")
    ap.add_argument("--dir", default=None, help="where the files go (default: a new folder under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the files")
    ap.add_argument("--child", choices=["job", "bare"], help=argparse.SUPPRESS)
    ap.add_argument("--child-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(args.child, Path(args.child_file), args.batch)
        return

    from hepreco.core.allocator import tune_allocator
    from hepreco.plugins import get_registry

    tune_allocator()  # the jobs tune glibc malloc; the bare loops get the same
    get_registry().load_spec(__file__)
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="hepreco-io-bench-", dir="/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    ev, batch, seed = args.events, args.batch, 1
    # the pool is made outside the timings: here for the bare loops, and in the plugin module (this file
    # loaded again under another name by the registry) for the job's source
    make_pool(batch, seed)
    sys.modules[f"hepreco_userplugin_{Path(__file__).stem}"].make_pool(batch, seed)
    try:
        bare_path, job_path = workdir / "bare.root", workdir / "job.root"
        writes = [
            (bare_write(bare_path, ev, batch, seed), job_write(job_path, ev, batch, seed)) for _ in range(args.repeat)
        ]
        tw_bare, tw_job = min(w[0] for w in writes), min(w[1] for w in writes)  # interleaved, best of each
        size = bare_path.stat().st_size
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"load average {load:.2f} on {os.cpu_count()} cores (other work on the machine blurs these figures)")
        mb = size / 1e6
        print(
            f"hepreco {hepreco.__version__}: {ev:,} events, batches of {batch:,}, file {mb:,.0f} MB "
            f"(RootOutput's: {job_path.stat().st_size / 1e6:,.0f} MB), zlib level 1"
        )
        print(f"{'':24}{'hepreco':>14}{'bare uproot':>14}{'hepreco/bare':>14}")
        print(f"{'write  [events/s]':24}{ev / tw_job:>14,.0f}{ev / tw_bare:>14,.0f}{tw_bare / tw_job:>13.1%}")
        print(f"{'write  [MB/s]':24}{mb / tw_job:>14,.1f}{mb / tw_bare:>14,.1f}")
        reads = [(bare_read(bare_path, batch), job_read(bare_path, batch)) for _ in range(args.repeat)]
        reads_bare, reads_job = [r[0] for r in reads], [r[1] for r in reads]
        tr_job, tr_bare = min(r[0] for r in reads_job), min(r[0] for r in reads_bare)
        if reads_job[0][1:] != reads_bare[0][1:]:
            sys.exit(f"the job and the bare loop saw different data: {reads_job[0][1:]} vs {reads_bare[0][1:]}")
        print(f"{'read   [events/s]':24}{ev / tr_job:>14,.0f}{ev / tr_bare:>14,.0f}{tr_bare / tr_job:>13.1%}")
        print(f"{'read   [MB/s]':24}{mb / tr_job:>14,.1f}{mb / tr_bare:>14,.1f}")
        job_path.unlink()

        big = workdir / "big.root"
        bare_write(big, ev * args.rss_factor, batch, seed)
        sizes = ((f"{mb:,.0f} MB file", bare_path), (f"{big.stat().st_size / 1e6:,.0f} MB file", big))
        rows = []
        for label, path in sizes:
            tj, rj, sj = child_rss("job", path, batch)
            tb, rb, sb = child_rss("bare", path, batch)
            rows.append(
                f"  {label:>16}: hepreco job {rj:6.0f} MB (+{rj - sj:4.0f} over {sj:.0f} after imports and plugins, "
                f"{tj:5.1f} s)   bare uproot.iterate {rb:6.0f} MB (+{rb - sb:4.0f} over {sb:.0f}, {tb:5.1f} s)"
            )
        print(f"peak RSS reading, a fresh process each, {batch:,} events per batch:")
        print("\n".join(rows))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
