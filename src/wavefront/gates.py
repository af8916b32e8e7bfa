"""Gates: checks that must pass before work moves on (DESIGN.md, "Gate").

A gate is one method, `async check(context) -> GateResult`. A gate never raises for a
failing check; a gate that is configured wrongly is rejected when the run is planned
(`gatecheck.py`), not at the end of a long run.

Kinds: `command` (a program in the worktree, pass = exit 0), `deliverables` (promised paths
exist and were changed), `contract` (documents hold no placeholder or empty section, in
`contract.py`), `review` (a reviewer agent's verdict, in `review.py`) and `human` (a person
decides).
`check_gates` runs them cheapest first and stops at the first that does not pass, so a
reviewer is never paid to read work that fails its tests.

A task that declares deliverables (a story's Deliverables section, `deliverables` in task
JSON or `wavefront.yaml`) gets a `deliverables` gate without asking, unless one is already
configured for it (`auto_deliverables=False` turns this off).
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import shlex
import subprocess
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wavefront.agents.runners.process import run_process
from wavefront.model import AgentResult, GateAction, GateResult, GateSpec, Task

__all__ = [
    "GATES",
    "SHELL_BUILTINS",
    "CommandGate",
    "DeliverablesGate",
    "Gate",
    "GateContext",
    "HumanGate",
    "ReviewerCall",
    "check_gates",
    "command_argv",
    "effective_gates",
    "existing",
    "is_glob",
    "make_gate",
    "strings",
]

# Runs a reviewer agent: (agent name, prompt, review round) -> its result.
ReviewerCall = Callable[[str, str, int], Awaitable[AgentResult]]

_GLOB_CHARS = frozenset("*?[")
# Shell syntax in a `run` string means the user wrote a shell command line.
_SHELL_SYNTAX = re.compile(r"[|&;<>()$`\\*?~]|\[\[")
SHELL_BUILTINS = frozenset(
    {
        "cd",
        "export",
        "test",
        "[",
        "set",
        "source",
        ".",
        "exec",
        "env",
        "true",
        "false",
        "if",
        "for",
        "while",
        "command",
    }
)
_DETAILS_LIMIT = 4000


@dataclass(frozen=True)
class GateContext:
    """What a gate may look at: the task, its worktree and what the attempt changed.

    `stage` is `branch` for the task's own worktree and `merged` when the merge queue
    checks the merged tree before publishing it. `log_path`, when set, is the attempt's
    log, where command gates append their output; otherwise each writes its own file in
    `log_dir`.
    """

    task: Task
    workspace: Path
    log_dir: Path
    base_commit: str | None = None
    head_commit: str | None = None
    changed_files: tuple[str, ...] = ()
    diff: str = ""
    attempt: int = 1
    round: int = 1
    run_reviewer: ReviewerCall | None = None
    stage: str = "branch"
    log_path: Path | None = None


class Gate(Protocol):
    kind: str

    async def check(self, context: GateContext) -> GateResult: ...


# -- command ------------------------------------------------------------------------------


class CommandGate:
    """Runs a command in the worktree (tests, linters, type checks); passes on exit 0.

    A string with shell syntax (`pytest -q && ruff check .`) runs under `sh -c`; otherwise
    it is split into arguments. The whole process group is killed at the timeout.
    """

    kind = "command"

    def __init__(
        self,
        run: str | Sequence[str],
        timeout: float = 600.0,
        name: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.argv = command_argv(run)
        self.timeout = float(timeout)
        shown = run if isinstance(run, str) else shlex.join(run)
        self.name = name or f"command: {shown}"
        self.env = dict(env or {})
        self.cwd = cwd

    async def check(self, context: GateContext) -> GateResult:
        suffix = "-merged" if context.stage == "merged" else ""
        log_path = context.log_path or (
            context.log_dir / f"gate-{_slug(self.name)}{suffix}-{context.attempt}.log"
        )
        cwd = context.workspace
        if self.cwd:
            cwd = (context.workspace / self.cwd).resolve()
            if not cwd.is_relative_to(context.workspace.resolve()) or not cwd.is_dir():
                return GateResult(self.name, False, f"no directory {self.cwd!r} in the worktree")
        before = await asyncio.to_thread(_worktree_changes, context.workspace)
        try:
            outcome = await run_process(
                self.argv,
                cwd=cwd,
                log_path=log_path,
                timeout_s=self.timeout,
                env=self.env or None,
                kill_grace_s=1.0,
            )
        finally:
            if before is not None:
                await asyncio.to_thread(_tidy, context.workspace, before)
        tail = (outcome.stdout + outcome.stderr).strip()[-_DETAILS_LIMIT:]
        details = f"log: {log_path}\n{tail}" if tail else f"log: {log_path}"
        if outcome.timed_out:
            return GateResult(self.name, False, f"timed out after {self.timeout:g}s", details)
        if outcome.returncode == 0:
            return GateResult(self.name, True, "exit 0", details)
        return GateResult(self.name, False, f"exit {outcome.returncode}", details)


def _worktree_changes(workspace: Path) -> set[str] | None:
    """Uncommitted entries (`XY path`) in a git worktree; None when it is not one."""
    done = subprocess.run(
        ["git", "-C", str(workspace), "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    return {entry for entry in done.stdout.split("\0") if entry}


def _tidy(workspace: Path, before: set[str]) -> None:
    """Undo what a gate left in the worktree (caches, reports, reformatted files).

    Gates verify; they must not change the work. Without this, `__pycache__` from a test
    run would be committed with the next review round. Ignored files are left alone.
    """
    left = (_worktree_changes(workspace) or set()) - before
    untracked = [entry[3:] for entry in left if entry.startswith("??")]
    touched = [entry[3:] for entry in left if not entry.startswith("??")]
    root = workspace.resolve()
    for relative in untracked:
        target = (root / relative).resolve()
        if target.is_relative_to(root) and (target.is_file() or target.is_symlink()):
            target.unlink()
            for parent in target.parents:
                if parent == root or any(parent.iterdir()):
                    break
                parent.rmdir()
    if touched:
        subprocess.run(
            ["git", "-C", str(workspace), "checkout", "--", *touched],
            capture_output=True,
            check=False,
        )


def command_argv(run: str | Sequence[str]) -> list[str]:
    if not isinstance(run, str):
        return [str(arg) for arg in run]
    if _SHELL_SYNTAX.search(run):
        return ["/bin/sh", "-c", run]
    return shlex.split(run)


# -- deliverables -------------------------------------------------------------------------


class DeliverablesGate:
    """The paths a task promises exist in the worktree and were changed by the attempt.

    A path may be a file, a directory (some file under it changed) or a glob.
    """

    kind = "deliverables"

    def __init__(self, paths: Sequence[str] | None = None, name: str | None = None) -> None:
        self.paths = tuple(paths) if paths is not None else None
        self.name = name or "deliverables"

    async def check(self, context: GateContext) -> GateResult:
        paths = self.paths if self.paths is not None else context.task.deliverables
        if not paths:
            return GateResult(self.name, True, "no deliverables declared")
        changed = context.changed_files
        findings: list[str] = []
        for path in paths:
            present = existing(context.workspace, path)
            if not present:
                findings.append(f"{path}: missing")
            elif not any(_covers(path, item) for item in changed):
                findings.append(f"{path}: exists but this attempt did not change it")
        if findings:
            return GateResult(
                self.name,
                False,
                f"{len(findings)} of {len(paths)} deliverables not delivered "
                f"({'; '.join(findings[:3])}{'; ...' if len(findings) > 3 else ''})",
                "\n".join(findings),
                tuple(findings),
            )
        return GateResult(self.name, True, f"{len(paths)} deliverables present and changed")


def existing(workspace: Path, path: str) -> list[Path]:
    clean = path.strip().rstrip("/")
    if is_glob(clean):
        return [p for p in workspace.glob(clean) if p.is_file()]
    target = workspace / clean
    return [target] if target.exists() else []


def _covers(path: str, changed: str) -> bool:
    """Whether changing `changed` counts as changing deliverable `path`."""
    clean = path.strip().rstrip("/")
    if is_glob(clean):
        return fnmatch.fnmatchcase(changed, clean)
    return changed == clean or changed.startswith(clean + "/")


def is_glob(path: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in path)


# -- human --------------------------------------------------------------------------------


class HumanGate:
    """Waits for a person: `wavefront approve ID` merges, `wavefront reject ID` fails.

    The task waits in `needs-human` without holding a slot; the engine applies decisions
    recorded in the journal by any process, also after a resume.
    """

    kind = "human"

    def __init__(self, prompt: str | None = None, name: str | None = None) -> None:
        self.prompt = prompt
        self.name = name or "human approval"

    async def check(self, context: GateContext) -> GateResult:
        ask = self.prompt or f"a person must approve task {context.task.id}"
        return GateResult(self.name, False, ask, action=GateAction.WAIT)


# -- registry -----------------------------------------------------------------------------


def _command(options: Mapping[str, Any]) -> Gate:
    return CommandGate(
        options["run"],
        float(options.get("timeout", 600)),
        options.get("name"),
        env=options.get("env"),
        cwd=options.get("cwd"),
    )  # `on` (branch / merged / both) is applied to the spec by `effective_gates`


def _deliverables(options: Mapping[str, Any]) -> Gate:
    return DeliverablesGate(strings(options.get("paths")), options.get("name"))


def _contract(options: Mapping[str, Any]) -> Gate:
    from wavefront.contract import DEFAULT_MARKERS, ContractGate  # contract uses this module

    markers = strings(options.get("markers"))
    return ContractGate(
        strings(options.get("paths")),
        DEFAULT_MARKERS if markers is None else markers,
        options.get("name"),
    )


def _review(options: Mapping[str, Any]) -> Gate:
    from wavefront.review import ReviewGate  # review imports this module's types

    return ReviewGate.from_options(options)


def _human(options: Mapping[str, Any]) -> Gate:
    return HumanGate(options.get("prompt"), options.get("name"))


GATES: dict[str, Callable[[Mapping[str, Any]], Gate]] = {
    "command": _command,
    "deliverables": _deliverables,
    "contract": _contract,
    "review": _review,
    "human": _human,
}

# Cheap, local checks first; then the reviewer (money and time); the person last.
_ORDER = {"command": 0, "deliverables": 0, "contract": 0, "review": 1, "human": 2}


def make_gate(spec: GateSpec) -> Gate:
    return GATES[spec.kind](spec.options)


def effective_gates(
    specs: Sequence[GateSpec], task: Task, *, stage: str = "branch", auto_deliverables: bool = True
) -> list[GateSpec]:
    """The gates to check for `task` at `stage`, without duplicates, in checking order.

    On the merged tree only command gates run: the other kinds judge the task's own change,
    which merging does not alter.
    """
    chosen: list[GateSpec] = []
    seen: set[str] = set()
    candidates = list(specs)
    if auto_deliverables and task.deliverables and not any(s.kind == "deliverables" for s in specs):
        candidates.append(GateSpec("deliverables", {"name": "deliverables (declared)"}))
    for spec in candidates:
        key = _spec_key(spec)
        if key in seen:
            continue
        seen.add(key)
        on = str(spec.options.get("on", "both"))
        if stage == "merged" and (spec.kind != "command" or on == "branch"):
            continue
        if stage == "branch" and spec.kind == "command" and on == "merged":
            continue
        chosen.append(spec)
    return sorted(chosen, key=lambda s: _ORDER.get(s.kind, 1))


async def check_gates(
    specs: Sequence[GateSpec], context: GateContext, *, auto_deliverables: bool = True
) -> list[GateResult]:
    """Check gates in order; stop at the first that does not pass (later ones would only
    repeat the failure or spend a reviewer's money on broken work)."""
    results: list[GateResult] = []
    for spec in effective_gates(
        specs, context.task, stage=context.stage, auto_deliverables=auto_deliverables
    ):
        result = await make_gate(spec).check(context)
        results.append(result)
        if not result.passed:
            break
    return results


# -- helpers ------------------------------------------------------------------------------


def strings(value: Any) -> tuple[str, ...] | None:
    """A list of text (one text counts as a list of one); None when absent or not text."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _spec_key(spec: GateSpec) -> str:
    return repr((spec.kind, sorted((k, repr(v)) for k, v in spec.options.items())))


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:40]
