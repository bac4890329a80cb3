"""This module defines Journal: the folder that records finished chunks so an interrupted job resumes.

Layout of ``--journal DIR``::

    journal.json              the job: config hash and config (without ``executor``), the chunk list
    chunks/NNNNN/result.json  a finished chunk: reports, summaries, inputs, its output parts
    chunks/NNNNN/hists.json   its histograms (UHI JSON, exact)
    parts/NNNNN/LABEL/FILE    its output files

Everything is JSON or the outputs' own files: nothing is pickled. A chunk counts as finished once its
``result.json`` exists (written last, atomically).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from hepreco.core.module import Chunk
from hepreco.errors import ConfigError, ConfigIssue
from hepreco.executors._serialize import (
    histograms_from_json,
    histograms_to_json,
    json_default,
    time_from_json,
    time_to_json,
    trig_from_json,
    trig_to_json,
)
from hepreco.executors._worker import ChunkResult

__all__ = ["Journal", "config_hash", "plugin_code"]

VERSION = 1

log = logging.getLogger("hepreco.executors")


def job_identity(data: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved config that decides the results: everything but ``executor``."""
    return {k: v for k, v in data.items() if k != "executor"}


def config_hash(data: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of :func:`job_identity`."""
    text = json.dumps(job_identity(data), sort_keys=True, default=json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _differences(old: dict[str, Any], new: dict[str, Any], limit: int = 5) -> list[str]:
    a, b = (
        _flatten(json.loads(json.dumps(old, default=json_default))),
        _flatten(json.loads(json.dumps(new, default=json_default))),
    )
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<unset>") != b.get(key, "<unset>"):
            out.append(f"{key}: {a.get(key, '<unset>')!r} in the journal, {b.get(key, '<unset>')!r} now")
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def plugin_code(plan: Any) -> dict[str, dict[str, str | None]]:
    """``{plugin: {"version": ..., "sha256": ...}}`` for every plugin whose modules, source or services the
    job uses; ``sha256`` is the hash of the file of a plugin loaded from a ``.py`` path (its version says
    nothing about edits). A journal refuses to resume when these differ: old and new code would mix."""
    used = {type(plan.source).type_name.partition(".")[0]}
    used |= {type(m).type_name.partition(".")[0] for m in plan.modules.values()}
    used |= {s.type_name.partition(".")[0] for s in plan.services}
    out: dict[str, dict[str, str | None]] = {}
    for name, info in sorted(plan.job.registry.plugins.items()):
        if name not in used or not info.ok:
            continue
        entry: dict[str, str | None] = {"version": info.version}
        origin = Path(info.origin)
        if info.origin.endswith(".py") and origin.is_file():
            entry["sha256"] = hashlib.sha256(origin.read_bytes()).hexdigest()
        out[name] = entry
    return out


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Journal:
    """The journal folder of a job: refuses another job's folder, loads and records finished chunks."""

    def __init__(
        self, root: Path, data: dict[str, Any], chunks: list[Chunk], code: dict[str, Any] | None = None
    ) -> None:
        self.root = Path(root)
        code = json.loads(json.dumps(code or {}))
        self.chunk_list = [[c.file, c.start, c.stop] for c in chunks]
        self.hash = config_hash(data)
        meta_path = self.root / "journal.json"
        identity = json.loads(json.dumps(job_identity(data), default=json_default))
        if meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError) as err:
                msg = f"journal '{self.root}': cannot read journal.json ({err}); delete the folder to start over"
                raise ConfigError([ConfigIssue(msg, key="executor.journal")]) from err
            if meta.get("config_hash") != self.hash:
                diffs = _differences(meta.get("config", {}), identity)
                msg = (
                    f"journal '{self.root}' was written by a different job config, so its chunks cannot be "
                    "reused: " + "; ".join(diffs or ["the config differs"]) + ". Run the original config again "
                    "to resume, or give another --journal folder (or delete this one) to start over"
                )
                raise ConfigError([ConfigIssue(msg, key="executor.journal")])
            if "plugins" in meta and meta["plugins"] != code:
                changes = []
                for name in sorted(set(meta["plugins"]) | set(code)):
                    old, new = meta["plugins"].get(name), code.get(name)
                    if old != new:
                        what = (
                            "its file changed"
                            if old and new and old.get("version") == new.get("version")
                            else (
                                f"version {(old or {}).get('version')} in the journal, {(new or {}).get('version')} now"
                            )
                        )
                        changes.append(f"plugin '{name}': {what}")
                msg = (
                    f"journal '{self.root}' was written with other plugin code ({'; '.join(changes)}), so its chunks "
                    "would mix old and new results; give another --journal folder (or delete this one) to start over"
                )
                raise ConfigError([ConfigIssue(msg, key="executor.journal")])
            if meta.get("chunks") != self.chunk_list:
                msg = (
                    f"journal '{self.root}' holds a job of {len(meta.get('chunks', []))} chunks, this one has "
                    f"{len(self.chunk_list)} different ones (another --chunk-size, or the input files changed); "
                    "run with the journal's chunk size to resume, or give another --journal folder"
                )
                raise ConfigError([ConfigIssue(msg, key="executor.journal")])
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            meta = {
                "version": VERSION,
                "config_hash": self.hash,
                "config": identity,
                "chunks": self.chunk_list,
                "plugins": code,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            _write_atomic(meta_path, json.dumps(meta, indent=1, default=json_default))
        self.meta = meta

    @property
    def parts_dir(self) -> Path:
        return self.root / "parts"

    def _chunk_dir(self, index: int) -> Path:
        return self.root / "chunks" / f"{index:05d}"

    def load(self) -> dict[int, ChunkResult]:
        """The finished chunks (whose output files are all still there)."""
        out: dict[int, ChunkResult] = {}
        base = self.root / "chunks"
        if not base.is_dir():
            return out
        for d in sorted(base.iterdir()):
            path = d / "result.json"
            if not path.is_file():
                continue
            try:
                doc = json.loads(path.read_text())
                hists = histograms_from_json(json.loads((d / "hists.json").read_text()))
            except (OSError, ValueError, KeyError):
                continue
            res = _result_from_json(doc, hists, self.root)
            sizes = doc.get("part_sizes") or {}
            bad = [p for _, _, p in res.parts if not _intact(Path(p), sizes.get(_rel(p, self.root)))]
            if bad:  # a part deleted or cut short since: run the chunk again rather than fail every merge
                log.warning(
                    "journal '%s': chunk %d's output %s is missing or truncated: running it again",
                    self.root,
                    res.index,
                    bad[0],
                )
                continue
            if res.index < len(self.chunk_list):
                out[res.index] = res
        return out

    def record(self, res: ChunkResult) -> None:
        """Record a finished chunk (its output files are already under ``parts/``)."""
        d = self._chunk_dir(res.index)
        d.mkdir(parents=True, exist_ok=True)
        _write_atomic(d / "hists.json", json.dumps(histograms_to_json(res.histograms)))
        doc = _result_to_json(res, self.root)
        doc["part_sizes"] = {_rel(p, self.root): Path(p).stat().st_size for _, _, p in res.parts if Path(p).is_file()}
        _write_atomic(d / "result.json", json.dumps(doc, default=json_default))

    def forget(self, index: int) -> None:
        """Remove what a chunk left before it runs (again)."""
        shutil.rmtree(self._chunk_dir(index), ignore_errors=True)

    def finish(self) -> None:
        self.meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        _write_atomic(self.root / "journal.json", json.dumps(self.meta, indent=1, default=json_default))


def _intact(path: Path, size: int | None) -> bool:
    """Whether a recorded part is still there with the size it had when its chunk finished."""
    if not path.exists():
        return False
    if size is None or path.is_dir():
        return True
    return path.stat().st_size == int(size)


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _result_to_json(r: ChunkResult, root: Path) -> dict[str, Any]:
    return {
        "index": r.index,
        "chunk": [r.chunk.file, r.chunk.start, r.chunk.stop],
        "events": r.events,
        "trig": trig_to_json(r.trig),
        "times": time_to_json(r.times),
        "parts": [[o, req, _rel(p, root)] for o, req, p in r.parts],
        "summaries": r.summaries,
        "output_summaries": r.output_summaries,
        "inputs": r.inputs,
        "skipped_inputs": r.skipped_inputs,
        "history": r.history,
        "worker": r.worker,
        "seq": r.seq,
        "seconds": r.seconds,
        "executor": r.executor,
        "attempts": r.attempts,
    }


def _result_from_json(d: dict[str, Any], hists: dict[str, dict[str, Any]], root: Path) -> ChunkResult:
    file, start, stop = d["chunk"]
    return ChunkResult(
        index=int(d["index"]),
        chunk=Chunk(int(start), int(stop), file),
        events=int(d["events"]),
        trig=trig_from_json(d["trig"]),
        times=time_from_json(d["times"]),
        histograms=hists,
        parts=[(o, req, str(p if os.path.isabs(p) else root / p)) for o, req, p in d["parts"]],
        summaries=d.get("summaries", {}),
        output_summaries=d.get("output_summaries", {}),
        inputs=list(d.get("inputs", [])),
        skipped_inputs=list(d.get("skipped_inputs", [])),
        history=list(d.get("history", [])),
        worker=str(d.get("worker", "")),
        seq=int(d.get("seq", 0)),
        seconds=float(d.get("seconds", 0.0)),
        executor=str(d.get("executor", "")),
        attempts=int(d.get("attempts", 1)),
    )
