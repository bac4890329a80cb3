"""This module draws the LArTPC plugin's PNG plots with matplotlib and mplhep (imported only when plotting)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepreco_lartpc.geometry import VIEW_NAMES
from hepreco_lartpc.segmentation import PDG_GROUPS, figures

__all__ = ["draw_event", "plot_segmentation", "plot_sim_validation"]

CLASS_NAMES = ("null", "shower", "track")
CLASS_COLOURS = ("#7f7f7f", "#d62728", "#1f77b4")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    return plt


def _label(ax: Any, experiment: str, rlabel: str = "") -> None:
    import mplhep

    mplhep.label.exp_label(exp=experiment, llabel="Simulation", rlabel=rlabel, loc=0, ax=ax, fontsize=14)


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_segmentation(out_dir: Path, label: str, h_hits: Any, h_pix: Any, h_charge: Any, h_pdg: Any, h_score: Any,
                      res: Mapping[str, Any], *, experiment: str, reference: Mapping[str, float]) -> list[Path]:  # fmt: skip
    """Confusion matrices (hits, pixels; rows normalised), accuracy vs hit charge, accuracy by true particle,
    track-score distributions per true class."""
    plt = _plt()
    import mplhep

    paths = []
    fig, axs = plt.subplots(1, 2, figsize=(15, 7))
    for ax, h, what in ((axs[0], h_hits, "hits"), (axs[1], h_pix, "non-empty pixels")):
        cm = h.view().sum(axis=2)[1:3, 1:3]
        norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, origin="lower")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{norm[i, j]:.3f}", ha="center", va="center", fontsize=18,
                        color="white" if norm[i, j] > 0.5 else "black")  # fmt: skip
        ax.set_xticks([0, 1], ["shower", "track"])
        ax.set_yticks([0, 1], ["shower", "track"])
        ax.set_xlabel("network classification")
        ax.set_ylabel("true classification")
        f = figures(h.view().sum(axis=2))
        ax.set_title(f"{what}: overall {f['overall_accuracy']:.3f}", fontsize=15, pad=28)
        _label(ax, experiment)
    fig.suptitle(
        f"Pandora (MCC11, prelim.): overall {reference['pandora_overall']:.2f}, track {reference['pandora_track']:.2f}, "
        f"shower {reference['pandora_shower']:.2f}",
        fontsize=13, y=-0.04,
    )  # fmt: skip
    fig.subplots_adjust(wspace=0.5)
    paths.append(_save(fig, out_dir / f"{label}_confusion.png"))

    fig, ax = plt.subplots(figsize=(9, 7))
    v = h_charge.view()
    edges = h_charge.axes["charge"].edges
    centres = np.sqrt(edges[:-1] * edges[1:])
    for cls in (1, 2):
        n = v[cls].sum(axis=0)
        acc = np.where(n > 0, v[cls, 1] / np.maximum(n, 1), np.nan)
        err = np.sqrt(np.clip(acc * (1 - acc), 0, None) / np.maximum(n, 1))
        ax.errorbar(centres, acc, yerr=err, fmt="o", ms=4, color=CLASS_COLOURS[cls], label=f"true {CLASS_NAMES[cls]}")
    ax.set_xscale("log")
    ax.set_xlabel("hit charge [e-]")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=13, loc="lower right")
    _label(ax, experiment)
    paths.append(_save(fig, out_dir / f"{label}_accuracy_vs_charge.png"))

    fig, ax = plt.subplots(figsize=(9, 7))
    p = h_pdg.view()
    n = p.sum(axis=1)
    acc = np.where(n > 0, p[:, 1] / np.maximum(n, 1), np.nan)
    ax.bar(np.arange(len(PDG_GROUPS)), acc, color="#1f77b4")
    ax.set_xticks(np.arange(len(PDG_GROUPS)), PDG_GROUPS)
    ax.set_ylabel("accuracy (hits of the true particle)")
    ax.set_ylim(0, 1.05)
    _label(ax, experiment)
    paths.append(_save(fig, out_dir / f"{label}_accuracy_by_particle.png"))

    fig, ax = plt.subplots(figsize=(9, 7))
    for cls in (1, 2):
        h = h_score[cls, :]
        if h.sum() > 0:
            mplhep.histplot(
                h, ax=ax, density=True, yerr=False, label=f"true {CLASS_NAMES[cls]}", color=CLASS_COLOURS[cls]
            )
    ax.set_yscale("log")
    ax.set_xlabel("track score")
    ax.set_ylabel("hits (normalised)")
    ax.legend(fontsize=13)
    _label(ax, experiment)
    paths.append(_save(fig, out_dir / f"{label}_track_score.png"))
    return paths


def plot_sim_validation(out_dir: Path, label: str, hists: Mapping[str, Any], *, experiment: str,
                        curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> list[Path]:  # fmt: skip
    """dE/dx vs residual range (Bragg peaks), range vs momentum with the CSDA curves, shower longitudinal
    profile, hits per event per view."""
    plt = _plt()
    import mplhep

    paths = []
    h = hists["dedx"]
    fig, axs = plt.subplots(1, 2, figsize=(17, 7))
    fig.subplots_adjust(wspace=0.35)
    for ax, (i, name) in zip(axs, enumerate(("muon", "proton")), strict=True):
        hh = h[i, :, :]
        mplhep.hist2dplot(hh, ax=ax, cbar=True, norm=__import__("matplotlib").colors.LogNorm())
        rr, de = curves[f"dedx_{name}"]
        ax.plot(rr, de, color="r", lw=2, ls="--", label="Bethe (mean)")
        ax.set_xlabel("residual range [cm]")
        ax.set_ylabel("dE/dx [MeV/cm] (collection hits)")
        ax.set_title(f"stopping {name}s", fontsize=15, pad=26)
        ax.legend(fontsize=12, loc="upper right")
        _label(ax, experiment)
    paths.append(_save(fig, out_dir / f"{label}_dedx.png"))

    h = hists["range"]
    fig, axs = plt.subplots(1, 2, figsize=(17, 7))
    fig.subplots_adjust(wspace=0.35)
    for ax, (i, name) in zip(axs, enumerate(("muon", "proton")), strict=True):
        hh = h[i, :, :]
        mplhep.hist2dplot(hh, ax=ax, cbar=True)
        p, r = curves[f"range_{name}"]
        ax.plot(p, r, color="r", lw=2, ls="--", label="CSDA range (Bethe)")
        ax.set_xlabel("initial momentum [MeV/c]")
        ax.set_ylabel("start-end distance [cm]")
        ax.set_title(f"contained {name}s", fontsize=15, pad=26)
        ax.legend(fontsize=12, loc="upper left")
        _label(ax, experiment)
    paths.append(_save(fig, out_dir / f"{label}_range.png"))

    fig, ax = plt.subplots(figsize=(9, 7))
    prof = hists["shower_profile"]
    n = float(hists["showers"].view()[0])  # [count, energy sum]
    if n > 0:
        mplhep.histplot(prof / n, ax=ax, yerr=False, label="e, gamma primaries > 300 MeV (W view)")
        t, y = curves["longitudinal"]
        width = float(prof.axes[0].widths[0])
        ax.plot(t, y * width * (prof.values().sum() / n) / max(y.sum() * (t[1] - t[0]), 1e-12), "r--",
                label="Gamma profile (PDG eq. 34.36)")  # fmt: skip
        ax.legend(fontsize=12)
    ax.set_xlabel("depth along the shower axis [X0]")
    ax.set_ylabel("charge per shower [e-]")
    _label(ax, experiment)
    paths.append(_save(fig, out_dir / f"{label}_shower_profile.png"))

    fig, ax = plt.subplots(figsize=(9, 7))
    hm = hists["hits_per_event"]
    for v, name in enumerate(VIEW_NAMES):
        mplhep.histplot(hm[v, :], ax=ax, yerr=False, label=f"view {name}")
    ax.set_xlabel("hits per event")
    ax.set_ylabel("events")
    ax.legend(fontsize=13)
    _label(ax, experiment)
    paths.append(_save(fig, out_dir / f"{label}_hits_per_view.png"))
    return paths


def draw_event(path: Path, hits: Mapping[str, np.ndarray], *, title: str, experiment: str,
               predicted: np.ndarray | None = None) -> Path:  # fmt: skip
    """One event, each view: wire coordinate w vs drift x, hits coloured by truth label (top row) and, with
    ``predicted``, by the network's label (bottom row); marker size by charge."""
    plt = _plt()
    rows = 2 if predicted is not None else 1
    fig, axs = plt.subplots(rows, 3, figsize=(21, 7.5 * rows), squeeze=False)
    fig.subplots_adjust(hspace=0.42, wspace=0.32)
    q = hits["charge"]
    size = 2.0 + 10.0 * np.clip(q / max(np.percentile(q, 95), 1.0) if q.size else q, 0, 1)
    colours = np.array(CLASS_COLOURS)
    for r in range(rows):
        lab = hits["label"] if r == 0 else predicted
        assert lab is not None
        for v, name in enumerate(VIEW_NAMES):
            ax = axs[r, v]
            sel = hits["view"] == v
            ax.scatter(hits["w"][sel], hits["x"][sel], s=size[sel], c=colours[np.clip(lab[sel], 0, 2)], lw=0)
            ax.set_xlabel(f"{name} wire coordinate w [cm]")
            ax.set_ylabel("drift x [cm]")
            ax.set_title(f"{'truth' if r == 0 else 'U-Net'}: view {name}", fontsize=15, pad=26)
            _label(ax, experiment)
            if v == 2:
                for cls in (1, 2):
                    ax.scatter([], [], c=CLASS_COLOURS[cls], label=CLASS_NAMES[cls])
                ax.legend(fontsize=12, loc="upper right")
    fig.suptitle(title, fontsize=16, y=1.02)
    return _save(fig, path)
