"""This module draws the training figures: loss (and metric) curves per epoch, and ROC curves.

Figures are made with matplotlib's object API on the Agg canvas (no pyplot, no display, no global state).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["plot_history", "plot_roc"]


def _figure(width: float = 6.0, height: float = 4.5) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_history(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    best_epoch: int | None = None,
    fmt: str | None = None,
) -> None:
    """Draw ``train_loss`` and ``val_loss`` per epoch (and ``val_auc`` on a second axis when present).

    Args:
        history: one mapping per epoch with ``epoch`` and metric values.
        path: the PNG file.
        best_epoch: marked with a vertical line.
    """
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    epochs = [int(h["epoch"]) for h in history]
    for key, style in (("train_loss", "-"), ("val_loss", "--")):
        vals = [h.get(key) for h in history]
        pts = [(e, float(v)) for e, v in zip(epochs, vals, strict=True) if v not in (None, "")]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", ms=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="grey", lw=0.8, ls=":", label=f"best (epoch {best_epoch})")
    aucs = [
        (e, float(h["val_auc"])) for e, h in zip(epochs, history, strict=True) if h.get("val_auc") not in (None, "")
    ]
    handles, labels = ax.get_legend_handles_labels()
    if aucs:
        ax2 = ax.twinx()
        ax2.plot([p[0] for p in aucs], [p[1] for p in aucs], ":", color="tab:green", marker="s", ms=3, label="val_auc")
        ax2.set_ylabel("validation AUC")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if handles:
        ax.legend(handles, labels, loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format=fmt)


def plot_roc(
    curves: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    working_points: Mapping[str, Mapping[str, float]] | None = None,
    fmt: str | None = None,
) -> None:
    """Draw ROC curves (signal acceptance vs background rejection), with their AUC and working points.

    Args:
        curves: label → :class:`~hepreco.ml.metrics.RocCurve`.
        path: the PNG file.
        working_points: label → ``{"signal_acceptance", "background_rejection", "threshold"}``.
    """
    fig = _figure(5.5, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    for label, roc in curves.items():
        ax.plot(roc.signal_acceptance, roc.background_rejection, label=f"{label} (AUC {roc.auc():.4f})")
        wp = (working_points or {}).get(label)
        if wp:
            ax.plot(
                [wp["signal_acceptance"]],
                [wp["background_rejection"]],
                "o",
                color=ax.lines[-1].get_color(),
                label=f"cut {wp['threshold']:.3g}: acc. {wp['signal_acceptance']:.3f}, rej. {wp['background_rejection']:.3f}",
            )
    ax.plot([0, 1], [1, 0], color="grey", lw=0.8, ls=":", label="random")
    ax.set_xlabel("signal acceptance")
    ax.set_ylabel("background rejection")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format=fmt)
