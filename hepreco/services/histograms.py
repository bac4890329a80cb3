"""This module defines Histograms, art's TFileService: modules book ``hist`` objects, written at end of job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hepreco.core.module import ModuleConfig
from hepreco.core.service import Service

__all__ = ["Histograms", "merge_histograms", "write_histograms"]


def merge_histograms(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Sum two ``{label: {name: hist}}`` tables (identity: ``{}``); histograms in both are added exactly."""
    out = {label: dict(hs) for label, hs in a.items()}
    for label, hs in b.items():
        mine = out.setdefault(label, {})
        for name, h in hs.items():
            mine[name] = mine[name] + h if name in mine else h.copy()
    return out


def _writable(name: str, h: Any) -> Any:
    """``h`` as uproot should write it: the hist's label (else its name) as the ROOT title, integer counts
    as doubles (a TH1D: ROOT has no 64-bit integer histogram); axis labels become the axis titles."""
    import hist

    if not isinstance(h, hist.Hist):
        return h
    if h.storage_type in (hist.storage.Int64, hist.storage.AtomicInt64):
        out = hist.Hist(*h.axes, storage=hist.storage.Double(), name=h.name, label=h.label)
        out.view(flow=True)[...] = h.view(flow=True)
    else:
        out = h.copy()
    out.title = h.label or h.name or name
    return out


def write_histograms(path: str | Path, histograms: dict[str, dict[str, Any]]) -> None:
    """Write every histogram as TH1/TH2/TH3 under ``<label>/<name>`` in a new ROOT file (uproot), with its
    name, its title (the hist's ``label``) and its axis titles (the axes' ``label``) kept."""
    import uproot

    with uproot.recreate(path) as f:
        for label, hs in histograms.items():
            for name, h in hs.items():
                f[f"{label}/{name}"] = _writable(name, h)


class Histograms(Service):
    """Holds the histograms modules book with ``Module.book(name, hist.Hist(...))``, one ROOT directory
    per module label, and writes them to ``file`` at end of job (nothing is written without a file)."""

    essential = True

    class Config(ModuleConfig):
        file: str | None = None
        """ROOT file to write the histograms to (relative to the working directory)."""

    def __init__(self, config: ModuleConfig, *, job: Any) -> None:
        super().__init__(config, job=job)
        self.histograms: dict[str, dict[str, Any]] = {}

    def book(self, label: str, name: str, histogram: Any) -> Any:
        """Register ``histogram`` as ``<label>/<name>``; booking the same name twice is an error."""
        if "/" in name or not name:
            msg = f"histogram name {name!r} must be non-empty and contain no '/'"
            raise ValueError(msg)
        hs = self.histograms.setdefault(label, {})
        if name in hs:
            msg = f"module '{label}' booked histogram '{name}' twice"
            raise ValueError(msg)
        hs[name] = histogram
        return histogram

    def get(self, label: str, name: str) -> Any:
        return self.histograms[label][name]

    def end_job(self) -> None:
        if self.config.file and self.histograms:
            tmp = self.job.atomic_path(self.config.file)
            write_histograms(tmp, self.histograms)

    def report(self) -> dict[str, Any] | None:
        if not self.histograms:
            return None
        return {
            "file": self.config.file,
            "histograms": {lab: sorted(hs) for lab, hs in self.histograms.items()},
        }
