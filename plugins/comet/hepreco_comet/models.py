"""This module declares the COMET plugin's trainable models for registration: cheap to import (pydantic and
hepreco.ml only; no numba, no torch). The networks, the LightGBM model and the modules that run them live in
their own files and are imported when a job or a training uses them.
"""

from __future__ import annotations

from hepreco.ml import InputSpec, LightGBMModel, LightGBMParams, ModelSpec
from hepreco_comet.dncnn import DNCNN, DNCNN_DENOISER, DnCNNParams, image_shape

__all__ = ["DNCNN", "DNCNN_DENOISER", "FEATURES", "GBDT", "TURN1", "Turn1Params", "turn1_inputs"]

#: the GBDT's feature columns, in order (``comet.HitFeatures``)
FEATURES = ("edep", "drift_time", "layer", "edep_left", "drift_time_left", "edep_right", "drift_time_right")


GBDT = ModelSpec(
    name="comet-gbdt",
    build=LightGBMModel,
    hparams=LightGBMParams,
    kind="trainable",
    inputs={"features": InputSpec(shape=(len(FEATURES),), doc="comet.HitFeatures: " + ", ".join(FEATURES))},
    task="binary",
    doc="the COMET TDR's GBDT hit classifier: a hit's and its two neighbours' deposit and time (LightGBM)",
)


class Turn1Params(DnCNNParams):
    """Hyper-parameters of the turn-1 extractor: the DnCNN body's (the talk's 17 x 64 by default; the
    shipped checkpoint is smaller, see the plugin README) and its layout. ``pretrained`` starts the body
    from a ``comet-dncnn`` hit-classifier checkpoint of the same depth, width and layout."""


def turn1_inputs(hp: Turn1Params) -> dict[str, InputSpec]:
    """The one input: ``image``, the 2-channel image of the hits the hit classifier kept, in [0, 1]."""
    h, w = image_shape(hp)
    return {
        "image": InputSpec(
            shape=(2, h, w),
            doc=f"comet.HitImager image of the kept hits (select: the hit classifier's selected), layout {hp.layout}",
        )
    }


TURN1 = ModelSpec(
    name="comet-turn1",
    build="hepreco_comet.turn1:build",
    hparams=Turn1Params,
    inputs=turn1_inputs,
    task="multiclass",
    doc="the COMET talk's turn-1 extractor: per-pixel background / first-turn / later-turn classes of the kept hits",
)
