"""This module draws hepreco's figures with mplhep: one style, the experiment label, PNG and PDF, and what
``hepreco plot FILE.root [NAME...]`` draws (any histogram or graph of a file hepreco wrote).

matplotlib and mplhep are the ``plot`` extra (``pip install 'hepreco[plot]'``); they are imported when a
figure is drawn, never by ``import hepreco``. Figures use matplotlib's object API on the Agg canvas (no
pyplot, no display): they can be drawn from worker processes and tests alike.

Examples:
    Draw a histogram with the experiment label, written as ``h.png`` (150 dpi) and ``h.pdf``::

        from hepreco.plotting import figure, experiment_label, save_figure, draw_histogram

        with figure() as (fig, ax):
            draw_histogram(ax, h, label="signal")
            experiment_label(ax, "COMET Simulation")
            save_figure(fig, "h.png")
"""

from __future__ import annotations

import contextlib
import os
import re
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DPI",
    "draw_graph",
    "draw_histogram",
    "experiment_label",
    "figure",
    "plot_file",
    "rebin_for_entries",
    "require_plotting",
    "save_figure",
    "tlatex",
]

#: the resolution of PNG figures (a PDF is written beside every PNG)
DPI = 150

_EXTRA = "pip install 'hepreco[plot]'"


def require_plotting() -> tuple[Any, Any]:
    """``(matplotlib, mplhep)``, or an ImportError naming the ``plot`` extra."""
    try:
        import matplotlib
        import mplhep
    except ImportError as err:
        msg = f"drawing plots needs matplotlib and mplhep ({err.name} is not installed): {_EXTRA}"
        raise ImportError(msg) from err
    return matplotlib, mplhep


@contextlib.contextmanager
def figure(
    width: float = 8.0, height: float = 7.0, *, nrows: int = 1, ncols: int = 1, **subplots: Any
) -> Iterator[tuple[Any, Any]]:
    """A new figure in mplhep's ROOT style, with its axes: ``(fig, ax)`` (an array of axes when
    ``nrows * ncols > 1``). Draw and save inside the ``with`` block: the style applies there."""
    matplotlib, mplhep = require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(mplhep.style.ROOT):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, **subplots)
        yield fig, axes


def experiment_label(ax: Any, text: str = "Simulation", *, rlabel: str | None = None) -> None:
    """The experiment label over the axes: the first word bold (``"COMET Simulation"``: **COMET** Simulation);
    a label of one word such as ``"Simulation"`` or ``"Preliminary"`` is drawn in italics alone."""
    _matplotlib, mplhep = require_plotting()
    exp, _, rest = text.strip().partition(" ")
    if not rest and exp.lower() in {"simulation", "preliminary", "internal", "private work"}:
        exp, rest = "", exp
    mplhep.label.exp_label(exp=exp, llabel=rest, loc=0, ax=ax, rlabel=rlabel if rlabel is not None else "")


def save_figure(fig: Any, path: str | os.PathLike[str], *, pdf: str | os.PathLike[str] | None = None,
                dpi: int = DPI) -> list[Path]:  # fmt: skip
    """Write ``fig`` as a PNG at ``dpi`` (at least 150) to ``path`` and as a PDF to ``pdf`` (default:
    ``path`` with the suffix ``.pdf``); returns both paths."""
    png = Path(path)
    png.parent.mkdir(parents=True, exist_ok=True)
    pdf_path = png.with_suffix(".pdf") if pdf is None else Path(pdf)
    fig.savefig(png, dpi=max(int(dpi), DPI), format="png", bbox_inches="tight")
    fig.savefig(pdf_path, format="pdf", bbox_inches="tight")
    return [png, pdf_path]


def rebin_for_entries(h: Any, entries: float | None = None) -> Any:
    """A 1-d ``hist.Hist`` merged into fewer bins when it has few entries: about :func:`hepreco.suggest_bins`
    bins (a divisor of its number of bins), so that a small sample is not drawn in mostly empty bins."""
    import hist

    from hepreco.services.results import suggest_bins

    n = float(h.sum(flow=True).value if hasattr(h.sum(flow=True), "value") else h.sum(flow=True))
    n = n if entries is None else entries
    bins = h.axes[0].size
    want = suggest_bins(n, high=bins)
    factor = max(1, bins // max(want, 1))
    while factor > 1 and bins % factor:
        factor -= 1
    return h[:: hist.rebin(factor)] if factor > 1 else h


def draw_histogram(
    ax: Any,
    h: Any,
    *,
    label: str | None = None,
    density: bool = False,
    rebin: bool = False,
    entries: float | None = None,
    **kwargs: Any,
) -> None:
    """Draw a 1-d histogram (``hist.Hist`` or an uproot TH1) with its error bars, sqrt(sum w^2) (none on
    empty bins), or a 2-d one as a colour map.

    Args:
        density: normalised to unit area (values and errors alike).
        rebin: merge bins when there are few entries (:func:`rebin_for_entries`; ``entries``: the number
            that decides, e.g. the total of several histograms drawn together so they share one binning).
        kwargs: passed to ``mplhep.histplot`` (``color``, ``ls``, ...).
    """
    _matplotlib, mplhep = require_plotting()
    values = np.asarray(h.values())
    if values.ndim == 2:
        art = mplhep.hist2dplot(h, ax=ax, flow=None, cbar=False, **kwargs)  # its colour bar needs pyplot
        ax.figure.colorbar(art.pcolormesh, ax=ax)
        return
    if values.ndim != 1:
        msg = f"cannot draw a {values.ndim}-d histogram; project it first"
        raise ValueError(msg)
    if rebin:
        if not hasattr(h, "axes") or not hasattr(h, "project"):
            h = h.to_hist()
        h = rebin_for_entries(h, entries)
    values = np.asarray(h.values(), dtype=np.float64)
    variances = h.variances()
    var = values.copy() if variances is None else np.asarray(variances, dtype=np.float64)
    err = np.where(values != 0, np.sqrt(np.maximum(var, 0.0)), 0.0)
    edges = np.asarray(h.axes[0].edges)
    if density:
        norm = values.sum() * np.diff(edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            values, err = values / norm, err / norm
    mplhep.histplot(values, edges, yerr=err, label=label, ax=ax, **kwargs)


def draw_graph(ax: Any, g: Any, *, label: str | None = None, **kwargs: Any) -> None:
    """Draw a graph (:class:`hepreco.Graph` or an uproot TGraph/TGraphErrors/TGraphAsymmErrors): markers
    with their error bars when it has errors, a line when it has none."""
    from hepreco.services.results import Graph

    if isinstance(g, Graph):
        x, y = g.x, g.y
        xl, xh, yl, yh = g.errors() if g.has_errors else (None,) * 4
    else:
        x, y = (np.asarray(a) for a in g.values())
        xl = xh = yl = yh = None
        if g.classname != "TGraph":
            (xl, yl), (xh, yh) = g.errors("low"), g.errors("high")
    if yl is None:
        ax.plot(x, y, label=label, **kwargs)
    else:
        ax.errorbar(x, y, xerr=[xl, xh], yerr=[yl, yh], fmt="o", ms=3, label=label, **kwargs)


_TLATEX = re.compile(r"#([A-Za-z]+)")


def tlatex(text: str) -> str:
    """ROOT's TLatex (``m(#mu#mu) [GeV]``) as matplotlib mathtext (``m($\\mu$$\\mu$) [GeV]``), for the
    Greek letters and a few symbols; anything else is left as it is.

    Examples:
        >>> print(tlatex("m(#mu#mu) [GeV]"))
        m($\\mu$$\\mu$) [GeV]
        >>> print(tlatex("p_{T} [GeV], #eta^{2}"))
        $p_{T}$ [GeV], $\\eta^{2}$
    """

    def sub(m: re.Match[str]) -> str:
        word = m.group(1)
        known = _GREEK | {"pm", "times", "rightarrow", "infty", "sqrt"}
        return f"$\\{word}$" if word in known or word.lower() in _GREEK else m.group(0)

    out = _TLATEX.sub(sub, text)

    def script(m: re.Match[str]) -> str:
        return f"${m.group(1).strip('$')}{m.group(2)}{{{m.group(3)}}}$"

    return _SCRIPT.sub(script, out)


_SCRIPT = re.compile(r"(\$\\[A-Za-z]+\$|[A-Za-z0-9])([_^])\{([^}$]*)\}")


_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "kappa", "lambda", "mu", "nu", "xi", "pi",
    "rho", "sigma", "tau", "phi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi",
    "Sigma", "Phi", "Psi", "Omega",
}  # fmt: skip


def _title_parts(obj: Any) -> tuple[str, str, str]:
    """(title, x title, y title) of an uproot object, as matplotlib text."""
    title = str(obj.member("fTitle")) if obj.has_member("fTitle") else ""
    parts = [*title.split(";"), "", ""]
    xt, yt = parts[1], parts[2]
    with contextlib.suppress(Exception):
        xt = xt or str(obj.member("fXaxis").member("fTitle"))
        yt = yt or str(obj.member("fYaxis").member("fTitle"))
    return tlatex(parts[0]), tlatex(xt), tlatex(yt)


def _objects(f: Any, names: Sequence[str], *, internal: bool) -> list[str]:
    drawable = ("TH1", "TH2", "TGraph", "TProfile")
    listed = {k.split(";")[0]: c for k, c in f.classnames().items()}
    if names:
        missing = [n for n in names if n not in listed]
        if missing:
            avail = ", ".join(sorted(k for k, c in listed.items() if c.startswith(drawable)))
            msg = f"{f.file_path}: no object {', '.join(map(repr, missing))}; available: {avail}"
            raise KeyError(msg)
        return list(names)
    out = [k for k, c in listed.items() if c.startswith(drawable)]
    if not internal:
        out = [k for k in out if not k.startswith("internal/")]
    return out


def plot_file(
    path: str | os.PathLike[str],
    names: Sequence[str] = (),
    *,
    out_dir: str | os.PathLike[str] = ".",
    label: str = "Simulation",
    logy: bool = False,
    internal: bool = False,
    rebin: bool = True,
) -> list[Path]:
    """Draw objects of a ROOT file (histograms, graphs) with mplhep, one PNG and one PDF each in ``out_dir``,
    named after the object's path (``results/roc`` → ``results_roc.png``); returns the files written.

    Args:
        path: the ROOT file (a hepreco histogram file, or any other).
        names: object paths in the file (``h_z/h_z``, ``results/metrics/roc``); every histogram and graph
            when empty, except the ``internal/`` accumulators (``internal=True`` draws them too).
        label: the experiment label (``"COMET Simulation"``).
        logy: a logarithmic y axis.
        rebin: merge the bins of a 1-d histogram with few entries (:func:`rebin_for_entries`).
    """
    import uproot

    require_plotting()
    out = Path(out_dir)
    written: list[Path] = []
    with uproot.open(path) as f:
        for name in _objects(f, names, internal=internal):
            obj = f[name]
            cls = obj.classname
            if cls.startswith("TH3"):
                continue
            title, xt, yt = _title_parts(obj)
            title = textwrap.fill(title, 48)
            with figure() as (fig, ax):
                if cls.startswith("TGraph"):
                    draw_graph(ax, obj, label=title or None)
                else:
                    h = obj.to_hist()
                    draw_histogram(ax, h, label=(title or None) if cls.startswith("TH1") else None,
                                   rebin=rebin and cls.startswith("TH1"))  # fmt: skip
                    if cls.startswith("TH1") and not yt:
                        sumw2 = np.asarray(obj.member("fSumw2")) if obj.has_member("fSumw2") else np.zeros(0)
                        weighted = sumw2.size > 0 and not np.allclose(sumw2, obj.values(flow=True))
                        yt = "weighted entries" if weighted else "entries"
                ax.set_xlabel(xt)
                ax.set_ylabel(yt)
                if logy:
                    ax.set_yscale("log")
                if title and not cls.startswith("TH2"):
                    ax.legend(loc="best", fontsize="x-small")
                experiment_label(ax, label)
                written += save_figure(fig, out / f"{name.replace('/', '_')}.png")
    return written
