"""This module draws ROC curves as jet-tagging papers do: background rejection 1/eps_B on a log scale
against signal efficiency eps_S (mplhep style), with the MPNN paper's points for reference."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["plot_rocs"]


def plot_rocs(
    path: str | Path,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float, float]],
    *,
    paper: bool = True,
    title: str = "",
) -> Path:
    """Draw ``curves`` (name -> ``(eff_s, eff_b, auc, inv_eps_b_at_50)``) into the PNG ``path`` (and a PDF
    beside it), with the experiment label, through :mod:`hepreco.plotting`.

    The paper's taggers (:data:`hepreco_jets.roc.PAPER`) are drawn as points at eps_S = 50% with their
    errors: they were measured on Louppe et al.'s samples, not on ours.
    """
    from hepreco.plotting import experiment_label, figure, save_figure
    from hepreco_jets.roc import PAPER

    path = Path(path)
    with figure(8, 6.5) as (fig, ax):
        for name, (es, eb, auc, inv) in curves.items():
            ok = (eb > 0) & (es > 0.05)
            ax.plot(es[ok], 1.0 / eb[ok], label=f"{name}: AUC {auc:.4f}, 1/$\\epsilon_B$(50%) {inv:.1f}")
        if paper:
            markers = iter(["o", "s", "^", "v"])
            for name, (auc, _, inv, err) in PAPER.items():
                ax.errorbar([0.5], [inv], yerr=[err] if err else None, fmt=next(markers), color="k",
                            mfc="none", label=f"paper: {name} (AUC {auc:.4f}, {inv:g})")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(1.0, 3e4)  # room above the curves for the legend
        ax.set_xlabel("signal efficiency $\\epsilon_S$ (W jets)", fontsize=16)
        ax.set_ylabel("background rejection $1/\\epsilon_B$ (QCD jets)", fontsize=16)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right", title=title or None, title_fontsize=8)
        experiment_label(ax, "Simulation", rlabel="13 TeV, anti-$k_T$ R = 1.0")
        save_figure(fig, path)
    return path
