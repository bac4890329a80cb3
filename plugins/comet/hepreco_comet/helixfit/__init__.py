"""The CDC helix fit: a track's momentum from its hits, framework-independent (the hepreco module is
``comet.HelixFit``, :mod:`hepreco_comet.modules.helix_fit`).

In the uniform solenoid field a charged particle moves on a helix: a circle of radius ``R`` in x-y, and z
growing linearly with the arc length. The transverse momentum follows from the radius,
``pT [GeV/c] = 0.3 B [T] R [m]`` (``pT [MeV/c] = 2.998 B [T] R [cm]``), and the momentum from the dip,
``p = pT / cos(lambda) = pT sqrt(1 + tan^2 lambda)``. The CDC measures x-y only, at the wires; every wire is
stereo (its x-y position moves linearly with z), so the wire positions along a track also tell its z.

The method, per event (numba kernels over the flat hits of a whole batch, one event after another):

1. **Seed circle**: an algebraic circle fit to the wires' x-y positions at z = 0: Taubin's (G. Taubin,
   IEEE Trans. PAMI 13 (1991) 1115, in N. Chernov's Newton-iteration form: "Circular and Linear Regression:
   Fitting Circles and Lines by Least Squares", CRC 2010, ch. 5), or Kåsa's (I. Kåsa, IEEE Trans. Instrum.
   Meas. 25 (1976) 8: linear, but biased towards small circles on short arcs). With ``outlier_cut`` the
   seed is robust: MSAC (P. Torr and A. Zisserman, CVIU 78 (2000) 138) over circles through triples of
   hits, keeping the hits within the largest stereo shift (+1 cm) of the best one, then Taubin on those.
2. **Seed z**: a stereo wire is the line ``P0 + z D`` in x-y (``D`` along the layer, ~0.065 cm per cm of z).
   Two starts: (a) a scan of (z0, tan lambda) over the chamber, placing every wire at the z the candidate
   gives it and keeping the candidate whose Taubin circle fits best; (b) the z where each wire's line meets
   the seed circle (the root nearest the current prediction), fitted by a straight line of z against the
   arc length ``R psi``, each hit weighted by ``(D . n)^2`` (``n``: the circle's normal), the sensitivity
   of its distance to the circle to its z.
3. **Helix fit**: Levenberg-Marquardt least squares of the five helix parameters (centre, radius, ``z0``,
   ``tan lambda``) on the distances of the wires, each taken at the z the helix has there, to the circle:
   first on the wire positions alone (resolution ``wire_resolution``, the cell size over sqrt 12), then,
   with ``use_drift``, on the drift distances (``|distance| - drift distance``, resolution
   ``drift_resolution``: the side of the wire the track passes is the side the wire lies on, which resolves
   the left-right ambiguity). A hit's z is solved exactly for every trial helix (``z = z0 + tan(lambda) R
   psi(z)``, by Newton), and enters the Jacobian by implicit differentiation. From each start the drift
   fit runs from the wire-only result and from the start itself; the lowest (robust) chi2 wins.
4. **Outliers** (``outlier_cut``): after each fit the hits are those within ``outlier_cut`` of the helix
   (within 3 ``wire_resolution`` in the wire-only stage) and the fit is repeated until that set is stable.
   Starts are compared by the sum of ``min(chi_i^2, (cut / resolution)^2)``.

A fit whose helix puts a hit more than 20 cm beyond the end plates has run away (short arcs, two or three
layers, without drift distances); when every helix does, the circle alone is fitted with the hits at
z = 0 (``p`` and ``tan_lambda`` are then NaN).

Helix parameters: ``psi`` is the turning angle along the motion from the *perigee*, the point of the circle
closest to the z axis (near the stopping target); ``z = z0 + tan(lambda) R psi``, so ``z0`` is the z at the
perigee, ``d0 = |centre| - R`` the signed distance of closest approach (negative when the circle encloses the
axis) and ``phi0`` the azimuth of the momentum at the perigee. The sense of rotation follows from ``charge``
and the field's sign: a negative particle in a field along +z turns anticlockwise seen from +z.

Drift distances: the simulation's ``drift_time`` is the time after the trigger (the signal electron leaves
the target at t = 0) of the particle's closest approach to the wire plus the x-y distance (smeared by
200 um) over the drift velocity (2.5 cm/us). The fit subtracts ``t0`` and the flight time along the helix
from the perigee (at the speed of light; up to ~7 ns, i.e. ~0.015 cm) before converting with
``drift_velocity``.

Units: lengths in cm, momenta in MeV/c, field in T, times in ns.

The stages, one file each:

- :mod:`~hepreco_comet.helixfit.circle`: the algebraic circle fits (Taubin, Kåsa), :func:`fit_circles`;
- :mod:`~hepreco_comet.helixfit.seeding`: the wires as lines (:func:`wire_lines`), the robust seed circle
  that selects the hits (MSAC), the two starts of z;
- :mod:`~hepreco_comet.helixfit.helix`: the helix model, Levenberg-Marquardt, the outlier rounds,
  :func:`fit_helices`;
- :mod:`~hepreco_comet.helixfit.result`: the fit record (:data:`FIT_FIELDS`, :func:`fit_record`).
"""

from __future__ import annotations

from hepreco_comet.helixfit.circle import fit_circles
from hepreco_comet.helixfit.helix import fit_helices
from hepreco_comet.helixfit.result import FIT_FIELDS, PT_PER_T_CM, fit_record
from hepreco_comet.helixfit.seeding import wire_lines

__all__ = ["FIT_FIELDS", "PT_PER_T_CM", "fit_circles", "fit_helices", "fit_record", "wire_lines"]
