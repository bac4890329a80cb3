"""Peer benchmark (issue 18): one dimuon analysis written bare, with coffea and with hepreco at its defaults.

The analysis: events with at least two opposite-sign muons; the invariant mass of the leading opposite-sign pair
(muons ordered by pT, the first opposite-sign pair among them), histogrammed in 120 bins over 0-120 GeV, and the
leading muon's pT of those events in 100 bins over 0-200 GeV. The same function (``dimuon`` below) computes
both in every implementation:

- bare: ``uproot.iterate(step_size="100 MB")`` + awkward + numpy + hist, the baseline;
- coffea (when it imports): ``processor.Runner`` at its defaults (chunks of 100k, NanoAODSchema), with the
  iterative executor and with the futures executor on 2 workers;
- hepreco at its defaults (no batch size, no chunk size): a job config with RootSource, the ``DimuonPair``
  producer of ``benchmarks/_dimuon_plugin.py`` (``plugins: [path]``) and two HistFill modules, inline and with
  ``executor={"kind": "processes", "workers": 2}``.

Each run is a fresh subprocess, so its wall time includes what a user pays to start (imports, plugin
registration); the cases are interleaved over ``--repeat`` rounds after one untimed warm-up round. CPU time
(user + system, from ``os.wait4``) is shown for the single-process cases: on a shared machine it varies less
than wall time. Peak RSS comes twice: the child's ``ru_maxrss`` from ``os.wait4`` (its largest process among those reaped: worker processes
the child never waits for are missed), and the sum over the child's whole process tree, sampled every 0.2 s.
The histograms of every run are compared bin for bin (flow bins included) with the bare loop's; the script exits
non-zero only if they differ. Ratios are against the bare loop measured in the same run; nothing else is
asserted.

The input (made once, cached in ``--workdir``): ``--events`` entries of the muons of
``../shared/data/root-files/nanoAOD_2015_CMS_Open_Data_ttbar.root`` (200 events, 41 muons), TTree ``Events`` with
nMuon, Muon_pt/eta/phi/mass/charge, run, luminosityBlock, event, written by uproot in baskets of ``--basket``
entries. Each copy of the 200 events keeps their muon counts and the muons' values, but copy k rotates the file's
41 muons by k places among the events: the sample's only event with two muons holds two of the same charge, so a
verbatim copy would select nothing. Event numbers are made unique (original + 1000 x copy).

    python benchmarks/vs_coffea.py                                   # 3 M events, 3 rounds
    python benchmarks/vs_coffea.py --events 1000000 --repeat 2
    python benchmarks/vs_coffea.py --only bare hepreco-inline        # some cases only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SAMPLE = REPO.parent / "shared" / "data" / "root-files" / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
PLUGIN = HERE / "_dimuon_plugin.py"
MUON_FIELDS = ("pt", "eta", "phi", "mass", "charge")
BRANCHES = [f"Muon_{f}" for f in MUON_FIELDS]
#: the two histograms: name -> (bins, start, stop)
HISTS = {"mass": (120, 0.0, 120.0), "lead_pt": (100, 0.0, 200.0)}
CASES = ("bare", "coffea-iterative", "coffea-futures-2", "hepreco-inline", "hepreco-processes-2")
#: cases whose workers the child does not reap: wait4's CPU time and RSS miss them
MULTIPROCESS = ("coffea-futures-2", "hepreco-processes-2")
TARGETS = {
    "hepreco-inline": "≥ 0.90 x bare rate; ahead of coffea-iterative",
    "hepreco-processes-2": "≥ 1.6 x hepreco-inline rate",
}


# --- the analysis, shared by every implementation ------------------------------------------------------------
def dimuon(pt, eta, phi, mass, charge):
    """(selected, pair mass, leading pT) for a batch of events with jagged muon columns.

    ``selected`` is a numpy bool per event (at least two muons of opposite charge); ``pair mass`` [GeV] is the
    invariant mass of the leading opposite-sign pair (muons ordered by decreasing pT, the first pair in
    ``ak.argcombinations`` order with opposite charges) and ``leading pT`` the highest muon pT, both float64
    numpy arrays with one entry per selected event.
    """
    import awkward as ak
    import numpy as np

    order = ak.argsort(pt, axis=1, ascending=False, stable=True)
    pt, eta, phi, mass, charge = pt[order], eta[order], phi[order], mass[order], charge[order]
    i, j = ak.unzip(ak.argcombinations(pt, 2))
    opposite = charge[i] * charge[j] < 0
    ia, ib = ak.firsts(i[opposite], axis=1), ak.firsts(j[opposite], axis=1)
    selected = ~ak.to_numpy(ak.is_none(ia))
    ia, ib = ak.singletons(ia), ak.singletons(ib)  # [[k]] or [] per event: picks one muon or none

    def four(pick):
        p = np.asarray(ak.flatten(pt[pick]), dtype=np.float64)
        e = np.asarray(ak.flatten(eta[pick]), dtype=np.float64)
        f = np.asarray(ak.flatten(phi[pick]), dtype=np.float64)
        m = np.asarray(ak.flatten(mass[pick]), dtype=np.float64)
        px, py, pz = p * np.cos(f), p * np.sin(f), p * np.sinh(e)
        return px, py, pz, np.sqrt(px * px + py * py + pz * pz + m * m)

    ax, ay, az, ae = four(ia)
    bx, by, bz, be = four(ib)
    m2 = (ae + be) ** 2 - (ax + bx) ** 2 - (ay + by) ** 2 - (az + bz) ** 2
    pair_mass = np.sqrt(np.maximum(m2, 0.0))
    lead_pt = np.asarray(ak.firsts(pt[selected], axis=1), dtype=np.float64)
    return selected, pair_mass, lead_pt


def book():
    """The two empty histograms (double storage, flow bins)."""
    import hist

    return {name: hist.Hist(hist.axis.Regular(*spec, name=name)) for name, spec in HISTS.items()}


# --- the input file --------------------------------------------------------------------------------------------
def make_file(path: Path, events: int, basket: int) -> None:
    """Write ``events`` entries from the sample's muons (see the module docstring), ``basket`` entries a basket."""
    import awkward as ak
    import numpy as np
    import uproot

    src = uproot.open(SAMPLE)["Events"].arrays(["nMuon", *BRANCHES, "run", "luminosityBlock", "event"])
    n_src = len(src)
    counts = np.asarray(src.nMuon, dtype=np.int64)
    flat = {f: ak.to_numpy(ak.flatten(src[f"Muon_{f}"])) for f in MUON_FIELDS}
    n_mu = len(flat["pt"])
    tmp = path.with_suffix(".part")
    with uproot.recreate(tmp) as out:
        tree = None
        for start in range(0, events, basket):
            stop = min(start + basket, events)
            copies = np.arange(start // n_src, (stop - 1) // n_src + 1)
            rows = np.arange(start, stop) - copies[0] * n_src  # entries of the tiled block
            cnt = np.tile(counts, len(copies))
            # copy k: the flat muon list rotated by k, cut by the original counts
            idx = np.concatenate([(np.arange(n_mu) + k) % n_mu for k in copies])
            offsets = np.concatenate([[0], np.cumsum(cnt)])
            lo, hi = offsets[rows[0]], offsets[rows[-1] + 1]
            muons = ak.zip(
                {f: ak.unflatten(flat[f][idx[lo:hi]], cnt[rows]) for f in MUON_FIELDS},
                depth_limit=2,
            )
            copy_of = copies[0] + rows // n_src
            block = {
                "Muon": muons,
                "run": np.asarray(src.run)[rows % n_src],
                "luminosityBlock": np.asarray(src.luminosityBlock)[rows % n_src],
                "event": np.asarray(src.event)[rows % n_src] + np.uint64(1000) * copy_of.astype(np.uint64),
            }
            if tree is None:  # a TTree (assigning would write an RNTuple), room for every basket
                tree = out.mktree("Events", block, initial_basket_capacity=-(-events // basket) + 1)
            else:
                tree.extend(block)
    tmp.replace(path)


# --- the implementations, each run as a child process --------------------------------------------------------
def run_bare(path: str) -> dict:
    import uproot

    hists = book()
    for batch in uproot.iterate(f"{path}:Events", BRANCHES, step_size="100 MB"):
        _, m, lead = dimuon(*(batch[b] for b in BRANCHES))
        hists["mass"].fill(m)
        hists["lead_pt"].fill(lead)
    return hists


def run_coffea(path: str, executor: str) -> dict:
    from coffea import processor

    class Dimuon(processor.ProcessorABC):
        def process(self, events):
            mu = events.Muon
            _, m, lead = dimuon(mu.pt, mu.eta, mu.phi, mu.mass, mu.charge)
            hists = book()
            hists["mass"].fill(m)
            hists["lead_pt"].fill(lead)
            return hists

        def postprocess(self, accumulator):
            return accumulator

    if executor == "iterative":
        ex = processor.IterativeExecutor(status=False)
    else:
        ex = processor.FuturesExecutor(workers=2, status=False)
    runner = processor.Runner(executor=ex)  # defaults: chunksize 100k, NanoAODSchema
    return runner({"dimuon": [path]}, Dimuon(), treename="Events")


def hepreco_config(path: str) -> dict:
    """The job: RootSource at its defaults, the pair producer, two HistFill modules."""
    axes = {name: {"bins": b, "start": lo, "stop": hi} for name, (b, lo, hi) in HISTS.items()}
    return {
        "process": "dimuon",
        "plugins": [str(PLUGIN)],
        "source": {"module": "RootSource", "files": [path], "tree": "Events", "branches": ["Muon_*"]},
        "modules": {
            "dimuon": {"module": "DimuonPair"},
            "h_mass": {"module": "HistFill", "name": "mass", "axes": [{"fill": "dimuon:mass", **axes["mass"]}]},
            "h_lead_pt": {
                "module": "HistFill",
                "name": "lead_pt",
                "axes": [{"fill": "dimuon:lead_pt", **axes["lead_pt"]}],
            },
        },
        "paths": {"reco": ["dimuon"]},
        "end_paths": {"hists": ["h_mass", "h_lead_pt"]},
    }


def run_hepreco(path: str, executor: str) -> dict:
    import hepreco

    kw = {} if executor == "inline" else {"executor": {"kind": "processes", "workers": 2}}
    result = hepreco.run(hepreco_config(path), **kw)
    return {"mass": result.histograms["h_mass"]["mass"], "lead_pt": result.histograms["h_lead_pt"]["lead_pt"]}


def child(case: str, path: str, out: str) -> None:
    """Run one case and write its histograms' bin contents (flow included) to ``out`` as JSON."""
    if case == "bare":
        hists = run_bare(path)
    elif case.startswith("coffea"):
        hists = run_coffea(path, "iterative" if case == "coffea-iterative" else "futures")
    else:
        hists = run_hepreco(path, "inline" if case == "hepreco-inline" else "processes")
    Path(out).write_text(json.dumps({k: h.values(flow=True).tolist() for k, h in hists.items()}))


# --- the parent: interleaved timed runs, histogram check, table ---------------------------------------------
def descendants(root: int) -> list[int]:
    """Process ``root`` and all its descendants (Linux /proc; just ``root`` elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def rss_mb(pids: list[int]) -> float:
    """Resident memory [MB] of these processes now, summed (0 for those gone)."""
    pages = 0
    for pid in pids:
        try:
            pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(case: str, path: Path, out: Path, log: Path) -> tuple[float, float, float, float, int]:
    """(wall s, CPU s and peak RSS MB of the child as ``wait4`` reports them, peak RSS MB summed over the child's
    process tree, exit status) of one child run. The tree is listed every second and its RSS read every 0.2 s (a full
    /proc scan costs ~25 ms on a busy 2-core machine: not done more often, to leave the cores to the child)."""
    cmd = [sys.executable, __file__, "--child", case, "--file", str(path), "--out", str(out)]
    peak_tree, pids, listed = 0.0, [], 0.0
    with log.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=err, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            if now - listed >= 1.0:
                pids, listed = descendants(proc.pid), now
            peak_tree = max(peak_tree, rss_mb(pids))
            time.sleep(0.2)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, max(peak_tree, usage.ru_maxrss / 1024), proc.returncode


def compare(ref: dict, got: dict) -> str:
    """'' when ``got`` equals ``ref`` bin for bin, else a description of the first differences."""
    import numpy as np

    diffs = []
    for name in HISTS:
        a, b = np.asarray(ref[name]), np.asarray(got[name])
        if a.shape != b.shape or not np.array_equal(a, b):
            bins = np.flatnonzero(a != b) if a.shape == b.shape else []
            diffs.append(
                f"{name}: {len(bins)} bins differ (entries {a.sum():.0f} vs {b.sum():.0f}; first bins {list(bins[:5])})"
            )
    return "; ".join(diffs)


def _has(dist: str) -> bool:
    import importlib.metadata as md

    try:
        md.version(dist)
    except md.PackageNotFoundError:
        return False
    return True


def coffea_available() -> bool:
    res = subprocess.run([sys.executable, "-c", "import coffea.processor"], capture_output=True, check=False)
    return res.returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=3_000_000, help="entries in the input file (default 3M)")
    ap.add_argument("--repeat", type=int, default=3, help="timed rounds, cases interleaved (default 3)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "hepreco-bench")
    ap.add_argument("--basket", type=int, default=100_000, help="entries per basket when making the file")
    ap.add_argument("--only", nargs="+", choices=CASES, help="run only these cases (bare always runs)")
    ap.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.file, args.out)
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"dimuon_{args.events}_b{args.basket}.root"
    if not path.exists():
        if not SAMPLE.exists():
            sys.exit(f"the sample {SAMPLE} is absent: this benchmark needs ../shared/data/root-files")
        t0 = time.perf_counter()
        make_file(path, args.events, args.basket)
        print(f"made {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    cases = [c for c in CASES if c == "bare" or not args.only or c in args.only]
    if not coffea_available():
        print("coffea does not import: its cases are skipped (pip install coffea)")
        cases = [c for c in cases if not c.startswith("coffea")]

    import importlib.metadata as md

    versions = ", ".join(f"{p} {md.version(p)}" for p in ("hepreco", "uproot", "awkward", "hist", "coffea") if _has(p))
    print(f"{args.events:,} events, {path.stat().st_size / 1e6:.1f} MB; {versions}; {os.cpu_count()} cores")
    print(f"1 warm-up round, then {args.repeat} timed rounds of: {', '.join(cases)}")

    times: dict[str, list[float]] = {c: [] for c in cases}
    cpus: dict[str, list[float]] = {c: [] for c in cases}
    rss: dict[str, list[float]] = {c: [] for c in cases}
    rss_tree: dict[str, list[float]] = {c: [] for c in cases}
    hists: dict[str, dict] = {}
    mismatches: list[str] = []
    for rnd in range(args.repeat + 1):
        for case in cases:
            out, log = args.workdir / f"{case}.json", args.workdir / f"{case}.log"
            wall, cpu, peak, peak_tree, rc = timed(case, path, out, log)
            if rc != 0:
                sys.exit(f"{case} exited {rc}:\n{log.read_text()[-3000:]}")
            got = json.loads(out.read_text())
            hists.setdefault("bare", got)
            diff = compare(hists["bare"], got)
            if diff:
                mismatches.append(f"{case}: {diff}")
            if rnd > 0:
                times[case].append(wall)
                cpus[case].append(cpu)
                rss[case].append(peak)
                rss_tree[case].append(peak_tree)

    base = args.events / min(times["bare"])
    print()
    print(
        "| implementation | best s | median s | events/s | x bare rate | CPU s (least) | peak RSS MB (wait4) "
        "| peak RSS MB (process tree) | target (issue 18) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rate = {}
    for case in cases:
        best, med = min(times[case]), statistics.median(times[case])
        cpu_s = "-" if case in MULTIPROCESS else f"{min(cpus[case]):.2f}"
        rate[case] = args.events / best
        print(
            f"| {case} | {best:.2f} | {med:.2f} | {rate[case] / 1e6:.2f} M | {rate[case] / base:.2f} | {cpu_s} "
            f"| {max(rss[case]):.0f} | {max(rss_tree[case]):.0f} | {TARGETS.get(case, '')} |"
        )
    print()
    if "hepreco-inline" in rate:
        r = rate["hepreco-inline"] / base
        print(f"hepreco inline: {r:.2f} x bare rate (target ≥ 0.90): {'met' if r >= 0.90 else 'MISSED'}")
        if "coffea-iterative" in rate:
            c = rate["hepreco-inline"] / rate["coffea-iterative"]
            print(f"hepreco inline: {c:.2f} x coffea iterative's rate (target > 1): {'met' if c > 1 else 'MISSED'}")
    if "hepreco-processes-2" in rate and "hepreco-inline" in rate:
        p = rate["hepreco-processes-2"] / rate["hepreco-inline"]
        print(f"hepreco 2 processes: {p:.2f} x inline (target ≥ 1.6): {'met' if p >= 1.6 else 'MISSED'}")
    entries = {k: int(sum(v)) for k, v in hists["bare"].items()}
    if mismatches:
        print("histograms DIFFER:\n  " + "\n  ".join(dict.fromkeys(mismatches)))
        sys.exit(1)
    print(f"histograms: OK, bin-for-bin identical in every run (entries, flow included: {entries})")


if __name__ == "__main__":
    main()
