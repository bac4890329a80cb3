"""This module defines PtFlatteningWeights: per-jet training weights that flatten each class's pT spectrum
across the window, as Louppe et al. and the MPNN paper train (so that pT alone cannot separate W from QCD)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag

__all__ = ["PtFlatteningWeights", "flattening_weights", "read_spectrum"]


def read_spectrum(files: list[str], histogram: str = "selection/pt_selected") -> tuple[np.ndarray, np.ndarray]:
    """The summed ``(pT bins x 2 classes)`` counts and the pT edges of ``histogram`` in the ROOT ``files``
    (the Histograms output of generate.yaml, whose ``jets.JetSelection`` books it)."""
    import uproot

    total = None
    edges = None
    for f in files:
        with uproot.open(f) as root:
            h = root[histogram]
            values = np.asarray(h.values(), dtype=np.float64)
            e = np.asarray(h.axes[0].edges(), dtype=np.float64)
        if total is None:
            total, edges = values, e
        else:
            if not np.array_equal(e, edges) or values.shape != total.shape:
                msg = f"{f}: '{histogram}' has other bins than {files[0]}'s"
                raise ValueError(msg)
            total = total + values
    if total is None or edges is None:
        msg = "no spectrum files given"
        raise ValueError(msg)
    return total, edges


def flattening_weights(pt: np.ndarray, label: np.ndarray, counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Weights ``w = (N_class / n_bins) / counts[bin, class]``: each class's weighted pT spectrum is flat,
    its mean weight 1. Jets outside the edges or in empty bins get weight 0.

    Examples:
        >>> counts = np.array([[30.0, 10.0], [10.0, 30.0]])  # two pT bins x (QCD, W)
        >>> flattening_weights(np.array([1.0, 3.0, 1.0]), np.array([0, 0, 1]), counts, np.array([0.0, 2.0, 4.0]))
        array([0.6666667, 2.       , 2.       ], dtype=float32)
    """
    b = np.searchsorted(edges, pt, side="right") - 1
    inside = (b >= 0) & (b < len(edges) - 1)
    bb = np.clip(b, 0, len(edges) - 2)
    lab = np.asarray(label, dtype=np.int64)
    n = counts[bb, lab]
    per_bin = counts.sum(axis=0)[lab] / counts.shape[0]
    w = np.divide(per_bin, n, out=np.zeros(len(pt), dtype=np.float64), where=n > 0)
    return np.where(inside, w, 0.0).astype(np.float32)


class PtFlatteningWeights(hepreco.Producer):
    """Put ``weight``: the jet's pT-flattening weight for training (``data.weight`` of a training config), from
    the spectra that ``jets.JetSelection`` (with ``label``) booked when the jets were generated.

    Products: ``weight`` (per event, float32; mean 1 per class over the spectrum's sample).
    """

    class Config(hepreco.ModuleConfig):
        jet: InputTag = InputTag("antikt:leading")
        """The jet (a record with ``pt``)."""
        label: InputTag = InputTag("source:truth.label")
        """The truth label (1 = W, 0 = QCD)."""
        spectra: list[str] = Field(min_length=1)
        """ROOT files with the selection's ``pt_selected`` histogram (summed), e.g. generate.yaml's histograms."""
        histogram: str = "selection/pt_selected"
        """The histogram's path in those files."""

    produces = ("weight",)

    def begin_job(self) -> None:
        self.counts, self.edges = read_spectrum([self._find(p) for p in self.config.spectra], self.config.histogram)

    def _find(self, name: str) -> str:
        """``name`` as given (absolute, or from the working directory), else beside the job config."""
        path = Path(name)
        if path.is_absolute() or path.exists():
            return str(path)
        cfg_file = getattr(getattr(self.job, "config", None), "file", None)
        if cfg_file and (Path(cfg_file).resolve().parent / path).exists():
            return str(Path(cfg_file).resolve().parent / path)
        msg = f"module '{self.label}': spectrum file {name!r} not found (make it with examples/jets/pt_spectrum.yaml)"
        raise FileNotFoundError(msg)

    def produce(self, events: hepreco.Events) -> None:
        import awkward as ak

        c = self.config
        pt = np.asarray(ak.to_numpy(events[c.jet].pt), dtype=np.float64)
        label = np.asarray(ak.to_numpy(events[c.label]), dtype=np.int64)
        events.put("weight", flattening_weights(pt, label, self.counts, self.edges))
