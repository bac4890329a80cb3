"""This module defines LArSoft's EM/track/none + Michel CNN (model ``lartpc-emtrkmichel``): the network, the
two-headed loss and the training forward. It imports torch; registration uses ``emtrkmichel_spec`` instead.

The network as LArSoft's ``EmTrackMichelId`` (the seed's talk, "Graphs"): a 48 x 48 patch of the ADC image,
``Conv2D(48, 5x5, valid, relu)``, ``Dropout``, ``Flatten``, ``Dense(128, relu)``, ``Dropout``,
``Dense(32, relu)``, ``Dropout``, then ``Dense(3, softmax)`` (em, track, none) and ``Dense(1, sigmoid)``
(Michel); loss ``0.1 x categorical cross-entropy + 1.0 x mean squared error``; SGD, Nesterov momentum.

The network is split so that the inference modes of ``emtrkmichel_modes`` can share work:
:meth:`EmTrackMichelNet.features` (input scaling, the convolution and its ReLU: a fully convolutional step that
can run once over a whole view) and :meth:`EmTrackMichelNet.head` (the dense layers on a 44 x 44 x 48 window).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hepreco_lartpc.emtrkmichel_spec import EmTrkMichelParams

__all__ = [
    "EM_WEIGHT",
    "MICHEL_WEIGHT",
    "EmTrackMichelNet",
    "build",
    "emtrkmichel_loss",
    "joint_forward",
    "joint_logits",
    "scores",
]

#: LArSoft's loss weights: em/track/none cross-entropy and Michel mean squared error
EM_WEIGHT = 0.1
MICHEL_WEIGHT = 1.0


class EmTrackMichelNet(nn.Module):
    """LArSoft's EM/track/none + Michel CNN (the seed's talk; LArSoft ``larreco/RecoAlg/ImagePatternAlgs``).

    Args:
        hp: patch size, filters, kernel, dense widths, dropout, ADC scale and clip.

    Shapes:
        - input: ``(B, 1, patch, patch)`` ADC patch (electrons per downsampled tick).
        - output: ``(B, 4)`` logits: em, track, none (softmax over the three) and Michel (sigmoid).
    """

    def __init__(self, hp: EmTrkMichelParams) -> None:
        super().__init__()
        self.hp = hp
        self.conv = nn.Conv2d(1, hp.filters, hp.kernel)
        self.drop1 = nn.Dropout(hp.dropout1)
        self.dense1 = nn.Linear(hp.filters * hp.window * hp.window, hp.dense1)
        self.drop2 = nn.Dropout(hp.dropout2)
        self.dense2 = nn.Linear(hp.dense1, hp.dense2)
        self.drop3 = nn.Dropout(hp.dropout2)
        self.em_trk_none = nn.Linear(hp.dense2, 3)
        self.michel = nn.Linear(hp.dense2, 1)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """The ADC values as the network sees them: scaled and clipped (zero stays zero)."""
        return torch.clamp(x * self.hp.adc_scale, -self.hp.adc_clip, self.hp.adc_clip)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(conv(prepare(x)))``: ``(B, 1, H, W) -> (B, filters, H - kernel + 1, W - kernel + 1)``."""
        return torch.relu(self.conv(self.prepare(x)))

    def after_dense1(self, h: torch.Tensor) -> torch.Tensor:
        """The layers after the first dense layer's matrix product: bias-free ``h (B, dense1) -> (B, 4)``."""
        h = self.drop2(torch.relu(h + self.dense1.bias))
        h = self.drop3(torch.relu(self.dense2(h)))
        return torch.cat([self.em_trk_none(h), self.michel(h)], dim=1)

    def head(self, window: torch.Tensor) -> torch.Tensor:
        """The dense layers on feature windows: ``(B, filters, window, window) -> (B, 4)``."""
        h = self.drop1(window).flatten(1)
        return self.after_dense1(nn.functional.linear(h, self.dense1.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(hp: EmTrkMichelParams) -> EmTrackMichelNet:
    """The ``lartpc-emtrkmichel`` network for ``hp``.

    Examples:
        >>> net = build(EmTrkMichelParams())
        >>> net(torch.zeros(2, 1, 48, 48)).shape, sum(p.numel() for p in net.parameters())
        (torch.Size([2, 4]), 11900420)
    """
    return EmTrackMichelNet(hp)


def scores(logits: torch.Tensor) -> torch.Tensor:
    """``(B, 4)`` logits -> ``(B, 4)`` scores: softmax of em, track, none and the Michel sigmoid."""
    return torch.cat([torch.softmax(logits[:, :3].float(), dim=1), torch.sigmoid(logits[:, 3:].float())], dim=1)


def joint_logits(logits: torch.Tensor) -> torch.Tensor:
    """The two heads as one 6-class softmax over (class, Michel): ``joint[c + 3 m] = l_c + m s``.

    Its softmax is the product of the heads' probabilities, ``softmax(l)_c * sigmoid(s)^m (1 - sigmoid(s))^(1-m)``,
    so ``hepreco train``'s multiclass machinery (activation, accuracy, per-class recall) applies to the target
    ``class + 3 * michel``; :func:`emtrkmichel_loss` recovers the two heads from it.
    """
    l3, s = logits[:, :3], logits[:, 3:4]
    return torch.cat([l3, l3 + s], dim=1)


def joint_forward(model: nn.Module, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The ModelSpec's forward: the network on ``patch``, as :func:`joint_logits`."""
    return joint_logits(model(next(iter(inputs.values()))))


def emtrkmichel_loss(outputs: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
    """LArSoft's loss on joint logits (:func:`joint_logits`) and targets ``class + 3 * michel``:
    ``0.1 x cross-entropy(em, track, none) + 1.0 x (sigmoid(michel) - is_michel)^2``, averaged over the batch
    (``weight`` honoured).

    Examples:
        >>> out = joint_logits(torch.zeros(2, 4))
        >>> round(float(emtrkmichel_loss(out, {"target": torch.tensor([0, 4])})), 4)  # 0.1 ln 3 + 0.25
        0.3599
    """
    target = batch["target"].long().reshape(-1)
    out = outputs.float()
    l3 = out[:, :3]
    s = out[:, 3] - out[:, 0]
    cls = target % 3
    michel = (target >= 3).to(out.dtype)
    per = EM_WEIGHT * nn.functional.cross_entropy(l3, cls, reduction="none")
    per = per + MICHEL_WEIGHT * (torch.sigmoid(s) - michel) ** 2
    w = batch.get("weight")
    if w is not None:
        w = w.to(per.dtype).reshape(-1)
        return (per * w).sum() / w.sum().clamp_min(1e-12)
    return per.mean()
