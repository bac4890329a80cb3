"""This module defines the LArTPC event simulation's parameters and :func:`simulate`: event seeds in, hits and
truth particles out. Each event depends on its own uint64 seed only, so it is the same in any batch.

The numba kernels (``_transport``: generation and transport; ``_readout``: charge, wires, hit finding) are
imported when :func:`simulate` first runs, never at import. Every modelling choice is in the plugin README.
"""

from __future__ import annotations

from typing import Any, Literal

import awkward as ak
import numpy as np
from pydantic import Field, field_validator, model_validator

from hepreco_lartpc.geometry import VIEW_NAMES, Detector, DetectorParams, detector

__all__ = ["INTERACTIONS", "LABELS", "PROCESSES", "SimParameters", "simulate"]

#: hit ``label`` (Pandora's classes; 0 = a hit with no true charge: noise)
LABELS = {0: "null", 1: "shower", 2: "track"}
#: per-event ``interaction`` code
INTERACTIONS = {0: "single", 1: "numu_cc", 2: "nue_cc", 3: "nc_pi0", 4: "cosmics"}
#: particle ``process`` code
PROCESSES = dict(enumerate(("primary", "decay", "conversion", "compton", "brems", "delta", "hadronic",
                            "annihilation", "photoelectric", "cosmic")))  # fmt: skip
SINGLE_PDGS = (11, -11, 22, 13, -13, 211, -211, 111, 2212, 321)


class SimParameters(DetectorParams):
    """Parameters of the LArTPC simulation (event generation, transport, charge, wire response, hit finding)."""

    mode: Literal["neutrino", "single", "cosmics"] = "neutrino"
    """``neutrino``: neutrino-like vertices; ``single``: one particle per event (``single_pdg``); ``cosmics``:
    cosmic muons only. Cosmic muons (``cosmics`` per event) are overlaid in every mode."""
    numu_cc: float = Field(0.5, ge=0)
    """Relative rate of numu CC-like vertices (muon + protons + pions)."""
    nue_cc: float = Field(0.25, ge=0)
    """Relative rate of nue CC-like vertices (electron + hadrons)."""
    nc_pi0: float = Field(0.25, ge=0)
    """Relative rate of NC-like vertices with at least one pi0."""
    nu_energy_mean: float = Field(2.5, gt=0)
    """Mean neutrino energy (GeV) of the Gamma-shaped spectrum."""
    nu_energy_shape: float = Field(3.0, gt=0)
    """Shape parameter of the Gamma spectrum (larger: narrower)."""
    nu_energy_range: tuple[float, float] = (0.5, 8.0)
    """Neutrino energies are drawn inside this range (GeV)."""
    single_pdg: list[int] = Field(default_factory=lambda: [13])
    """``single`` mode: the PDG codes drawn from (equal shares)."""
    single_momentum: tuple[float, float] = (0.2, 1.5)
    """``single`` mode: momentum range (GeV/c), uniform."""
    single_isotropic: bool = True
    """``single`` mode: isotropic directions (false: along +z, the beam)."""
    cosmics: float = Field(0.0, ge=0)
    """Mean number of cosmic muons per read-out window (Poisson), overlaid on every event."""
    fiducial: float = Field(20.0, ge=0)
    """Vertices are at least this far inside the active volume (cm)."""
    step: float = Field(0.3, gt=0, le=2)
    """Largest transport step (cm); steps also shrink so that at most 10% of the energy is lost in one."""
    delta_cut: float = Field(1.0, gt=0)
    """Delta rays above this kinetic energy (MeV) are produced and tracked; below, their energy is part of
    the continuous (restricted) loss."""
    electron_cut: float = Field(0.1, gt=0)
    """Electrons below this kinetic energy (MeV) deposit it on the spot."""
    photon_cut: float = Field(0.5, gt=0)
    """Bremsstrahlung photons above this energy (MeV) are produced; softer ones are part of the loss."""
    hadronic_length: float = Field(85.77, gt=0)
    """Interaction length of pions, protons and kaons (cm; the PDG's nuclear interaction length of argon)."""
    mu_capture: float = Field(0.756, ge=0, le=1)
    """Fraction of stopped mu- captured by argon nuclei (no Michel electron)."""
    recombination_alpha: float = Field(0.93, gt=0)
    """Modified box model alpha (ArgoNeuT)."""
    recombination_beta: float = Field(0.212, gt=0)
    """Modified box model beta, (kV/cm)(g/cm2)/MeV (ArgoNeuT)."""
    w_ion: float = Field(23.6, gt=0)
    """Energy per ionisation electron (eV)."""
    enc: float = Field(600.0, ge=0)
    """Equivalent noise charge of the electronics (electrons)."""
    shaping: float = Field(2.0, gt=0)
    """Gaussian width of the electronics' shaping (ticks; 1 µs, the cold electronics' 2 µs peaking time)."""
    induction_delta: float = Field(2.0, gt=0)
    """Half the separation of the two lobes of the bipolar induction response (ticks)."""
    threshold_collection: float = Field(5.0, gt=0)
    """Hit threshold on collection (in units of the noise rms)."""
    threshold_induction: float = Field(3.5, gt=0)
    """Hit threshold on the processed induction signal (in units of its noise rms)."""
    roi_pad: int = Field(10, ge=2)
    """Ticks of quiet baseline kept at each end of a region of interest."""
    roi_gap: float = Field(30.0, gt=0)
    """Charge on one wire more than this many ticks apart starts a new region of interest."""
    hit_split: float = Field(0.7, gt=0, le=1)
    """A valley below this fraction of the lower neighbouring peak splits a pulse into two hits."""
    adc_images: bool = False
    """Also put per-view ADC images (wire x downsampled tick, processed waveforms) ``adc_U/V/W``."""
    adc_downsample: int = Field(6, ge=1)
    """Ticks summed into one image column."""
    apas: int = Field(1, ge=1, le=24)
    """Read-outs (APAs) per event, each a copy of the detector volume with its own wires: the event's ``mode``
    is simulated in APA 0 (the beam APA) and cosmic muons only (``cosmics`` per APA) in the others, as in a
    ProtoDUNE-SP event (6 APAs). With more than one, hits and particles gain ``apa`` and the ADC images are
    ``(events, apas, wires, columns)``."""
    max_particles: int = Field(200_000, ge=100)
    """Truth particles kept per event (more are counted in the summary as dropped)."""
    max_deposits: int = Field(400_000, ge=1000)
    """Energy deposits per event (more are counted as dropped)."""

    @field_validator("single_pdg")
    @classmethod
    def _pdgs(cls, value: list[int]) -> list[int]:
        bad = [p for p in value if p not in SINGLE_PDGS]
        if bad or not value:
            msg = f"single_pdg {bad or value}: the simulated particles are {list(SINGLE_PDGS)}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _ranges(self) -> SimParameters:
        for name in ("nu_energy_range", "single_momentum"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                msg = f"{name} must be 0 < min <= max, got {[lo, hi]}"
                raise ValueError(msg)
        if self.mode == "neutrino" and self.numu_cc + self.nue_cc + self.nc_pi0 <= 0:
            raise ValueError("numu_cc + nue_cc + nc_pi0 must be above 0 in neutrino mode")
        return self


def _vectors(p: SimParameters, det: Detector) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from hepreco_lartpc import _readout as ro
    from hepreco_lartpc import _transport as tr

    P = np.zeros(tr.NPARAM)
    P[tr.K_XMIN], P[tr.K_XMAX] = 0.0, det.drift_length
    P[tr.K_YMIN], P[tr.K_YMAX] = 0.0, det.height
    P[tr.K_ZMIN], P[tr.K_ZMAX] = 0.0, det.length
    P[tr.K_FID] = min(p.fiducial, 0.45 * min(det.drift_length, det.height, det.length))
    P[tr.K_MODE] = {"neutrino": 0, "single": 1, "cosmics": 2}[p.mode]
    P[tr.K_F_NUMU], P[tr.K_F_NUE], P[tr.K_F_NC] = p.numu_cc, p.nue_cc, p.nc_pi0
    P[tr.K_E_MEAN], P[tr.K_E_SHAPE] = p.nu_energy_mean, p.nu_energy_shape
    P[tr.K_E_MIN], P[tr.K_E_MAX] = p.nu_energy_range
    P[tr.K_SINGLE_PMIN], P[tr.K_SINGLE_PMAX] = (1000.0 * v for v in p.single_momentum)
    P[tr.K_SINGLE_ISO] = 1.0 if p.single_isotropic else 0.0
    P[tr.K_COSMICS] = p.cosmics
    P[tr.K_DELTA_CUT] = p.delta_cut
    P[tr.K_STEP] = p.step
    P[tr.K_E_CUT] = p.electron_cut
    P[tr.K_GAMMA_CUT] = p.photon_cut
    P[tr.K_LAMBDA_HAD] = p.hadronic_length
    P[tr.K_MU_CAPTURE] = p.mu_capture
    P[tr.K_DRIFT_V] = det.drift_velocity
    R = np.zeros(ro.NREAD)
    R[ro.R_EFIELD] = det.efield
    R[ro.R_ALPHA], R[ro.R_BETA] = p.recombination_alpha, p.recombination_beta
    R[ro.R_WION] = p.w_ion * 1e-6
    R[ro.R_LIFETIME] = det.lifetime
    R[ro.R_VDRIFT] = det.drift_velocity
    R[ro.R_DL], R[ro.R_DT] = det.diffusion_long * 1e-6, det.diffusion_trans * 1e-6  # cm2/s -> cm2/us
    R[ro.R_TICK] = det.tick
    R[ro.R_NTICKS] = det.n_ticks
    R[ro.R_SHAPE] = p.shaping
    R[ro.R_DELTA] = p.induction_delta
    R[ro.R_ENC] = p.enc
    R[ro.R_NSIG_COLL], R[ro.R_NSIG_IND] = p.threshold_collection, p.threshold_induction
    R[ro.R_PAD] = p.roi_pad
    R[ro.R_GAP] = p.roi_gap
    R[ro.R_XANODE] = 0.0
    R[ro.R_RHO] = tr.RHO
    R[ro.R_SPLIT] = p.hit_split
    R[ro.R_ADC_DS] = p.adc_downsample
    return P, R, np.asarray(p.single_pdg, dtype=np.int64)


def simulate(seeds: np.ndarray, params: SimParameters | None = None) -> dict[str, Any]:
    """Simulate one LArTPC event per seed.

    Args:
        seeds: one unsigned 64-bit seed per event; an event depends on its seed only.
        params: the simulation parameters (default: ProtoDUNE-SP, neutrino-like vertices).

    Returns:
        ``{"hits", "particles", "interaction", "dropped"}`` and, with ``adc_images``, ``adc_U``, ``adc_V``,
        ``adc_W``. ``hits`` is jagged per event with ``view`` (0 U, 1 V, 2 W), ``wire``, ``tick``, ``x``
        (drift coordinate from the tick, cm), ``w`` (wire coordinate, cm), ``charge`` (electrons), ``width``
        (ticks, the Gaussian hit's sigma) and the truth ``particle`` (index into the event's particles, -1
        for noise), ``pdg``, ``label`` (0 null, 1 shower, 2 track) and ``michel`` (and ``apa`` with ``apas`` > 1). ``particles`` is jagged
        with ``id``, ``parent`` (-1 for primaries), ``pdg``, ``process`` (:data:`PROCESSES`), ``start_x/y/z``,
        ``end_x/y/z`` (cm), ``px, py, pz`` (MeV/c), ``energy`` (total, MeV), ``t0`` (µs), ``shower``, ``michel``.

    Examples:
        >>> out = simulate(np.array([1, 2], dtype=np.uint64))
        >>> len(out["hits"]), sorted(set(ak.flatten(out["hits"].label).tolist())) in ([1, 2], [0, 1, 2])
        (2, True)
    """
    params = params or SimParameters()
    seeds = np.ascontiguousarray(np.asarray(seeds).astype(np.uint64, copy=False))
    if seeds.ndim != 1:
        msg = f"seeds must be one-dimensional, got shape {seeds.shape}"
        raise ValueError(msg)
    if params.apas > 1:
        return _simulate_apas(seeds, params)
    return _simulate(seeds, params)


def _apa_seeds(seeds: np.ndarray, apas: int) -> np.ndarray:
    """``(events, apas)`` seeds: APA 0 keeps the event's seed; the others are mixed from it (splitmix64)."""
    with np.errstate(over="ignore"):
        z = seeds[:, None] + np.arange(apas, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    z[:, 0] = seeds
    return np.ascontiguousarray(z)


def _simulate_apas(seeds: np.ndarray, params: SimParameters) -> dict[str, Any]:
    """Events of ``params.apas`` read-outs: APA 0 in the event's mode, the others cosmics only; merged per event."""
    n, a = len(seeds), params.apas
    s = _apa_seeds(seeds, a)
    beam = _simulate(s[:, 0].copy(), params.model_copy(update={"apas": 1}))
    rest = _simulate(s[:, 1:].reshape(-1).copy(), params.model_copy(update={"apas": 1, "mode": "cosmics"}))
    parts: list[dict[str, Any]] = []
    for name in ("hits", "particles"):
        b, r = beam[name], rest[name]
        nb = np.asarray(ak.num(b, axis=1))
        nr = np.asarray(ak.num(r, axis=1)).reshape(n, a - 1)
        counts = np.concatenate([nb[:, None], nr], axis=1)  # (events, apas)
        # event-major order: APA 0 of event 0, APA 1 of event 0, ...
        order = np.concatenate([np.arange(n)[:, None], n + np.arange(n * (a - 1)).reshape(n, a - 1)], axis=1).ravel()
        both = ak.concatenate([b, r], axis=0)[order]
        flat = ak.flatten(both)
        apa = np.repeat(np.tile(np.arange(a, dtype=np.int8), n), counts.ravel())
        parts.append({"flat": flat, "counts": counts, "apa": apa})
    hits, particles = parts
    # particle indices become per-event: offset by the particles of the event's earlier APAs
    p_first = np.cumsum(particles["counts"], axis=1) - particles["counts"]  # (events, apas)
    h_shift = np.repeat(p_first.ravel(), hits["counts"].ravel())
    p_shift = np.repeat(p_first.ravel(), particles["counts"].ravel())
    hf = hits["flat"]
    hp = np.asarray(hf.particle)
    hits_flat = ak.with_field(hf, ak.Array(np.where(hp >= 0, hp + h_shift, hp).astype(np.int32)), "particle")
    hits_flat = ak.with_field(hits_flat, ak.Array(hits["apa"]), "apa")
    pf = particles["flat"]
    par = np.asarray(pf.parent)
    parts_flat = ak.with_field(pf, ak.Array((np.asarray(pf.id) + p_shift).astype(np.int32)), "id")
    parts_flat = ak.with_field(parts_flat, ak.Array(np.where(par >= 0, par + p_shift, par).astype(np.int32)), "parent")
    parts_flat = ak.with_field(parts_flat, ak.Array(particles["apa"]), "apa")
    out: dict[str, Any] = {
        "hits": ak.unflatten(hits_flat, hits["counts"].sum(axis=1)),
        "particles": ak.unflatten(parts_flat, particles["counts"].sum(axis=1)),
        "interaction": beam["interaction"],
        "dropped": ak.zip(
            {
                k: ak.Array(
                    np.asarray(beam["dropped"][k]) + np.asarray(rest["dropped"][k]).reshape(n, a - 1).sum(axis=1)
                )
                for k in ("particles", "deposits")
            }
        ),
    }
    if params.adc_images:
        for name in VIEW_NAMES:
            b = np.asarray(beam[f"adc_{name}"])
            r = np.asarray(rest[f"adc_{name}"]).reshape(n, a - 1, *b.shape[1:])
            out[f"adc_{name}"] = ak.Array(np.concatenate([b[:, None], r], axis=1))
    return out


def _simulate(seeds: np.ndarray, params: SimParameters) -> dict[str, Any]:
    from hepreco_lartpc import _readout as ro
    from hepreco_lartpc import _transport as tr

    det = detector(params)
    P, R, pdgs = _vectors(params, det)
    views = det.views()
    adc_ticks = int(np.ceil(det.n_ticks / params.adc_downsample)) if params.adc_images else 0
    h_off, hf, hi, p_off, pf, pi, info, adc = ro.simulate_batch(
        seeds, P, pdgs, R, views, int(params.max_particles), int(params.max_deposits), adc_ticks
    )
    view = hf[:, ro.H_VIEW].astype(np.int8)
    wire = hf[:, ro.H_WIRE].astype(np.int32)
    tick = hf[:, ro.H_TICK]
    hits = {
        "view": view,
        "wire": wire,
        "tick": tick.astype(np.float32),
        "x": (tick * det.tick * det.drift_velocity).astype(np.float32),
        "w": det.wire_coordinate(view, wire).astype(np.float32),
        "charge": hf[:, ro.H_CHARGE].astype(np.float32),
        "width": hf[:, ro.H_WIDTH].astype(np.float32),
        "particle": hi[:, 0].astype(np.int32),
        "pdg": hi[:, 1].astype(np.int32),
        "label": hi[:, 2].astype(np.int8),
        "michel": hi[:, 3].astype(bool),
    }
    n_per = np.diff(p_off)
    local_id = (np.arange(len(pi)) - np.repeat(p_off[:-1], n_per)).astype(np.int32)
    parts = {
        "id": local_id,
        "parent": pi[:, tr.I_PARENT].astype(np.int32),
        "pdg": pi[:, tr.I_PDG].astype(np.int32),
        "process": pi[:, tr.I_PROC].astype(np.int8),
        "start_x": pf[:, tr.F_X].astype(np.float32),
        "start_y": pf[:, tr.F_Y].astype(np.float32),
        "start_z": pf[:, tr.F_Z].astype(np.float32),
        "end_x": pf[:, tr.F_EX].astype(np.float32),
        "end_y": pf[:, tr.F_EY].astype(np.float32),
        "end_z": pf[:, tr.F_EZ].astype(np.float32),
        "px": pf[:, tr.F_PX].astype(np.float32),
        "py": pf[:, tr.F_PY].astype(np.float32),
        "pz": pf[:, tr.F_PZ].astype(np.float32),
        "energy": pf[:, tr.F_E].astype(np.float32),
        "t0": pf[:, tr.F_T0].astype(np.float32),
        "shower": (pi[:, tr.I_FLAGS] & tr.FLAG_SHOWER) > 0,
        "michel": (pi[:, tr.I_FLAGS] & tr.FLAG_MICHEL) > 0,
    }
    out: dict[str, Any] = {
        "hits": ak.unflatten(ak.zip({k: ak.Array(v) for k, v in hits.items()}), np.diff(h_off)),
        "particles": ak.unflatten(ak.zip({k: ak.Array(v) for k, v in parts.items()}), n_per),
        "interaction": ak.Array(info[:, 0].astype(np.int8)),
        "dropped": ak.zip({"particles": ak.Array(info[:, 1]), "deposits": ak.Array(info[:, 2])}),
    }
    if params.adc_images:
        nw = det.n_wires()
        for v, name in enumerate(VIEW_NAMES):
            out[f"adc_{name}"] = ak.Array(np.ascontiguousarray(adc[:, v, : nw[v], :]))
    return out
