"""This module draws the COMET plugin's plots with mplhep through :mod:`hepreco.plotting` (imported only
when plotting): the experiment label ("COMET Simulation" unless a module's ``plot_label`` says otherwise),
PNG at 150 dpi and PDF, binning adapted to the entries, error bars on counts.

One function per module's figures: :func:`plot_metrics` (``comet.HitClassificationMetrics``),
:func:`plot_sim_validation` (``comet.SimValidation``), :func:`plot_momentum_resolution`
(``comet.MomentumResolution``), :func:`draw_event` (``comet.EventDisplay``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hepreco.plotting import draw_histogram, experiment_label, figure
from hepreco_comet.hit_categories import PREDICTION_CLASSES, TRUTH_CLASSES, signal_circle
from hepreco_comet.resolution import QUANTITIES

if TYPE_CHECKING:
    from hepreco_comet.acceptance import ThresholdScan
    from hepreco_comet.modules.event_display import EventDisplay

__all__ = ["CLASS_COLOURS", "draw_event", "plot_metrics", "plot_momentum_resolution", "plot_sim_validation"]

#: the colour of each hit class (signal and the background origins) in every COMET plot
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


def plot_momentum_resolution(
    out_dir: Path,
    label: str,
    h_res: Any,
    h_mom: Any,
    figures: dict[str, Any],
    *,
    names: dict[str, str] | None = None,
    exp_label: str = "COMET Simulation",
) -> list[Path]:
    """Residuals of pT and p (each fit, with its median, sigma68 and Gaussian core, error bars) and the
    momentum spectra; ``names`` gives the legend name of each fit category (``fit``, ``reference``)."""
    hp = _plt()

    fits = list(h_res.axes["fit"])
    names = {"fit": "helix fit", "reference": "reference fit", **(names or {})}
    paths = []
    with hp.figure(16, 7, ncols=2) as (fig, axs):
        for ax, q, title in zip(axs, QUANTITIES, ("$p_T$", "$p$"), strict=True):
            for name in fits:
                prefix = "" if name == "fit" else "reference_"
                h = h_res[name, q, :]
                if h.sum() <= 0:
                    continue
                s68 = figures.get(f"{prefix}{q}_sigma68", float("nan"))
                gs = figures.get(f"{prefix}{q}_gauss_sigma", float("nan"))
                med = figures.get(f"{prefix}{q}_median", float("nan"))
                hp.draw_histogram(
                    ax,
                    h,
                    rebin=True,
                    label=f"{names[name]}: median {med:.2f}, $\\sigma_{{68}}$ {s68:.2f}, core {gs:.2f}",
                )
            ax.set_xlabel(f"{title} fit $-$ truth [MeV/c]")
            ax.set_ylabel("events")
            ax.set_yscale("log")
            ax.legend(fontsize="xx-small", loc="upper left")
            hp.experiment_label(ax, exp_label)
        paths.append(_save(fig, out_dir / f"{label}_residuals.png"))

    with hp.figure(16, 7, ncols=2) as (fig, axs):
        for ax, q, title in zip(axs, QUANTITIES, ("$p_T$", "$p$"), strict=True):
            for name in fits:
                h = h_mom[name, f"fit_{q}", :]
                if h.sum() > 0:
                    hp.draw_histogram(ax, h, rebin=True, label=f"{names[name]}")
            h = h_mom[fits[0], f"true_{q}", :]
            if h.sum() > 0:
                hp.draw_histogram(ax, h, rebin=True, color="k", ls="--", label="truth (at the vertex)")
            ax.set_xlabel(f"{title} [MeV/c]")
            ax.set_ylabel("events")
            ax.set_yscale("log")
            ax.legend(fontsize="x-small", loc="upper left")
            hp.experiment_label(ax, exp_label)
        paths.append(_save(fig, out_dir / f"{label}_momentum.png"))
    return paths


def _class_colours() -> tuple[dict[str, str], dict[str, str]]:
    truth = {
        "signal, turn 1": CLASS_COLOURS["signal"],
        "signal, later turns": "#e377c2",
        **{name: CLASS_COLOURS[name] for name in TRUTH_CLASSES[2:7]},
        "other background": "#8c564b",
    }
    pred = {
        "removed by energy cut": "#b0b0b0",
        "rejected by the hit classifier": "#7f7f7f",
        "kept, not turn 1": "#e377c2",
        "turn-1 mask": CLASS_COLOURS["signal"],
    }
    return truth, pred


def draw_event(
    path: Path,
    ev: dict[str, Any],
    geometry: Any,
    wires: tuple[np.ndarray, np.ndarray],
    *,
    config: EventDisplay.Config,
) -> dict[str, dict[str, int]]:
    """Draw one stored event (``EventDisplay``'s copy) to ``path``; returns the points drawn per category
    and panel: ``{"truth": {class: n}, "prediction": {class: n}}``."""
    hp = _plt()
    truth_colours, pred_colours = _class_colours()
    with hp.figure(18, 9, ncols=2) as (fig, axs):
        # room in the corners for the text box
        lim = max(geometry.outer_wall, max(geometry.cth_radius) if config.cth else 0.0) + 14.0
        t = np.linspace(0, 2 * np.pi, 361)
        for ax in axs:
            ax.scatter(wires[0], wires[1], s=0.2, color="#dddddd", rasterized=True)
            for r in geometry.radius[geometry.sense] * np.cos(0.5 * geometry.twist[geometry.sense]):
                ax.plot(r * np.cos(t), r * np.sin(t), color="#eeeeee", lw=0.4, zorder=0)
            for r in (geometry.inner_wall, geometry.outer_wall):
                ax.plot(r * np.cos(t), r * np.sin(t), color="k", lw=0.8)
            if config.cth:
                for r, d in zip(geometry.cth_radius, geometry.cth_thickness, strict=True):
                    for rr in (r, r + d):
                        ax.plot(rr * np.cos(t), rr * np.sin(t), color="#6baed6", lw=0.6)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xlabel("x [cm]")
            ax.set_ylabel("y [cm]")

        drawn: dict[str, dict[str, int]] = {"truth": {}, "prediction": {}}
        x, y, tc, pc = ev["x"], ev["y"], ev["truth_cat"], ev["pred_cat"]
        for k, name in enumerate(TRUTH_CLASSES):
            m = tc == k
            drawn["truth"][name] = int(m.sum())
            if m.any():
                style = {"s": 14, "zorder": 5 - k} if k < 2 else {"s": 8, "zorder": 3}  # signal on top
                axs[0].scatter(x[m], y[m], color=truth_colours[name], label=f"{name} ({int(m.sum())})", **style)
        n_sig = int((tc <= 1).sum())
        axs[0].set_title(f"truth: {ev['name']}\n{n_sig} signal, {int(tc.size - n_sig)} background hits", fontsize=15)

        pred_names = dict(enumerate(PREDICTION_CLASSES))
        if not ev["has_turn1"]:
            pred_names[2] = "kept by the hit classifier"
            pred_colours[pred_names[2]] = pred_colours["turn-1 mask"]
        for k in range(len(PREDICTION_CLASSES)):
            name = pred_names[k]
            m = pc == k
            drawn["prediction"][name] = int(m.sum())
            if not m.any():
                continue
            n1, n2 = int((m & (tc == 0)).sum()), int((m & (tc == 1)).sum())
            label = f"{name} ({int(m.sum())}; signal: {n1} turn 1, {n2} later)"
            style = {"marker": "x", "s": 10, "linewidths": 0.8} if k == 0 else {"s": 14 if k >= 2 else 8}
            axs[1].scatter(x[m], y[m], color=pred_colours[name], label=label, zorder=3 + k, **style)
        stages = [str(t) for t in (config.selected, config.turn1, config.fit) if t is not None]
        axs[1].set_title(f"prediction: {', '.join(stages) or 'energy cut only'}", fontsize=15)

        truth, fit = ev["truth"], ev["fit"]
        lines = []
        true_pt = None
        if truth is not None and truth.get("has_signal", True) and {"px", "py"} <= truth.keys():
            true_pt = float(np.hypot(truth["px"], truth["py"]))
            lines.append(f"true $p_T$ = {true_pt:.2f} MeV/c")
            if {"vx", "vy"} <= truth.keys():
                cx, cy, r = signal_circle(truth["px"], truth["py"], truth["vx"], truth["vy"], field=config.field)
                for ax in axs:
                    ax.plot(cx + r * np.cos(t), cy + r * np.sin(t), color="k", ls="--", lw=1.0, label="true circle")
        if fit is not None:
            valid = bool(fit.get("valid", True))
            if valid and {"center_x", "center_y", "radius"} <= fit.keys() and np.isfinite(fit["radius"]):
                cx, cy, r = float(fit["center_x"]), float(fit["center_y"]), float(fit["radius"])
                axs[1].plot(cx + r * np.cos(t), cy + r * np.sin(t), color="#1f77b4", lw=1.5, label="fitted circle")
            if valid and fit.get("pt") is not None:
                line = f"fitted $p_T$ = {float(fit['pt']):.2f} MeV/c"
                if true_pt is not None:
                    line += f" ($\\Delta$ = {float(fit['pt']) - true_pt:+.2f})"
                lines.append(line)
                if fit.get("chi2") is not None and fit.get("ndf"):
                    lines.append(f"$\\chi^2$/ndf = {float(fit['chi2']):.1f}/{int(fit['ndf'])}")
            elif not valid:
                lines.append("fit not valid")
        lines += ev["notes"]
        if lines:
            axs[1].text(
                0.01, 0.01, "\n".join(lines), transform=axs[1].transAxes, fontsize=11, va="bottom",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#999999"},
            )  # fmt: skip
        for ax in axs:
            ax.legend(
                fontsize=12, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, markerscale=1.5, frameon=False
            )
            hp.experiment_label(ax, config.plot_label)
        _save(fig, path)
    return drawn
