"""This module starts the process pools' forkserver (:func:`start_forkserver`) and holds what starting
helper processes needs. It imports nothing heavy, so that :func:`hepreco.prepare` can start the forkserver
before it imports the job's modules: the forkserver then imports hepreco and the array libraries on another
core while the client does the same and builds the plan."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Iterator

__all__ = ["default_start_method", "peek_forkserver", "sigint_ignored", "start_forkserver"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "HEPRECO_THREADS")


def _cap_worker_threads(n: int) -> dict[str, str | None]:
    """Workers inherit the environment when they start: cap their threads (unless the user did) so
    ``workers`` processes do not oversubscribe the cores. Returns what to restore."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    for k in _THREAD_VARS:
        os.environ.setdefault(k, str(n))
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


#: what the forkserver imports before it forks workers (``_preload.py``)
_PRELOAD = ["hepreco.executors._preload"]


def default_start_method() -> str:
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def start_forkserver(workers: int | None = None, *, preload: tuple[str, ...] = ()) -> bool:
    """Start the forkserver now, so that it imports hepreco (and ``preload``) and builds the plugin registry
    while the client still builds the job's plan; the workers it forks later get the thread caps set here.
    False where there is no forkserver (then workers are spawned)."""
    if default_start_method() != "forkserver":
        return False
    from multiprocessing import forkserver

    mp.get_context("forkserver").set_forkserver_preload([*preload, *_PRELOAD])
    from hepreco.core.threads import cpu_cores

    saved = _cap_worker_threads(max(1, cpu_cores() // (workers or cpu_cores())))
    try:
        with sigint_ignored():  # Ctrl-C reaches the whole process group: the forkserver must not print a traceback
            forkserver.ensure_running()
    finally:
        _restore(saved)
    return True


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while helper processes start, so that they inherit the ignored disposition (a Python
    started with SIGINT ignored never raises KeyboardInterrupt): Ctrl-C stops the job through the client."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def peek_forkserver(value: object) -> tuple[bool, int | None, tuple[str, ...]]:
    """From an ``executor:`` value not yet validated: whether its workers fork from the forkserver
    (``processes`` with the default start method, or ``dask`` on a LocalCluster it starts), their ``workers``
    when that is a positive integer (else None), and what the forkserver should import besides hepreco.
    Validation comes later; this only decides whether to start the forkserver early.

    Examples:
        >>> peek_forkserver("processes"), peek_forkserver({"kind": "processes", "workers": 2})
        ((True, None, ()), (True, 2, ()))
        >>> peek_forkserver({"kind": "dask", "workers": 3}), peek_forkserver({"kind": "dask", "scheduler": "tcp://h:8786"})
        ((True, 3, ('distributed',)), (False, None, ()))
        >>> peek_forkserver({"kind": "processes", "start_method": "spawn"}), peek_forkserver(None)
        ((False, None, ()), (False, None, ()))
    """
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        return False, None, ()
    kind = value.get("kind")
    if kind == "processes" and value.get("start_method") in (None, "forkserver"):
        preload: tuple[str, ...] = ()
    elif kind == "dask" and not value.get("scheduler"):
        preload = ("distributed",)
    else:
        return False, None, ()
    workers = value.get("workers")
    ok = isinstance(workers, int) and not isinstance(workers, bool) and workers > 0
    return True, workers if ok else None, preload
