"""This module opens ROOT files with uproot and turns uproot's low-level failures into messages that
name the file, the tree and the branch (missing file, not ROOT, truncated, missing tree or branch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hepreco.errors import did_you_mean

__all__ = ["TREE_CLASSES", "NotInFile", "find_tree", "is_local", "open_root", "trees_in"]

TREE_CLASSES = ("TTree", "ROOT::RNTuple", "ROOT::Experimental::RNTuple")


class NotInFile(KeyError):
    """A tree, branch or column that a file lacks; the message names the file, the tree and the nearest names."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence
        return str(self.args[0])


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _check_local(path: str) -> None:
    p = Path(path.removeprefix("file://"))
    if not p.exists():
        msg = f"{path}: no such file"
        raise FileNotFoundError(msg)
    if p.is_dir():
        msg = f"{path}: is a directory, not a ROOT file"
        raise IsADirectoryError(msg)
    with open(p, "rb") as fh:
        head = fh.read(20)
    if head[:4] != b"root":
        what = "a Parquet file (read it with ParquetSource)" if head[:4] == b"PAR1" else "not a ROOT file"
        msg = f"{path}: {what}: it does not start with ROOT's 'root' signature"
        raise OSError(msg)
    if len(head) < 16:
        msg = f"{path}: truncated ROOT file: only {len(head)} bytes"
        raise OSError(msg)
    version = int.from_bytes(head[4:8], "big")
    fend = int.from_bytes(head[12:20], "big") if version >= 1_000_000 else int.from_bytes(head[12:16], "big")
    size = p.stat().st_size
    if size < fend:
        msg = (
            f"{path}: truncated ROOT file: its header says it ends at byte {fend} but it has {size} bytes "
            "(a copy cut short, or a job that died while writing it)"
        )
        raise OSError(msg)


def open_root(path: str, **options: Any) -> Any:
    """``uproot.open(path)`` with checks first for local files; every failure is an OSError naming the file."""
    import uproot

    if is_local(path):
        _check_local(path)
    try:
        return uproot.open(path, **options)
    except FileNotFoundError as err:
        msg = f"{path}: no such file ({err})"
        raise FileNotFoundError(msg) from err
    except Exception as err:
        msg = f"{path}: cannot be opened as a ROOT file: {type(err).__name__}: {_first_line(err)}"
        raise OSError(msg) from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def trees_in(f: Any) -> dict[str, str]:
    """``{name: class}`` of every TTree and RNTuple in an open file (subdirectories included)."""
    out: dict[str, str] = {}
    for key, cls in f.classnames().items():
        if cls in TREE_CLASSES:
            out.setdefault(key.rsplit(";", 1)[0], cls)
    return out


def find_tree(f: Any, path: str, name: str | None) -> Any:
    """The TTree or RNTuple ``name`` of open file ``f`` (the only one when ``name`` is None)."""
    trees = trees_in(f)
    if name is None:
        if len(trees) == 1:
            return f[next(iter(trees))]
        if not trees:
            msg = f"{path}: holds no TTree or RNTuple (objects: {', '.join(_keys(f)) or 'none'})"
            raise NotInFile(msg)
        msg = f"{path}: holds several trees ({', '.join(sorted(trees))}); name one with 'tree'"
        raise NotInFile(msg)
    if name not in trees:
        msg = (
            f"{path}: no TTree or RNTuple '{name}'{did_you_mean(name, trees)}; "
            f"trees in the file: {', '.join(sorted(trees)) or 'none'}"
        )
        raise NotInFile(msg)
    return f[name]


def _keys(f: Any) -> list[str]:
    return sorted({k.rsplit(";", 1)[0] for k in f.keys(recursive=False)})
