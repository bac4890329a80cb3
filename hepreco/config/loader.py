"""This module loads job configs: YAML with a safe loader, includes, command-line overrides, and origins.

Every value remembers where it came from (file and line, or the flag that set it), so errors and
``hepreco config --annotate`` can say so.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hepreco.errors import ConfigError, ConfigIssue

__all__ = ["Origin", "ResolvedConfig", "apply_overrides", "load_config", "parse_override"]


@dataclass(frozen=True)
class Origin:
    """Where a config value was set: a file and line, or a flag such as ``--set``."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass
class ResolvedConfig:
    """A job config after includes and overrides.

    Attributes:
        data: the merged config as plain Python data.
        origins: key path (``modules.hitid.threshold``) → where its value was set.
        file: the main config file (None for a config given as a dict).
    """

    data: dict[str, Any]
    origins: dict[str, Origin] = field(default_factory=dict)
    file: str | None = None

    @property
    def base_dir(self) -> Path:
        return Path(self.file).resolve().parent if self.file else Path.cwd()

    def origin(self, key: str) -> Origin | None:
        """Where ``key`` (or its nearest parent that has an origin) was set."""
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key.rpartition(".")[0]
        return None

    def issue(self, message: str, key: str = "", label: str | None = None) -> ConfigIssue:
        """A ConfigIssue at ``key``, with the file and line that set it."""
        o = self.origin(key) if key else None
        file = o.file if o else self.file
        return ConfigIssue(message, key=key, file=file, line=o.line if o else None, label=label)


#: the most values a config may expand to through YAML aliases ("billion laughs" files are refused)
MAX_YAML_VALUES = 100_000
#: keys down to this depth (``modules.LABEL.PARAM``) are names and must be strings
_NAME_DEPTH = 3
_STR_TAG = "tag:yaml.org,2002:str"


def _check_graph(node: yaml.Node, file: str) -> None:
    """Refuse YAML whose aliases make it recursive or expand it beyond ``MAX_YAML_VALUES`` values."""
    count = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        n, leaving = stack.pop()
        if leaving:
            on_path.discard(id(n))
            continue
        count += 1
        if count > MAX_YAML_VALUES:
            msg = (
                f"the config expands to more than {MAX_YAML_VALUES} values through aliases ('*name'): refused "
                "(a file that grows without end, like YAML's 'billion laughs')"
            )
            raise ConfigError([ConfigIssue(msg, file=file, line=n.start_mark.line + 1)])
        if isinstance(n, yaml.MappingNode | yaml.SequenceNode):
            if id(n) in on_path:
                msg = "a recursive alias: an anchor ('&name') is used inside its own value ('*name')"
                raise ConfigError([ConfigIssue(msg, file=file, line=n.start_mark.line + 1)])
            on_path.add(id(n))
            stack.append((n, True))
            children = [x for kv in n.value for x in kv] if isinstance(n, yaml.MappingNode) else list(n.value)
            stack.extend((c, False) for c in reversed(children))


def _record(node: yaml.Node, prefix: str, file: str, out: dict[str, Origin], depth: int = 1) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            line = knode.start_mark.line + 1
            if knode.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *base': the keys beside it override the merged ones; not duplicates
            key = str(knode.value)
            path = f"{prefix}.{key}" if prefix else key
            if depth <= _NAME_DEPTH and (knode.tag != _STR_TAG or not isinstance(knode, yaml.ScalarNode)):
                kind = knode.tag.rsplit(":", 1)[-1] if isinstance(knode, yaml.ScalarNode) else "collection"
                msg = (
                    f"key '{key}' is read as a {kind}, not a name: quote it ('{key}': ...)"
                    if isinstance(knode, yaml.ScalarNode)
                    else "a key that is a list or mapping: keys here are names"
                )
                raise ConfigError([ConfigIssue(msg, key=path, file=file, line=line)])
            if key in seen:
                msg = f"duplicate key '{key}' (first at line {seen[key]}): YAML would silently keep only the last"
                raise ConfigError([ConfigIssue(msg, key=path, file=file, line=line)])
            seen[key] = line
            out[path] = Origin(file, knode.start_mark.line + 1)
            _record(vnode, path, file, out, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, vnode in enumerate(node.value):
            path = f"{prefix}.{i}"
            out[path] = Origin(file, vnode.start_mark.line + 1)
            _record(vnode, path, file, out, depth + 1)


def _read_yaml(text: str, file: str) -> tuple[Any, dict[str, Origin]]:
    loader = yaml.SafeLoader(text)
    origins: dict[str, Origin] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        _check_graph(node, file)  # before anything walks it: recursive and exploding aliases
        _record(node, "", file, origins)  # before construction flattens '<<' merges; refuses duplicate keys
        data = loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError([ConfigIssue(f"not valid YAML: {problem}", file=file, line=line)]) from err
    finally:
        loader.dispose()
    return data, origins


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(dict(out[k]), v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load_file(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, Origin]]:
    path = path.resolve()
    shown = str(path)
    if path in stack:
        chain = " -> ".join(str(p) for p in (*stack, path))
        raise ConfigError([ConfigIssue(f"include cycle: {chain}", key="include", file=str(stack[-1]))])
    try:
        text = path.read_text()
    except FileNotFoundError:
        where = str(stack[-1]) if stack else None
        msg = f"config file '{shown}' does not exist"
        raise ConfigError([ConfigIssue(msg, key="include" if stack else "", file=where)]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ConfigError([ConfigIssue(f"cannot read config file '{shown}': {err}", file=shown)]) from err
    data, origins = _read_yaml(text, shown)
    if not isinstance(data, dict):
        msg = f"a job config is a mapping of keys (process, source, modules, ...), not {type(data).__name__}"
        raise ConfigError([ConfigIssue(msg, file=shown, line=1)])
    return _apply_includes(data, origins, path.parent, (*stack, path), shown)


def _apply_includes(
    data: dict[str, Any], origins: dict[str, Origin], base_dir: Path, stack: tuple[Path, ...], shown: str
) -> tuple[dict[str, Any], dict[str, Origin]]:
    inc = data.pop("include", None)
    if inc is None:
        return data, origins
    origins = {k: v for k, v in origins.items() if k != "include" and not k.startswith("include.")}
    files = [inc] if isinstance(inc, str) else inc
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ConfigError([ConfigIssue("'include' is a file name or a list of file names", key="include", file=shown)])
    merged: dict[str, Any] = {}
    merged_origins: dict[str, Origin] = {}
    for f in files:
        sub, sub_origins = _load_file(base_dir / f, stack)
        merged = _deep_merge(merged, sub)
        merged_origins.update(sub_origins)
    merged = _deep_merge(merged, data)
    # the including file's values win: a value it sets that is not a mapping replaces what the
    # included files said below that key
    replaced = [k for k in origins if not isinstance(_get_path(data, k), dict)]
    for key in replaced:
        for k in [k for k in merged_origins if k.startswith(key + ".") and k not in origins]:
            del merged_origins[k]
    merged_origins.update(origins)
    return merged, merged_origins


def _get_path(data: Any, key: str) -> Any:
    cur = data
    for part in key.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def parse_override(text: str) -> tuple[str, Any]:
    """``"modules.hitid.threshold=0.9"`` → ``("modules.hitid.threshold", 0.9)`` (value read as YAML)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        msg = f"--set {text!r}: expected KEY.PATH=VALUE, e.g. --set modules.hitid.threshold=0.9"
        raise ConfigError([ConfigIssue(msg, file="--set")])
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as err:
        raise ConfigError(
            [ConfigIssue(f"--set {text!r}: value is not valid YAML: {err}", key=key, file="--set")]
        ) from err
    return key, parsed


def set_path(data: dict[str, Any], key: str, value: Any, origins: dict[str, Origin], origin: Origin) -> None:
    """Set ``data[a][b][c] = value`` for ``key = "a.b.c"`` (creating mappings; numeric parts index lists).

    A part that is not a list index where the value is a list, or an index past the list's end (the length
    itself appends), is a ConfigError naming the key."""
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(
            [ConfigIssue(f"{origin.file} {key}: an empty part in the key path", key=key, file=origin.file)]
        )

    def index(lst: list[Any], part: str, upto: int, *, append: bool) -> int:
        where = ".".join(parts[:upto]) or "(top)"
        valid = f"0..{len(lst) - 1}" if lst else "none"
        if append:
            valid += f", or {len(lst)} to append"
        if not part.isdigit():
            msg = f"{origin.file} {key}: '{where}' is a list of {len(lst)}: give an index ({valid}), not '{part}'"
            raise ConfigError([ConfigIssue(msg, key=key, file=origin.file)])
        idx = int(part)
        if idx > len(lst) or (idx == len(lst) and not append):
            msg = f"{origin.file} {key}: '{where}' has {len(lst)} entries: index {idx} is out of range ({valid})"
            raise ConfigError([ConfigIssue(msg, key=key, file=origin.file)])
        return idx

    cur: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt_is_index = parts[i + 1].isdigit()
        if isinstance(cur, list):
            cur = cur[index(cur, part, i, append=False)]
            if not isinstance(cur, dict | list):
                msg = f"{origin.file} {key}: '{'.'.join(parts[: i + 1])}' is {cur!r}, which has no '{parts[i + 1]}'"
                raise ConfigError([ConfigIssue(msg, key=key, file=origin.file)])
            continue
        if part not in cur or cur[part] is None or not isinstance(cur[part], dict | list):
            cur[part] = [] if nxt_is_index else {}
        cur = cur[part]
    last = parts[-1]
    if isinstance(cur, list):
        idx = index(cur, last, len(parts) - 1, append=True)
        if idx == len(cur):
            cur.append(value)
        else:
            cur[idx] = value
    else:
        cur[last] = value
    for k in [k for k in origins if k == key or k.startswith(key + ".")]:
        del origins[k]
    origins[key] = origin


def load_config(
    config: str | Path | Mapping[str, Any],
    *,
    overrides: Sequence[str | tuple[str, Any]] = (),
    events: int | None = None,
    seed: int | None = None,
) -> ResolvedConfig:
    """Load a job config from a YAML file (or a mapping), apply includes and overrides.

    Args:
        config: a path to a YAML file, YAML text (a string with a newline), or a mapping.
        overrides: ``"key.path=value"`` strings (``--set``) or ``(key, value)`` pairs, applied in order.
        events: ``-n/--events``: sets ``source.events``.
        seed: ``--seed``: sets the top-level ``seed``.
    """
    if isinstance(config, Mapping):
        data, origins = _apply_includes(copy.deepcopy(dict(config)), {}, Path.cwd(), (), "<dict>")
        origins = {**{k: Origin("<dict>") for k in data}, **origins}
        file = None
    elif isinstance(config, str) and "\n" in config:
        data, origins = _read_yaml(config, "<string>")
        if not isinstance(data, dict):
            raise ConfigError([ConfigIssue("a job config is a mapping of keys", file="<string>")])
        data, origins = _apply_includes(data, origins, Path.cwd(), (), "<string>")
        file = None
    else:
        path = Path(config)
        data, origins = _load_file(path, ())
        file = str(path)
    return apply_overrides(
        ResolvedConfig(data, origins, file), overrides=overrides, events=events, seed=seed, copy_=False
    )


def apply_overrides(
    resolved: ResolvedConfig,
    *,
    overrides: Sequence[str | tuple[str, Any]] = (),
    events: int | None = None,
    seed: int | None = None,
    copy_: bool = True,
) -> ResolvedConfig:
    """``resolved`` with ``--set`` overrides, ``-n/--events`` and ``--seed`` applied (a copy unless ``copy_=False``)."""
    data = copy.deepcopy(resolved.data) if copy_ else resolved.data
    origins = dict(resolved.origins) if copy_ else resolved.origins
    for item in overrides:
        key, value = parse_override(item) if isinstance(item, str) else item
        set_path(data, key, value, origins, Origin("--set"))
    if events is not None:
        set_path(data, "source.events", int(events), origins, Origin("-n/--events"))
    if seed is not None:
        set_path(data, "seed", int(seed), origins, Origin("--seed"))
    return ResolvedConfig(data, origins, resolved.file)


def dump_annotated(resolved: ResolvedConfig) -> str:
    """The resolved config as YAML with ``# file:line`` comments saying where each value was set."""
    lines: list[str] = []

    def emit(value: Any, path: str, indent: int) -> None:
        pad = "  " * indent
        if isinstance(value, dict):
            for k, v in value.items():
                kp = f"{path}.{k}" if path else str(k)
                note = f"  # {resolved.origins[kp]}" if kp in resolved.origins else ""
                if isinstance(v, dict) and v:
                    lines.append(f"{pad}{k}:{note}")
                    emit(v, kp, indent + 1)
                elif isinstance(v, list) and v and any(isinstance(x, dict | list) for x in v):
                    lines.append(f"{pad}{k}:{note}")
                    emit(v, kp, indent + 1)
                else:
                    lines.append(f"{pad}{k}: {_flow(v)}{note}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                kp = f"{path}.{i}"
                note = f"  # {resolved.origins[kp]}" if kp in resolved.origins else ""
                if isinstance(v, dict | list) and v:
                    lines.append(f"{pad}-{note}")
                    emit(v, kp, indent + 1)
                else:
                    lines.append(f"{pad}- {_flow(v)}{note}")

    emit(resolved.data, "", 0)
    return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()
