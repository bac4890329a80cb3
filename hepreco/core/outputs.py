"""This module checks, before the first event, everything a job will write.

Every module and service declares the files it writes (``output_files``) and a source the files it reads
(``input_files``). Before the first event the framework refuses, naming the config keys:

- an output that is one of the job's input files (writing it would replace the input);
- two writers of one file (two outputs, an output and the histogram file, ``--report`` onto either);
- a path that is an existing folder, a folder that cannot be made or written, a ``--report`` folder that
  does not exist, a ``--journal`` that is a file;
- an existing file when the job runs with ``--no-clobber`` (or the writer's ``overwrite: false``).

An existing file is otherwise replaced, as art and ROOT do, and the end-of-job output list says so.
Temporary files that a killed earlier run of the same output left behind (``.NAME.xxxxxxxx.hepreco-tmp``)
are removed, with a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepreco.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from hepreco.core.build import JobPlan

__all__ = ["check_outputs", "stale_temporaries"]

log = logging.getLogger("hepreco")


def _real(path: Path) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def stale_temporaries(path: Path) -> list[Path]:
    """Temporary files a killed run writing ``path`` left beside it."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f".{path.name}.*.hepreco-tmp"))


def _folder_problem(path: Path, *, must_exist: bool) -> str | None:
    """Why files cannot be written at ``path``'s folder, or None."""
    folder = path.parent if str(path.parent) else Path(".")
    probe = folder
    while not probe.exists():
        if must_exist:
            return f"its folder '{folder}' does not exist"
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"'{probe}' is a file, so the folder '{folder}' cannot be made"
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "folder" if probe == folder else f"folder '{folder}' cannot be made in"
        return f"the {what} '{probe}' is not writable" if probe == folder else f"the {what} '{probe}' (not writable)"
    return None


def check_outputs(
    plan: JobPlan,
    *,
    report: str | os.PathLike[str] | None = None,
    no_clobber: bool = False,
    journal: str | os.PathLike[str] | None = None,
) -> None:
    """Check every file ``plan`` will write (see the module docstring); raise one ConfigError listing every
    problem. Records the files that exist already in ``plan.job.overwritten``."""
    job = plan.job
    resolved = job.config
    issues: list[ConfigIssue] = []
    writes: list[tuple[str, str | None, Path, bool]] = []  # (config key, label, path, overwrite allowed)
    for mod_label, mod in plan.modules.items():
        for param, path in mod.output_files():
            allowed = bool(getattr(mod.config, "overwrite", True))
            writes.append((f"modules.{mod_label}.{param}", mod_label, Path(path), allowed))
    for svc in plan.services:
        for param, path in svc.output_files():
            allowed = bool(getattr(svc.config, "overwrite", True))
            writes.append((f"services.{svc.name}.{param}", None, Path(path), allowed))
    if report is not None:
        writes.append(("--report", None, Path(report), True))

    def issue(msg: str, key: str, label: str | None) -> ConfigIssue:
        if key.startswith("--"):
            return ConfigIssue(msg, key="", file=key)
        return resolved.issue(msg, key, label)

    try:
        inputs = {_real(p): f"source.{param}" for param, p in plan.source.input_files()}
    except Exception as err:  # the source's own checks report unreadable inputs
        log.debug("no input file list: %s", err)
        inputs = {}
    seen: dict[str, str] = {}
    overwritten: list[Path] = []
    for key, label, path, allowed in writes:
        shown = f"'{path}'"
        real = _real(path)
        if real in inputs:
            msg = f"{shown} is an input file of this job ({inputs[real]}): writing it would replace the input"
            issues.append(issue(msg, key, label))
            continue
        if real in seen:
            msg = f"{shown} is also written by {seen[real]}: two writers of one file would keep only the last"
            issues.append(issue(msg, key, label))
            continue
        seen[real] = key
        if path.is_dir():
            issues.append(issue(f"{shown} is an existing folder, not a file name", key, label))
            continue
        problem = _folder_problem(path, must_exist=key == "--report")
        if problem is not None:
            issues.append(issue(f"cannot write {shown}: {problem}", key, label))
            continue
        if path.exists():
            if no_clobber or not allowed:
                how = "--no-clobber" if no_clobber else "overwrite: false"
                msg = f"{shown} exists and the job runs with {how}: remove it or choose another name"
                issues.append(issue(msg, key, label))
                continue
            overwritten.append(path)
    if journal is not None and Path(journal).exists() and not Path(journal).is_dir():
        issues.append(ConfigIssue(f"--journal '{journal}' is an existing file, not a folder", file="--journal"))
    if issues:
        raise ConfigError(issues)
    for _key, _label, path, _allowed in writes:
        for tmp in stale_temporaries(path):
            try:
                tmp.unlink()
                log.warning("removed '%s', a temporary file an earlier, killed run of this output left", tmp)
            except OSError as err:
                log.warning("a temporary file an earlier, killed run left cannot be removed: %s (%s)", tmp, err)
    job.overwritten = overwritten


def describe_output(path: Any, overwritten: list[Path]) -> str:
    """``path`` for the end-of-job output list, marked when it replaced an existing file."""
    replaced = {_real(p) for p in overwritten}
    return f"{path} (replaced the existing file)" if _real(Path(path)) in replaced else str(path)
