"""This module defines the tau21 + mass baseline: a small GBDT (LightGBM through ``hepreco.ml``) on the two
variables, registered as ``jets-tau21-mass``.

The baseline of Louppe et al. (`arXiv:1702.00748 <https://arxiv.org/abs/1702.00748>`_) and of the MPNN paper:
N-subjettiness ratio tau21 = tau2 / tau1 and the jet mass (ROC AUC 0.8207, 1/eps_B at eps_S = 50% 11.1).
The features come from ``jets.NSubjettiness`` (``tau21`` and ``mass`` products).
"""

from __future__ import annotations

from hepreco.ml import InputSpec, LightGBMModel, LightGBMParams, ModelSpec

__all__ = ["FEATURES", "TAU21_MASS"]

#: the two feature columns, in order
FEATURES = ("tau21", "mass")

TAU21_MASS = ModelSpec(
    name="jets-tau21-mass",
    build=LightGBMModel,
    hparams=LightGBMParams,
    kind="trainable",
    inputs={"features": InputSpec(shape=(len(FEATURES),), doc="jets.NSubjettiness: tau21, jet mass (GeV)")},
    task="binary",
    doc="the tau21 + mass baseline of the MPNN paper: a GBDT (LightGBM) on the two variables",
)
