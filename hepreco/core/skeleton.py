"""This module writes the package skeleton of a new plugin (``hepreco new-plugin NAME``)."""

from __future__ import annotations

from pathlib import Path

from hepreco._version import __version__
from hepreco.core.inputtag import LABEL_RE

__all__ = ["write_plugin_skeleton"]

_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "hepreco-{name}"
version = "0.1.0"
description = "A hepreco plugin: {name}"
requires-python = ">=3.11"
dependencies = ["hepreco>={major_minor}"]

# This line is what makes hepreco find the plugin: entry-point group "hepreco", name = plugin name.
[project.entry-points.hepreco]
{name} = "hepreco_{name}.plugin"

[tool.setuptools.packages.find]
include = ["hepreco_{name}*"]
"""

_PLUGIN = '''"""The {name} plugin: registers its modules with hepreco."""

from __future__ import annotations

import hepreco

from hepreco_{name}.modules import Scale


@hepreco.hookimpl
def hepreco_modules() -> list[type]:
    return [Scale]
'''

_MODULES = '''"""Modules of the {name} plugin."""

from __future__ import annotations

import numpy as np
from pydantic import Field

import hepreco
from hepreco import InputTag


class Scale(hepreco.Producer):
    """Multiply a product by a factor; with no input, start from the event number."""

    class Config(hepreco.ModuleConfig):
        src: InputTag | None = None
        """The product to scale (default: the event number)."""
        factor: float = Field(2.0, gt=0)
        """The factor."""

    produces = ("",)

    def produce(self, events: hepreco.Events) -> None:
        if self.config.src is None:
            values = events.event.astype(np.float64)
        else:
            values = events[self.config.src]
        events.put("", values * self.config.factor)
'''

_TEST = '''"""Tests of the {name} plugin, run through hepreco as a user runs a job."""

from pathlib import Path

import hepreco

JOB = Path(__file__).parent.parent / "job.yaml"


def test_job_runs_and_scales_event_numbers():
    result = hepreco.run(JOB, events=10)
    assert result.events == 10
    h = result.histograms["hist"]["hist"]
    # event numbers 1..10 scaled by 2 -> 2..20, all inside the axis
    assert h.sum() == 10
'''

_JOB = """# A job using the {name} plugin: hepreco run job.yaml
process: {name}demo
source: {{module: EmptySource, events: 100, batch_size: 50}}
modules:
  scaled: {{module: {name}.Scale, factor: 2.0}}
  hist: {{module: HistFill, axes: [{{fill: scaled, bins: 50, start: 0, stop: 250, label: "2 x event"}}]}}
paths: {{reco: [scaled]}}
end_paths: {{ana: [hist]}}
"""

_README = """# hepreco-{name}

A hepreco plugin. Install it next to hepreco and its modules are found by name:

    pip install -e .
    hepreco list            # shows plugin '{name}' and {name}.Scale
    hepreco run job.yaml
    pytest tests
"""


def write_plugin_skeleton(name: str, where: str | Path = ".") -> Path:
    """Write ``<where>/<name>/``: pyproject with the entry point, one producer, its test, a job config."""
    if not LABEL_RE.match(name):
        msg = f"plugin name {name!r} must be an identifier (letters, digits, '_')"
        raise ValueError(msg)
    root = Path(where) / name
    if root.exists():
        msg = f"'{root}' already exists; choose another name or --dir"
        raise FileExistsError(msg)
    pkg = root / f"hepreco_{name}"
    (root / "tests").mkdir(parents=True)
    pkg.mkdir()
    major_minor = ".".join(__version__.split(".")[:2])
    files = {
        root / "pyproject.toml": _PYPROJECT,
        root / "README.md": _README,
        root / "job.yaml": _JOB,
        pkg / "__init__.py": '"""The {name} hepreco plugin."""\n\n__version__ = "0.1.0"\n',
        pkg / "plugin.py": _PLUGIN,
        pkg / "modules.py": _MODULES,
        root / "tests" / f"test_{name}.py": _TEST,
    }
    for path, text in files.items():
        path.write_text(text.format(name=name, major_minor=major_minor))
    return root
