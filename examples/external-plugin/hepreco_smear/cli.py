"""``hepreco smear-summary FILE.jsonl``: a command this plugin adds to hepreco's command line."""

from __future__ import annotations

import argparse
import math

from hepreco import ConfigError

__all__ = ["main"]


def main(ns: argparse.Namespace) -> int:
    """Print the events, the job that wrote the file and the mean and spread of one column."""
    from hepreco_smear.jsonl import read_jsonl

    try:
        doc, events = read_jsonl(ns.file)
    except FileNotFoundError:
        raise ConfigError(f"{ns.file}: no such file") from None
    except ValueError as err:
        raise ConfigError(f"{ns.file}: not a JSON Lines file written by smear.JsonLinesOutput ({err})") from None
    jobs = (doc or {}).get("history") or [{}]
    print(f"{ns.file}: {len(events)} events, written by job '{jobs[-1].get('process', '?')}'")
    if events and ns.column not in events[0]:
        raise ConfigError(f"{ns.file}: no column '{ns.column}'; columns: {', '.join(events[0])}")
    values = [v for e in events for v in (e[ns.column] if isinstance(e[ns.column], list) else [e[ns.column]])]
    values = [v for v in values if v is not None]
    if values:
        mean = sum(values) / len(values)
        rms = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        print(f"{ns.column}: {len(values)} values, mean {mean:.4g}, rms {rms:.4g}")
    return 0
