"""This module turns jets into graphs: the MPNN paper's 7 features per particle, padded per jet (a node mask
beside them), and their torch-geometric form (``Data``/``Batch``), as ``jets.JetGraphs`` puts them.

The features (Henrion et al., `arXiv:1711.09059 <https://arxiv.org/abs/1711.09059>`_, after Louppe et al.):
p, eta, phi, E, E/E_jet, pT, theta of every constituent. Here the momenta and energies enter as logarithms
(GeV) and, with ``relative``, eta and phi as the differences to the jet axis (phi wrapped into [-pi, pi)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag

if TYPE_CHECKING:
    import torch

__all__ = ["FEATURES", "JetGraphs", "jet_features", "pad", "to_batch", "to_data_list"]

#: the per-particle features, in order
FEATURES = ("log_p", "eta", "phi", "log_E", "E_over_Ejet", "log_pt", "theta")


def jet_features(jet: ak.Array, constituents: ak.Array, *, relative: bool = True) -> ak.Array:
    """The ``(jets, var, 7)`` features of every constituent of every jet (one jet per row).

    Args:
        jet: records with ``eta, phi, E``.
        constituents: jagged records per jet (``px, py, pz, E``).
        relative: eta and phi relative to the jet axis.

    Examples:
        >>> j = ak.Array([{"eta": 0.0, "phi": 3.1, "E": 20.0}])
        >>> f = jet_features(j, ak.Array([[{"px": -10.0, "py": 0.0, "pz": 0.0, "E": 10.0}]]))
        >>> [round(float(v), 3) for v in f[0, 0]]  # phi: pi - 3.1, wrapped
        [2.303, 0.0, 0.042, 2.303, 0.5, 2.303, 1.571]
    """
    from hepreco_jets.clustering import momenta

    c = momenta(ak.zip({k: constituents[k] for k in ("px", "py", "pz", "E")}))
    tiny = 1e-6
    eta = c.eta
    phi = c.phi
    if relative:
        eta = eta - jet.eta
        phi = (phi - jet.phi + np.pi) % (2 * np.pi) - np.pi
    cols = [
        np.log(np.maximum(c.p, tiny)),
        eta,
        phi,
        np.log(np.maximum(c.E, tiny)),
        c.E / jet.E,
        np.log(np.maximum(c.pt, tiny)),
        c.theta,
    ]
    return ak.concatenate([ak.values_astype(col[..., np.newaxis], np.float32) for col in cols], axis=-1)


def pad(features: ak.Array, max_particles: int, n_features: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Jagged ``(jets, var, F)`` features as a padded ``(jets, max_particles, F)`` array and its
    ``(jets, max_particles)`` node mask; jets with more particles keep the first ``max_particles``.
    ``n_features`` (default: found from the data) fixes the last axis, also for an empty batch.

    Examples:
        >>> x, m = pad(ak.Array([[[1.0], [2.0]], [[3.0]]]), 3)
        >>> x[:, :, 0].tolist(), m.tolist()
        ([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]], [[True, True, False], [True, False, False]])
    """
    n = len(features)
    counts = np.minimum(np.asarray(ak.num(features, axis=1), dtype=np.int64), max_particles)
    n_feat = n_features
    if n_feat is None:
        n_feat = next((len(ak.to_numpy(f[0])) for f, k in zip(features, counts, strict=True) if k), 0)
    x = np.zeros((n, max_particles, n_feat), dtype=np.float32)
    mask = np.arange(max_particles)[None, :] < counts[:, None]
    if n:
        cut = features[:, :max_particles]
        flat = np.asarray(ak.to_numpy(ak.flatten(cut, axis=1)), dtype=np.float32).reshape(-1, n_feat)
        x[mask] = flat
    return x, mask


def to_data_list(x: np.ndarray, mask: np.ndarray, y: np.ndarray | None = None) -> list[Any]:
    """One ``torch_geometric.data.Data`` per jet (``x``: its particles' features, ``y``: its label);
    no edges are stored: the MPNN's graph is complete, its adjacency learned."""
    import torch

    from hepreco_jets._pyg import pyg

    Data = pyg().data.Data
    out = []
    for i in range(len(x)):
        d = Data(x=torch.from_numpy(np.ascontiguousarray(x[i][mask[i]])))
        if y is not None:
            d.y = torch.tensor([float(y[i])])
        out.append(d)
    return out


def to_batch(x: torch.Tensor, mask: torch.Tensor) -> Any:
    """Padded ``(B, P, F)`` features and their ``(B, P)`` mask as a ``torch_geometric.data.Batch``
    (the nodes of every jet in order; ``batch`` says the jet of each node)."""
    import torch

    from hepreco_jets._pyg import pyg

    Batch = pyg().data.Batch
    counts = mask.sum(dim=1)
    batch = torch.repeat_interleave(torch.arange(len(counts), device=x.device), counts)
    return Batch(x=x[mask], batch=batch, ptr=torch.cat([counts.new_zeros(1), counts.cumsum(0)]))


class JetGraphs(hepreco.Producer):
    """Put each jet's graph: the 7 features of its particles (:data:`FEATURES`), padded to
    ``max_particles`` by decreasing pT, with a node mask; what ``jets-mpnn`` and ``jets-particlenet`` read.

    Products: ``features`` (events x max_particles x 7, float32), ``mask`` (events x max_particles, bool),
    ``n_particles`` (the jet's constituents, before the cap).
    """

    class Config(hepreco.ModuleConfig):
        jet: InputTag = InputTag("antikt:leading")
        """One jet per event: a record with ``eta, phi, E``."""
        constituents: InputTag = InputTag("antikt:constituents")
        """Its constituents: jagged records (``px, py, pz, E``), by decreasing pT."""
        max_particles: int = Field(128, ge=1, le=1024)
        """Particles kept per jet (the highest-pT ones); selected jets hold up to ~130."""
        relative: bool = True
        """eta and phi relative to the jet axis (false: as measured)."""

    produces = ("features", "mask", "n_particles")

    def produce(self, events: hepreco.Events) -> None:
        c = self.config
        cons = events[c.constituents]
        feats = jet_features(events[c.jet], cons, relative=c.relative)
        x, mask = pad(feats, c.max_particles, len(FEATURES))
        events.put("features", x)
        events.put("mask", mask)
        events.put("n_particles", np.asarray(ak.num(cons, axis=1), dtype=np.int32))
