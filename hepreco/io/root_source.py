"""This module defines RootSource: TTrees and RNTuples read lazily in batches with uproot, branches as products."""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import re
from collections.abc import Iterator
from typing import Any

import awkward as ak
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hepreco.core.events import EventIDs
from hepreco.core.module import SourceBatch
from hepreco.errors import did_you_mean
from hepreco.io._layout import ProductLayout, assemble
from hepreco.io._rootfile import NotInFile, _first_line, find_tree, open_root
from hepreco.io._source import FileInfo, FileSource, FileSourceConfig, sanitize
from hepreco.io.provenance import PROVENANCE_KEY, parse_document

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(B|[kKMGT]i?B)?\s*$")

__all__ = ["GroupSpec", "RootSource"]


class GroupSpec(BaseModel):
    """Branches that become one record product: by name prefix, by counter branch, or listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str | None = None
    """Every selected branch whose name starts with this (``Muon_``); the rest of the name is the field."""
    counter: str | None = None
    """Every selected jagged branch counted by this branch (``nhits``)."""
    branches: list[str] | None = None
    """These branches."""

    @model_validator(mode="after")
    def _one(self) -> GroupSpec:
        given = [k for k in ("prefix", "counter", "branches") if getattr(self, k)]
        if len(given) != 1:
            msg = "give exactly one of prefix, counter, branches"
            raise ValueError(msg)
        return self


class _UnsupportedBranch(ValueError):
    pass


def _match(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _is_glob(p: str) -> bool:
    return any(ch in p for ch in "*?[")


def _common_prefix(names: list[str]) -> str:
    """The longest common prefix of ``names`` that ends with ``_`` (``Muon_`` for Muon_pt, Muon_eta)."""
    if len(names) < 2:
        head, sep, _ = names[0].rpartition("_") if names else ("", "", "")
        return head + sep
    first, last = min(names), max(names)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    common = first[:i]
    cut = common.rfind("_")
    return common[: cut + 1] if cut >= 0 else ""


class RootSource(FileSource):
    """Read a TTree (or RNTuple) from one or many ROOT files with uproot, lazily, one batch at a time.

    Each branch becomes a product under the source's label (``source:Muon_pt``); branch names that are
    not identifiers are made so (``evt/P3.Px`` -> ``evt_P3_Px``). Jagged branches become jagged arrays,
    fixed-size arrays regular dimensions. ``groups`` (or ``auto_group``) put branches sharing a prefix or
    a counter into one record product (``Muon_pt``, ``Muon_eta`` + ``nMuon`` -> ``Muon`` with fields
    ``pt``, ``eta``). Files hepreco wrote come back as the products that were written, option types
    included, and their provenance is carried into this job's outputs.

    Run, subrun and event numbers come from branches when present (``run_branch``...), else are made up.
    Memory is set by the batch (``batch_size`` entries, or ``step_size`` bytes), not by the file.

    Examples:
        The H->ZZ sample, muons as one record product::

            source: {module: RootSource, files: uproot-HZZ.root, tree: events,
                     branches: ["Muon_*", "NMuon"], groups: {muons: Muon_}}
    """

    file_kind = "ROOT"

    class Config(FileSourceConfig):
        tree: str | None = None
        """The TTree or RNTuple to read (a path like ``dir/events`` works); by default the file's only one."""
        branches: list[str] = Field(default_factory=lambda: ["*"])
        """Branches to read, as names or glob patterns (``Muon_*``); for files hepreco wrote, product names."""
        exclude: list[str] = Field(default_factory=list)
        """Branches not to read (names or glob patterns), applied after ``branches``."""
        aliases: dict[str, str] = Field(default_factory=dict)
        """Products under another name: ``{product: branch}`` (``pt: Muon_pt``). Names only, never code."""
        groups: dict[str, str | GroupSpec] = Field(default_factory=dict)
        """Record products made of several branches: ``{product: prefix}`` or ``{product: {prefix|counter|branches: ...}}``.
        Jagged branches sharing a counter become a list of records (the counter is not a product then);
        flat ones a record per event."""
        auto_group: bool = False
        """Group every set of jagged branches sharing a counter (NanoAOD's ``nMuon`` + ``Muon_*``) into a record
        product named after their common prefix (``Muon``)."""
        read_threads: int | None = Field(None, ge=1)
        """Threads that decompress and interpret baskets while a batch is read (uproot's decompression and
        interpretation executors). Default: this process's thread budget (every core inline; cores // workers
        in the workers of ``processes`` and ``dask``: ``hepreco.core.threads.thread_budget``), at most 4;
        1 reads on the job's thread alone. The arrays are the same whatever the number."""
        step_size: int | str | None = None
        """Batch by memory instead of entries, e.g. ``"100 MB"`` (uproot's step_size; a bare number is entries);
        overrides ``batch_size``."""

        @field_validator("step_size")
        @classmethod
        def _check_step(cls, value: int | str | None) -> int | str | None:
            if value is None:
                return None
            if isinstance(value, int):
                if value <= 0:
                    raise ValueError(f"step_size {value}: give a positive number of entries or a size like '100 MB'")
                return value
            m = _SIZE.match(value)
            if m is None or float(m.group(1)) <= 0:
                msg = f"step_size {value!r}: give a size like '100 MB' (B, kB, MB, GB, KiB, MiB, GiB) or a number of entries"
                raise ValueError(msg)
            return value if m.group(2) else int(float(m.group(1)))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plan: dict[str, ProductLayout] = {}
        self._ids: dict[str, str | None] = {}
        self._read: list[str] = []  # every branch the job needs: the products' and the event ids'
        self._data_read: list[str] = []  # the products' branches, read with each batch (the ids on demand)
        self._types: dict[str, str] = {}
        self._tree_name: str | None = None
        self._written: dict[str, ProductLayout] = {}  # the products of a file hepreco wrote

    # --- Source API ------------------------------------------------------------------------------
    def products(self) -> tuple[str, ...]:
        self.scan()
        return tuple(self._plan)

    # --- inspecting files ------------------------------------------------------------------------
    def inspect_file(self, index: int, path: str, reference: FileInfo | None) -> FileInfo:
        with open_root(path) as f:
            tree = find_tree(f, path, self.config.tree)
            tname = tree.object_path.lstrip("/").rsplit(";", 1)[0] if hasattr(tree, "object_path") else tree.name
            doc = parse_document(str(f[PROVENANCE_KEY]), path) if PROVENANCE_KEY in f else None
            ntuple = "RNTuple" in type(tree).__name__
            if reference is None:
                self._tree_name = tname
                if self.job is not None:
                    self.job.input_tree = tname.rsplit("/", 1)[-1]
                self._make_plan(tree, path, tname, doc, ntuple)
            self._check(tree, path, tname, ntuple, reference)
            extra: dict[str, Any] = {"tree": tname, "bytes_per_entry": self._bytes_per_entry(tree, ntuple)}
            return FileInfo(index, path, int(tree.num_entries), doc, extra)

    def _bytes_per_entry(self, tree: Any, ntuple: bool) -> float:
        """Uncompressed bytes per entry of the branches the job reads, the event-id branches (a few bytes an
        entry, read besides) left out as uproot's ``step_size`` counts only the branches asked for (0 when
        unknown: an RNTuple's size is estimated from its compressed size)."""
        entries = int(tree.num_entries)
        if entries <= 0 or not self._read:
            return 0.0
        ids = {c for c in self._ids.values() if c}
        counted = [b for b in self._read if b not in ids] or self._read
        try:
            if ntuple:
                return 3.0 * float(tree.file.source.num_bytes or 0) / entries  # ~3x compression, whole file
            return float(sum(tree[b].uncompressed_bytes for b in counted)) / entries
        except Exception:  # a size uproot cannot tell: fall back to batch_size
            return 0.0

    def _keys(self, tree: Any, ntuple: bool) -> list[str]:
        return list(tree.keys()) if ntuple else list(tree.keys(recursive=True, full_paths=True))

    def _make_plan(self, tree: Any, path: str, tname: str, doc: dict[str, Any] | None, ntuple: bool) -> None:
        cfg = self.config
        where = f"{path}: tree '{tname}'"
        keys = self._keys(tree, ntuple)
        self._ids = self.id_columns(keys)
        for key, col in self._ids.items():
            if col is not None and col not in keys:
                msg = f"{where}: no {key} branch '{col}'{did_you_mean(col, keys)} ({key}_branch)"
                raise NotInFile(msg)
        self.publish_ids(self._ids)
        id_cols = {c for c in self._ids.values() if c}
        plan: dict[str, ProductLayout]
        if doc is not None and doc.get("tree") == tname and doc.get("products") is not None:
            plan = self._plan_written(doc, where, ntuple)
        elif ntuple:
            plan = self._plan_ntuple(tree, where, id_cols)
        else:
            plan = self._plan_tree(tree, where, id_cols)
        for product, branch in cfg.aliases.items():
            if product in plan and plan[product].fields != {"": branch}:
                msg = f"{where}: alias '{product}' is also the name of another product"
                raise ValueError(msg)
            if branch in self._written:  # a file hepreco wrote: rename one of its products
                plan.pop(branch, None)
                plan[product] = dataclasses.replace(self._written[branch], name=product)
                continue
            if branch not in keys:
                msg = f"{where}: no branch '{branch}'{did_you_mean(branch, keys)} (alias '{product}')"
                raise NotInFile(msg)
            plan[product] = ProductLayout(product, "native" if ntuple else "branch", {"": branch})
        self._plan = plan
        if not ntuple:
            self._publish_counters(tree, plan)
        self._data_read = list(dict.fromkeys(b for lay in plan.values() for b in lay.branches()))
        self._read = list(dict.fromkeys([*self._data_read, *(c for c in self._ids.values() if c)]))

    def _publish_counters(self, tree: Any, plan: dict[str, ProductLayout]) -> None:
        """Tell the job which single-branch jagged products share a counter in the input (NanoAOD's
        ``Muon_pt``, ``Muon_eta`` counted by ``nMuon``: ``JobContext.input_counters``), so that RootOutput
        writes them counted by that counter again and a skim keeps the input's structure."""
        if self.job is None:
            return
        for product, lay in plan.items():
            if lay.kind != "branch" or lay.valid:
                continue
            branch = lay.fields[""]
            try:
                counter = tree[branch].count_branch
            except Exception:  # not a branch of this tree (an alias of a product of a file hepreco wrote)
                continue
            if counter is not None:
                self.job.input_counters[f"{self.label}:{product}"] = counter.name

    def _selected(self, names: list[str], where: str, exclude: set[str]) -> list[str]:
        """``names`` that ``branches`` selects, less those ``exclude`` (the config's and the argument) and aliases name."""
        cfg = self.config
        missing = [f"'{p}'{did_you_mean(p, names)}" for p in cfg.branches if not _is_glob(p) and p not in names]
        if missing:
            what = "branch" if len(missing) == 1 else f"{len(missing)} branches:"
            msg = f"{where}: no {what} {'; '.join(missing)}"
            raise NotInFile(msg)
        aliased = set(cfg.aliases.values())
        return [
            n
            for n in names
            if _match(n, cfg.branches) and not _match(n, cfg.exclude) and n not in exclude and n not in aliased
        ]

    def _plan_written(self, doc: dict[str, Any], where: str, ntuple: bool) -> dict[str, ProductLayout]:
        layouts = {name: ProductLayout.from_json(name, data) for name, data in doc["products"].items()}
        self._written = layouts
        names = self._selected(list(layouts), where, set())
        return {n: layouts[n] for n in names}

    def _plan_ntuple(self, tree: Any, where: str, id_cols: set[str]) -> dict[str, ProductLayout]:
        names = self._selected([str(k) for k in tree.keys(recursive=False)], where, id_cols)
        plan: dict[str, ProductLayout] = {}
        for n in names:
            self._add(plan, sanitize(n), ProductLayout(sanitize(n), "native", {"": n}), where)
        return plan

    def _add(self, plan: dict[str, ProductLayout], name: str, layout: ProductLayout, where: str) -> None:
        if name in plan:
            msg = (
                f"{where}: two products would be named '{name}' ({plan[name].branches()} and {layout.branches()}); "
                "rename one with 'aliases' or leave one out with 'exclude'"
            )
            raise ValueError(msg)
        plan[name] = layout

    def _leaves(self, tree: Any, name: str) -> list[str]:
        branch = tree[name]
        if not branch.branches:
            return [name]
        return [leaf for sub in branch.branches for leaf in self._leaves(tree, f"{name}/{sub.name}")]

    def _plan_tree(self, tree: Any, where: str, id_cols: set[str]) -> dict[str, ProductLayout]:
        cfg = self.config
        keys = self._keys(tree, False)
        top = [b.name for b in tree.branches]
        explicit = [p for p in cfg.branches if not _is_glob(p) and "/" in p]
        names = self._selected(keys, where, id_cols)
        names = [n for n in names if n in top or n in explicit]
        # grouping branches (split objects) are read through their leaves
        names = list(dict.fromkeys(leaf for n in names for leaf in self._leaves(tree, n)))
        types = {n: self._type(tree, n, where) for n in names}
        counters = {n: (tree[n].count_branch.name if tree[n].count_branch is not None else None) for n in names}
        plan: dict[str, ProductLayout] = {}
        grouped: set[str] = set()
        dropped: set[str] = set()

        def group(product: str, members: list[str], how: str) -> None:
            if not members:
                msg = f"{where}: group '{product}': no selected branch {how}"
                raise NotInFile(msg)
            jagged = [m for m in members if types[m] == "list"]
            if jagged and len(jagged) != len(members):
                flat = next(m for m in members if types[m] != "list")
                msg = (
                    f"{where}: group '{product}': branch '{flat}' is not jagged like '{jagged[0]}', so they cannot "
                    "be one list of records; group them separately"
                )
                raise ValueError(msg)
            prefix = _common_prefix(members)
            fields = {sanitize(m.rsplit("/", 1)[-1][len(prefix) :] or m) if prefix else sanitize(m): m for m in members}
            if len(fields) != len(members):
                msg = f"{where}: group '{product}': branches {members} give clashing field names"
                raise ValueError(msg)
            if jagged:
                cnts = {c for m in members if (c := counters[m]) is not None}
                if len(cnts) > 1:
                    msg = (
                        f"{where}: group '{product}': its branches have different counters ({', '.join(sorted(cnts))})"
                    )
                    raise ValueError(msg)
                dropped.update(cnts)
            self._add(plan, product, ProductLayout(product, "list" if jagged else "record", fields), where)
            grouped.update(members)

        for product, spec in cfg.groups.items():
            if isinstance(spec, str):
                spec = GroupSpec(prefix=spec)
            free = [n for n in names if n not in grouped]
            if spec.prefix is not None:
                members = [n for n in free if n.startswith(spec.prefix) and n != spec.prefix]
                how = f"starts with '{spec.prefix}'"
            elif spec.counter is not None:
                if spec.counter not in keys:
                    msg = f"{where}: group '{product}': no counter branch '{spec.counter}'{did_you_mean(spec.counter, keys)}"
                    raise NotInFile(msg)
                members = [n for n in free if counters[n] == spec.counter]
                how = f"is counted by '{spec.counter}'"
            else:
                for b in spec.branches or []:
                    if b not in names:
                        msg = f"{where}: group '{product}': no selected branch '{b}'{did_you_mean(b, names)}"
                        raise NotInFile(msg)
                members = [n for n in free if n in (spec.branches or [])]
                how = "of those listed"
            group(product, members, how)
        if cfg.auto_group:
            by_counter: dict[str, list[str]] = {}
            for n in names:
                cnt = counters[n]
                if n not in grouped and cnt is not None and types[n] == "list":
                    by_counter.setdefault(cnt, []).append(n)
            for counter, members in by_counter.items():
                prefix = _common_prefix(members).rstrip("_")
                product = sanitize(prefix) if prefix else sanitize(counter.lstrip("nN") or counter)
                group(product, members, f"is counted by '{counter}'")
        for n in names:
            if n in grouped or n in dropped:
                continue
            self._add(plan, sanitize(n), ProductLayout(sanitize(n), "branch", {"": n}), where)
        return plan

    def _type(self, tree: Any, name: str, where: str) -> str:
        """``list`` (a jagged array of numbers), ``other``; raises for branches uproot cannot read as arrays."""
        import uproot

        branch = tree[name]
        interp = branch.interpretation
        try:
            if isinstance(interp, uproot.interpretation.identify.UnknownInterpretation):
                raise TypeError(str(interp).splitlines()[0])
            form = interp.awkward_form(branch.file)
        except Exception as err:
            msg = (
                f"{where}: branch '{name}' has type {branch.typename or type(interp).__name__}, which cannot be read "
                f"as an array ({type(err).__name__}: {_first_line(err)}); "
                "leave it out with 'exclude'"
            )
            raise _UnsupportedBranch(msg) from err
        t = form.type
        if isinstance(t, ak.types.ListType) and t.parameter("__array__") not in ("string", "bytestring"):
            return "list"
        return "other"

    def _check(self, tree: Any, path: str, tname: str, ntuple: bool, reference: FileInfo | None) -> None:
        """Every branch the job reads is in this file, readable, and of the first file's type."""
        where = f"{path}: tree '{tname}'"
        first = reference is None
        keys = set(self._keys(tree, ntuple))
        for b in self._read:
            if b not in keys:
                msg = f"{where}: no branch '{b}'{did_you_mean(b, keys)}"
                if reference is not None:
                    msg += f" (the first file, {reference.path}, has it)"
                raise NotInFile(msg)
            if ntuple:
                continue
            self._type(tree, b, where)
            typename = tree[b].typename
            if first:
                self._types[b] = typename
            elif self._types.get(b, typename) != typename:
                msg = (
                    f"{where}: branch '{b}' is {typename} here but {self._types[b]} in the first file "
                    f"({reference.path if reference is not None else '?'})"
                )
                raise _UnsupportedBranch(msg)

    # --- reading ---------------------------------------------------------------------------------
    def read_range(self, info: FileInfo, start: int, stop: int) -> Iterator[SourceBatch]:
        cfg = self.config
        step: int | str = cfg.step_size or self.entries_per_batch(float(info.extra.get("bytes_per_entry", 0.0)))
        tname = info.extra.get("tree") or self._tree_name
        where = f"{info.path}: tree '{tname}'"
        with open_root(info.path) as f, _read_pool(cfg.read_threads) as pool:
            tree = find_tree(f, info.path, tname)
            opened: list[Any] = [tree]  # the open tree, for the event ids read on demand while the file is open
            try:
                if not self._data_read:
                    size = int(cfg.batch_size)
                    for a in range(start, stop, size):
                        n = min(a + size, stop) - a
                        yield SourceBatch(self._ids_on_demand(info, tname, opened, a, n), {})
                    return
                executors = {} if pool is None else {"decompression_executor": pool, "interpretation_executor": pool}
                it = tree.iterate(
                    self._data_read, entry_start=start, entry_stop=stop, step_size=step, library="ak", how=dict,
                    **executors,
                )  # fmt: skip
                pos = start
                while True:
                    try:
                        arrays = next(it)
                    except StopIteration:
                        return
                    except Exception as err:
                        msg = (
                            f"{where}: cannot read entries {pos}..{stop} of branches {', '.join(self._data_read)}: "
                            f"{type(err).__name__}: {_first_line(err)}"
                        )
                        raise OSError(msg) from err
                    n = len(arrays[self._data_read[0]])
                    products = {
                        name: assemble(layout, arrays, f"{where}: product '{name}'")
                        for name, layout in self._plan.items()
                    }
                    yield SourceBatch(self._ids_on_demand(info, tname, opened, pos, n), products)
                    pos += n
            finally:
                opened.clear()

    def _ids_on_demand(self, info: FileInfo, tname: str | None, opened: list[Any], start: int, n: int) -> EventIDs:
        """The ids of entries ``start .. start + n``: numbered at once when the file has no id branches, else
        read from them the first time a module, an output or a message asks (most analyses never do, and the
        three branches can be a third of what a small-event job reads). They come from the tree still open
        for the chunk, or from the file opened again after it closed."""
        columns = self._ids
        names = list(dict.fromkeys(c for c in columns.values() if c))
        if not names:
            return self.make_ids(columns, {}, info, start, n)
        path = info.path

        def load() -> tuple[Any, Any, Any]:
            where = f"{path}: tree '{tname}'"
            try:
                if opened:
                    arrays = opened[0].arrays(names, entry_start=start, entry_stop=start + n, library="ak", how=dict)
                else:
                    with open_root(path) as f:
                        arrays = find_tree(f, path, tname).arrays(
                            names, entry_start=start, entry_stop=start + n, library="ak", how=dict
                        )
            except Exception as err:
                msg = (
                    f"{where}: cannot read the event ids ({', '.join(names)}) of entries {start}..{start + n}: "
                    f"{type(err).__name__}: {_first_line(err)}"
                )
                raise OSError(msg) from err
            ids = self.make_ids(columns, arrays, info, start, n)
            return ids.run, ids.subrun, ids.event

        return EventIDs.deferred(n, load)


#: the most threads RootSource decompresses with by default (more rarely help: a batch has few baskets per branch)
MAX_DEFAULT_READ_THREADS = 4


@contextlib.contextmanager
def _read_pool(threads: int | None) -> Iterator[Any]:
    """uproot's thread pool for reading one chunk (None: read on this thread), shut down when it ends."""
    import uproot

    from hepreco.core.threads import thread_budget

    n = threads if threads is not None else min(thread_budget(), MAX_DEFAULT_READ_THREADS)
    if n <= 1:
        yield None
        return
    pool = uproot.source.futures.ThreadPoolExecutor(n)
    try:
        yield pool
    finally:
        pool.shutdown()
