"""Start-up time of the command line, with every installed plugin: `hepreco --help`, `hepreco list`,
`hepreco validate examples/comet/reco.yaml`, against a baseline measured in the same run (a bare
`python -c "import uproot, awkward, hist"`, what any scikit-hep script pays). Prints seconds and ratios; asserts
nothing. Targets (issue 12): --help and list < 0.5 s, validate < 1.5 s with the numba cache warm; (issue 18) a
whole small job that uses no installed plugin, `hepreco run examples/minimal.yaml -n 1000`, under 1 s.

    python benchmarks/startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], repeat: int) -> tuple[float, float]:
    """(best, median) wall seconds of ``cmd`` over ``repeat`` runs (after one warm-up run)."""
    subprocess.run(cmd, cwd=REPO, capture_output=True, check=False)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=REPO, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            print(f"  {' '.join(cmd)} exited {res.returncode}: {res.stderr.decode()[-300:]}")
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    cases = [
        ("bare: import uproot, awkward, hist", [py, "-c", "import uproot, awkward, hist"]),
        ("hepreco --help", [py, "-m", "hepreco", "--help"]),
        ("hepreco list", [py, "-m", "hepreco", "list"]),
        ("hepreco validate examples/comet/reco.yaml", [py, "-m", "hepreco", "validate", "examples/comet/reco.yaml"]),
        # a whole job without an installed plugin (its one-file plugin only): start-up, 1000 events, histograms
        # written to a ROOT file, reports (issue 18: under 1 s)
        (
            "hepreco run examples/minimal.yaml -n 1000 -q",
            [py, "-m", "hepreco", "run", "examples/minimal.yaml", "-n", "1000", "-q"],
        ),
    ]
    base = None
    print(f"{'command':<46} {'best s':>8} {'median s':>9} {'best / bare':>12}")
    for name, cmd in cases:
        best, med = timed(cmd, args.repeat)
        base = base or best
        print(f"{name:<46} {best:>8.3f} {med:>9.3f} {best / base:>12.2f}")


if __name__ == "__main__":
    main()
