"""This module clusters particles into jets with FastJet's awkward interface (many events per call) and computes
jet substructure (N-subjettiness from exclusive kt subjets); four-vectors are ``vector`` Momentum4D records.

The pure functions behind ``jets.AntiKtJets``, ``jets.JetSelection`` and ``jets.NSubjettiness``.
"""

from __future__ import annotations

from typing import Any, Literal

import awkward as ak
import numpy as np

__all__ = ["ALGORITHMS", "cluster", "leading_jet", "leading_record", "momenta", "nsubjettiness", "select_jets"]

Algorithm = Literal["antikt", "kt", "cambridge"]
ALGORITHMS = ("antikt", "kt", "cambridge")
_JET_FIELDS = ("pt", "eta", "phi", "mass", "px", "py", "pz", "E")


def _vector() -> Any:
    import vector

    vector.register_awkward()
    return vector


def momenta(particles: ak.Array) -> ak.Array:
    """``particles`` (records with ``px, py, pz, E`` and any other fields) as vector Momentum4D records."""
    _vector()
    return ak.with_name(particles, "Momentum4D")


def _fastjet() -> Any:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the banner, once
        import fastjet
    return fastjet


def _jet_definition(algorithm: str, radius: float) -> Any:
    fj = _fastjet()
    algo = {"antikt": fj.antikt_algorithm, "kt": fj.kt_algorithm, "cambridge": fj.cambridge_algorithm}[algorithm]
    return fj.JetDefinition(algo, float(radius))


def cluster(
    particles: ak.Array, *, radius: float = 1.0, algorithm: Algorithm = "antikt", min_pt: float = 0.0
) -> ak.Array:
    """Cluster the particles of every event into jets, sorted by decreasing pT.

    Args:
        particles: jagged records with ``px, py, pz, E`` (GeV), other fields are kept on the constituents.
        radius: the jet radius R.
        algorithm: ``antikt``, ``kt`` or ``cambridge`` (Cambridge/Aachen).
        min_pt: jets below this pT (GeV) are dropped.

    Returns:
        Jagged records per event: ``pt, eta, phi, mass, px, py, pz, E`` and ``constituents`` (the
        particle records of the jet, sorted by decreasing pT).

    Examples:
        >>> parts = ak.Array([[{"px": 100.0, "py": 0.0, "pz": 0.0, "E": 100.0},
        ...                    {"px": 50.0, "py": 5.0, "pz": 0.0, "E": 50.25}], []])
        >>> jets = cluster(parts, radius=1.0)
        >>> ak.num(jets).tolist(), round(float(jets[0, 0].pt), 2), ak.num(jets.constituents, axis=2).tolist()
        ([1, 0], 150.08, [[2], []])
    """
    fj = _fastjet()
    _vector()
    vec = ak.zip({k: ak.values_astype(particles[k], np.float64) for k in ("px", "py", "pz", "E")})
    extra = [f for f in particles.fields if f not in ("px", "py", "pz", "E")]
    vec = ak.with_name(vec, "Momentum4D")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        cs = fj.ClusterSequence(vec, _jet_definition(algorithm, radius))
        jets = cs.inclusive_jets(min_pt=min_pt)
        index = cs.constituent_index(min_pt=min_pt)
    order = ak.argsort(jets.pt, axis=1, ascending=False)
    jets = jets[order]
    index = index[order]
    cons = _take_nested(particles, index)  # every field, nested per jet
    cons = cons[ak.argsort(momenta(cons).pt, axis=2, ascending=False)]
    fields = {
        "pt": jets.pt,
        "eta": jets.eta,
        "phi": jets.phi,
        "mass": jets.mass,
        "px": jets.px,
        "py": jets.py,
        "pz": jets.pz,
        "E": jets.E,
    }
    out = {k: ak.values_astype(v, np.float32) for k, v in fields.items()}
    out["constituents"] = ak.zip({f: cons[f] for f in ("px", "py", "pz", "E", *extra)})
    del extra
    return ak.zip(out, depth_limit=2)


def _take_nested(particles: ak.Array, index: ak.Array) -> ak.Array:
    """``particles[i][index[i][j]]`` for every event i and jet j: jagged per event, per jet."""
    counts = np.asarray(ak.num(particles, axis=1), dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_jets = np.asarray(ak.num(index, axis=1), dtype=np.int64)
    n_cons = np.asarray(ak.flatten(ak.num(index, axis=2)), dtype=np.int64)
    flat_index = np.asarray(ak.flatten(index, axis=None), dtype=np.int64)
    event_of = np.repeat(np.repeat(np.arange(len(counts)), n_jets), n_cons)
    flat = ak.flatten(particles, axis=1)[flat_index + start[event_of]]
    return ak.unflatten(ak.unflatten(flat, n_cons), n_jets)


def leading_jet(jets: ak.Array) -> ak.Array:
    """The highest-pT jet of every event (None for events without jets)."""
    return ak.firsts(jets, axis=1)


def leading_record(jet: ak.Array) -> ak.Array:
    """A jet without its constituents (``pt, eta, phi, mass, px, py, pz, E, n_constituents``): what a TTree
    branch set holds."""
    present = ~np.asarray(ak.to_numpy(ak.is_none(jet, axis=0)), dtype=bool)
    fields = {k: ak.fill_none(jet[k], 0.0) for k in _JET_FIELDS}
    fields["n_constituents"] = ak.values_astype(ak.fill_none(ak.num(jet.constituents, axis=-1), 0), np.int32)
    return ak.mask(ak.zip(fields, depth_limit=1), present)


def select_jets(
    jet: ak.Array,
    *,
    pt: tuple[float, float] = (250.0, 300.0),
    mass: tuple[float, float] = (50.0, 110.0),
    max_abs_eta: float = 2.5,
) -> np.ndarray:
    """The paper's selection of a (leading) jet: ``pt`` and ``mass`` windows and ``|eta| < max_abs_eta``;
    False for missing jets.

    Examples:
        >>> j = ak.Array([{"pt": 260.0, "mass": 80.0, "eta": 0.1}, None, {"pt": 320.0, "mass": 80.0, "eta": 0.0}])
        >>> select_jets(j).tolist()
        [True, False, False]
    """
    ok = (
        (jet.pt > pt[0]) & (jet.pt < pt[1]) & (jet.mass > mass[0]) & (jet.mass < mass[1]) & (abs(jet.eta) < max_abs_eta)
    )
    return np.asarray(ak.to_numpy(ak.fill_none(ok, False)), dtype=bool)


def nsubjettiness(constituents: ak.Array, *, n_max: int = 3, radius: float = 1.0) -> np.ndarray:
    """N-subjettiness tau_1..tau_n_max of jets (Thaler and Van Tilburg, `arXiv:1011.2268
    <https://arxiv.org/abs/1011.2268>`_) with exclusive kt subjet axes:
    ``tau_N = sum_k pT_k min_a dR(k, a) / (sum_k pT_k R)``.

    Args:
        constituents: jagged records (``px, py, pz, E``) per jet, one jet per row.
        n_max: the largest N.
        radius: the jet radius R0 of the normalisation.

    Returns:
        ``(n_jets, n_max)`` float32; jets with fewer than N constituents have tau_N = 0.

    Examples:
        >>> c = ak.Array([[{"px": 100.0, "py": 0.0, "pz": 0.0, "E": 100.0},
        ...                {"px": 100.0, "py": 20.0, "pz": 0.0, "E": 101.98}]])
        >>> t = nsubjettiness(c, n_max=2)
        >>> bool(t[0, 1] == 0.0), bool(t[0, 0] > 0)  # two particles: two subjets describe them exactly
        (True, True)
    """
    fj = _fastjet()
    _vector()
    n = len(constituents)
    out = np.zeros((n, n_max), dtype=np.float32)
    if n == 0:
        return out
    vec = ak.with_name(
        ak.zip({k: ak.values_astype(constituents[k], np.float64) for k in ("px", "py", "pz", "E")}), "Momentum4D"
    )
    counts = np.asarray(ak.num(vec, axis=1))
    pt = vec.pt
    denom = np.asarray(ak.sum(pt, axis=1)) * radius
    import contextlib
    import io
    import warnings

    for n_sub in range(1, n_max + 1):
        ok = counts > n_sub  # with N or fewer particles every particle is a subjet: tau_N = 0
        if not ok.any():
            continue
        sub = vec[ok]
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            # fastjet's awkward interface warns about exclusive anti-kt jets even for this kt sequence
            warnings.filterwarnings("ignore", message="dcut and exclusive jets")
            cs = fj.ClusterSequence(sub, _jet_definition("kt", radius))
            axes = cs.exclusive_jets(n_jets=n_sub)
        axes = ak.with_name(axes, "Momentum4D")
        pairs = ak.cartesian({"p": sub, "a": axes}, axis=1, nested=True)
        dr = ak.min(pairs.p.deltaR(pairs.a), axis=2)
        num = np.asarray(ak.sum(sub.pt * dr, axis=1))
        out[ok, n_sub - 1] = num / np.where(denom[ok] > 0, denom[ok], 1.0)
    return out
