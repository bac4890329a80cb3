"""This module says how many threads one process of a job may use: :func:`thread_budget`.

A job runs on one process (``inline``) or on several worker processes on the same machine (``processes``,
a Dask ``LocalCluster``). The executors that start workers set ``HEPRECO_THREADS`` in each worker's
environment to the cores divided by the workers (unless the user set it), as they cap OpenMP/BLAS/numba
threads, so that what a module or source parallelises inside a process (a source's decompression, a
network's torch threads) does not oversubscribe the cores.
"""

from __future__ import annotations

import logging
import os

__all__ = ["THREADS_VAR", "cpu_cores", "thread_budget"]

#: the environment variable that sets the threads one process of a job may use
THREADS_VAR = "HEPRECO_THREADS"


def cpu_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_budget() -> int:
    """Threads one process of this job may use: ``HEPRECO_THREADS`` when set (a positive integer; the
    ``processes`` and ``dask`` executors set it in their workers to cores // workers), else every core this
    process may run on.

    Examples:
        >>> import os
        >>> os.environ["HEPRECO_THREADS"] = "3"
        >>> thread_budget()
        3
        >>> del os.environ["HEPRECO_THREADS"]
        >>> thread_budget() == cpu_cores()
        True
        >>> os.environ["HEPRECO_THREADS"] = "four"  # logged once, then every core
        >>> thread_budget() == cpu_cores()
        True
        >>> del os.environ["HEPRECO_THREADS"]
    """
    value = os.environ.get(THREADS_VAR, "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n >= 1:
            return n
        _warn_once(value)
    return cpu_cores()


_WARNED: set[str] = set()


def _warn_once(value: str) -> None:
    if value not in _WARNED:
        _WARNED.add(value)
        logging.getLogger("hepreco").warning(
            "%s=%r is not a positive whole number of threads: using every core (%d)", THREADS_VAR, value, cpu_cores()
        )
