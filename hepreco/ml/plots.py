"""This module draws the training and evaluation figures with mplhep (``hepreco.plotting``): loss curves
per epoch, and ROC curves where a working point lives.

A ROC figure has two panels: the background rejection against the signal acceptance, zoomed on the
high-acceptance region where working points are chosen, and the background rejection factor 1/eps_B on a
logarithmic scale. Every figure carries the experiment label and is written as a PNG (150 dpi) and a PDF.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hepreco.plotting import experiment_label, figure, save_figure

__all__ = ["plot_history", "plot_roc"]

_NAMES = {"train_loss": "training loss", "val_loss": "validation loss", "val_auc": "validation AUC"}


def plot_history(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    best_epoch: int | None = None,
    fmt: str | None = None,
    label: str = "Simulation",
    pdf: str | os.PathLike[str] | None = None,
) -> None:
    """Draw ``train_loss`` and ``val_loss`` per epoch (and ``val_auc`` on a second axis when present).

    Args:
        history: one mapping per epoch with ``epoch`` and metric values.
        path: the PNG file (a PDF is written beside it, or to ``pdf``).
        best_epoch: marked with a vertical line.
        label: the experiment label.
    """
    del fmt  # always PNG and PDF
    with figure(8, 6) as (fig, ax):
        epochs = [int(h["epoch"]) for h in history]
        for key, style in (("train_loss", "-"), ("val_loss", "--")):
            vals = [h.get(key) for h in history]
            pts = [(e, float(v)) for e, v in zip(epochs, vals, strict=True) if v not in (None, "")]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", ms=4, label=_NAMES[key])
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", lw=1, ls=":", label=f"best epoch ({best_epoch})")
        aucs = [
            (e, float(h["val_auc"])) for e, h in zip(epochs, history, strict=True) if h.get("val_auc") not in (None, "")
        ]
        handles, labels = ax.get_legend_handles_labels()
        if aucs:
            ax2 = ax.twinx()
            ax2.plot([p[0] for p in aucs], [p[1] for p in aucs], ":", color="tab:green", marker="s", ms=4,
                     label=_NAMES["val_auc"])  # fmt: skip
            ax2.set_ylabel("validation AUC")
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        if handles:
            ax.legend(handles, labels, loc="center right", fontsize="x-small")
        experiment_label(ax, label)
        save_figure(fig, path, pdf=pdf)


def _zoom(curves: Mapping[str, Any], working_points: Mapping[str, Mapping[str, float]]) -> tuple[float, float]:
    """The acceptance range of the zoomed panel: from a little below the lowest working point (or from
    where the best curve's rejection falls under 0.999) to 1."""
    lows = [float(wp["signal_acceptance"]) for wp in working_points.values() if np.isfinite(wp["signal_acceptance"])]
    if not lows:
        for roc in curves.values():
            ok = np.flatnonzero(roc.background_rejection >= 0.999)
            lows.append(float(roc.signal_acceptance[ok[-1]]) if ok.size else 0.0)
    lo = min(lows) if lows else 0.0
    lo = max(0.0, lo - max(0.05, 0.5 * (1.0 - lo)))
    return lo, 1.0


def plot_roc(
    curves: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    working_points: Mapping[str, Mapping[str, float]] | None = None,
    fmt: str | None = None,
    label: str = "Simulation",
    pdf: str | os.PathLike[str] | None = None,
) -> None:
    """Draw ROC curves where they matter, with their AUC and working points (PNG and PDF).

    Left: background rejection vs signal acceptance, zoomed on the high-acceptance region; right: the
    rejection factor 1/eps_B vs the signal acceptance on a log scale. Working points are marked in both.

    Args:
        curves: the name shown in the legend → :class:`~hepreco.ml.metrics.RocCurve`.
        path: the PNG file (a PDF is written beside it, or to ``pdf``).
        working_points: name → ``{"signal_acceptance", "background_rejection", "threshold"}``.
        label: the experiment label (``"COMET Simulation"``).
    """
    del fmt  # always PNG and PDF
    wps = dict(working_points or {})
    lo, hi = _zoom(curves, wps)
    with figure(17, 7.5, ncols=2) as (fig, (ax, axr)):
        for name, roc in curves.items():
            acc, rej = roc.signal_acceptance, roc.background_rejection
            (line,) = ax.plot(acc, rej, label=f"{name} (AUC {roc.auc():.4f})")
            with np.errstate(divide="ignore"):
                factor = 1.0 / roc.background_efficiency
            finite = np.isfinite(factor)
            axr.plot(acc[finite], factor[finite], color=line.get_color(), label=name)
            wp = wps.get(name)
            if wp:
                a, r = float(wp["signal_acceptance"]), float(wp["background_rejection"])
                text = f"working point: score $\\geq$ {wp['threshold']:.3g}\n(acc. {a:.3f}, rej. {r:.4f})"
                ax.plot([a], [r], "*", ms=14, color=line.get_color(), label=text)
                if r < 1:
                    axr.plot([a], [1.0 / (1.0 - r)], "*", ms=14, color=line.get_color())
        in_zoom = [
            roc.background_rejection[(roc.signal_acceptance >= lo) & (roc.signal_acceptance <= 0.999)]
            for roc in curves.values()
        ]
        ymin = min((float(v.min()) for v in in_zoom if v.size), default=0.0)
        ax.set_xlim(lo, hi + 0.002)
        ax.set_ylim(max(0.0, ymin - 0.02), 1.005)
        ax.set_xlabel("signal acceptance $\\varepsilon_S$")
        ax.set_ylabel("background rejection $1 - \\varepsilon_B$")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize="x-small")
        axr.set_yscale("log")
        axr.set_xlim(0, 1.01)
        axr.set_xlabel("signal acceptance $\\varepsilon_S$")
        axr.set_ylabel("background rejection factor $1/\\varepsilon_B$")
        axr.grid(alpha=0.3, which="both")
        axr.legend(loc="upper right", fontsize="x-small")
        experiment_label(ax, label)
        experiment_label(axr, label)
        save_figure(fig, path, pdf=pdf)
