"""The exceptions hepreco raises, each carrying the context a user needs to fix the problem.

Every error subclasses a built-in exception (so ``except ValueError`` keeps working) and carries
structured fields (the config file, the key path, the module label, the events) besides its message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "ModuleError",
    "PluginError",
    "ProductNotFound",
    "suggest",
]


def suggest(name: str, choices: Iterable[str], *, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The nearest valid choices to ``name``, best first (empty when nothing is close).

    Examples:
        >>> suggest("Histogram", ["Histograms", "Device"])
        ['Histograms']
    """
    choices = list(dict.fromkeys(str(c) for c in choices))
    exact_ci = [c for c in choices if c.lower() == name.lower() and c != name]
    close = difflib.get_close_matches(name, choices, n=n, cutoff=cutoff)
    return list(dict.fromkeys(exact_ci + close))[:n]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix, or ``""`` when nothing is close."""
    close = suggest(name, choices)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a job config.

    Args:
        message: what is wrong, and the fix where one is known.
        key: the key path in the resolved config, e.g. ``modules.hitid.threshold``.
        file: the file (or ``--set`` flag) that set the offending value, when known.
        line: the line in ``file``, when known.
        label: the module label the problem belongs to, when there is one.
    """

    message: str
    key: str = ""
    file: str | None = None
    line: int | None = None
    label: str | None = None

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.key:
            parts.append(f"key '{self.key}'")
        if self.label:
            parts.append(f"module '{self.label}'")
        return ": ".join([", ".join(parts), self.message])


class ConfigError(ValueError):
    """A job config that cannot run: every problem found before the first event, at once.

    ``issues`` holds one :class:`ConfigIssue` per problem (file, key path, module label, message).
    """

    def __init__(
        self, issues: Sequence[ConfigIssue] | str, *, file: str | None = None, what: str = "job config"
    ) -> None:
        if isinstance(issues, str):
            issues = [ConfigIssue(issues, file=file)]
        self.issues: list[ConfigIssue] = list(issues)
        self.what = what
        n = len(self.issues)
        head = f"invalid {what}" if n == 1 else f"invalid {what} ({n} problems)"
        msg = head + ":\n" + "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(msg)


class PluginError(ImportError):
    """A plugin that could not be loaded or registered; names the plugin and the hook."""


def describe_events(run: Any, subrun: Any, event: Any, *, limit: int = 3) -> str:
    """``"run 1 subrun 0 events 1..1000 (1000 events)"`` for the message of a :class:`ModuleError`."""
    n = len(event)
    if n == 0:
        return "no events"
    runs = sorted({int(r) for r in run})
    subruns = sorted({int(s) for s in subrun})
    ev = [int(e) for e in event]
    rtxt = f"run {runs[0]}" if len(runs) == 1 else f"runs {runs[0]}..{runs[-1]}"
    stxt = f"subrun {subruns[0]}" if len(subruns) == 1 else f"subruns {subruns[0]}..{subruns[-1]}"
    if n <= limit:
        etxt = "event " + ", ".join(str(e) for e in ev) if n == 1 else "events " + ", ".join(str(e) for e in ev)
    else:
        etxt = f"events {min(ev)}..{max(ev)} ({n} events)"
    return f"{rtxt} {stxt} {etxt}"


class ModuleError(RuntimeError):
    """An exception raised inside a module, re-raised with the module label, the method and the events.

    The original exception is chained (``__cause__``), so its traceback is kept.
    """

    def __init__(
        self,
        message: str,
        *,
        label: str,
        method: str,
        module_type: str = "",
        events: str = "",
    ) -> None:
        self.label = label
        self.method = method
        self.module_type = module_type
        self.events = events
        typ = f" ({module_type})" if module_type else ""
        where = f" on {events}" if events else ""
        super().__init__(f"module '{label}'{typ} failed in {method}(){where}: {message}")


class ProductNotFound(KeyError):
    """``events[tag]`` for a product that is not in the batch; lists the nearest products."""

    def __init__(self, tag: str, available: Iterable[str]) -> None:
        available = sorted(available)
        self.tag = tag
        self.available = available
        msg = f"no product '{tag}' in this batch{did_you_mean(tag, available)}; available: " + (
            ", ".join(available) if available else "none"
        )
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence
        return str(self.args[0])
