"""The `command` gate: a program in the worktree (tests, linters, type checks); pass = exit 0."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wavefront.agents.runners.process import run_process
from wavefront.gates.base import DETAILS_LIMIT, GateContext, slug
from wavefront.model import GateResult
from wavefront.workspace.git import run_git

__all__ = ["SHELL_BUILTINS", "CommandGate", "command_argv"]

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

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CommandGate:
        # `on` (branch / merged / both) is applied to the spec by `effective_gates`.
        return cls(
            options["run"],
            float(options.get("timeout", 600)),
            options.get("name"),
            env=options.get("env"),
            cwd=options.get("cwd"),
        )

    async def check(self, context: GateContext) -> GateResult:
        suffix = "-merged" if context.stage == "merged" else ""
        log_path = context.log_path or (
            context.log_dir / f"gate-{slug(self.name)}{suffix}-{context.attempt}.log"
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
                env={**context.env, **self.env} or None,
                kill_grace_s=1.0,
            )
        finally:
            if before is not None:
                await asyncio.to_thread(_tidy, context.workspace, before)
        tail = (outcome.stdout + outcome.stderr).strip()[-DETAILS_LIMIT:]
        details = f"log: {log_path}\n{tail}" if tail else f"log: {log_path}"
        if outcome.timed_out:
            return GateResult(self.name, False, f"timed out after {self.timeout:g}s", details)
        if outcome.returncode == 0:
            return GateResult(self.name, True, "exit 0", details)
        return GateResult(self.name, False, f"exit {outcome.returncode}", details)


def _worktree_changes(workspace: Path) -> set[str] | None:
    """Uncommitted entries (`XY path`) in a git worktree; None when it is not one."""
    done = run_git(workspace, "status", "--porcelain=v1", "-z", "--untracked-files=all",
                   check=False)
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
        run_git(workspace, "checkout", "--", *touched, check=False)


def command_argv(run: str | Sequence[str]) -> list[str]:
    if not isinstance(run, str):
        return [str(arg) for arg in run]
    if _SHELL_SYNTAX.search(run):
        return ["/bin/sh", "-c", run]
    return shlex.split(run)
