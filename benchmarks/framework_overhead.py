"""Framework overhead: 5 trivial producers + 1 filter + 1 analyzer on EmptySource events.

Prints events/s at several batch sizes and the ratio of the job's time to the same arithmetic written
as a bare numpy/awkward loop over the same batches, measured in the same run, and the fixed cost per
module per batch. Nothing is asserted: this script measures.

    python benchmarks/framework_overhead.py                # 10 M events, batches of 1k, 10k, 100k
    python benchmarks/framework_overhead.py --events 1000000 --batch 10000

It then prints the framework's own cost per module per batch: the same job with modules that do no arithmetic
(CPU time, the slope between 200 and 2000 batches), which separates the fixed cost from the effects of a
batch's products staying alive until its last module has run (cache and memory, which grow with the batch).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np

import hepreco

PLUGIN = Path(__file__).with_name("_overhead_plugin.py")
PLUGIN_CODE = '''
import awkward as ak
import numpy as np
import hepreco
from hepreco import InputTag


class Step(hepreco.Producer):
    """out = in * 1.0001 + 1 (the first one starts from the event number)."""

    class Config(hepreco.ModuleConfig):
        src: InputTag | None = None

    produces = ("",)

    def produce(self, events):
        x = events.event.astype(np.float64) if self.config.src is None else events[self.config.src]
        events.put("", x * 1.0001 + 1.0)


class Even(hepreco.Filter):
    def filter(self, events):
        return (events.event & 1) == 0


class Sum(hepreco.Analyzer):
    class Config(hepreco.Analyzer.Config):
        src: InputTag

    def begin_job(self):
        self.total = 0.0

    def analyze(self, events):
        self.total += float(ak.sum(events[self.config.src]))

    def end_job(self):
        self.summary(total=self.total)


_CACHE = {}


class Nop(hepreco.Producer):
    """Puts a cached array: no arithmetic, only the framework's own work (lookup, put, checks)."""

    class Config(hepreco.ModuleConfig):
        src: InputTag | None = None

    produces = ("",)

    def produce(self, events):
        if self.config.src is not None:
            events[self.config.src]
        n = len(events)
        if n not in _CACHE:
            _CACHE[n] = np.zeros(n)
        events.put("", _CACHE[n])


class EvenNop(hepreco.Filter):
    def filter(self, events):
        n = len(events)
        if ("m", n) not in _CACHE:
            _CACHE[("m", n)] = (np.arange(n) & 1) == 0
        return _CACHE[("m", n)]


class Look(hepreco.Analyzer):
    class Config(hepreco.Analyzer.Config):
        src: InputTag

    def analyze(self, events):
        events[self.config.src]


@hepreco.hookimpl
def hepreco_modules():
    return [Step, Even, Sum, Nop, EvenNop, Look]
'''


def job_config(events: int, batch: int, *, noop: bool = False) -> dict:
    step, even, ana = ("Nop", "EvenNop", "Look") if noop else ("Step", "Even", "Sum")
    modules = {"p1": {"module": step}}
    for i in range(2, 6):
        modules[f"p{i}"] = {"module": step, "src": f"p{i - 1}"}
    modules["even"] = {"module": even}
    modules["sum"] = {"module": ana, "src": "p5", "select": ["reco"]}
    return {
        "process": "overhead",
        "plugins": [str(PLUGIN)],
        "source": {"module": "EmptySource", "events": events, "batch_size": batch},
        "modules": modules,
        "paths": {"reco": ["p1", "p2", "p3", "p4", "p5", "even"]},
        "end_paths": {"ana": ["sum"]},
    }


def bare(events: int, batch: int) -> float:
    """The same arithmetic as the job, as a plain loop over batches: ids, 5 steps, a mask, a sum."""
    total = 0.0
    for start in range(0, events, batch):
        stop = min(start + batch, events)
        n = stop - start
        run = np.full(n, 1, dtype=np.uint32)  # noqa: F841 - the source makes ids too
        subrun = np.full(n, 0, dtype=np.uint32)  # noqa: F841
        event = np.arange(1 + start, 1 + stop, dtype=np.uint64)
        x = ak.Array(event.astype(np.float64) * 1.0001 + 1.0)
        for _ in range(4):
            x = x * 1.0001 + 1.0
        keep = (event & 1) == 0
        total += float(ak.sum(x[np.flatnonzero(keep)]))
    return total


def measure(events: int, batch: int, repeat: int) -> dict:
    cfg = job_config(events, batch)
    plan_times, bare_times = [], []
    totals = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        b = bare(events, batch)
        bare_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        r = hepreco.run(cfg)
        plan_times.append(time.perf_counter() - t0)
        totals.append((b, r.summaries["sum"]["total"]))
    b, j = totals[-1]
    if not np.isclose(b, j, rtol=1e-12):
        sys.exit(f"job and bare loop disagree: {j} vs {b}")
    tj, tb = min(plan_times), min(bare_times)
    nbatches = -(-events // batch)
    n_modules = 8  # source + 5 producers + filter + analyzer
    return {
        "batch": batch,
        "job_s": tj,
        "bare_s": tb,
        "job_evps": events / tj,
        "bare_evps": events / tb,
        "ratio": tj / tb,
        "fixed_us_per_module_batch": max(tj - tb, 0.0) / (nbatches * n_modules) * 1e6,
        "spread": statistics.pstdev(plan_times) / tj if len(plan_times) > 1 else 0.0,
    }


def fixed_cost(batch: int, repeat: int) -> float:
    """The framework's own CPU time per module per batch: the same job with modules that do no arithmetic,
    the slope between 200 and 2000 batches (so the job's set-up cancels; CPU time, which another process on
    the machine disturbs less than wall time)."""
    cost = {}
    for nb in (200, 2000):
        cfg = job_config(nb * batch, batch, noop=True)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            hepreco.run(cfg)
            best = min(best, time.process_time() - t0)
        cost[nb] = best
    return (cost[2000] - cost[200]) / 1800 / 8 * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, action="append", help="batch size (repeatable; default 1k, 10k, 100k)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args()
    PLUGIN.write_text(PLUGIN_CODE)
    # a job tunes glibc malloc once per process (hepreco.core.allocator); tune it before the bare
    # loop too, so both are measured with the same allocator settings
    from hepreco.core.allocator import tune_allocator

    tuned = tune_allocator()
    batches = args.batch or [1_000, 10_000, 100_000]
    print(f"hepreco {hepreco.__version__}: 5 producers + 1 filter + 1 analyzer, {args.events:,} EmptySource events")
    print(f"malloc tuning: {'on' if tuned else 'off'} (HEPRECO_MALLOC_TUNING)")
    print(f"{'batch':>8} {'job ev/s':>12} {'bare ev/s':>12} {'job/bare':>9} {'overhead':>9} {'us/module/batch':>16}")
    for batch in batches:
        m = measure(args.events, batch, args.repeat)
        print(
            f"{m['batch']:>8} {m['job_evps']:>12,.0f} {m['bare_evps']:>12,.0f} {m['ratio']:>9.3f} "
            f"{(m['ratio'] - 1) * 100:>8.1f}% {m['fixed_us_per_module_batch']:>16.1f}"
        )
    print("the framework's own cost (modules that do no arithmetic; CPU time per module per batch):")
    for batch in batches:
        print(f"{batch:>8} {fixed_cost(batch, args.repeat):>10.1f} us")
    PLUGIN.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
