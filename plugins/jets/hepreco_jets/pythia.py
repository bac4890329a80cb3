"""This module drives Pythia 8 (``pythia8mc``): the W' -> WZ and hard-QCD processes of the MPNN paper, one
event per seed, and the visible final state as columns.

Henrion et al., "Neural Message Passing for Jet Physics" (`arXiv:1711.09059
<https://arxiv.org/abs/1711.09059>`_), after Louppe et al. (`arXiv:1702.00748
<https://arxiv.org/abs/1702.00748>`_): at sqrt(s) = 13 TeV, W jets from W' (700 GeV) -> W Z with W -> q q'
and Z -> nu nu (so the only jet is the W's), against QCD 2 -> 2 with a pT-hat window around the jet window.

Every event is made from its own seed: the generator is re-seeded (``Rndm::init``) before each event, so an
event depends on its seed and the settings only, never on which events came before it in the process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["INVISIBLE", "PROCESSES", "GeneratorSettings", "PythiaGenerator", "pythia_settings"]

PROCESSES = ("wprime_wz", "qcd")
#: |pdg| of particles that leave no trace (neutrinos)
INVISIBLE = (12, 14, 16)
_MAX_SEED = 900_000_000  # Pythia's Random:seed range


@dataclass(frozen=True)
class GeneratorSettings:
    """What a Pythia instance is set up with (see :func:`pythia_settings`)."""

    process: Literal["wprime_wz", "qcd"]
    sqrt_s: float = 13000.0
    wprime_mass: float = 700.0
    pthat_min: float = 240.0
    pthat_max: float = 320.0
    mpi: bool = True
    isr: bool = True
    fsr: bool = True
    hadronization: bool = True
    extra: tuple[str, ...] = field(default_factory=tuple)


def pythia_settings(s: GeneratorSettings) -> list[str]:
    """The ``readString`` lines for ``s``.

    Examples:
        >>> lines = pythia_settings(GeneratorSettings("wprime_wz", mpi=False))
        >>> "NewGaugeBoson:ffbar2Wprime = on" in lines, "34:onIfAll = 23 24" in lines, "PartonLevel:MPI = off" in lines
        (True, True, True)
    """

    def onoff(flag: bool) -> str:
        return "on" if flag else "off"

    lines = [
        f"Beams:eCM = {s.sqrt_s:g}",
        "Print:quiet = on",
        "Next:numberCount = 0",
        f"PartonLevel:MPI = {onoff(s.mpi)}",
        f"PartonLevel:ISR = {onoff(s.isr)}",
        f"PartonLevel:FSR = {onoff(s.fsr)}",
        f"HadronLevel:all = {onoff(s.hadronization)}",
    ]
    if s.process == "wprime_wz":
        lines += [
            "NewGaugeBoson:ffbar2Wprime = on",
            "Wprime:coup2WZ = 1",  # 0 by default in Pythia 8.3: no W' -> W Z at all
            f"34:m0 = {s.wprime_mass:g}",
            "34:onMode = off",
            "34:onIfAll = 23 24",  # W' -> W Z
            "24:onMode = off",
            "24:onIfAny = 1 2 3 4 5",  # W -> q q'
            "23:onMode = off",
            "23:onIfAny = 12 14 16",  # Z -> nu nu: invisible
        ]
    elif s.process == "qcd":
        lines += [
            "HardQCD:all = on",
            f"PhaseSpace:pTHatMin = {s.pthat_min:g}",
            f"PhaseSpace:pTHatMax = {s.pthat_max:g}",
        ]
    else:
        msg = f"unknown process {s.process!r}; choose one of {', '.join(PROCESSES)}"
        raise ValueError(msg)
    return [*lines, *s.extra]


def _data_dir() -> str | None:
    """Pythia's xmldoc folder in this environment (``<prefix>/share/Pythia8/xmldoc``), unless PYTHIA8DATA says."""
    if os.environ.get("PYTHIA8DATA"):
        return None
    import sys

    path = os.path.join(sys.prefix, "share", "Pythia8", "xmldoc")
    return path if os.path.isdir(path) else None


class PythiaGenerator:
    """One initialised Pythia instance and its conversion of events to columns.

    Args:
        settings: the process and switches.
        init_seed: the seed of initialisation (the phase-space maxima); events are re-seeded one by one.
    """

    def __init__(self, settings: GeneratorSettings, init_seed: int) -> None:
        try:
            import pythia8mc
        except ImportError as err:  # pragma: no cover - a dependency of the plugin
            msg = "jets.PythiaSource needs pythia8mc: pip install pythia8mc==8.317.2"
            raise ImportError(msg) from err
        xmldoc = _data_dir()
        self.settings = settings
        self.pythia = pythia8mc.Pythia(xmldoc, False) if xmldoc else pythia8mc.Pythia("", False)
        for line in [*pythia_settings(settings), "Random:setSeed = on", f"Random:seed = {1 + init_seed % _MAX_SEED}"]:
            if not self.pythia.readString(line):
                msg = f"Pythia refused the setting {line!r}"
                raise ValueError(msg)
        if not self.pythia.init():
            msg = f"Pythia failed to initialise for {settings}"
            raise RuntimeError(msg)
        self._charge: dict[int, float] = {}
        self.lock = threading.Lock()

    def charge(self, pdg: np.ndarray) -> np.ndarray:
        """Electric charge of each pdg id (from Pythia's particle data, cached)."""
        out = np.empty(len(pdg), dtype=np.float32)
        for code in np.unique(pdg):
            c = self._charge.get(int(code))
            if c is None:
                c = self._charge[int(code)] = float(self.pythia.particleData.charge(int(code)))
            out[pdg == code] = c
        return out

    def event(self, seed: int) -> dict[str, Any]:
        """One event from ``seed``: the visible final state and the hard process.

        Returns ``{"px", "py", "pz", "E", "pdg", "charge"}`` (visible final-state particles), ``partons``
        (the outgoing particles of the hard process, status 23/-23, and the W of a W'), ``pthat``, ``code``.
        """
        import awkward as ak

        with self.lock:
            for attempt in range(100):
                self.pythia.rndm.init(1 + (int(seed) + attempt * 7919) % _MAX_SEED)
                batch = self.pythia.nextBatch(1)
                if len(batch) == 1:
                    break
            else:  # pragma: no cover - Pythia failing 100 times in a row
                msg = f"Pythia failed 100 times on seed {seed}"
                raise RuntimeError(msg)
            code = int(self.pythia.infoPython().code())
            pthat = float(self.pythia.infoPython().pTHat())
        prt = batch.prt[0]
        status = ak.to_numpy(prt.status)
        pdg = ak.to_numpy(prt.id)
        p = prt.p
        mom = {k: ak.to_numpy(p[k]) for k in ("px", "py", "pz", "e")}
        final = (status > 0) & ~np.isin(np.abs(pdg), INVISIBLE)
        hard = (np.abs(status) == 23) | (np.abs(status) == 22) & (np.abs(pdg) == 24)
        out = {
            "px": mom["px"][final].astype(np.float32),
            "py": mom["py"][final].astype(np.float32),
            "pz": mom["pz"][final].astype(np.float32),
            "E": mom["e"][final].astype(np.float32),
            "pdg": pdg[final].astype(np.int32),
        }
        out["charge"] = self.charge(out["pdg"])
        out["partons"] = {
            "px": mom["px"][hard].astype(np.float32),
            "py": mom["py"][hard].astype(np.float32),
            "pz": mom["pz"][hard].astype(np.float32),
            "E": mom["e"][hard].astype(np.float32),
            "pdg": pdg[hard].astype(np.int32),
            "status": status[hard].astype(np.int32),
        }
        out["code"] = code
        out["pthat"] = pthat
        return out


_GENERATORS: dict[tuple[GeneratorSettings, int], PythiaGenerator] = {}
_GEN_LOCK = threading.Lock()


def generator(settings: GeneratorSettings, init_seed: int) -> PythiaGenerator:
    """The process's Pythia instance for ``settings`` (initialised once per process: ~1 s)."""
    key = (settings, int(init_seed))
    with _GEN_LOCK:
        gen = _GENERATORS.get(key)
        if gen is None:
            gen = _GENERATORS[key] = PythiaGenerator(settings, init_seed)
        return gen


def generate_events(
    settings: Sequence[GeneratorSettings], which: np.ndarray, seeds: np.ndarray, init_seed: int
) -> tuple[Any, Any, Any]:
    """Events ``i`` from ``settings[which[i]]`` with seed ``seeds[i]``: ``(particles, truth, partons)`` as
    awkward arrays (jagged records per event; one record per event; jagged records per event)."""
    import awkward as ak

    gens = {int(k): generator(settings[int(k)], init_seed + int(k)) for k in np.unique(which)}
    rows = [gens[int(w)].event(int(s)) for w, s in zip(which, seeds, strict=True)]
    counts = np.array([len(r["px"]) for r in rows], dtype=np.int64)

    def cat(key: str, dtype: Any, src: str | None = None) -> np.ndarray:
        parts = [r[key] if src is None else r[src][key] for r in rows]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    particles = ak.unflatten(
        ak.zip(
            {k: cat(k, np.int32 if k == "pdg" else np.float32) for k in ("px", "py", "pz", "E", "pdg", "charge")},
            depth_limit=1,
        ),
        counts,
    )
    pcounts = np.array([len(r["partons"]["px"]) for r in rows], dtype=np.int64)
    partons = ak.unflatten(
        ak.zip(
            {
                k: cat(k, np.int32 if k in ("pdg", "status") else np.float32, "partons")
                for k in ("px", "py", "pz", "E", "pdg", "status")
            },
            depth_limit=1,
        ),
        pcounts,
    )
    label = np.array([1 if settings[int(w)].process == "wprime_wz" else 0 for w in which], dtype=np.int32)
    truth = ak.zip(
        {
            "label": label,
            "process": np.array([r["code"] for r in rows], dtype=np.int32),
            "pthat": np.array([r["pthat"] for r in rows], dtype=np.float32),
        },
        depth_limit=1,
    )
    return particles, truth, partons
