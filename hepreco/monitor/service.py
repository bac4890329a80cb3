"""This module defines Monitor: the service behind ``hepreco run --monitor [HOST:]PORT``, a live web page of the
running job."""

from __future__ import annotations

import sys
import time
from typing import Any

from pydantic import Field, field_validator

from hepreco.core.module import ModuleConfig
from hepreco.core.service import JobStatus, Service

__all__ = ["Monitor"]


class Monitor(Service):
    """Serve a web page of the running job while it runs: progress (events, rate, ETA, chunks done, running and
    failed per executor), the live TrigReport and TimeReport, every booked histogram (merged over the chunks
    done under ``processes`` or ``dask``), the modules' summary figures and the event displays the plugins
    register (hook ``hepreco_displays``).

    The page's URL is printed when the job starts. Bound to localhost (the default) only this machine can
    connect; bound to another address the URL carries a random token that every request must give. The job's
    thread only copies its histograms and reports at most every ``interval`` seconds; the server runs in a
    background thread and stops when the job ends, well (after ``linger`` seconds) or not.
    Needs ``pip install 'hepreco[monitor]'`` (Starlette and uvicorn).
    """

    class Config(ModuleConfig):
        address: str = "127.0.0.1:8765"
        """Where to serve: ``[HOST:]PORT``; the host defaults to 127.0.0.1 (this machine only); port 0: any free one."""
        interval: float = Field(0.5, ge=0)
        """The fewest seconds between two snapshots of the job's histograms and reports (0: at every batch or chunk)."""
        linger: float = Field(0.0, ge=0)
        """Seconds to keep serving the final page after the job ended well (Ctrl-C stops it early)."""
        token: str | None = None
        """The token the URL must carry (default: none on localhost, a random one on any other address)."""

        @field_validator("address", mode="before")
        @classmethod
        def _check_address(cls, v: Any) -> str:
            from hepreco.monitor.server import parse_address

            parse_address(str(v))  # a ValueError that says the form
            return str(v)

    def __init__(self, config: ModuleConfig, *, job: Any) -> None:
        super().__init__(config, job=job)
        self.state: Any = None
        self.server: Any = None

    def watch_start(self, status: JobStatus) -> None:
        from hepreco.monitor.server import MonitorServer
        from hepreco.monitor.state import MonitorState

        try:
            import starlette  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError as err:
            msg = "the monitor needs Starlette and uvicorn: pip install 'hepreco[monitor]'"
            raise ImportError(msg) from err
        displays = {name: d for name, (d, _plugin) in self.job.registry.displays.items()}
        self.state = MonitorState(self.job.process, interval=self.config.interval, displays=displays)
        server = MonitorServer(self.state, self.config.address, token=self.config.token)
        self.state.start(status)
        server.start()
        self.server = server
        if not self.job.quiet:
            note = "" if server.local else " (anyone who has this URL can see the job: its token is the password)"
            print(f"hepreco: monitor at {server.url}{note}", file=sys.stderr, flush=True)

    def watch_sample(self) -> Any:
        """Under ``processes`` or ``dask``: the products the registered displays draw, of one event per chunk."""
        from hepreco.core.sample import SampleRequest

        displays = self.state.displays.values() if self.state is not None else ()
        fields = tuple(d.fields for d in displays if d.product is None and d.fields)
        products = tuple(d.product for d in displays if d.product is not None)
        request = SampleRequest(fields, products)
        return request or None

    def watch_progress(self, batch: Any) -> None:
        self.state.tick(batch)

    def watch_end(self, ok: bool) -> None:
        if self.state is not None:
            self.state.end()
        if self.server is not None:
            try:
                if ok and self.config.linger > 0:
                    time.sleep(self.config.linger)
            except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) while the final page is served: the job is done
                pass
            finally:
                self.server.stop()
                self.server = None

    def report(self) -> dict[str, Any] | None:
        if self.state is None:
            return None
        return {"address": self.config.address}
