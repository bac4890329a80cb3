"""This module defines the particle-identification ResNet (model ``lartpc-resnet-pid``). It imports torch;
registration uses ``resnet_pid_spec`` instead.

ResNet (K. He, X. Zhang, S. Ren, J. Sun, `arXiv:1512.03385 <https://arxiv.org/abs/1512.03385>`_) as in the DUNE
particle-ID study of the seed (ResNet-50, 5 classes): four stages of residual blocks (basic blocks for depth
10/18/34, bottleneck blocks for 50), BatchNorm, stride-2 down-sampling at the start of stages 2-4, global average
pooling, a linear layer to the five classes. For small images the stem is one 3 x 3 convolution without
max-pooling (as CIFAR ResNets).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hepreco_lartpc.resnet_pid_spec import PID_CLASSES, ResNetPIDParams

__all__ = ["ResNetPID", "build"]

_BLOCKS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}


def _norm(kind: str, c: int) -> nn.Module:
    """BatchNorm, or GroupNorm of 8 groups (fewer when ``c`` is not a multiple of 8; Wu & He, arXiv:1803.08494)."""
    return nn.BatchNorm2d(c) if kind == "batch" else nn.GroupNorm(math.gcd(8, c), c)


class _Basic(nn.Module):
    expansion = 1

    def __init__(self, cin: int, c: int, stride: int, norm: str = "batch") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = _norm(norm, c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = _norm(norm, c)
        self.short = (
            nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), _norm(norm, c))
            if stride != 1 or cin != c
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, c: int, stride: int, norm: str = "batch") -> None:
        super().__init__()
        out = 4 * c
        self.body = nn.Sequential(
            nn.Conv2d(cin, c, 1, bias=False), _norm(norm, c), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, stride, 1, bias=False), _norm(norm, c), nn.ReLU(inplace=True),
            nn.Conv2d(c, out, 1, bias=False), _norm(norm, out),
        )  # fmt: skip
        self.short = (
            nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), _norm(norm, out))
            if stride != 1 or cin != out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.short(x))


class ResNetPID(nn.Module):
    """A ResNet classifying single-particle images into :data:`~hepreco_lartpc.resnet_pid_spec.PID_CLASSES`.

    Args:
        hp: depth, width, image size, views, dropout.

    Shapes:
        - input: ``(B, views * windows, size, size)`` charge images.
        - output: ``(B, 5)`` logits of electron, photon, muon, pion, proton.
    """

    def __init__(self, hp: ResNetPIDParams) -> None:
        super().__init__()
        block = _Bottleneck if hp.depth == 50 else _Basic
        self.log_input, self.flip = hp.log_input, hp.flip
        self.stem = nn.Sequential(nn.Conv2d(hp.views * hp.windows, hp.width, 3, 1, 1, bias=False), _norm(hp.norm, hp.width),
                                  nn.ReLU(inplace=True))  # fmt: skip
        layers: list[nn.Module] = []
        cin = hp.width
        for i, n in enumerate(_BLOCKS[hp.depth]):
            c = hp.width * 2**i
            for j in range(n):
                layers.append(block(cin, c, 2 if (j == 0 and i > 0) else 1, hp.norm))
                cin = c * block.expansion
        self.stages = nn.Sequential(*layers)
        self.drop = nn.Dropout(hp.dropout)
        self.fc = nn.Linear(cin, len(PID_CLASSES))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.log_input:
            x = torch.log1p(torch.clamp(x, min=0))
        if self.flip and self.training:
            b = x.shape[0]
            x = torch.where(torch.rand(b, 1, 1, 1, device=x.device) < 0.5, x.flip(-1), x)
            x = torch.where(torch.rand(b, 1, 1, 1, device=x.device) < 0.5, x.flip(-2), x)
        x = self.stages(self.stem(x))
        return self.fc(self.drop(x.mean(dim=(2, 3))))


def build(hp: ResNetPIDParams) -> ResNetPID:
    """The ``lartpc-resnet-pid`` network for ``hp``.

    Examples:
        >>> net = build(ResNetPIDParams(depth=10, width=8, size=32))
        >>> net(torch.zeros(2, 9, 32, 32)).shape  # 3 views x 3 windows
        torch.Size([2, 5])
    """
    return ResNetPID(hp)
