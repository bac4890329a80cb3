"""This module brings training data in: products of a job run on the fly, or columns of files a job wrote.

- :func:`iter_job` runs a job config and yields each batch's requested products as the job goes
  (the job's own modules make them: the same code that will later run the trained model).
- :func:`iter_files` reads the same products back from ROOT (TTree or RNTuple) or Parquet files.
- :class:`ExampleBuilder` turns a batch of products into examples (numpy arrays, one row per event or,
  flattened, per element such as a hit) and :func:`load_examples` splits them into train / valid / test
  by the events' hash (:mod:`hepreco.ml.split`).
"""

from __future__ import annotations

import copy
import glob
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np

from hepreco.core.module import SourceBatch
from hepreco.errors import ConfigError, ConfigIssue
from hepreco.io.columns import MissingColumn, iter_files
from hepreco.ml.spec import TrainData
from hepreco.ml.split import SPLITS, split_index

if TYPE_CHECKING:
    from hepreco.config.loader import ResolvedConfig
    from hepreco.core.build import JobPlan
    from hepreco.ml.config import DataConfig
    from hepreco.plugins import Registry

__all__ = [
    "COLLECT_LABEL",
    "DataBatch",
    "ExampleBuilder",
    "MissingColumn",
    "StreamingData",
    "iter_data",
    "iter_files",
    "iter_job",
    "load_examples",
]

COLLECT_LABEL = "_ml_collect"
STREAM_PATH = "_ml_stream"
ML_PLUGIN = "hepreco.ml.plugin"


#: one batch of events: their ids and the requested products (name -> awkward array)
DataBatch = SourceBatch


# --- a job run on the fly ----------------------------------------------------------------------------
def _inject(resolved: ResolvedConfig, products: Sequence[str], select: Sequence[str]) -> ResolvedConfig:
    from hepreco.config.loader import ResolvedConfig

    data = copy.deepcopy(resolved.data)
    plugins = data.get("plugins") or []
    if isinstance(plugins, list) and ML_PLUGIN not in plugins:
        data["plugins"] = [*plugins, ML_PLUGIN]
    modules = data.get("modules") or {}
    if isinstance(modules, dict):
        modules = dict(modules)
        modules[COLLECT_LABEL] = {"module": "ml.ProductStream", "products": list(products), "select": list(select)}
        data["modules"] = modules
    end_paths = data.get("end_paths") or {}
    if isinstance(end_paths, dict):
        data["end_paths"] = {**end_paths, STREAM_PATH: [COLLECT_LABEL]}
    return ResolvedConfig(data, dict(resolved.origins), resolved.file)


def _rewrite(err: ConfigError, resolved: ResolvedConfig, products: Sequence[str]) -> ConfigError:
    issues = []
    for issue in err.issues:
        if issue.label != COLLECT_LABEL:
            issues.append(issue)
            continue
        key = issue.key.removeprefix(f"modules.{COLLECT_LABEL}.")
        msg = issue.message.replace("consumes", "training asks for", 1)
        if key.startswith("products."):
            idx = int(key.split(".")[1])
            key = f"products.{idx}"
            msg = f"product '{products[idx]}': {msg}" if idx < len(products) else msg
        issues.append(ConfigIssue(msg, key=key, file=resolved.file or issue.file))
    return ConfigError(issues)


def prepare_job(
    config: str | os.PathLike[str] | Mapping[str, Any] | ResolvedConfig,
    products: Sequence[str],
    *,
    events: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str | tuple[str, Any]] = (),
    select: Sequence[str] = (),
    registry: Registry | None = None,
) -> JobPlan:
    """The checked plan of ``config`` with a collector of ``products`` on an extra end path.

    Raises ConfigError; a problem with a requested product has key ``products.N``.
    """
    from hepreco._api import prepare
    from hepreco.config.loader import ResolvedConfig, load_config
    from hepreco.plugins import get_registry

    if isinstance(config, ResolvedConfig):
        from hepreco.config.loader import apply_overrides

        resolved = apply_overrides(config, overrides=overrides, events=events, seed=seed)
    else:
        resolved = load_config(
            config if isinstance(config, Mapping) else Path(config), overrides=overrides, events=events, seed=seed
        )
    injected = _inject(resolved, products, select)
    try:
        return prepare(injected, quiet=True, registry=registry or get_registry())
    except ConfigError as err:
        raise _rewrite(err, resolved, products) from None


def drive(plan: JobPlan) -> Iterator[DataBatch]:
    """Run a plan made by :func:`prepare_job` batch by batch, yielding what its collector saw.

    The job runs through hepreco's job loop (:class:`hepreco.core.loop.JobLoop`), as ``hepreco run`` runs
    it: begin_job, batches, end_job, outputs committed at the end. Closing the iterator early ends the job
    as a failed one: its outputs are not kept.
    """
    from hepreco.core.chunks import plan_chunks
    from hepreco.core.loop import JobLoop

    collector = plan.modules[COLLECT_LABEL]
    loop = JobLoop(plan)
    done_ok = False
    try:
        loop.begin()
        chunks = plan_chunks(plan.source, limit=plan.source.config.events)
        for _batch in loop.run(chunks, limit=plan.source.config.events):
            yield from collector.drain()  # type: ignore[attr-defined]
        loop.end()
        plan.job.commit()
        done_ok = True
    finally:
        if not done_ok:
            loop.abort()


def iter_job(
    config: str | os.PathLike[str] | Mapping[str, Any] | ResolvedConfig,
    products: Sequence[str],
    *,
    events: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str | tuple[str, Any]] = (),
    select: Sequence[str] = (),
    registry: Registry | None = None,
) -> Iterator[DataBatch]:
    """Run a job and yield, batch by batch, the products named in ``products`` (InputTag strings).

    The job is checked first (every problem at once, as ``hepreco run`` does; a requested product
    the job does not make is named with the nearest ones). Producers that are on no path but make a
    requested product run, as for any consumer.

    Args:
        config: a job config file, YAML text, a mapping or a ResolvedConfig.
        products: the products to collect, e.g. ``["imager:image", "source:truth"]``.
        events: like ``-n``.
        seed: like ``--seed``.
        overrides: like ``--set``.
        select: only events that passed these trigger paths.
        registry: the plugin registry (default: the process-wide one).

    Examples:
        >>> for batch in iter_job({"source": {"module": "EmptySource", "events": 5, "batch_size": 2}}, []):
        ...     print(len(batch), batch.ids.event.tolist())
        2 [1, 2]
        2 [3, 4]
        1 [5]
    """
    plan = prepare_job(
        config, products, events=events, seed=seed, overrides=overrides, select=select, registry=registry
    )
    yield from drive(plan)


# --- files a job wrote ----------------------------------------------------------------------------
def expand_files(specs: Sequence[str], base_dir: Path | None = None) -> list[str]:
    """Paths and glob patterns → existing files, globs sorted; relative to ``base_dir`` then the cwd."""
    out: list[str] = []
    for spec in specs:
        spec = os.path.expanduser(spec)
        candidates = [Path(spec)] if os.path.isabs(spec) else [*([base_dir / spec] if base_dir else []), Path(spec)]
        found: list[str] = []
        for cand in candidates:
            if any(ch in spec for ch in "*?["):
                found = sorted(glob.glob(str(cand)))
            elif cand.exists():
                found = [str(cand)]
            if found:
                break
        if not found:
            raise FileNotFoundError(
                f"{spec}: no such file" + (f" (looked in {base_dir} and the working directory)" if base_dir else "")
            )
        out.extend(found)
    return out


# --- batches -> examples --------------------------------------------------------------------------
def _is_jagged(arr: ak.Array) -> bool:
    t = arr.type.content
    while isinstance(t, ak.types.OptionType):
        t = t.content
    return isinstance(t, ak.types.ListType)


@dataclass
class ExampleBuilder:
    """Turns the products of a batch into raw examples, as ``data:`` of a training config says.

    Args:
        inputs: model input name → product (or a list of products stacked along a new last axis).
        target, mask, weight: the products of the target, loss mask and weights (optional).
        flatten: examples are the elements of jagged products (e.g. hits), not the events.
        keys: product → config key, for messages.
    """

    inputs: dict[str, str | list[str]]
    target: str | None = None
    mask: str | None = None
    weight: str | None = None
    flatten: bool = False
    keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: DataConfig, *, need_target: bool = True) -> ExampleBuilder:
        keys: dict[str, str] = {}
        for name, value in cfg.inputs.items():
            if isinstance(value, list):
                for i, v in enumerate(value):
                    keys.setdefault(v, f"data.inputs.{name}.{i}")
            else:
                keys.setdefault(value, f"data.inputs.{name}")
        for role in ("target", "mask", "weight"):
            v = getattr(cfg, role)
            if v is not None:
                keys.setdefault(v, f"data.{role}")
        return cls(
            dict(cfg.inputs),
            cfg.target if need_target else None,
            cfg.mask,
            cfg.weight,
            cfg.flatten,
            keys,
        )

    @property
    def products(self) -> list[str]:
        """Every product to read, each once."""
        names: list[str] = []
        for value in self.inputs.values():
            names.extend(value if isinstance(value, list) else [value])
        names.extend(v for v in (self.target, self.mask, self.weight) if v is not None)
        return list(dict.fromkeys(names))

    def _numpy(self, name: str, arr: ak.Array) -> np.ndarray:
        try:
            return np.asarray(ak.to_numpy(arr, allow_missing=False))
        except (ValueError, TypeError) as err:
            key = self.keys.get(name, name)
            hint = (
                ""
                if self.flatten
                else ": set data.flatten: true to train on its elements (hits), or make it fixed-size"
            )
            msg = f"{key}: product '{name}' of type {arr.type.content} is not a fixed-size array per example{hint}"
            raise ValueError(msg) from err

    def build(self, batch: DataBatch) -> TrainData:
        """Raw examples (not preprocessed) of one batch, with each example's event ids.

        Events where any product is missing (None, e.g. made after a filter that rejected them) are
        left out.
        """
        prods = dict(batch.products)
        n = len(batch.ids)
        keep = np.ones(n, dtype=bool)
        for arr in prods.values():
            if isinstance(arr.type.content, ak.types.OptionType):
                keep &= ~np.asarray(ak.is_none(arr, axis=0))
        ids = np.stack(
            [batch.ids.run.astype(np.uint64), batch.ids.subrun.astype(np.uint64), batch.ids.event.astype(np.uint64)],
            axis=1,
        )
        if not keep.all():
            prods = {k: ak.drop_none(v[keep], axis=0) for k, v in prods.items()}
            ids = ids[keep]
        if self.flatten:
            counts = None
            first = None
            for name, arr in prods.items():
                if not _is_jagged(arr):
                    key = self.keys.get(name, name)
                    msg = (
                        f"{key}: data.flatten is set but product '{name}' ({arr.type.content}) is not a list per event"
                    )
                    raise ValueError(msg)
                c = np.asarray(ak.num(arr, axis=1))
                if counts is None:
                    counts, first = c, name
                elif not np.array_equal(c, counts):
                    bad = int(np.flatnonzero(c != counts)[0])
                    msg = (
                        f"data.flatten: products '{first}' and '{name}' have different numbers of entries per event "
                        f"(event {int(ids[bad, 2])}: {int(counts[bad])} and {int(c[bad])})"
                    )
                    raise ValueError(msg)
            prods = {k: ak.flatten(v, axis=1) for k, v in prods.items()}
            ids = np.repeat(ids, counts if counts is not None else 0, axis=0)
        arrays = {k: self._numpy(k, v) for k, v in prods.items()}
        inputs = {}
        for iname, value in self.inputs.items():
            if isinstance(value, list):
                cols = [arrays[v] for v in value]
                if all(c.ndim == 1 for c in cols):
                    inputs[iname] = np.stack(cols, axis=-1)
                else:
                    inputs[iname] = np.concatenate([c.reshape(len(c), -1) for c in cols], axis=-1)
            else:
                inputs[iname] = arrays[value]
        return TrainData(
            inputs,
            arrays.get(self.target) if self.target else None,
            arrays.get(self.mask) if self.mask else None,
            arrays.get(self.weight) if self.weight else None,
            ids,
        )


def flatten_overrides(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``data.set`` as ``(key.path, value)`` overrides: nested mappings (what ``--set data.set.a.b=1`` makes)
    are walked down to their leaves, so they set one key each instead of replacing a whole section.

    Examples:
        >>> flatten_overrides({"modules": {"imager": {"layout": "wire"}}, "source.events": 10})
        [('modules.imager.layout', 'wire'), ('source.events', 10)]
    """
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out += flatten_overrides(value, path)
        else:
            out.append((path, value))
    return out


def job_path(cfg: DataConfig, base_dir: Path | None) -> Path:
    """The data job's config file: ``data.job`` relative to the training config's folder where it is there,
    else as given (the working directory)."""
    assert cfg.job is not None
    job = Path(cfg.job)
    if not job.is_absolute() and base_dir is not None and (base_dir / job).exists():
        return base_dir / job
    return job


def iter_data(
    cfg: DataConfig, *, base_dir: Path | None, products: Sequence[str], registry: Registry | None = None
) -> Iterator[DataBatch]:
    """The batches a training config's ``data:`` names: a job run now, or files."""
    if cfg.job is not None:
        job = job_path(cfg, base_dir)
        overrides = flatten_overrides(cfg.set)
        yield from iter_job(
            job, products, events=cfg.events, seed=cfg.seed, overrides=overrides, select=cfg.select, registry=registry
        )
    else:
        files = expand_files(cfg.files or [], base_dir)
        yield from iter_files(files, products, tree=cfg.tree, step_size=cfg.step_size)


def split_examples(data: TrainData, cfg: DataConfig) -> dict[str, TrainData]:
    """``{"train": ..., "valid": ..., "test": ...}`` by the hash of each example's event ids."""
    assert data.ids is not None
    s = split_index(data.ids[:, 0], data.ids[:, 1], data.ids[:, 2], cfg.split.fractions, salt=cfg.split.salt)
    return {name: data.take(np.flatnonzero(s == i)) for i, name in enumerate(SPLITS)}


def load_examples(
    cfg: DataConfig,
    builder: ExampleBuilder,
    *,
    base_dir: Path | None = None,
    splits: Sequence[str] = SPLITS,
    registry: Registry | None = None,
) -> dict[str, TrainData]:
    """Every example of ``cfg``'s data, raw, split into ``splits`` (the others are dropped as they come)."""
    parts: dict[str, list[TrainData]] = {s: [] for s in splits}
    for batch in iter_data(cfg, base_dir=base_dir, products=builder.products, registry=registry):
        for name, part in split_examples(builder.build(batch), cfg).items():
            if name in parts and len(part):
                parts[name].append(part)
    out = {}
    for name, items in parts.items():
        out[name] = TrainData.concat(items) if items else _empty_like(builder)
    return out


def _empty_like(builder: ExampleBuilder) -> TrainData:
    return TrainData({k: np.zeros((0,)) for k in builder.inputs}, None, None, None, np.zeros((0, 3), np.uint64))


class StreamingData:
    """Training data made as training goes: every epoch runs the job again (``data.cache: false``).

    The training examples of each job batch are yielded as they come (shuffled within the batch by
    the trainer); the validation and test examples of the first complete pass are kept in memory.

    Args:
        make_batches: ``() -> iterator of DataBatch`` (a fresh job run each call).
        builder: batches → raw examples.
        cfg: the data config (its split).
        transform: raw examples → model-ready examples (the fitted preprocessing), set before training.
    """

    def __init__(
        self,
        make_batches: Callable[[], Iterator[DataBatch]],
        builder: ExampleBuilder,
        cfg: DataConfig,
        transform: Callable[[TrainData], TrainData] | None = None,
    ) -> None:
        self.make_batches = make_batches
        self.builder = builder
        self.cfg = cfg
        self.transform = transform
        self.held: dict[str, TrainData] | None = None
        self.n_train: int | None = None
        #: optimizer steps per epoch, estimated before the first pass (for the learning-rate schedule)
        self.steps_hint: int | None = None

    def _pass(self) -> Iterator[TrainData]:
        held: dict[str, list[TrainData]] = {"valid": [], "test": []}
        n = 0
        for batch in self.make_batches():
            parts = split_examples(self.builder.build(batch), self.cfg)
            for name in held:
                if len(parts[name]):
                    held[name].append(parts[name])
            n += len(parts["train"])
            if len(parts["train"]):
                yield parts["train"]
        if self.held is None:
            self.held = {k: (TrainData.concat(v) if v else _empty_like(self.builder)) for k, v in held.items()}
            self.n_train = n

    def raw_sample(self, max_examples: int) -> TrainData:
        """Up to ``max_examples`` raw training examples from the start of a pass (to fit preprocessing)."""
        got: list[TrainData] = []
        n = 0
        it = self._pass()
        try:
            for part in it:
                got.append(part)
                n += len(part)
                if n >= max_examples:
                    break
        finally:
            it.close()  # type: ignore[attr-defined]
        return TrainData.concat(got) if got else _empty_like(self.builder)

    def chunks(self, epoch: int = 0) -> Iterator[TrainData]:
        for part in self._pass():
            yield self.transform(part) if self.transform else part

    def held_out(self, which: str) -> TrainData:
        """The (transformed) validation or test examples, from the first complete pass."""
        if self.held is None:
            for _ in self._pass():
                pass
        assert self.held is not None
        data = self.held[which]
        return self.transform(data) if self.transform and len(data) else data

    def materialize(self) -> TrainData:
        return TrainData.concat(list(self.chunks()))

    def __len__(self) -> int:
        if self.n_train is None:
            for _ in self._pass():
                pass
        return int(self.n_train or 0)


class HeldOut:
    """A lazily made validation/test sample of a :class:`StreamingData` (same methods as TrainData)."""

    def __init__(self, stream: StreamingData, which: str) -> None:
        self.stream = stream
        self.which = which

    def materialize(self) -> TrainData:
        return self.stream.held_out(self.which)

    def chunks(self, epoch: int = 0) -> Iterator[TrainData]:
        yield self.materialize()

    def __len__(self) -> int:
        return len(self.materialize())
