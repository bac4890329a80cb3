"""This module defines what the modules that run the COMET image networks share (``comet.DnCNNHitClassifier``,
``comet.Turn1Extractor``): loading a checkpoint checked against the imager's layout."""

from __future__ import annotations

from hepreco.ml import TorchInference

__all__ = ["load_for_layout"]


def load_for_layout(module: TorchInference) -> None:
    """Load ``module.config.weights`` for an image module (``weights``, ``layout``, ``xy_size``,
    ``batch_size`` in its config); with ``layout`` set, a checkpoint for another image shape or layout is
    refused when the job starts, naming both."""
    c = module.config  # type: ignore[attr-defined]
    inputs = None
    if c.layout is not None:
        from hepreco_comet.models import DnCNNParams, image_shape

        inputs = {"image": (2, *image_shape(DnCNNParams(layout=c.layout, xy_size=c.xy_size)))}
    ckpt = module.load_model(c.weights, inputs=inputs, batch_size=c.batch_size)
    found = getattr(ckpt.hparams, "layout", None)
    if c.layout is not None and found != c.layout:
        msg = f"checkpoint {ckpt.path} was trained on the '{found}' layout, this module reads '{c.layout}'"
        raise ValueError(msg)
