"""hepreco-jets: W tagging as in Henrion et al., "Neural Message Passing for Jet Physics" (arXiv:1711.09059).

The framework-independent parts (usable without a job; each imports its heavy dependencies when called):

- ``pythia``: Pythia 8 settings of the W' -> WZ and QCD processes, one event per seed, columns.
- ``clustering``: FastJet anti-kt (kt, C/A) jets of many events at once, the selection, N-subjettiness.
- ``graphs``: the paper's 7 features per particle, padded with a node mask; torch-geometric ``Data``/``Batch``.
- ``mpnn``: the MPNN (dense and ``MessagePassing`` forms, one set of weights) and its model ``jets-mpnn``.
- ``particlenet``: ParticleNet-Lite with a pure-torch k-NN, model ``jets-particlenet``.
- ``tau21``: the tau21 + mass GBDT, model ``jets-tau21-mass``.
- ``roc``, ``plotting``: AUC and 1/eps_B with bootstrap errors from histograms; the ROC plot.
- ``weights``: pT-flattening training weights.

The hepreco modules (``jets.PythiaSource``, ``jets.AntiKtJets``, ``jets.JetSelection``, ``jets.NSubjettiness``,
``jets.JetGraphs``, ``jets.PtFlatteningWeights``, ``jets.MPNNTagger``, ``jets.ParticleNetTagger``,
``jets.Tau21MassTagger``, ``jets.TaggingMetrics``, ``jets.TaggerComparison``) are registered by
``hepreco_jets.plugin`` through the ``hepreco`` entry point.
"""

from __future__ import annotations

from hepreco_jets._version import __version__

__all__ = ["__version__"]
