"""Live monitoring: a web page of a running job, or of finished files (``hepreco[monitor]``).

- :mod:`hepreco.monitor.service`: the ``Monitor`` service (``hepreco run JOB.yaml --monitor [HOST:]PORT``);
- :mod:`hepreco.monitor.state`: the snapshots the page shows, taken on the job's thread at most every 0.5 s;
- :mod:`hepreco.monitor.server`: the Starlette app and the uvicorn thread (localhost only, or a token);
- :mod:`hepreco.monitor.display`: :class:`Display`, what a plugin registers through ``hepreco_displays``;
- :mod:`hepreco.monitor.files`: ``hepreco monitor FILE.root [--ref REF.root]``;
- ``static/index.html``: the page, self-contained (no download at run time), plots drawn from JSON.

Importing this package imports neither Starlette nor uvicorn: they load when a monitor starts.
"""

from __future__ import annotations

from hepreco.monitor.display import Display

__all__ = ["Display"]
