"""This module defines ParticleNet-Lite, the dynamic-graph baseline, and its ModelSpec ``jets-particlenet``.

H. Qu and L. Gouskos, "ParticleNet: Jet Tagging via Particle Clouds", Phys. Rev. D 101 (2020) 056019
(`arXiv:1902.08570 <https://arxiv.org/abs/1902.08570>`_). Two EdgeConv blocks with k = 16 nearest neighbours
(in (eta, phi) for the first block, in the learned features for the second), channels (32, 32, 32) and
(64, 64, 64), each with a shortcut; global average pooling over the jet's particles; a 128-unit dense layer
with dropout 0.1; one logit. The k-NN is pure torch (``torch.cdist`` + ``topk`` with the padding masked):
``torch_geometric.nn.knn_graph`` needs ``pyg-lib``, which has no wheel here.

It reads the same inputs as ``jets-mpnn`` (``jets.JetGraphs``' padded features and mask); the first block's
coordinates are the (standardised) eta and phi columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hepreco.ml import ModelSpec
from hepreco_jets.mpnn import graph_inputs

if TYPE_CHECKING:
    import torch

__all__ = ["PARTICLENET", "ParticleNetParams", "build", "knn"]


class ParticleNetParams(BaseModel):
    """Hyper-parameters of ParticleNet-Lite (the paper's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: int = Field(7, ge=1)
    """Features per particle (``jets.JetGraphs``: 7)."""
    max_particles: int = Field(128, ge=1)
    """Padded particles per jet (``jets.JetGraphs``' ``max_particles``)."""
    k: int = Field(16, ge=1, le=64)
    """Neighbours per particle."""
    channels: tuple[tuple[int, ...], ...] = ((32, 32, 32), (64, 64, 64))
    """The EdgeConv blocks' layer widths (ParticleNet-Lite's)."""
    fc: int = Field(128, ge=1)
    """Units of the dense layer."""
    dropout: float = Field(0.1, ge=0, lt=1)
    coordinates: tuple[int, int] = (1, 2)
    """The feature columns of the first block's k-NN (eta, phi)."""


def knn(points: torch.Tensor, mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest other valid points of every point (pure torch).

    Args:
        points: ``(B, P, D)`` coordinates; mask: ``(B, P)`` bool, True for real points.
        k: neighbours per point.

    Returns:
        ``(idx, valid)``: ``(B, P, k)`` neighbour indices and whether each is a real neighbour (jets with
        fewer than k + 1 particles have fewer).

    Examples:
        >>> import torch
        >>> pts = torch.tensor([[[0.0], [1.0], [5.0], [0.0]]])
        >>> idx, ok = knn(pts, torch.tensor([[True, True, True, False]]), 1)
        >>> idx[0, :3, 0].tolist(), ok[0, :3, 0].tolist()
        ([1, 0, 1], [True, True, True])
    """
    import torch

    p = points.shape[1]
    d = torch.cdist(points, points)
    big = torch.finfo(d.dtype).max
    d = d.masked_fill(~mask.unsqueeze(1), big)  # padded neighbours are never near
    d = d.masked_fill(torch.eye(p, dtype=torch.bool, device=d.device).unsqueeze(0), big)  # nor oneself
    kk = min(k, max(p - 1, 1))
    dist, idx = torch.topk(d, kk, dim=-1, largest=False)
    valid = (dist < big) & mask.unsqueeze(-1)
    return idx, valid


def _modules() -> Any:
    import torch
    from torch import nn

    class EdgeConvBlock(nn.Module):
        """EdgeConv (Wang et al., `arXiv:1801.07829 <https://arxiv.org/abs/1801.07829>`_) as in ParticleNet:
        edge features ``[x_i, x_j - x_i]`` through (Linear, BatchNorm, ReLU) layers, averaged over the k
        neighbours, plus a shortcut.

        Shapes:
            - x: ``(B, P, C_in)``; idx, valid: ``(B, P, k)``.
            - output: ``(B, P, C_out)``.
        """

        def __init__(self, c_in: int, widths: tuple[int, ...]) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            c = 2 * c_in
            for w in widths:
                layers += [nn.Linear(c, w, bias=False), nn.BatchNorm1d(w), nn.ReLU()]
                c = w
            self.mlp = nn.ModuleList(layers)
            self.shortcut = nn.Sequential(nn.Linear(c_in, c, bias=False), nn.BatchNorm1d(c))
            self.out = nn.ReLU()

        def forward(self, x: torch.Tensor, idx: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
            b, p, c = x.shape
            k = idx.shape[-1]
            offset = (torch.arange(b, device=x.device) * p).view(b, 1, 1)
            nb = x.reshape(b * p, c)[idx + offset]  # (B, P, k, C): indexing, whose backward is a cheap scatter
            center = x.unsqueeze(2).expand(b, p, k, c)
            e = torch.cat([center, nb - center], dim=-1).reshape(b * p * k, 2 * c)
            for layer in self.mlp:
                e = layer(e)
            e = e.reshape(b, p, k, -1)
            w = valid.unsqueeze(-1).to(e.dtype)
            agg = (e * w).sum(dim=2) / w.sum(dim=2).clamp_min(1.0)
            sc = self.shortcut(x.reshape(b * p, c)).reshape(b, p, -1)
            return self.out(agg + sc)

    class ParticleNetLite(nn.Module):
        """ParticleNet-Lite (Qu and Gouskos, `arXiv:1902.08570 <https://arxiv.org/abs/1902.08570>`_).

        Shapes:
            - x: ``(B, P, F)`` padded particle features; mask: ``(B, P)`` bool.
            - output: ``(B, 1)`` logits (W jet = 1).
        """

        def __init__(self, hp: ParticleNetParams) -> None:
            super().__init__()
            self.hp = hp
            self.input_bn = nn.BatchNorm1d(hp.features)
            blocks = []
            c = hp.features
            for widths in hp.channels:
                blocks.append(EdgeConvBlock(c, tuple(widths)))
                c = widths[-1]
            self.blocks = nn.ModuleList(blocks)
            self.head = nn.Sequential(nn.Linear(c, hp.fc), nn.ReLU(), nn.Dropout(hp.dropout), nn.Linear(hp.fc, 1))

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            mask = mask.bool()
            if x.shape[0] == 0:  # a batch without jets (none selected)
                return x.new_zeros((0, 1))
            n = int(mask.sum(dim=1).max().item()) if mask.numel() else 0
            x, mask = x[:, : max(n, 1)], mask[:, : max(n, 1)]
            m = mask.unsqueeze(-1).to(x.dtype)
            b, p, f = x.shape
            pts = x[..., list(self.hp.coordinates)]
            h = self.input_bn(x.reshape(b * p, f)).reshape(b, p, f) * m
            for i, block in enumerate(self.blocks):
                idx, valid = knn(pts if i == 0 else h, mask, self.hp.k)
                h = block(h, idx, valid) * m
            jet = h.sum(dim=1) / m.sum(dim=1).clamp_min(1.0)
            return self.head(jet)

    return ParticleNetLite


def build(hp: ParticleNetParams) -> torch.nn.Module:
    """The ``jets-particlenet`` network for ``hp``.

    Examples:
        >>> import torch
        >>> net = build(ParticleNetParams(max_particles=20)).eval()
        >>> net(torch.randn(3, 20, 7), torch.arange(20)[None, :] < torch.tensor([[20], [5], [1]])).shape
        torch.Size([3, 1])
    """
    return _modules()(hp)


PARTICLENET = ModelSpec(
    name="jets-particlenet",
    build="hepreco_jets.particlenet:build",
    hparams=ParticleNetParams,
    inputs=graph_inputs,
    task="binary",
    doc="ParticleNet-Lite (arXiv:1902.08570): EdgeConv on k=16 nearest particles, pure-torch k-NN; W vs QCD",
)
