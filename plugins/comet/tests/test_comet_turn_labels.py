"""Issue 16: where the signal electron crosses a wire on two passes, the hit carries the earliest deposit's
time, so its ``turn`` must be the pass of that deposit (the one the image and the helix fit see)."""

from __future__ import annotations

import awkward as ak
import numpy as np
from hepreco_comet import simulate
from hepreco_comet.simulation import SimParameters


def test_0016_turn_of_a_crossed_wire_is_the_pass_that_set_its_time() -> None:
    # Same seeds with the electron stopped after its first pass: its first-pass hits are the same (the random
    # stream is the same until the second pass begins), so a wire whose time equals the first-pass-only time
    # got its time from the first pass.
    seeds = np.arange(1, 61, dtype=np.uint64) * np.uint64(2654435761)
    full, s_full = simulate(seeds, SimParameters(pileup=0))
    first, s_first = simulate(seeds, SimParameters(pileup=0, max_turns=1, min_signal_hits=1))
    same = np.asarray(s_full.px) == np.asarray(s_first.px)
    assert same.sum() >= 20
    crossed = timed_by_first = wrong = 0
    for i in np.flatnonzero(same):
        t1 = dict(zip(ak.to_list(first[i].wire), ak.to_list(first[i].drift_time), strict=True))
        for w, t, turn, sig in zip(
            *(ak.to_list(full[i][f]) for f in ("wire", "drift_time", "turn", "is_signal")), strict=True
        ):
            if not sig or w not in t1:
                continue
            crossed += turn >= 2
            if t == t1[w]:
                timed_by_first += 1
                wrong += turn != 1
    assert crossed > 0  # later passes do cross first-pass wires in these events
    assert timed_by_first > 1000
    assert wrong == 0
