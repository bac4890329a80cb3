"""This module draws the COMET plugin's plots with mplhep through :mod:`hepreco.plotting` (imported only
when plotting): the experiment label ("COMET Simulation" unless a module's ``plot_label`` says otherwise),
PNG at 150 dpi and PDF, binning adapted to the entries, error bars on counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepreco.plotting import draw_histogram, experiment_label, figure
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
    """The plotting helpers (:mod:`hepreco.plotting`), or an ImportError naming the ``plot`` extra."""
    import hepreco.plotting as hp

    hp.require_plotting()
    return hp


def _save(fig: Any, path: Path) -> Path:
    """Write ``fig`` as ``path`` (PNG, 150 dpi) and the PDF beside it; returns the PNG's path."""
    from hepreco.plotting import save_figure

    save_figure(fig, path)
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
    name: str | None = None,
    exp_label: str = "COMET Simulation",
) -> list[Path]:
    """ROC (rejection vs acceptance, zoomed on the high-acceptance region, with the working point),
    acceptance and rejection vs the cut, and the score distributions with error bars."""
    _plt()

    pos_name, neg_name = {"signal": ("signal", "background"), "turn1_all": ("turn-1", "other hits")}.get(
        task, ("turn-1", "turn>1")
    )
    name = name or label
    paths = []
    acc, rej = scan.acceptance(), scan.rejection()
    wp_acc = figures.get(f"{pos_name.split()[0]}_acceptance_after_cut", figures.get("signal_acceptance_after_cut"))
    with figure(16, 7, ncols=2) as (fig, (ax, axz)):
        for a in (ax, axz):
            a.plot(acc, rej, label=f"{name}, after the energy cut")
            a.plot(scan.acceptance(whole=True), scan.rejection(whole=True), ls="--", label=f"{name}, whole data")
            wp_rej = next((v for k, v in figures.items() if k.endswith("_rejection_after_cut")), None)
            if wp_acc is not None and wp_rej is not None and np.isfinite(wp_acc) and np.isfinite(wp_rej):
                a.plot([wp_acc], [wp_rej], "*", ms=14, color="k",
                       label=f"working point: cut {figures.get('working_point_cut', float('nan')):.3g}")  # fmt: skip
            a.set_xlabel(f"{pos_name} hit acceptance (per-event mean)")
            a.set_ylabel(f"{neg_name} hit rejection (per-event mean)")
            a.grid(alpha=0.3)
        ax.plot([], [], " ", label=f"per-hit AUC {figures.get('auc_per_hit', float('nan')):.4f}")
        lo = 0.9 if wp_acc is None or not np.isfinite(wp_acc) else max(0.0, min(0.95, wp_acc - 0.05))
        axz.set_xlim(lo, 1.0005)  # zoomed on the working region
        sel = np.isfinite(acc) & (acc >= lo) & (acc <= 0.999) & np.isfinite(rej)
        if sel.any():
            axz.set_ylim(max(0.0, float(rej[sel].min()) - 0.02), min(1.005, float(rej[sel].max()) + 0.01))
        ax.legend(fontsize="x-small", loc="lower left")
        experiment_label(ax, exp_label)
        experiment_label(axz, exp_label)
        paths.append(_save(fig, out_dir / f"{label}_roc.png"))

    with figure(9, 7) as (fig, ax):
        ax.plot(cuts, acc, label=f"{pos_name} acceptance")
        ax.plot(cuts, rej, label=f"{neg_name} rejection")
        ax.plot(cuts, scan.rejection(whole=True), ls="--", label=f"{neg_name} rejection, whole data")
        wp = figures.get("working_point_cut")
        if wp is not None and np.isfinite(wp):
            ax.axvline(wp, color="k", ls=":", label=f"working point ({figures.get('target_acceptance')} acceptance)")
        ax.set_xlabel(f"cut on the score of {name}")
        ax.set_ylabel("per-event mean")
        ax.legend(fontsize="x-small")
        experiment_label(ax, exp_label)
        paths.append(_save(fig, out_dir / f"{label}_vs_cut.png"))

    with figure(9, 7) as (fig, ax):
        total = float(h_pos.sum() + h_neg.sum())  # one binning for both classes
        for h, what in ((h_pos, pos_name), (h_neg, neg_name)):
            if h.sum() > 0:
                draw_histogram(ax, h, density=True, rebin=True, entries=total, label=f"{what} hits")
        ax.set_yscale("log")
        ax.set_xlabel(f"score of {name}")
        ax.set_ylabel("hits (normalised)")
        ax.legend(fontsize="small")
        experiment_label(ax, exp_label)
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
    exp_label: str = "COMET Simulation",
) -> list[Path]:
    """Hits per event by class, edep by class with the cut, drift time, turns, and event displays."""
    _plt()

    paths = []
    classes = list(hists["hits_per_event"].axes[0])

    with figure(9, 7) as (fig, ax):
        total = float(hists["hits_per_event"]["signal", :].sum())  # events: one binning for every class
        for name in classes:
            h = hists["hits_per_event"][name, :]
            if h.sum() > 0:
                draw_histogram(ax, h, rebin=True, entries=total, label=name, color=CLASS_COLOURS.get(name))
        ax.set_xlabel("hits per event")
        ax.set_ylabel("events")
        ax.set_yscale("log")
        ax.legend(fontsize="x-small", ncol=2)
        experiment_label(ax, exp_label)
        paths.append(_save(fig, out_dir / f"{label}_hits_per_event.png"))

    with figure(9, 7) as (fig, ax):
        total = float(hists["edep"]["all background", :].sum() + hists["edep"]["signal", :].sum())
        for name in classes:
            if name in ("all background",):
                continue
            h = hists["edep"][name, :]
            if h.sum() > 0:
                draw_histogram(ax, h, density=True, rebin=True, entries=total, label=name,
                               color=CLASS_COLOURS.get(name))  # fmt: skip
        if edep_max is not None:
            ax.axvline(edep_max, color="k", ls="--", label=f"cut: edep > {edep_max:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"energy deposit [units of {edep_unit_kev:g} keV]")
        ax.set_ylabel("hits (normalised)")
        ax.legend(fontsize="x-small")
        experiment_label(ax, exp_label)
        paths.append(_save(fig, out_dir / f"{label}_edep.png"))

    with figure(9, 7) as (fig, ax):
        total = float(hists["drift_time"]["all background", :].sum() + hists["drift_time"]["signal", :].sum())
        for name in ("signal", "all background"):
            h = hists["drift_time"][name, :]
            if h.sum() > 0:
                draw_histogram(ax, h, density=True, rebin=True, entries=total, label=name,
                               color=CLASS_COLOURS.get(name, "k"))  # fmt: skip
        ax.set_xlabel("drift time after the trigger [ns]")
        ax.set_ylabel("hits (normalised)")
        ax.legend(fontsize="small")
        experiment_label(ax, exp_label)
        paths.append(_save(fig, out_dir / f"{label}_drift_time.png"))

    with figure(15, 6.5, ncols=2) as (fig, axs):
        draw_histogram(axs[0], hists["signal_turns"], color=CLASS_COLOURS["signal"])
        axs[0].set_xlabel("passes of the signal electron through the CDC")
        axs[0].set_ylabel("events")
        draw_histogram(axs[1], hists["signal_hits_by_turn"], color=CLASS_COLOURS["signal"])
        axs[1].set_xlabel("turn of the signal hit")
        axs[1].set_ylabel("hits")
        experiment_label(axs[0], exp_label)
        experiment_label(axs[1], exp_label)
        paths.append(_save(fig, out_dir / f"{label}_turns.png"))

    for k, ev in enumerate(display):
        with figure(9, 9) as (fig, ax):
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
            ax.text(0.01, 0.01, ev["title"], transform=ax.transAxes, fontsize="xx-small", va="bottom")
            ax.legend(fontsize="xx-small", loc="upper right", markerscale=2)
            experiment_label(ax, exp_label)
            paths.append(_save(fig, out_dir / f"{label}_event_display_{k}.png"))
    return paths
