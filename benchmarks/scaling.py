"""Benchmark the executors: one CPU-bound job inline, and on 1 and 2 workers with processes and with Dask.

    python benchmarks/scaling.py [--events 2000] [--chunk-size 50] [--workers 1 2] [--no-dask] [--repeat 1]
                                 [--output none|root|parquet]

The job is the COMET simulation and imager (``comet.CDCSimSource`` + ``comet.HitImager``) with the hit
classification metrics of the energy deposit (``comet.HitClassificationMetrics``, through a subclass
defined here that sets ``summary_from_histograms``, so its summary is computed on the client from the
merged histograms). Each configuration runs in a fresh Python process, timed around ``hepreco.run``
(so worker start-up, plan building and the client's merging count; the library import does not).
Prints events/s, the speed-up against inline measured in the same run, how busy the workers were,
the client's serial time (merging, journal, outputs) as a share of the wall time, and whether the
histograms and the metrics' summary equal inline's; a last run adds a journal (its cost is the client's
JSON writes). With ``--repeat N`` the configurations run N times, interleaved, and the fastest run of each
is shown (on a shared machine other users' load only ever slows a run down). ``load`` is the 1-minute
load average after the run. It measures; it asserts no timing. ``--output root`` (or ``parquet``) also
writes every event's hits and image, so that the client merges the chunks' files at the end (``merge``
in the client column).

Measured here (2 cores, ``--events 2400 --repeat 2``, machine otherwise idle, 2026-11-23): inline 45.5 s
(52.8 events/s); processes 1 worker 0.96x, 2 workers 1.89x; dask 1 worker 0.95x, 2 workers 1.74x; 2
processes with a journal 1.87x. The client's serial time was 7-10 ms (merging 48 chunk results,
0.01-0.04% of the wall time) and 261 ms with the journal (JSON of each chunk's histograms and reports,
~5.5 ms a chunk, 1.1%).

How it extrapolates to a cluster: the workers' part scales with the number of workers as long as
there are several chunks per worker (the last chunks are the tail: keep chunks to a few seconds). What
is serial runs on the client: per chunk, merging its histograms and reports (~0.2 ms here; grows with
the number of histogram bins) and, with a journal, writing them as JSON (~5 ms); once at the end,
merging the output files (reading and writing every output event once; file sets cost nothing):
with ``--output root``, 1000 events, 15.8 MB, it took 1.2 s (1.2 ms an event, 3.5% of the inline job's
time, 4.6% of the 2-worker wall time; 2026-11-23, on a loaded machine), which bounds the speed-up of a
job that writes that much per event at ~28x. With
t_c the client's time per chunk and t_w a chunk's time on a worker, the client saturates at about
t_w / t_c workers: ~5000 workers for 1 s chunks without a journal here, ~200 with one (use longer
chunks with a journal). Worker start-up (1-2 s: forking from a process that has imported hepreco)
and, for Dask, the scheduler's own work are paid once per job.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hepreco_comet.modules.hit_metrics import HitClassificationMetrics

import hepreco

PLUGIN_NAME = "scaling"


class MergedHitMetrics(HitClassificationMetrics):
    """HitClassificationMetrics whose summary and plots come from its (merged) histograms."""

    summary_from_histograms = True


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [MergedHitMetrics]


def job(events: int, batch_size: int, output: str = "none", folder: str = ".") -> dict:
    cfg = _job(events, batch_size)
    if output != "none":  # the hits and the images of every event: the client merges the per-chunk files
        module, suffix = {"root": ("RootOutput", "root"), "parquet": ("ParquetOutput", "parquet")}[output]
        keep = ["source:hits", "imager:image"]
        cfg["modules"]["out"] = {"module": module, "file": f"{folder}/events.{suffix}", "keep": keep}
        cfg["end_paths"]["ana"].append("out")
    return cfg


def _job(events: int, batch_size: int) -> dict:
    return {
        "process": "scaling",
        "seed": 11,
        "plugins": [str(Path(__file__).resolve())],
        "source": {"module": "comet.CDCSimSource", "events": events, "batch_size": batch_size},
        "modules": {
            "imager": {"module": "comet.HitImager", "hits": "source:hits", "layout": "layercell", "targets": True},
            "metrics": {
                "module": "scaling.MergedHitMetrics",
                "score": "source:hits.edep",
                "invert": True,
                "score_range": [0, 255],
                "thresholds": 256,
            },
        },
        "paths": {"reco": ["imager"]},
        "end_paths": {"ana": ["metrics"]},
    }


def _plain(obj: object) -> object:
    """numpy arrays and scalars as JSON lists and numbers (exact), anything else as text."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def _histograms_json(histograms: dict) -> dict:
    """The job's histograms as exact JSON-able data (boost-histogram's UHI serialization), to compare runs."""
    from boost_histogram.serialization import to_uhi

    return {label: {name: to_uhi(h) for name, h in hs.items()} for label, hs in histograms.items()}


def measure(spec: str, events: int, chunk_size: int, batch_size: int, output: str = "none") -> dict:
    """Run the job once with ``spec`` (``inline``, ``processes:N`` or ``dask:N``) in this process."""
    import tempfile

    spec, _, journal = spec.partition("+")
    kind, _, n = spec.partition(":")
    executor: dict = {"kind": kind, "chunk_size": chunk_size}
    if n:
        executor["workers"] = int(n)
    if kind == "dask":
        executor["dashboard"] = None
    with tempfile.TemporaryDirectory() as tmp:
        if journal:
            executor["journal"] = str(Path(tmp) / "journal")
        t0 = time.perf_counter()
        r = hepreco.run(job(events, batch_size, output, tmp), executor=executor)
        wall = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in Path(tmp).glob("events.*"))
    busy = sum(m["total_s"] for m in r.time_report.to_dict()["modules"].values())
    return {
        "spec": spec,
        "events": r.events,
        "wall": wall,
        "busy": busy,
        "client": r.executor.get("client_seconds", {}),
        "histograms": json.dumps(_histograms_json(r.histograms), sort_keys=True, default=_plain),
        "metrics": r.summaries.get("metrics", {}),
        "chunks": r.executor.get("chunks"),
        "output_bytes": size,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=2000, help="events (default 2000: ~30-60 s inline on one core here)")
    p.add_argument("--chunk-size", type=int, default=50, help="events per chunk")
    p.add_argument("--batch-size", type=int, default=50, help="events per batch")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run")
    p.add_argument("--no-dask", action="store_true", help="skip the Dask runs")
    p.add_argument("--repeat", type=int, default=1, help="runs of each configuration; the fastest is shown")
    p.add_argument(
        "--output",
        choices=["none", "root", "parquet"],
        default="none",
        help="also write the hits and images of every event (RootOutput or ParquetOutput): the client merges them",
    )
    p.add_argument("--one", help=argparse.SUPPRESS)  # run one configuration, print JSON (used internally)
    ns = p.parse_args()
    if ns.one:
        print("RESULT " + json.dumps(measure(ns.one, ns.events, ns.chunk_size, ns.batch_size, ns.output)))
        return 0

    specs = ["inline"] + [
        f"{k}:{n}" for k in ("processes", "dask") if not (k == "dask" and ns.no_dask) for n in ns.workers
    ]
    specs.append(f"processes:{max(ns.workers)}+journal")
    cores = os.cpu_count()
    print(
        f"hepreco scaling: comet.CDCSimSource + comet.HitImager + HitClassificationMetrics, {ns.events} events, "
        f"chunks of {ns.chunk_size}, batches of {ns.batch_size}, output {ns.output}, {cores} cores, load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    print(f"{'executor':<19} {'workers':>7} {'wall [s]':>9} {'events/s':>9} {'speed-up':>9} {'busy':>6} "
          f"{'client serial':>14} {'same result':>12} {'load':>6}")  # fmt: skip
    best: dict[str, dict] = {}
    for _ in range(ns.repeat):  # configurations interleaved, the best of each kept: others' load is noise
        for spec in specs:
            cmd = [sys.executable, __file__, "--one", spec, "--events", str(ns.events), "--chunk-size",
                   str(ns.chunk_size), "--batch-size", str(ns.batch_size), "--output", ns.output]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if proc.returncode != 0 or line is None:
                print(f"{spec}: failed\n{proc.stdout}\n{proc.stderr}", file=sys.stderr)
                return 1
            res = json.loads(line.removeprefix("RESULT "))
            res["load"] = os.getloadavg()[0]
            if spec not in best or res["wall"] < best[spec]["wall"]:
                best[spec] = res
    ref = best["inline"]
    for spec in specs:
        res = best[spec]
        kind, _, n = spec.partition("+")[0].partition(":")
        kind += " +journal" if spec.endswith("+journal") else ""
        workers = int(n) if n else 1
        rate = res["events"] / res["wall"]
        speed = ref["wall"] / res["wall"]
        busy = res["busy"] / (workers * res["wall"])
        client = res["client"]
        serial = sum(v for k, v in client.items() if k != "wall")
        share = f"{1000 * serial:.1f} ms {100 * serial / res['wall']:.2f}%" if client else "-"
        if client.get("outputs"):
            share += f" (merge {1000 * client['outputs']:.0f} ms)"
        same = (res["histograms"], res["metrics"]) == (ref["histograms"], ref["metrics"])
        same_text = "ref" if res is ref else ("yes" if same else "NO")
        print(
            f"{kind:<19} {n or '-':>7} {res['wall']:>9.2f} {rate:>9.1f} {speed:>8.2f}x {100 * busy:>5.0f}% "
            f"{share:>14} {same_text:>12} {res['load']:>6.2f}"
        )
    if ns.output != "none":
        print(f"output: {ref['output_bytes'] / 1e6:.1f} MB written inline")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
