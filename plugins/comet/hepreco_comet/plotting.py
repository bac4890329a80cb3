"""This module draws the COMET plugin's PNG plots with matplotlib and mplhep (imported only when plotting)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepreco_comet.metrics import ThresholdScan

__all__ = ["plot_metrics", "plot_sim_validation"]

CLASS_COLOURS = {
    "signal": "#d62728",
    "capture proton": "#1f77b4",
    "neutron recoil": "#9467bd",
    "photon electron": "#2ca02c",
    "DIO electron": "#ff7f0e",
    "noise": "#7f7f7f",
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_metrics(
    out_dir: Path,
    label: str,
    cuts: np.ndarray,
    scan: ThresholdScan,
    h_pos: Any,
    h_neg: Any,
    figures: dict[str, Any],
    *,
    task: str,
) -> list[Path]:
    """ROC (rejection vs acceptance), acceptance and rejection vs the cut, and the score distributions."""
    plt = _plt()
    import mplhep

    pos_name, neg_name = {"signal": ("signal", "background"), "turn1_all": ("turn-1", "other hits")}.get(
        task, ("turn-1", "turn>1")
    )
    paths = []
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.plot(scan.acceptance(), scan.rejection(), label="after the energy cut")
    ax.plot(scan.acceptance(whole=True), scan.rejection(whole=True), ls="--", label="against the whole data")
    ax.set_xlabel(f"{pos_name} hit acceptance (per-event mean)")
    ax.set_ylabel(f"{neg_name} hit rejection (per-event mean)")
    ax.set_title(f"{label}: ROC, per-hit AUC {figures.get('auc_per_hit', float('nan')):.4f}", fontsize=16)
    ax.legend(fontsize=14)
    paths.append(_save(fig, out_dir / f"{label}_roc.png"))

    fig, ax = plt.subplots(figsize=(8, 7))
    ax.plot(cuts, scan.acceptance(), label=f"{pos_name} acceptance")
    ax.plot(cuts, scan.rejection(), label=f"{neg_name} rejection")
    ax.plot(cuts, scan.rejection(whole=True), ls="--", label=f"{neg_name} rejection, whole data")
    wp = figures.get("working_point_cut")
    if wp is not None and np.isfinite(wp):
        ax.axvline(wp, color="k", ls=":", label=f"working point ({figures.get('target_acceptance')})")
    ax.set_xlabel("cut on the score")
    ax.set_ylabel("per-event mean")
    ax.legend(fontsize=13)
    paths.append(_save(fig, out_dir / f"{label}_vs_cut.png"))

    fig, ax = plt.subplots(figsize=(8, 7))
    mplhep.histplot(h_pos, ax=ax, density=True, yerr=False, label=pos_name)
    mplhep.histplot(h_neg, ax=ax, density=True, yerr=False, label=neg_name)
    ax.set_yscale("log")
    ax.set_ylabel("hits (normalised)")
    ax.legend(fontsize=14)
    paths.append(_save(fig, out_dir / f"{label}_scores.png"))
    return paths


def plot_sim_validation(
    out_dir: Path,
    label: str,
    hists: dict[str, Any],
    display: list[dict[str, np.ndarray]],
    wire_xy: tuple[np.ndarray, np.ndarray],
    *,
    edep_max: float | None,
    edep_unit_kev: float,
) -> list[Path]:
    """Hits per event by class, edep by class with the cut, drift time, turns, and event displays."""
    plt = _plt()
    import mplhep

    paths = []
    classes = list(hists["hits_per_event"].axes[0])

    fig, ax = plt.subplots(figsize=(9, 7))
    for name in classes:
        h = hists["hits_per_event"][name, :]
        if h.sum() > 0:
            mplhep.histplot(h, ax=ax, yerr=False, label=name, color=CLASS_COLOURS.get(name))
    ax.set_xlabel("hits per event")
    ax.set_ylabel("events")
    ax.set_yscale("log")
    ax.legend(fontsize=12, ncol=2)
    paths.append(_save(fig, out_dir / f"{label}_hits_per_event.png"))

    fig, ax = plt.subplots(figsize=(9, 7))
    for name in classes:
        if name in ("all background",):
            continue
        h = hists["edep"][name, :]
        if h.sum() > 0:
            mplhep.histplot(h, ax=ax, density=True, yerr=False, label=name, color=CLASS_COLOURS.get(name))
    if edep_max is not None:
        ax.axvline(edep_max, color="k", ls="--", label=f"cut: edep > {edep_max:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"energy deposit [units of {edep_unit_kev:g} keV]")
    ax.set_ylabel("hits (normalised)")
    ax.legend(fontsize=12)
    paths.append(_save(fig, out_dir / f"{label}_edep.png"))

    fig, ax = plt.subplots(figsize=(9, 7))
    for name in ("signal", "all background"):
        h = hists["drift_time"][name, :]
        if h.sum() > 0:
            mplhep.histplot(h, ax=ax, density=True, yerr=False, label=name, color=CLASS_COLOURS.get(name, "k"))
    ax.set_xlabel("drift time after the trigger [ns]")
    ax.set_ylabel("hits (normalised)")
    ax.legend(fontsize=14)
    paths.append(_save(fig, out_dir / f"{label}_drift_time.png"))

    fig, axs = plt.subplots(1, 2, figsize=(14, 6))
    mplhep.histplot(hists["signal_turns"], ax=axs[0], color=CLASS_COLOURS["signal"])
    axs[0].set_xlabel("passes of the signal electron through the CDC")
    axs[0].set_ylabel("events")
    mplhep.histplot(hists["signal_hits_by_turn"], ax=axs[1], color=CLASS_COLOURS["signal"])
    axs[1].set_xlabel("turn of the signal hit")
    axs[1].set_ylabel("hits")
    paths.append(_save(fig, out_dir / f"{label}_turns.png"))

    for k, ev in enumerate(display):
        fig, ax = plt.subplots(figsize=(9, 9))
        ax.scatter(wire_xy[0], wire_xy[1], s=0.3, color="#cccccc", label="sense wires")
        origin = ev["origin"]
        for code, name in enumerate(CLASS_COLOURS):
            m = origin == code
            if m.any():
                ax.scatter(ev["x"][m], ev["y"][m], s=9, color=CLASS_COLOURS[name], label=f"{name} ({int(m.sum())})")
        t = np.linspace(0, 2 * np.pi, 200)
        for r in (ev["r_inner"], ev["r_outer"]):
            ax.plot(r * np.cos(t), r * np.sin(t), color="k", lw=0.6)
        ax.set_aspect("equal")
        ax.set_xlabel("x [cm]")
        ax.set_ylabel("y [cm]")
        ax.set_title(ev["title"], fontsize=14)
        ax.legend(fontsize=10, loc="upper right", markerscale=2)
        paths.append(_save(fig, out_dir / f"{label}_event_display_{k}.png"))
    return paths
