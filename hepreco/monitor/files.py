"""This module defines ``hepreco monitor FILE.root [--ref REF.root]``: the Monitor's page for finished files.

The page shows every histogram and graph of the file (a Histograms service's file, or any ROOT file) and, for
a file of events hepreco wrote, the plugins' event displays of its first event; with ``--ref`` each histogram
found in both files is drawn over the reference's with a ratio panel (new / reference), and so is each graph
(a ROC curve): the reference dashed, the ratio taken at the new graph's points (the reference interpolated).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.errors import ConfigError

if TYPE_CHECKING:
    from hepreco.monitor.state import MonitorState

__all__ = ["cmd_monitor", "load_files", "monitor_args"]

_HISTS = ("TH1", "TH2", "TProfile")


def _read(path: str | Path, *, internal: bool = False) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """``(histograms, graphs, trees)`` of a ROOT file: hist objects by path, graphs as JSON, tree names."""
    import uproot

    hists: dict[str, Any] = {}
    graphs: dict[str, Any] = {}
    trees: list[str] = []
    try:
        f = uproot.open(path)
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such file", what="monitor input") from err
    except Exception as err:
        raise ConfigError(f"{path}: not a ROOT file uproot can read ({err})", what="monitor input") from err
    with f:
        for key, cls in f.classnames().items():
            name = key.split(";")[0]
            if name.startswith("internal/") and not internal:
                continue
            if cls.startswith(_HISTS):
                try:
                    hists[name] = f[key].to_hist()
                except Exception:  # an object uproot cannot convert: left out
                    continue
            elif cls.startswith("TGraph"):
                obj = f[key]
                x, y = obj.values(axis="both")
                graphs[name] = {
                    "x": [float(v) for v in x],
                    "y": [float(v) for v in y],
                    "title": str(obj.member("fTitle", none_if_missing=True) or name),
                }
            elif cls in ("TTree", "ROOT::RNTuple", "ROOT::Experimental::RNTuple"):
                trees.append(name)
    return hists, graphs, trees


def _first_batch(path: str | Path, tree: str) -> Any:
    """The first events of ``tree`` read by hepreco's RootSource (products under ``source``); None if it fails."""
    try:
        from hepreco._api import prepare
        from hepreco.core.chunks import plan_chunks

        plan = prepare(
            {"source": {"module": "RootSource", "files": [str(path)], "tree": tree, "events": 1}}, quiet=True
        )
        chunk = plan_chunks(plan.source, limit=1)[0]
        return next(iter(plan.source.read(chunk)))
    except Exception:
        return None


def load_files(path: str | Path, ref: str | Path | None = None, *, internal: bool = False) -> MonitorState:
    """A :class:`MonitorState` of a finished file, compared with ``ref`` when given."""
    from hepreco.monitor.state import MonitorState
    from hepreco.plugins import get_registry

    hists, graphs, trees = _read(path, internal=internal)
    displays = {name: d for name, (d, _p) in get_registry().displays.items()}
    title = f"{Path(path).name}" + (f" vs {Path(ref).name}" if ref else "")
    state = MonitorState(title, displays=displays)
    state.mode = "compare" if ref else "file"
    state.histograms = hists
    state.graphs = graphs
    if ref is not None:
        rhists, rgraphs, _ = _read(ref, internal=internal)
        state.references = {n: h for n, h in rhists.items() if n in hists}
        for name, g in graphs.items():  # a graph found in both (a ROC curve) is drawn over the reference's
            if name in rgraphs:
                g["ref"] = rgraphs[name]
    for tree in trees:
        batch = _first_batch(path, tree)
        if batch is not None:
            state._batch = batch
            state._batch_version = 1
            break
    state.ended = state.started = time.monotonic()
    state.version = 1
    return state


def monitor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a ROOT file: a Histograms service's file, an output of events, or any other")
    p.add_argument(
        "--ref", metavar="REF.root", help="a reference file: each histogram in both is overlaid, with a ratio"
    )
    p.add_argument(
        "--address",
        default="127.0.0.1:8765",
        metavar="[HOST:]PORT",
        help="where to serve (default 127.0.0.1:8765, this machine only; another host gets a token in the URL)",
    )
    p.add_argument("--internal", action="store_true", help="also show the internal/ accumulators")


def cmd_monitor(ns: argparse.Namespace) -> int:
    """Serve the page until Ctrl-C."""
    from hepreco.monitor.server import MonitorServer

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise ConfigError("hepreco monitor needs Starlette and uvicorn: pip install 'hepreco[monitor]'") from err
    state = load_files(ns.file, ns.ref, internal=ns.internal)
    server = MonitorServer(state, ns.address)
    server.start()
    n = len(state.histograms)
    print(
        f"hepreco: monitor at {server.url} ({n} histogram(s), {len(state.graphs)} graph(s)); Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
