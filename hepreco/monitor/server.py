"""This module defines the Monitor's web server: a Starlette app served by uvicorn from a background thread.

Bound to a loopback address (the default) it answers only requests from this machine whose ``Host`` is a
loopback name (no DNS rebinding); bound to any other address it requires the random token printed in the
page's URL (``?token=...``; the page then sends it as a header). The page is one self-contained file shipped
in the package (``static/index.html``): nothing is downloaded from the internet.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import sys
import threading
from importlib import resources
from typing import Any

from hepreco.errors import ConfigError

__all__ = ["MonitorServer", "is_loopback", "make_app", "parse_address"]

log = logging.getLogger("hepreco.monitor")

ADDRESS_FORM = "[HOST:]PORT (8765, localhost:8765, 0.0.0.0:8765, [::1]:8765; port 0: any free port)"
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def parse_address(text: str | int) -> tuple[str, int]:
    """``"[HOST:]PORT"`` as ``(host, port)``; the host defaults to ``127.0.0.1``.

    Examples:
        >>> parse_address("8765"), parse_address("0.0.0.0:80"), parse_address("[::1]:9000")
        (('127.0.0.1', 8765), ('0.0.0.0', 80), ('::1', 9000))
    """
    s = str(text).strip()
    host, sep, port = s.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535 or not _valid_host(host):
        msg = f"monitor address {s!r}: give {ADDRESS_FORM}"
        raise ValueError(msg)
    return host, int(port)


def _valid_host(host: str) -> bool:
    if ":" in host:  # an IPv6 address
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(host) and all(c.isalnum() or c in ".-_" for c in host)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    h = header.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    return h.rpartition(":")[0] if h.count(":") == 1 else h


def make_app(state: Any, *, local: bool, token: str | None) -> Any:
    """The Starlette app serving ``state`` (a :class:`~hepreco.monitor.state.MonitorState`).

    Args:
        local: bound to loopback: refuse clients and ``Host`` headers that are not this machine's.
        token: when given, every request must carry it (``?token=``, header ``X-Hepreco-Token``).
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    page = resources.files("hepreco.monitor").joinpath("static/index.html").read_text(encoding="utf-8")

    def refused(request: Request) -> Response | None:
        if local:
            client = request.client.host if request.client else ""
            if client and client != "testclient" and not is_loopback(client):
                return PlainTextResponse("hepreco monitor: only this machine may connect", status_code=403)
            if not is_loopback(_host_name(request.headers.get("host", ""))):
                return PlainTextResponse("hepreco monitor: Host must be localhost", status_code=403)
        if token is not None:
            given = request.query_params.get("token") or request.headers.get("x-hepreco-token") or ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return PlainTextResponse("hepreco monitor: the URL's token is missing or wrong", status_code=403)
        return None

    def guarded(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            bad = refused(request)
            if bad is not None:
                return bad
            return await fn(request)

        return endpoint

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def status(request: Request) -> Response:
        return JSONResponse(state.status_json(), headers={"Cache-Control": "no-store"})

    async def histograms(request: Request) -> Response:
        body = await _in_thread(state.histograms_json)
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def display(request: Request) -> Response:
        name = request.path_params["name"]
        payload = await _in_thread(state.display, name)
        if payload is None:
            return JSONResponse({"error": f"no display {name!r} now"}, status_code=404)
        if payload.get("kind") == "image":
            meta, _ = _image_bytes(payload)
            return JSONResponse(meta, headers={"Cache-Control": "no-store"})
        return Response(json.dumps(payload, default=_tolist), media_type="application/json")

    async def display_image(request: Request) -> Response:
        payload = await _in_thread(state.display, request.path_params["name"])
        if payload is None or payload.get("kind") != "image":
            return PlainTextResponse("no image", status_code=404)
        _, data = _image_bytes(payload)
        return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", guarded(index)),
        Route("/api/status", guarded(status)),
        Route("/api/histograms", guarded(histograms)),
        Route("/api/display/{name}", guarded(display)),
        Route("/api/display/{name}/image", guarded(display_image)),
    ]
    return Starlette(routes=routes)


async def _in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def _tolist(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _image_bytes(payload: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """An image payload as its metadata and its pixels quantised to 8 bits (row-major, row 0 at the top),
    cached in the payload: 600x3000 pixels are 1.8 MB, drawn by the page with a colour table."""
    cached = payload.get("_bytes")
    if cached is not None:
        return cached
    import numpy as np

    img = np.asarray(payload["image"])
    if img.ndim != 2:
        msg = f"an image display must return a 2-D image, not shape {img.shape}"
        raise ValueError(msg)
    work = img.astype(np.float32)  # one pass; then everything in place
    lo = float(payload["vmin"]) if payload.get("vmin") is not None else float(np.nanmin(work)) if work.size else 0.0
    hi = float(payload["vmax"]) if payload.get("vmax") is not None else float(np.nanmax(work)) if work.size else 1.0
    if not np.isfinite(lo) or not np.isfinite(hi):
        lo, hi = 0.0, 1.0
    work -= lo
    work *= 255.0 / (hi - lo) if hi > lo else 0.0
    np.clip(work, 0, 255, out=work)
    np.nan_to_num(work, copy=False, nan=0.0)
    q = work.astype(np.uint8)
    meta = {k: v for k, v in payload.items() if k not in ("image", "_bytes")}
    meta.update(kind="image", height=int(img.shape[0]), width=int(img.shape[1]), vmin=lo, vmax=hi)
    out = (json.loads(json.dumps(meta, default=_tolist)), q.tobytes())
    payload["_bytes"] = out
    return out


class MonitorServer:
    """Serves a :class:`~hepreco.monitor.state.MonitorState` from a daemon thread (uvicorn), until :meth:`stop`.

    Args:
        state: what to serve.
        address: ``"[HOST:]PORT"`` (see :func:`parse_address`).
        token: required in every request; default: none on loopback, a random one elsewhere.

    The socket is bound here, at once, so that a port in use is an error naming it (not a thread's log line).
    """

    def __init__(self, state: Any, address: str | int, *, token: str | None = None) -> None:
        try:
            host, port = parse_address(address)
        except ValueError as err:
            raise ConfigError(str(err), what="monitor address") from err
        self.local = is_loopback(host)
        self.token = token if token is not None else (None if self.local else secrets.token_urlsafe(16))
        self.state = state
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        if hasattr(socket, "SO_REUSEADDR") and sys.platform != "win32":  # a port in TIME_WAIT, not one in use
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            if host == "localhost":
                host = "127.0.0.1"
            sock.bind((host, port))
        except OSError as err:
            sock.close()
            if err.errno == errno.EADDRINUSE:
                msg = f"port {port} on {host} is in use: give another with --monitor {host}:PORT (0: any free port)"
            else:
                msg = f"cannot serve the monitor on {host}:{port}: {err.strerror or err}"
            raise ConfigError(msg, what="monitor address") from err
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by connections: no 40 ms Nagle stalls
        sock.listen(64)
        sock.setblocking(False)
        self.sock = sock
        self.host, self.port = host, int(sock.getsockname()[1])
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            shown = socket.gethostname()
        return f"http://{shown}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def start(self) -> None:
        """Serve from a daemon thread named ``hepreco-monitor``."""
        import uvicorn

        app = make_app(self.state, local=self.local, token=self.token)
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2,
            timeout_keep_alive=2,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.sock]}, name="hepreco-monitor", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (open connections are closed) and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
            self._thread = None
        try:
            self.sock.close()
        except OSError:
            pass
