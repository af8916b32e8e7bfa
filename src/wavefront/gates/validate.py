"""Plan-time checks of gate settings: a gate that cannot work is a `ConfigError` naming the
file and line where it was written, raised before any agent runs (not at the end of a long
run). Run-time behaviour of the gates is in `gates.py` and `review.py`.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from wavefront.errors import ConfigError
from wavefront.gates.base import is_glob, strings
from wavefront.gates.command import SHELL_BUILTINS
from wavefront.gates.registry import GATES
from wavefront.gates.review import review_problem
from wavefront.model import AgentProfile, GateSpec, Task

__all__ = ["validate_gate_specs", "validate_plan_gates"]

_STAGES = ("branch", "merged", "both")


def validate_plan_gates(
    config: Any, tasks: Iterable[Task], *, profiles: Mapping[str, AgentProfile], root: Path
) -> None:
    """Check every gate a run will use (project, agent and task gates) before it starts."""
    task_list = list(tasks)
    specs: list[tuple[GateSpec, Task | None]] = []
    if config is not None:
        specs += [(spec, None) for spec in config.gate_specs]
        for agent in config.agents.values():
            specs += [(gate.to_spec(config.source), None) for gate in agent.gates]
    for task in task_list:
        specs += [(spec, task) for spec in task.gates]
    produced = {path for task in task_list for path in (*task.deliverables, *task.files)}
    for spec, owner in specs:
        located = (
            spec
            if spec.source is not None or owner is None
            else GateSpec(spec.kind, spec.options, owner.source)
        )
        validate_gate_specs([located], profiles=profiles, root=root, produced=produced)


def validate_gate_specs(
    specs: Sequence[GateSpec],
    *,
    profiles: Mapping[str, AgentProfile],
    root: Path,
    produced: Collection[str] = (),
) -> None:
    """Raise `ConfigError` (file, line, what was expected) for a gate that cannot work.

    A command whose program is missing, a contract document that neither exists nor is
    produced by a task, a reviewer that is not an agent profile, an option of the wrong
    type: all are found here, before any agent runs.
    """
    for spec in specs:
        problem = _problem(spec, profiles, root, produced)
        if problem is not None:
            where = spec.source
            raise ConfigError(
                where.path if where else Path("wavefront.yaml"),
                where.line if where else None,
                f"{spec.kind} gate: {problem}",
            )


def _problem(
    spec: GateSpec, profiles: Mapping[str, AgentProfile], root: Path, produced: Collection[str]
) -> str | None:
    options = spec.options
    if spec.kind not in GATES:
        return f"unknown gate kind (expected one of: {', '.join(GATES)})"
    name = options.get("name")
    if name is not None and not isinstance(name, str):
        return "'name' must be text"
    for key in ("paths", "markers", "agents"):
        if key in options and strings(options[key]) is None:
            return f"{key!r} must be a list of text"
    if spec.kind == "command":
        return _command_problem(options, root, produced)
    if spec.kind == "contract":
        if any(not m for m in strings(options.get("markers")) or ()):
            return "'markers' must not hold empty text"
        for path in strings(options.get("paths")) or ():
            if (outside := _outside(path, root)) is not None:
                return outside
            if not is_glob(path) and not (root / path).exists() and not _produced(path, produced):
                return (
                    f"document {path!r} does not exist in {root} and no task declares "
                    "it as a deliverable or file"
                )
    if spec.kind == "deliverables":
        for path in strings(options.get("paths")) or ():
            if (outside := _outside(path, root)) is not None:
                return outside
    if spec.kind == "review":
        return review_problem(options, profiles)
    if spec.kind == "human" and not isinstance(options.get("prompt", ""), str):
        return "'prompt' must be text"
    fix_by = options.get("fix_by")
    if fix_by is not None and (not isinstance(fix_by, str) or fix_by not in profiles):
        return f"'fix_by' must name an agent profile, got {fix_by!r}"
    return None


def _command_problem(
    options: Mapping[str, Any], root: Path, produced: Collection[str]
) -> str | None:
    run = options.get("run")
    if not (
        (isinstance(run, str) and run.strip())
        or (isinstance(run, list) and run and all(isinstance(a, str) for a in run))
    ):
        return "'run' must be a command line or a list of arguments"
    timeout = options.get("timeout", 600)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        return f"'timeout' must be a positive number of seconds, got {timeout!r}"
    on = options.get("on", "both")
    if on not in _STAGES:
        return f"'on' must be one of {', '.join(_STAGES)}, got {on!r}"
    env = options.get("env", {})
    if not isinstance(env, Mapping) or not all(isinstance(k, str) for k in env):
        return "'env' must be a mapping of variable names to values"
    cwd = options.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        return "'cwd' must be a directory relative to the worktree"
    try:
        words = shlex.split(run) if isinstance(run, str) else list(run)
    except ValueError as exc:
        return f"cannot read the command line {run!r}: {exc}"
    words = [w for w in words if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", w)]
    if not words or words[0] in SHELL_BUILTINS:
        return None
    program = words[0]
    base = root / cwd if isinstance(cwd, str) else root
    if "/" in program:
        if Path(program).is_absolute():
            return None if Path(program).exists() else f"program {program!r} does not exist"
        if (base / program).exists() or _produced(program, produced):
            return None
        return (
            f"program {program!r} does not exist in {base} and no task declares it "
            "as a deliverable or file"
        )
    if shutil.which(program) is None:
        return f"program {program!r} is not on PATH"
    return None


def _outside(path: str, root: Path) -> str | None:
    """Why `path` (a document a gate reads) is not in the repository, or None when it is.

    A gate reads the attempt's workspace; a path that leaves it would read (and judge) a
    file of the machine instead of the task's work."""
    if Path(path).is_absolute() or path.startswith("~"):
        return f"path {path!r} must be relative to the repository"
    base = root.resolve()
    if not (base / path).resolve().is_relative_to(base):
        return f"path {path!r} is outside the repository"
    return None


def _produced(path: str, produced: Collection[str]) -> bool:
    clean = path.removeprefix("./")
    return any(
        clean == p
        or (is_glob(p) and fnmatch.fnmatchcase(clean, p))
        or clean.startswith(p.rstrip("/") + "/")
        for p in produced
    )
