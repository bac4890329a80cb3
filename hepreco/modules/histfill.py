"""This module defines HistFill: an analyzer that fills a ``hist`` from products, by config alone."""

from __future__ import annotations

from typing import Literal

import awkward as ak
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepreco.core.events import Events
from hepreco.core.inputtag import InputTag
from hepreco.core.module import Analyzer, EndPathConfig

__all__ = ["MAX_HIST_BYTES", "AxisSpec", "HistFill"]

#: the most memory one HistFill histogram may take (its bins times 8 or 16 bytes)
MAX_HIST_BYTES = 2 * 2**30


class AxisSpec(BaseModel):
    """One axis of a HistFill histogram and the product that fills it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fill: InputTag
    """The product (with optional fields, ``label:instance.field``) whose values fill this axis."""
    name: str | None = None
    """Axis name (default: the last part of ``fill``)."""
    label: str | None = None
    """Axis title, e.g. ``m [GeV]``."""
    type: Literal["regular", "variable", "integer", "boolean"] = "regular"
    """Axis type."""
    bins: int | None = Field(None, gt=0)
    """Number of bins (regular)."""
    start: float | None = None
    """Lower edge (regular, integer)."""
    stop: float | None = None
    """Upper edge (regular, integer)."""
    edges: list[float] | None = None
    """Bin edges (variable)."""
    transform: Literal["log", "sqrt"] | None = None
    """Regular axis in log or sqrt scale."""
    overflow: bool = True
    """Keep under/overflow bins."""

    @model_validator(mode="after")
    def _check(self) -> AxisSpec:
        for what, value in (("start", self.start), ("stop", self.stop)):
            if value is not None and not np.isfinite(value):
                msg = f"{what} is {value}: axis edges are finite numbers"
                raise ValueError(msg)
        if self.edges is not None and not np.isfinite(np.asarray(self.edges, dtype=float)).all():
            msg = "edges must be finite numbers (no NaN or inf)"
            raise ValueError(msg)
        if self.edges is not None and np.any(np.diff(np.asarray(self.edges, dtype=float)) <= 0):
            msg = "edges must increase"
            raise ValueError(msg)
        if self.type == "regular" and (self.bins is None or self.start is None or self.stop is None):
            msg = "a regular axis needs bins, start and stop"
            raise ValueError(msg)
        if self.type == "variable" and (not self.edges or len(self.edges) < 2):
            msg = "a variable axis needs edges (at least two)"
            raise ValueError(msg)
        if self.type == "integer" and (self.start is None or self.stop is None):
            msg = "an integer axis needs start and stop"
            raise ValueError(msg)
        if self.start is not None and self.stop is not None and self.stop <= self.start:
            msg = f"stop ({self.stop}) must be above start ({self.start})"
            raise ValueError(msg)
        return self

    def n_bins(self) -> int:
        """Bins of this axis, flow bins included."""
        flow = 2 if self.overflow and self.type != "boolean" else 0
        if self.type == "regular":
            return int(self.bins or 0) + flow
        if self.type == "variable":
            return len(self.edges or ()) - 1 + flow
        if self.type == "integer":
            return int(self.stop or 0) - int(self.start or 0) + flow
        return 2

    def make(self):
        import hist

        name = self.name or (self.fill.fields[-1] if self.fill.fields else (self.fill.instance or self.fill.label))
        kw = {"name": name, "label": self.label or name}
        if self.type == "regular":
            tr = {"log": hist.axis.transform.log, "sqrt": hist.axis.transform.sqrt}.get(self.transform or "")
            return hist.axis.Regular(
                self.bins,
                self.start,
                self.stop,
                transform=tr,
                underflow=self.overflow,
                overflow=self.overflow,
                **kw,
            )
        if self.type == "variable":
            return hist.axis.Variable(self.edges, underflow=self.overflow, overflow=self.overflow, **kw)
        if self.type == "integer":
            return hist.axis.Integer(
                int(self.start), int(self.stop), underflow=self.overflow, overflow=self.overflow, **kw
            )
        return hist.axis.Boolean(**kw)


class HistFill(Analyzer):
    """Fill a histogram (1D, 2D or 3D) from products, booked as ``<label>/<name>`` in the Histograms service.

    Jagged products are flattened (all axes and the weight broadcast together first), events or
    entries with a missing value (``None``, e.g. a product made after a filter) are skipped. A weighted
    histogram keeps the sum of squared weights per bin (``hist.storage.Weight``), written to ROOT as
    ``fSumw2``: its bin errors are sqrt(sum w^2), in ROOT and uproot alike.

    Examples:
        A dimuon mass histogram::

            mass: {module: HistFill, axes: [{fill: "dimuon:mass", bins: 60, start: 60, stop: 120,
                   label: "m(mu mu) [GeV]"}]}
    """

    class Config(EndPathConfig):
        axes: list[AxisSpec] = Field(..., min_length=1, max_length=3)
        """The axes (1 to 3), each with the product that fills it."""
        weight: InputTag | None = None
        """Optional per-entry weights."""
        name: str | None = None
        """Histogram name (default: the module label)."""
        title: str | None = None
        """Histogram title."""
        storage: Literal["double", "weight", "int"] | None = None
        """Bin storage: plain sums, sums with variances (``fSumw2`` in the file), or integer counts. Default:
        ``weight`` when ``weight`` is set (bin errors sqrt(sum w^2)), else ``double`` (errors sqrt(N))."""
        flatten: bool = True
        """Flatten jagged products into entries; when false every product must be one number per event."""

        @model_validator(mode="after")
        def _size(self) -> HistFill.Config:
            bins = 1
            for a in self.axes:
                bins *= max(a.n_bins(), 1)
            per_bin = 16 if (self.storage == "weight" or (self.storage is None and self.weight is not None)) else 8
            need = bins * per_bin
            if need > MAX_HIST_BYTES:
                msg = (
                    f"{bins:.3g} bins would take {need / 2**30:.3g} GiB of memory (per process, and again in the "
                    f"file); the limit is {MAX_HIST_BYTES / 2**30:.3g} GiB: use fewer bins"
                )
                raise ValueError(msg)
            return self

        @model_validator(mode="after")
        def _weighted_storage(self) -> HistFill.Config:
            if self.weight is not None and self.storage in ("double", "int"):
                msg = (
                    f"storage: {self.storage} cannot hold the errors of a weighted histogram (sqrt of the sum of "
                    "squared weights): use storage: weight, or leave storage out"
                )
                raise ValueError(msg)
            return self

    def begin_job(self) -> None:
        import hist

        storage = {
            "double": hist.storage.Double(),
            "weight": hist.storage.Weight(),
            "int": hist.storage.Int64(),
        }
        self.h = self.book(
            self.config.name or self.label,
            hist.Hist(
                *[a.make() for a in self.config.axes],
                storage=storage[self.config.storage or ("weight" if self.config.weight is not None else "double")],
                label=self.config.title,
            ),
        )
        self.names = [ax.name for ax in self.h.axes]

    def analyze(self, events: Events) -> None:
        arrays = [events[a.fill] for a in self.config.axes]
        if self.config.weight is not None:
            arrays.append(events[self.config.weight])
        if self.config.flatten and len(arrays) > 1:
            arrays = list(ak.broadcast_arrays(*arrays))
        cols = []
        for arr in arrays:
            if self.config.flatten:
                arr = ak.flatten(arr, axis=None) if arr.ndim > 1 else arr
            cols.append(arr)
        keep = None
        values = []
        for arr in cols:
            if arr.ndim != 1:
                msg = f"cannot fill from a product of {arr.ndim} dimensions with flatten: false; set flatten: true"
                raise ValueError(msg)
            mask = ~ak.to_numpy(ak.is_none(arr, axis=0))
            keep = mask if keep is None else keep & mask
            values.append(arr)
        assert keep is not None
        np_values = [np.asarray(ak.to_numpy(ak.drop_none(v) if keep.all() else v[keep])) for v in values]
        if self.config.weight is not None:
            *np_values, w = np_values
            self.h.fill(**dict(zip(self.names, np_values, strict=True)), weight=w)
        else:
            self.h.fill(**dict(zip(self.names, np_values, strict=True)))
