"""Compare the DnCNN and GBDT hit classifiers on the same held-out events (the table and plots of the
COMET plugin README).

    python examples/comet/compare_classifiers.py [--events 6000] [--out plugins/comet/docs]

Runs ``eval_classifiers.yaml`` (its ``comet.HitClassificationMetrics`` analyzers measure both models
and the energy-deposit baseline on held-out events, 6001..7000 of the trainings' seed), then writes
``classifiers.md`` (the table), ``classifiers.json``, ``classifiers_roc.png`` and
``classifiers_vs_cut.png`` (``classifiers_curves.npz`` holds the curves: ``--replot`` redraws). ``--set`` overrides go to the job (e.g.
``--set modules.dncnn.weights=out/comet_dncnn_training/best``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from hepreco_comet.acceptance import ThresholdScan

import hepreco

HERE = Path(__file__).parent
MODELS = {"dncnn": "DnCNN", "gbdt": "GBDT", "edep": "edep only"}


def scan_of(hists: dict[str, Any], cfg: dict[str, Any]) -> tuple[np.ndarray, ThresholdScan]:
    """The cut values (on the score's own scale) and the ThresholdScan an analyzer accumulated."""
    lo, hi = cfg.get("score_range", (0.0, 1.0))
    n = int(cfg.get("thresholds", 201))
    invert = bool(cfg.get("invert", False))
    grid = np.linspace(lo, hi, n)
    t = -grid[::-1] if invert else grid
    scan = ThresholdScan(t)
    v = hists["scan"].view()
    scan.sum_acc, scan.sum_rej, scan.sum_acc_whole, scan.sum_rej_whole = (v[:, j].copy() for j in range(4))
    cv = hists["counts"].view()
    scan.n_events_pos = np.array([cv[0], cv[2]], dtype=np.int64)
    scan.n_events_neg = np.array([cv[1], cv[3]], dtype=np.int64)
    scan.cut_fraction_sum = float(cv[4])
    return (-t if invert else t), scan


def acceptance_at(acc: np.ndarray, rej: np.ndarray, rejection: float) -> float:
    """The highest acceptance among cuts with at least ``rejection``."""
    ok = rej >= rejection
    return float(acc[ok].max()) if ok.any() else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(HERE / "eval_classifiers.yaml"))
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--out", default="plugins/comet/docs")
    ap.add_argument("--set", action="append", default=[], help="job override key.path=value")
    ap.add_argument("--replot", action="store_true", help="only redraw the plots from classifiers_curves.npz")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        with np.load(out / "classifiers_curves.npz", allow_pickle=False) as f:
            curves = {m: {k.split("/", 1)[1]: f[k] for k in f.files if k.startswith(m + "/")} for m in MODELS}
        plot(curves, out)
        return
    t0 = time.perf_counter()
    result = hepreco.run(args.config, events=args.events, set=list(args.set))
    seconds = time.perf_counter() - t0
    import yaml

    job = yaml.safe_load(Path(args.config).read_text())
    curves: dict[str, dict[str, np.ndarray]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for key, name in MODELS.items():
        label = f"{key}_metrics"
        figures = result.summaries[label]
        cuts, scan = scan_of(result.histograms[label], job["modules"][label])
        acc, rej = scan.acceptance(), scan.rejection()
        accw, rejw = scan.acceptance(whole=True), scan.rejection(whole=True)
        curves[key] = {"cut": cuts, "acc": acc, "rej": rej, "acc_whole": accw, "rej_whole": rejw}
        rows[key] = {
            "model": name,
            "events": figures["events"],
            "auc_per_hit": figures["auc_per_hit"],
            "cut_for_99_acceptance": figures["working_point_cut"],
            "acceptance_after_cut": figures["signal_acceptance_after_cut"],
            "rejection_after_cut": figures["background_rejection_after_cut"],
            "acceptance_whole": figures["signal_acceptance_whole"],
            "rejection_whole": figures["background_rejection_whole"],
            "acceptance_at_97_rejection": acceptance_at(acc, rej, 0.97),
        }
    # acceptance at equal rejection: each network at the other's working-point rejection
    for a, b in (("dncnn", "gbdt"), ("gbdt", "dncnn")):
        r = rows[b]["rejection_after_cut"]
        rows[a][f"acceptance_at_{b}_rejection"] = acceptance_at(curves[a]["acc"], curves[a]["rej"], r)
    info = {
        "events_simulated": result.events,
        "test_events": rows["dncnn"]["events"],
        "seconds": round(seconds, 1),
        "rows": rows,
        "provenance": {k: v for k, v in result.summaries.items() if "model_hash" in v},
    }
    np.savez(out / "classifiers_curves.npz", **{f"{m}/{k}": v for m, c in curves.items() for k, v in c.items()})
    (out / "classifiers.json").write_text(json.dumps(info, indent=2, default=float) + "\n")
    table = [
        "| figure (per event, averaged over events) | DnCNN | GBDT | edep only |",
        "| --- | --- | --- | --- |",
    ]

    def pct(x: float) -> str:
        return "n/a" if x != x else f"{100 * x:.2f}%"

    spec = [
        ("per-hit ROC AUC (after the energy cut)", "auc_per_hit", lambda x: f"{x:.4f}"),
        ("cut for 99.0% signal acceptance", "cut_for_99_acceptance", lambda x: f"{x:.4g}"),
        ("signal acceptance after the energy cut", "acceptance_after_cut", pct),
        ("background rejection after the energy cut", "rejection_after_cut", pct),
        ("signal acceptance against the whole data", "acceptance_whole", pct),
        ("background rejection against the whole data", "rejection_whole", pct),
        ("signal acceptance at 97.0% rejection after the cut", "acceptance_at_97_rejection", pct),
    ]
    for title, key, fmt in spec:
        table.append(f"| {title} | " + " | ".join(fmt(rows[m][key]) for m in MODELS) + " |")
    table.append(
        f"| signal acceptance at the other network's rejection | {pct(rows['dncnn']['acceptance_at_gbdt_rejection'])} "
        f"| {pct(rows['gbdt']['acceptance_at_dncnn_rejection'])} | |"
    )
    (out / "classifiers.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    print(f"{info['test_events']} held-out events with signal hits ({result.events} simulated), {seconds:.0f} s")
    plot(curves, out)


def plot(curves: dict[str, dict[str, np.ndarray]], out: Path) -> None:
    """The ROC (and a zoom on the talk's target) and acceptance/rejection vs the cut, with mplhep
    (hepreco.plotting: the COMET Simulation label, PNG at 150 dpi and PDF)."""
    from hepreco.plotting import experiment_label, figure, save_figure

    with figure(16, 7, ncols=2) as (fig, axes):
        zooms = (((0.9, 1.0005), (0.4, 1.002)), ((0.97, 1.0005), (0.9, 1.001)))
        for ax, (xlim, ylim) in zip(axes, zooms, strict=True):
            for key, c in curves.items():
                ax.plot(c["acc"], c["rej"], label=MODELS[key])
            ax.axvline(0.99, color="grey", ls=":", lw=1)
            ax.axhline(0.97, color="grey", ls=":", lw=1)
            ax.plot([0.99], [0.97], "k*", ms=12, label="talk's target (99.0%, 97.0%)")
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)
            ax.set_xlabel("signal acceptance after the energy cut (per event)")
            ax.set_ylabel("background rejection after the energy cut (per event)")
            ax.grid(alpha=0.3)
            experiment_label(ax, "COMET Simulation")
        axes[0].legend(loc="lower left", fontsize="x-small", title="held-out events", title_fontsize="x-small")
        save_figure(fig, out / "classifiers_roc.png")

    with figure(16, 7, ncols=2) as (fig, axes):
        for ax, key in zip(axes, ("dncnn", "gbdt"), strict=True):
            c = curves[key]
            ax.plot(c["cut"], c["acc"], label="signal acceptance after the cut")
            ax.plot(c["cut"], c["rej"], label="background rejection after the cut")
            ax.plot(c["cut"], c["acc_whole"], ls="--", label="signal acceptance, whole data")
            ax.plot(c["cut"], c["rej_whole"], ls="--", label="background rejection, whole data")
            ax.set_xlabel(f"cut on the {MODELS[key]} score")
            ax.set_ylabel("per-event mean")
            ax.set_ylim(0.5, 1.005)
            ax.grid(alpha=0.3)
            experiment_label(ax, "COMET Simulation", rlabel=MODELS[key])
        axes[0].legend(loc="lower center", fontsize="xx-small")
        save_figure(fig, out / "classifiers_vs_cut.png")


if __name__ == "__main__":
    main()
