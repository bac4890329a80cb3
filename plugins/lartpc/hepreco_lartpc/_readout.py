"""This module holds the numba kernels of the read-out: energy deposits to drifting charge (recombination,
lifetime, diffusion), charge to wire signals (bipolar induction, unipolar collection, shaped noise), signal
processing and the hit finder, and the batch loop that ties transport and read-out together.

Imported only when events are simulated. Units: cm, MeV, µs, ticks, electrons. Sources in the plugin README.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from hepreco_lartpc._rng import rng_new, rng_normal
from hepreco_lartpc._transport import (
    D_DX,
    D_E,
    D_T0,
    D_X,
    D_Y,
    D_Z,
    FLAG_MICHEL,
    FLAG_SHOWER,
    I_FLAGS,
    I_PDG,
    ND,
    NF,
    NI,
    transport_event,
)

# read-out parameter vector
(R_EFIELD, R_ALPHA, R_BETA, R_WION, R_LIFETIME, R_VDRIFT, R_DL, R_DT, R_TICK, R_NTICKS, R_SHAPE, R_DELTA,
 R_ENC, R_NSIG_COLL, R_NSIG_IND, R_PAD, R_GAP, R_XANODE, R_RHO, R_SPLIT, R_ADC_DS, NREAD) = range(22)  # fmt: skip
# view columns: angle (rad), pitch (cm), w of wire 0 (cm), number of wires, collection (1) / induction (0)
V_ANGLE, V_PITCH, V_W0, V_NWIRES, V_COLL = range(5)
# hit float columns
H_VIEW, H_WIRE, H_TICK, H_WIDTH, H_CHARGE = range(5)
NH = 5
SQRT2PI = math.sqrt(2.0 * math.pi)


@nb.njit(cache=True)
def recombination(dedx: float, efield: float, alpha: float, beta: float, rho: float) -> float:
    """Modified box model (ArgoNeuT, JINST 8 (2013) P08005): the fraction of ionisation electrons that escape."""
    xi = beta * dedx / (rho * efield)
    if xi < 1e-6:
        return 1.0
    return max(math.log(alpha + xi) / xi, 0.0)


@nb.njit(cache=True)
def _phi(u: float) -> float:
    return 0.5 * math.erfc(-u / math.sqrt(2.0))


@nb.njit(cache=True)
def drift_contributions(dep: np.ndarray, ndep: int, views: np.ndarray, R: np.ndarray, rng: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Deposits -> charge arriving on wires: per contribution (view, wire) as an int key, (tick, sigma_tick,
    electrons) and the deposit index."""
    nv = views.shape[0]
    cap = ndep * nv * 4 + 16
    key = np.empty(cap, np.int64)
    val = np.empty((cap, 3))
    src = np.empty(cap, np.int64)
    k = 0
    wmax = 0
    for v in range(nv):
        wmax = max(wmax, int(views[v, V_NWIRES]))
    for i in range(ndep):
        x, y, z = dep[i, D_X], dep[i, D_Y], dep[i, D_Z]
        de = dep[i, D_E]
        dedx = de / max(dep[i, D_DX], 0.03)
        ne = recombination(dedx, R[R_EFIELD], R[R_ALPHA], R[R_BETA], R[R_RHO]) * de / R[R_WION]
        tdrift = (x - R[R_XANODE]) / R[R_VDRIFT]
        if tdrift < 0.0:
            continue
        ne *= math.exp(-tdrift / R[R_LIFETIME])
        # Poisson/Fano fluctuation of the electron count (F = 0.107 for argon)
        ne = max(ne + math.sqrt(0.107 * max(ne, 0.0)) * rng_normal(rng), 0.0)
        if ne <= 1.0:
            continue
        sig_l = math.sqrt(2.0 * R[R_DL] * tdrift)  # cm
        sig_t = math.sqrt(2.0 * R[R_DT] * tdrift)
        tick = (tdrift + dep[i, D_T0]) / R[R_TICK]
        sig_tick = sig_l / R[R_VDRIFT] / R[R_TICK]
        for v in range(nv):
            ang = views[v, V_ANGLE]
            pitch = views[v, V_PITCH]
            w = z * math.cos(ang) + y * math.sin(ang)
            u = (w - views[v, V_W0]) / pitch
            c = math.floor(u + 0.5)
            st = max(sig_t / pitch, 1e-3)
            for wire in range(c - 1, c + 2):
                if wire < 0 or wire >= int(views[v, V_NWIRES]):
                    continue
                frac = _phi((wire + 0.5 - u) / st) - _phi((wire - 0.5 - u) / st)
                if frac < 0.01:
                    continue
                if k >= cap:
                    break
                key[k] = v * (wmax + 1) + wire
                val[k, 0] = tick
                val[k, 1] = sig_tick
                val[k, 2] = ne * frac
                src[k] = i
                k += 1
    return key[:k], val[:k], src[:k]


@nb.njit(cache=True)
def _noise(n: int, sigma: float, shape: float, rng: np.ndarray) -> np.ndarray:
    """``n`` samples of white noise shaped by the electronics (a Gaussian of ``shape`` ticks), rms ``sigma``."""
    kw = math.ceil(3.0 * shape)
    kern = np.empty(2 * kw + 1)
    s2 = 0.0
    for j in range(-kw, kw + 1):
        kern[j + kw] = math.exp(-0.5 * (j / shape) ** 2)
        s2 += kern[j + kw] ** 2
    kern /= math.sqrt(s2)
    g = np.empty(n + 2 * kw)
    for j in range(g.size):
        g[j] = rng_normal(rng)
    out = np.zeros(n)
    for t in range(n):
        acc = 0.0
        for j in range(2 * kw + 1):
            acc += kern[j] * g[t + j]
        out[t] = sigma * acc
    return out


@nb.njit(cache=True)
def _find_hits(p: np.ndarray, lo: int, thr: float, split: float, out: np.ndarray, nout: int) -> int:
    """Hits in a processed waveform ``p`` (ticks ``lo``...): regions above ``0.3*thr`` holding a sample above
    ``thr``, split at valleys deeper than ``split`` of the lower neighbouring peak; each hit's peak time, width
    and charge from the moments of its samples (a Gaussian hit). Writes (tick, width, charge, start, stop)."""
    n = p.size
    t = 0
    low = 0.3 * thr
    while t < n:
        if p[t] <= low:
            t += 1
            continue
        a = t
        while t < n and p[t] > low:
            t += 1
        b = t
        pk = -1e30
        for j in range(a, b):
            pk = max(pk, p[j])
        if pk <= thr:
            continue
        # local maxima above threshold
        start = a
        cur_peak = p[a]
        j = a + 1
        while j < b:
            cur_peak = max(cur_peak, p[j])
            # a valley at j: falling before, rising after
            if j + 1 < b and p[j] < p[j - 1] and p[j] <= p[j + 1]:
                nxt = p[j]
                for m in range(j + 1, b):
                    nxt = max(nxt, p[m])
                    if m + 1 < b and p[m + 1] < p[m]:
                        break
                if p[j] < split * min(cur_peak, nxt) and cur_peak > thr and nxt > thr:
                    nout = _moments(p, lo, start, j, out, nout)
                    start = j
                    cur_peak = p[j]
            j += 1
        nout = _moments(p, lo, start, b, out, nout)
    return nout


@nb.njit(cache=True)
def _moments(p: np.ndarray, lo: int, a: int, b: int, out: np.ndarray, nout: int) -> int:
    s = 0.0
    s1 = 0.0
    for j in range(a, b):
        w = max(p[j], 0.0)
        s += w
        s1 += w * j
    if s <= 0.0 or nout >= out.shape[0]:
        return nout
    mean = s1 / s
    s2 = 0.0
    for j in range(a, b):
        s2 += max(p[j], 0.0) * (j - mean) ** 2
    out[nout, 0] = lo + mean
    out[nout, 1] = max(math.sqrt(s2 / s), 0.3)
    out[nout, 2] = s
    out[nout, 3] = lo + a
    out[nout, 4] = lo + b
    return nout + 1


@nb.njit(cache=True)
def readout_event(dep: np.ndarray, dpart: np.ndarray, ndep: int, views: np.ndarray, R: np.ndarray,
                  rng: np.ndarray, adc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One event's hits: float (n, 5) view, wire, tick, width, charge and the dominant deposit's particle.
    ``adc`` (views x max wires x downsampled ticks, or size 0) receives the processed waveforms."""
    key, val, src = drift_contributions(dep, ndep, views, R, rng)
    order = np.argsort(key * 1_000_000 + np.clip(val[:, 0] * 10.0, -1e5, 9e5).astype(np.int64), kind="mergesort")
    nv = views.shape[0]
    wmax = 0
    for v in range(nv):
        wmax = max(wmax, int(views[v, V_NWIRES]))
    nticks = int(R[R_NTICKS])
    shape = R[R_SHAPE]
    delta = R[R_DELTA]
    sig_n = R[R_ENC] / (SQRT2PI * shape)
    pad = int(R[R_PAD])
    gap = R[R_GAP]
    hits = np.empty((max(64, key.size // 2), NH))
    hpart = np.empty(hits.shape[0], np.int64)
    nh = 0
    found = np.empty((256, 5))
    m = key.size
    g0 = 0
    while g0 < m:
        kk = key[order[g0]]
        g1 = g0
        while g1 < m and key[order[g1]] == kk:
            g1 += 1
        v = kk // (wmax + 1)
        wire = kk % (wmax + 1)
        coll = views[v, V_COLL] > 0
        # clusters in time on this wire
        c0 = g0
        while c0 < g1:
            c1 = c0 + 1
            while c1 < g1 and val[order[c1], 0] - val[order[c1 - 1], 0] < gap:
                c1 += 1
            smax = 0.0
            for j in range(c0, c1):
                smax = max(smax, val[order[j], 1])
            width = math.sqrt(smax * smax + shape * shape) + delta
            lo = math.floor(val[order[c0], 0] - 4.0 * width) - pad
            hi = math.ceil(val[order[c1 - 1], 0] + 4.0 * width) + pad
            lo = max(lo, 0)
            hi = min(hi, nticks)
            if hi - lo > 2 * pad + 2:
                L = hi - lo
                sig = np.zeros(L)
                for j in range(c0, c1):
                    tau, st, q = val[order[j], 0], val[order[j], 1], val[order[j], 2]
                    s = math.sqrt(st * st + shape * shape)
                    a = max(math.floor(tau - 5.0 * s - delta), lo)
                    b = min(math.ceil(tau + 5.0 * s + delta) + 1, hi)
                    for t in range(a, b):
                        if coll:
                            u = (t - tau) / s
                            sig[t - lo] += q * math.exp(-0.5 * u * u) / (SQRT2PI * s)
                        else:
                            u1 = (t - tau + delta) / s
                            u2 = (t - tau - delta) / s
                            # bipolar: + as the charge approaches the plane, - as it leaves
                            sig[t - lo] += q * (math.exp(-0.5 * u1 * u1) - math.exp(-0.5 * u2 * u2)) / (SQRT2PI * s)
                raw = sig + _noise(L, sig_n, shape, rng)
                if coll:
                    p = raw
                    thr = R[R_NSIG_COLL] * sig_n
                else:
                    # signal processing of the bipolar induction signal: integrate, then restore the baseline
                    # linearly between the quiet ends of the region of interest
                    p = np.cumsum(raw) / (2.0 * delta)
                    b0 = 0.0
                    b1 = 0.0
                    for t in range(pad):
                        b0 += p[t]
                        b1 += p[L - 1 - t]
                    b0 /= pad
                    b1 /= pad
                    xa = 0.5 * (pad - 1)
                    xb = L - 1 - 0.5 * (pad - 1)
                    for t in range(L):
                        p[t] -= b0 + (b1 - b0) * (t - xa) / (xb - xa)
                    sig_p = sig_n / (2.0 * delta) * math.sqrt(0.25 * L * 2.0 * math.sqrt(math.pi) * shape)
                    thr = R[R_NSIG_IND] * sig_p
                if adc.size > 0:
                    ds = int(R[R_ADC_DS])
                    for t in range(L):
                        tb = (lo + t) // ds
                        if tb < adc.shape[2]:
                            adc[v, wire, tb] += p[t] / ds
                nf = _find_hits(p, lo, thr, R[R_SPLIT], found, 0)
                for h in range(nf):
                    if nh >= hits.shape[0]:
                        bigger = np.empty((hits.shape[0] * 2, NH))
                        bigger[:nh] = hits[:nh]
                        hits = bigger
                        bp = np.empty(hits.shape[0], np.int64)
                        bp[:nh] = hpart[:nh]
                        hpart = bp
                    hits[nh, H_VIEW] = v
                    hits[nh, H_WIRE] = wire
                    hits[nh, H_TICK] = found[h, 0]
                    hits[nh, H_WIDTH] = found[h, 1]
                    hits[nh, H_CHARGE] = found[h, 2]
                    # truth: the particle whose charge dominates the hit's ticks
                    best = -1
                    best_q = 0.0
                    ta, tb2 = found[h, 3] - 1.0, found[h, 4] + 1.0
                    for j in range(c0, c1):
                        tau = val[order[j], 0]
                        if tau < ta or tau > tb2:
                            continue
                        pj = dpart[src[order[j]]]
                        qsum = 0.0
                        for j2 in range(c0, c1):
                            t2 = val[order[j2], 0]
                            if ta <= t2 <= tb2 and dpart[src[order[j2]]] == pj:
                                qsum += val[order[j2], 2]
                        if qsum > best_q:
                            best_q = qsum
                            best = pj
                    hpart[nh] = best
                    nh += 1
            c0 = c1
        g0 = g1
    return hits[:nh], hpart[:nh]


@nb.njit(cache=True)
def simulate_batch(seeds: np.ndarray, P: np.ndarray, pdgs: np.ndarray, R: np.ndarray, views: np.ndarray,
                   max_particles: int, max_deposits: int, adc_ticks: int):  # fmt: skip
    """Simulate one event per seed. Returns hit offsets, hit floats (view, wire, tick, width, charge), hit truth
    ints (particle, pdg, label, michel), particle offsets, particle floats and ints, per-event (code, dropped
    particles, dropped deposits), and the ADC images (events x views x wires x ticks, or empty)."""
    nev = seeds.size
    pf = np.zeros((max_particles, NF))
    pi = np.zeros((max_particles, NI), np.int64)
    dep = np.zeros((max_deposits, ND))
    dpart = np.zeros(max_deposits, np.int64)
    cnt = np.zeros(4, np.int64)
    nv = views.shape[0]
    wmax = 0
    for v in range(nv):
        wmax = max(wmax, int(views[v, V_NWIRES]))
    adc_all = np.zeros((nev if adc_ticks > 0 else 0, nv, wmax, max(adc_ticks, 0)), np.float32)
    h_off = np.zeros(nev + 1, np.int64)
    p_off = np.zeros(nev + 1, np.int64)
    hcap = 1024
    hf = np.empty((hcap, NH))
    hi_ = np.empty((hcap, 4), np.int64)
    pcap = 1024
    pfo = np.empty((pcap, NF))
    pio = np.empty((pcap, NI), np.int64)
    info = np.zeros((nev, 3), np.int64)
    for ev in range(nev):
        rng = rng_new(seeds[ev])
        code = transport_event(P, rng, pdgs, pf, pi, cnt, dep, dpart)
        npart = cnt[0]
        ndep = cnt[1]
        info[ev, 0] = code
        info[ev, 1] = cnt[2]
        info[ev, 2] = cnt[3]
        adc = np.zeros((nv, wmax, adc_ticks), np.float32) if adc_ticks > 0 else np.zeros((0, 0, 0), np.float32)
        hits, hpart = readout_event(dep, dpart, ndep, views, R, rng, adc)
        if adc_ticks > 0:
            adc_all[ev] = adc
        nh = hits.shape[0]
        base = h_off[ev]
        while base + nh > hcap:
            hcap *= 2
            a = np.empty((hcap, NH))
            a[:base] = hf[:base]
            hf = a
            b = np.empty((hcap, 4), np.int64)
            b[:base] = hi_[:base]
            hi_ = b
        for h in range(nh):
            hf[base + h] = hits[h]
            pp = hpart[h]
            if pp >= 0:
                hi_[base + h, 0] = pp
                hi_[base + h, 1] = pi[pp, I_PDG]
                hi_[base + h, 2] = 1 if (pi[pp, I_FLAGS] & FLAG_SHOWER) else 2
                hi_[base + h, 3] = 1 if (pi[pp, I_FLAGS] & FLAG_MICHEL) else 0
            else:
                hi_[base + h, 0] = -1
                hi_[base + h, 1] = 0
                hi_[base + h, 2] = 0
                hi_[base + h, 3] = 0
        h_off[ev + 1] = base + nh
        pbase = p_off[ev]
        while pbase + npart > pcap:
            pcap *= 2
            a = np.empty((pcap, NF))
            a[:pbase] = pfo[:pbase]
            pfo = a
            b = np.empty((pcap, NI), np.int64)
            b[:pbase] = pio[:pbase]
            pio = b
        pfo[pbase : pbase + npart] = pf[:npart]
        pio[pbase : pbase + npart] = pi[:npart]
        p_off[ev + 1] = pbase + npart
    return (h_off, hf[: h_off[nev]].copy(), hi_[: h_off[nev]].copy(), p_off, pfo[: p_off[nev]].copy(),
            pio[: p_off[nev]].copy(), info, adc_all)  # fmt: skip
