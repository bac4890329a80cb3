"""What the live monitor costs a job, and how fast its images reach a client.

Runs the same job (``examples/minimal.yaml``: toy tracks, a filter, two HistFill histograms, plus ``--hists``
extra histograms) with and without the Monitor service, in a random order each round, in this process, and prints the
throughput of each and their ratio (monitored / plain; 1.00 = free), once with nobody watching and once with a
client process polling the page's JSON every second as the page does. Then serves a 600x3000 and a 128x128 image and
prints how long a client takes to get each (metadata + bytes; the browser's drawing is measured by
``tests/monitor/test_monitor_browser.py``). Nothing is asserted: this script measures.

    python benchmarks/monitor.py                      # 2 M events in batches of 10k, 3 rounds
    python benchmarks/monitor.py --events 5000000 --rounds 5 --hists 200
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

import hepreco

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "minimal.yaml"


def config(events: int, batch: int, hists: int, monitor: bool) -> dict[str, Any]:
    from hepreco.config.loader import load_config

    cfg = load_config(str(EXAMPLE)).data
    cfg["plugins"] = [str(EXAMPLE.with_name("minimal_plugin.py"))]
    cfg["source"].update(events=events, batch_size=batch)
    cfg["services"] = {}  # no file written: the job's own time only
    cfg["modules"].pop("dump", None)
    cfg["end_paths"]["analysis"] = [m for m in cfg["end_paths"]["analysis"] if m != "dump"]
    for k in range(hists):
        label = f"h_extra{k}"
        cfg["modules"][label] = {
            "module": "HistFill",
            "axes": [{"fill": "tracks.pt", "bins": 50, "start": 0, "stop": 100 + k}],
        }
        cfg["end_paths"]["analysis"].append(label)
    if monitor:
        cfg["services"]["Monitor"] = {"address": "127.0.0.1:0"}
    return cfg


POLLER = """
import sys, time, httpx
url, version = sys.argv[1], -1
print("ready", flush=True)
with httpx.Client(timeout=5) as c:
    while True:
        try:
            s = c.get(url + "api/status").json()
            if s["version"] != version:
                c.get(url + "api/histograms")
                version = s["version"]
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        time.sleep(1.0)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_poller(port: int) -> subprocess.Popen[str]:
    """The client process, started (Python and httpx imported) before the job starts: its start-up is not the
    monitor's cost."""
    poller = subprocess.Popen(
        [sys.executable, "-c", POLLER, f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, text=True
    )
    assert poller.stdout is not None
    poller.stdout.readline()
    return poller


def throughput(cfg: dict[str, Any], *, client: bool) -> tuple[float, float, float]:
    """``(events/s while processing, seconds outside processing, events per CPU second)``: the job's own wall
    clock (begin_job to end_job, the TimeReport's), what the call took besides (start-up, the server's start and
    stop), and the events per second of CPU this process used in all (every thread: the server's too; less
    sensitive to other jobs on the machine than the wall clock). With
    ``client``, another process (as a browser is) polls the page's JSON as an open page does: the status every
    second, the histograms when they changed."""
    poller = None
    if client:
        port = free_port()
        cfg = {**cfg, "services": {"Monitor": {"address": f"127.0.0.1:{port}"}}}
        poller = start_poller(port)
    plan = hepreco.prepare(cfg, quiet=True)
    t0, c0 = time.perf_counter(), time.process_time()
    result = hepreco.execute(plan)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if poller is not None:
        poller.kill()
        poller.wait()
    processing = result.time_report.wall
    return result.events / processing, wall - processing, result.events / cpu


def thread_cpu(name: str) -> float | None:
    """CPU seconds the thread called ``name`` has used (Linux: /proc), or None."""
    for t in threading.enumerate():
        if t.name == name and t.native_id is not None:
            try:
                with open(f"/proc/self/task/{t.native_id}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                return None
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


def cost_breakdown(cfg: dict[str, Any]) -> tuple[float, int, float, float | None]:
    """One monitored job with a polling client: ``(job seconds, snapshots, seconds in snapshots on the job's
    thread, CPU seconds of the server's thread)`` — what the monitor takes, whatever the machine's load."""
    from hepreco.monitor import state as state_module

    spent = [0.0, 0]
    take = state_module.MonitorState.take

    def timed_take(self: Any) -> None:
        t0 = time.perf_counter()
        take(self)
        spent[0] += time.perf_counter() - t0
        spent[1] += 1

    port = free_port()
    cfg = {**cfg, "services": {"Monitor": {"address": f"127.0.0.1:{port}"}}}
    poller = start_poller(port)
    plan = hepreco.prepare(cfg, quiet=True)
    svc = plan.services["Monitor"]
    end = svc.watch_end
    server_cpu: list[float | None] = []

    def timed_end(ok: bool) -> None:
        server_cpu.append(thread_cpu("hepreco-monitor"))
        end(ok)

    svc.watch_end = timed_end
    state_module.MonitorState.take = timed_take  # type: ignore[method-assign]
    try:
        result = hepreco.execute(plan)
    finally:
        state_module.MonitorState.take = take  # type: ignore[method-assign]
        poller.kill()
        poller.wait()
    return result.time_report.wall, int(spent[1]), spent[0], server_cpu[0] if server_cpu else None


def image_latency(shape: tuple[int, int], repeats: int = 5) -> list[float]:
    import httpx

    from hepreco.monitor.server import MonitorServer
    from hepreco.monitor.state import MonitorState

    state = MonitorState("bench")
    server = MonitorServer(state, "127.0.0.1:0")
    server.start()
    rng = np.random.default_rng(1)
    out = []
    try:
        with httpx.Client(timeout=10) as c:
            for k in range(repeats):  # a new image each time: quantised on the server, as a new event's is
                state.fixed_displays[f"img{k}"] = {"kind": "image", "image": rng.random(shape)}
                t0 = time.perf_counter()
                c.get(server.url + f"api/display/img{k}").json()
                data = c.get(server.url + f"api/display/img{k}/image").content
                out.append(1000 * (time.perf_counter() - t0))
                assert len(data) == shape[0] * shape[1]
    finally:
        server.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hists", type=int, default=20, help="extra 50-bin histograms (the snapshot copies them all)")
    args = ap.parse_args()
    plain = config(args.events, args.batch, args.hists, monitor=False)
    watched = config(args.events, args.batch, args.hists, monitor=True)
    throughput(plain, client=False)  # warm-up: imports, allocator
    throughput(watched, client=False)
    runs: dict[str, list[tuple[float, float, float]]] = {"plain": [], "monitor": [], "monitor+client": []}
    rng = random.Random(0)
    for _ in range(args.rounds):  # in a random order each round, so that the machine's load hits all alike
        order = list(runs)
        rng.shuffle(order)
        for name in order:
            runs[name].append(throughput(plain if name == "plain" else watched, client=name == "monitor+client"))
    base = statistics.median(r for r, _, _ in runs["plain"])
    base_fixed = statistics.median(f for _, f, _ in runs["plain"])
    base_cpu = statistics.median(c for _, _, c in runs["plain"])
    n_hists = 2 + args.hists
    print(f"job: {args.events} events, batches of {args.batch}, {n_hists} histograms, {args.rounds} rounds (median)")
    for name, values in runs.items():
        med = statistics.median(r for r, _, _ in values)
        fixed = statistics.median(f for _, f, _ in values) - base_fixed
        cpu = statistics.median(c for _, _, c in values)
        lo, hi = min(r for r, _, _ in values), max(r for r, _, _ in values)
        print(
            f"  {name:<15} {med:>10,.0f} events/s (runs {lo:,.0f}..{hi:,.0f}), ratio to plain {med / base:.3f}; "
            f"per CPU second {cpu:,.0f}, ratio {cpu / base_cpu:.3f}; fixed cost (server start/stop) {1000 * fixed:+.0f} ms"
        )
    wall, n, snap, server = cost_breakdown(watched)
    print(
        f"one monitored job with a client: {wall:.1f} s; {n} snapshots took {1000 * snap:.0f} ms on the job's thread "
        f"({100 * snap / wall:.2f}%)"
        + (
            f"; the server's thread used {server:.2f} s of CPU ({100 * server / wall:.2f}%)"
            if server is not None
            else ""
        )
    )
    for shape in ((600, 3000), (128, 128)):
        ms = image_latency(shape)
        print(
            f"image {shape[0]}x{shape[1]} to a client (metadata + bytes, new image each time): "
            f"median {statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f})"
        )


if __name__ == "__main__":
    main()
