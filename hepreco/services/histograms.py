"""This module defines Histograms, art's TFileService: modules book ``hist`` objects, written at end of job.

The file it writes has three parts:

- ``<label>/<name>``: the histograms module ``<label>`` booked (``Module.book``), merged over the job: what
  ``hadd`` merges and what a user reads (a weighted histogram carries ``fSumw2``: its errors are right);
- ``results/<label>/<name>``: the results modules computed at end of job (``Module.put_result``): ROC curves
  and efficiencies as ``TGraph``/``TGraphAsymmErrors``, residual distributions as TH1 with their errors;
- ``internal/<label>/<name>``: the mergeable accumulators a module keeps its sums in (booked with
  ``internal=True``: running sums, counters, category axes) from which it computes its results; kept so that
  files can still be merged, but not meant to be plotted.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

from hepreco.core.module import ModuleConfig
from hepreco.core.service import Service

__all__ = ["INTERNAL_DIR", "RESULTS_DIR", "Histograms", "merge_histograms", "write_histograms"]

log = logging.getLogger("hepreco.histograms")

#: the directories of the histogram file that hold results and internal accumulators (not module labels)
RESULTS_DIR = "results"
INTERNAL_DIR = "internal"


def merge_histograms(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Sum two ``{label: {name: hist}}`` tables (identity: ``{}``); histograms in both are added exactly."""
    out = {label: dict(hs) for label, hs in a.items()}
    for label, hs in b.items():
        mine = out.setdefault(label, {})
        for name, h in hs.items():
            mine[name] = mine[name] + h if name in mine else h.copy()
    return out


def is_internal(h: Any) -> bool:
    """Whether ``h`` was booked as an internal accumulator (``Module.book(..., internal=True)``)."""
    return bool(getattr(h, "_hepreco_internal", False))


def _writable(name: str, h: Any, where: str = "") -> Any:
    """``h`` as uproot should write it: the hist's label (else its name) as the ROOT title, integer counts
    as doubles (a TH1D: ROOT has no 64-bit integer histogram); axis labels become the axis titles; a
    :class:`~hepreco.services.results.Graph` as a TGraph or TGraphAsymmErrors."""
    import hist

    from hepreco.services.results import Graph

    if isinstance(h, Graph):
        from hepreco.services._rootgraph import to_root_graph

        return to_root_graph(h)
    if not isinstance(h, hist.Hist):
        return h
    if getattr(h, "_variance_known", True) is False and not is_internal(h):
        log.warning(
            "histogram '%s' has double storage but was filled with weights: its errors in the file are "
            "sqrt(sum w), not sqrt(sum w^2); book it with storage=hist.storage.Weight()",
            where or name,
        )
    if h.storage_type in (hist.storage.Int64, hist.storage.AtomicInt64):
        out = hist.Hist(*h.axes, storage=hist.storage.Double(), name=h.name, label=h.label)
        out.view(flow=True)[...] = h.view(flow=True)
    else:
        out = h.copy()
    cast(Any, out).title = h.label or h.name or name  # what uproot writes as the TH1 title
    return out


def write_histograms(
    path: str | Path, histograms: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]] | None = None
) -> None:
    """Write every histogram as TH1/TH2/TH3 under ``<label>/<name>`` in a new ROOT file (uproot), with its
    name, its title (the hist's ``label``) and its axis titles (the axes' ``label``) kept; internal
    accumulators under ``internal/<label>/<name>``; ``results`` under ``results/<label>/<name>``."""
    import uproot

    with uproot.recreate(path) as f:
        for label, hs in histograms.items():
            for name, h in hs.items():
                where = f"{INTERNAL_DIR}/{label}/{name}" if is_internal(h) else f"{label}/{name}"
                f[where] = _writable(name, h, where)
        for label, objs in (results or {}).items():
            for name, obj in objs.items():
                where = f"{RESULTS_DIR}/{label}/{name}"
                if _is_graph(obj) and len(obj) == 0:
                    log.warning("result '%s' is an empty graph: not written", where)
                    continue
                f[where] = _writable(name, obj, where)


def _is_graph(obj: Any) -> bool:
    from hepreco.services.results import Graph

    return isinstance(obj, Graph)


class Histograms(Service):
    """Holds the histograms modules book with ``Module.book(name, hist.Hist(...))``, one ROOT directory
    per module label, and the results they put at end of job with ``Module.put_result(name, obj)``, and
    writes them to ``file`` at end of job (nothing is written without a file): see the module docstring
    for the file's layout.

    Results are made once for the whole job where a module's ``end_job`` runs once on the whole job: in
    a job run in this process, and for modules with ``summary_from_histograms`` under a chunked executor
    (their ``end_job`` runs on the client, on the merged histograms). A result put on a worker (the
    ``end_job`` of any other module under ``processes`` or ``dask``) covers only that worker's chunks and
    is not written (a warning says so).
    """

    essential = True

    class Config(ModuleConfig):
        file: str | None = None
        """ROOT file to write the histograms to (relative to the working directory)."""
        overwrite: bool = True
        """Replace an existing file (the end-of-job output list says so); False: refuse before the first event."""

    def __init__(self, config: ModuleConfig, *, job: Any) -> None:
        super().__init__(config, job=job)
        self.histograms: dict[str, dict[str, Any]] = {}
        #: ``{label: {name: Graph or hist.Hist}}``: what modules put with :meth:`put_result`
        self.results: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _check_name(label: str, name: str, what: str) -> None:
        if "/" in name or not name:
            msg = f"{what} name {name!r} must be non-empty and contain no '/'"
            raise ValueError(msg)
        if label in (RESULTS_DIR, INTERNAL_DIR):
            msg = f"module label '{label}' is the name of a directory of the histogram file: rename the module"
            raise ValueError(msg)

    def book(self, label: str, name: str, histogram: Any, *, internal: bool = False) -> Any:
        """Register ``histogram`` as ``<label>/<name>`` (``internal/<label>/<name>`` when ``internal``: an
        accumulator, not a result); booking the same name twice is an error."""
        self._check_name(label, name, "histogram")
        hs = self.histograms.setdefault(label, {})
        if name in hs:
            msg = f"module '{label}' booked histogram '{name}' twice"
            raise ValueError(msg)
        if internal:
            histogram._hepreco_internal = True  # kept by copy, +, pickle: it travels from the workers
        hs[name] = histogram
        return histogram

    def put_result(self, label: str, name: str, obj: Any) -> Any:
        """Keep ``obj`` (a :class:`~hepreco.Graph` or a ``hist.Hist``) as the result ``results/<label>/<name>``;
        putting the same name again replaces it. Returns ``obj``."""
        import hist

        from hepreco.services.results import Graph

        self._check_name(label, name, "result")
        if not isinstance(obj, Graph | hist.Hist):
            msg = f"result '{label}/{name}' must be a hepreco.Graph or a hist.Hist, not {type(obj).__name__}"
            raise TypeError(msg)
        self.results.setdefault(label, {})[name] = obj
        return obj

    def get(self, label: str, name: str) -> Any:
        return self.histograms[label][name]

    def output_files(self) -> list[tuple[str, Path]]:
        return [("file", Path(self.config.file))] if self.config.file else []

    def end_job(self) -> None:
        if self.config.file and (self.histograms or self.results):
            tmp = self.job.atomic_path(self.config.file)
            write_histograms(tmp, self.histograms, self.results)

    def report(self) -> dict[str, Any] | None:
        if not self.histograms and not self.results:
            return None
        out: dict[str, Any] = {
            "file": self.config.file,
            "histograms": {lab: sorted(hs) for lab, hs in self.histograms.items()},
        }
        if self.results:
            out["results"] = {lab: sorted(objs) for lab, objs in self.results.items()}
        return out
