"""This module defines MomentumResolution: the resolution of a helix fit's momentum against the simulation's truth.

Every sum lives in histograms booked with the Histograms service, so the figures merge exactly across
batches and processes (``summary_from_histograms``); :func:`hepreco_comet.resolution.resolution_figures`
turns them into the figures, :func:`hepreco_comet.plotting.plot_momentum_resolution` draws them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
from pydantic import Field, model_validator

import hepreco
from hepreco import InputTag
from hepreco_comet.resolution import QUANTITIES, resolution_figures

__all__ = ["MomentumResolution"]

_COUNTS = ["events", "with_truth", "valid", "valid_with_p"]
_SUMS = ["n", "sum", "sum2"]


class MomentumResolution(hepreco.Analyzer):
    """The momentum resolution of a ``comet.HelixFit``: fitted minus true pT and p of the signal electron.

    Histograms (Histograms service, merged across batches and processes): ``residuals`` (fit x quantity
    ``pt``/``p`` x fit - truth in MeV/c, with flow bins), ``momentum`` (fit x fitted/true pT and p),
    ``counts`` (events, events with a true signal electron, valid fits, valid fits with p) and ``sums``
    (entries, sum and sum of squares of the residuals: the exact mean and RMS). Only events with a true
    signal electron and a valid fit enter the residuals; ``p`` only where the fit has z.

    Summary (MeV/c): ``events``, ``valid_fraction`` (valid fits per event with a true signal electron),
    ``p_fraction`` (valid fits with p, same denominator), and per quantity ``pt_``/``p_``: ``mean``,
    ``rms``, ``median``, ``sigma68`` (half the central 68% interval: the core resolution), ``gauss_mean`` and
    ``gauss_sigma`` (a Gaussian fitted to the core within 1.5 sigma), ``outside_range`` (the fraction of
    residuals beyond ``range``, which still count in the quantiles). With ``reference`` the same for a
    second fit (e.g. of the truth-selected hits) with the prefix ``reference_``, both drawn in one plot.

    The truth is the electron's momentum at its vertex in the stopping target: the fit measures it in the
    chamber, after the rest of the target disk, any other disks crossed and the inner wall, so the residuals
    have a negative offset and a low tail (energy loss, bremsstrahlung) besides the fit's resolution.
    """

    summary_from_histograms = True

    class Config(hepreco.Analyzer.Config):
        fit: InputTag = InputTag("fit")
        """The fit record (``comet.HelixFit``: fields ``pt``, ``p``, ``valid``)."""
        reference: InputTag | None = None
        """A second fit record to compare with (e.g. the fit of the truth-selected hits)."""
        truth: InputTag = InputTag("source:signal")
        """The true signal electron (fields ``px``, ``py``, ``pz`` in MeV/c; ``has_signal`` when present)."""
        range: tuple[float, float] = (-10.0, 10.0)
        """Range of the fit - truth histograms (MeV/c)."""
        bins: int = Field(400, ge=10)
        """Bins of the fit - truth histograms."""
        momentum_range: tuple[float, float] = (60.0, 120.0)
        """Range of the fitted and true momentum histograms (MeV/c)."""
        momentum_bins: int = Field(240, ge=10)
        """Bins of the momentum histograms."""
        plot_dir: str | None = None
        """Directory for the plots, PNG and PDF (residuals of pT and p, the momentum spectra)."""
        plot_label: str = "COMET Simulation"
        """The experiment label of the plots."""
        fit_name: str = "helix fit"
        """The name of ``fit`` in legends and titles."""
        reference_name: str = "reference fit"
        """The name of ``reference`` in legends and titles."""

        @model_validator(mode="after")
        def _check_ranges(self) -> MomentumResolution.Config:
            for name in ("range", "momentum_range"):
                lo, hi = getattr(self, name)
                if not lo < hi:
                    msg = f"{name} must be increasing, got {[lo, hi]}"
                    raise ValueError(msg)
            return self

    @property
    def fits(self) -> list[str]:
        return ["fit", "reference"] if self.config.reference is not None else ["fit"]

    def begin_job(self) -> None:
        c = self.config
        fit_axis = hist.axis.StrCategory(self.fits, name="fit")
        self.h_res = self.book(
            "residuals",
            hist.Hist(
                fit_axis,
                hist.axis.StrCategory(QUANTITIES, name="quantity"),
                hist.axis.Regular(c.bins, *c.range, name="residual", label="fit - truth [MeV/c]"),
                storage=hist.storage.Double(),
            ),
            internal=True,
        )
        self.h_mom = self.book(
            "momentum",
            hist.Hist(
                fit_axis,
                hist.axis.StrCategory(["fit_pt", "fit_p", "true_pt", "true_p"], name="quantity"),
                hist.axis.Regular(c.momentum_bins, *c.momentum_range, name="momentum", label="momentum [MeV/c]"),
                storage=hist.storage.Double(),
            ),
            internal=True,
        )
        self.h_counts = self.book(
            "counts",
            hist.Hist(fit_axis, hist.axis.StrCategory(_COUNTS, name="quantity"), storage=hist.storage.Double()),
            internal=True,
        )
        self.h_sums = self.book(
            "sums",
            hist.Hist(
                fit_axis,
                hist.axis.StrCategory(QUANTITIES, name="quantity"),
                hist.axis.StrCategory(_SUMS, name="sum"),
                storage=hist.storage.Double(),
            ),
            internal=True,
        )

    @staticmethod
    def _column(record: ak.Array, name: str, fill: Any, tag: InputTag) -> np.ndarray:
        if name not in ak.fields(record):
            msg = f"product '{tag}' has no field '{name}' (fields: {', '.join(ak.fields(record))})"
            raise ValueError(msg)
        return ak.to_numpy(ak.fill_none(record[name], fill))

    def analyze(self, events: hepreco.Events) -> None:
        c = self.config
        truth = events[c.truth]
        px, py, pz = (self._column(truth, k, np.nan, c.truth).astype(np.float64) for k in ("px", "py", "pz"))
        has = np.isfinite(px) & np.isfinite(py) & np.isfinite(pz)
        if "has_signal" in ak.fields(truth):
            has &= self._column(truth, "has_signal", False, c.truth).astype(bool)
        pt_true = np.hypot(px, py)
        p_true = np.sqrt(px * px + py * py + pz * pz)
        for name, tag in zip(self.fits, (c.fit, c.reference), strict=False):
            fit = events[tag]
            pt = self._column(fit, "pt", np.nan, tag).astype(np.float64)
            p = self._column(fit, "p", np.nan, tag).astype(np.float64)
            valid = self._column(fit, "valid", False, tag).astype(bool) & has & np.isfinite(pt)
            with_p = valid & np.isfinite(p)
            counts = self.h_counts.view()
            i = self.fits.index(name)
            counts[i] += [len(events), has.sum(), valid.sum(), with_p.sum()]
            sums = self.h_sums.view()
            for j, (sel, fitted, true) in enumerate(((valid, pt, pt_true), (with_p, p, p_true))):
                r = fitted[sel] - true[sel]
                self.h_res.fill(fit=name, quantity=QUANTITIES[j], residual=r)
                sums[i, j] += [r.size, r.sum(), np.sum(r * r)]
                self.h_mom.fill(fit=name, quantity=f"fit_{QUANTITIES[j]}", momentum=fitted[sel])
                self.h_mom.fill(fit=name, quantity=f"true_{QUANTITIES[j]}", momentum=true[sel])

    # --- results ---------------------------------------------------------------------------------
    def results(self) -> dict[str, Any]:
        """The figures of the summary, from the (mergeable) histograms."""
        out: dict[str, Any] = {}
        edges = self.h_res.axes["residual"].edges
        nan = float("nan")
        for i, name in enumerate(self.fits):
            prefix = "" if name == "fit" else "reference_"
            ev, with_truth, valid, with_p = self.h_counts.view()[i]
            out[f"{prefix}events"] = int(ev)
            out[f"{prefix}events_with_truth"] = int(with_truth)
            out[f"{prefix}valid_fraction"] = round(valid / with_truth, 5) if with_truth else nan
            out[f"{prefix}p_fraction"] = round(with_p / with_truth, 5) if with_truth else nan
            for j, q in enumerate(QUANTITIES):
                counts = self.h_res.view(flow=True)[i, j]
                n, s, s2 = self.h_sums.view()[i, j]
                figs = resolution_figures(counts, edges, n, s, s2)
                for key, value in figs.items():
                    out[f"{prefix}{q}_{key}"] = round(float(value), 5) if np.isfinite(value) else nan
        return out

    def put_results(self, figures: dict[str, Any]) -> None:
        """What a user plots, into the histogram file's ``results/<label>/``: per fit (``reference_`` prefixed
        for the reference) the residual distributions ``residual_pt`` and ``residual_p`` (TH1 with sqrt(N)
        errors; median, sigma68 and the core's Gaussian width in the title), the fitted Gaussian core as a
        graph ``residual_pt_core`` / ``residual_p_core``, and the momentum spectra ``momentum_fit_pt``,
        ``momentum_true_pt``, ... (TH1)."""
        from hepreco import Graph

        c = self.config
        fit_names = {"fit": c.fit_name, "reference": c.reference_name}
        for name in self.fits:
            prefix = "" if name == "fit" else "reference_"
            for q, title in zip(QUANTITIES, ("p_{T}", "p"), strict=True):
                h = self.h_res[name, q, :]
                med, s68 = figures.get(f"{prefix}{q}_median"), figures.get(f"{prefix}{q}_sigma68")
                g_mean, g_sigma = figures.get(f"{prefix}{q}_gauss_mean"), figures.get(f"{prefix}{q}_gauss_sigma")
                out = hist.Hist(h.axes[0], storage=hist.storage.Weight(),
                                label=f"{fit_names[name]}: {title} residual, median {med:.3f}, sigma68 {s68:.3f}, "
                                      f"core sigma {g_sigma:.3f} MeV/c")  # fmt: skip
                counts = h.values(flow=True)
                out.view(flow=True)["value"] = counts
                out.view(flow=True)["variance"] = counts  # unweighted counts: the variance is the count
                out.axes[0].label = f"{title} fit - truth [MeV/c]"
                self.put_result(f"{prefix}residual_{q}", out)
                if g_mean is not None and g_sigma is not None and np.isfinite(g_mean) and np.isfinite(g_sigma):
                    edges = h.axes[0].edges
                    centres = 0.5 * (edges[1:] + edges[:-1])
                    core = np.abs(centres - g_mean) <= 1.5 * g_sigma
                    shape = np.exp(-0.5 * ((centres - g_mean) / g_sigma) ** 2)
                    if core.any() and shape[core].sum() > 0:
                        scale = counts[1:-1][core].sum() / shape[core].sum()
                        x = np.linspace(g_mean - 1.5 * g_sigma, g_mean + 1.5 * g_sigma, 61)
                        y = scale * np.exp(-0.5 * ((x - g_mean) / g_sigma) ** 2)
                        self.put_result(f"{prefix}residual_{q}_core", Graph(
                            x, y, title=f"{fit_names[name]}: Gaussian core, mean {g_mean:.3f}, sigma {g_sigma:.3f} MeV/c",
                            xlabel=f"{title} fit - truth [MeV/c]", ylabel="events per bin"))  # fmt: skip
                for kind in ("fit", "true"):
                    m = self.h_mom[name, f"{kind}_{q}", :]
                    out = hist.Hist(m.axes[0], storage=hist.storage.Weight(),
                                    label=f"{fit_names[name] if kind == 'fit' else 'truth (at the vertex)'}: {title}")  # fmt: skip
                    out.view(flow=True)["value"] = m.values(flow=True)
                    out.view(flow=True)["variance"] = m.values(flow=True)
                    out.axes[0].label = f"{title} [MeV/c]"
                    self.put_result(f"{prefix}momentum_{kind}_{q}", out)

    def end_job(self) -> None:
        figures = self.results()
        self.summary(**figures)
        self.put_results(figures)
        if self.config.plot_dir:
            c = self.config
            names = {"fit": c.fit_name, "reference": c.reference_name}
            from hepreco_comet.plotting import plot_momentum_resolution

            plot_momentum_resolution(Path(c.plot_dir), self.label, self.h_res, self.h_mom, figures, names=names,
                                     exp_label=c.plot_label)  # fmt: skip
