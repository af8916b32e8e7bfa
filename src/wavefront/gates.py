"""Gates: checks that must pass before work moves on (DESIGN.md, "Gate").

A gate is one method, `async check(context) -> GateResult`. A gate never raises for a
failing check; a gate that is configured wrongly is rejected by `validate_gate_spec` when
the run is planned, not at the end of a long run.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wavefront.agents.runners.process import run_process
from wavefront.model import AgentResult, GateResult, GateSpec, Task

__all__ = [
    "GATES",
    "CommandGate",
    "Gate",
    "GateContext",
    "ReviewerCall",
    "check_gates",
    "make_gate",
]

# Runs a reviewer agent: (agent name, prompt, review round) -> its result.
ReviewerCall = Callable[[str, str, int], Awaitable[AgentResult]]


@dataclass(frozen=True)
class GateContext:
    """What a gate may look at: the task, its worktree and what the attempt changed."""

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


class Gate(Protocol):
    kind: str

    async def check(self, context: GateContext) -> GateResult: ...


class CommandGate:
    """Runs a command in the worktree (tests, linters, type checks); passes on exit 0."""

    kind = "command"

    def __init__(self, run: str | Sequence[str], timeout: float = 600.0,
                 name: str | None = None) -> None:
        self.argv = shlex.split(run) if isinstance(run, str) else list(run)
        self.timeout = float(timeout)
        self.name = name or f"command: {shlex.join(self.argv)}"

    async def check(self, context: GateContext) -> GateResult:
        log_path = context.log_dir / f"gate-{_slug(self.name)}-{context.attempt}.log"
        outcome = await run_process(self.argv, cwd=context.workspace, log_path=log_path,
                                    timeout_s=self.timeout)
        tail = (outcome.stdout + outcome.stderr).strip()[-4000:]
        if outcome.timed_out:
            return GateResult(self.name, False, f"timed out after {self.timeout:g}s", tail)
        if outcome.returncode == 0:
            return GateResult(self.name, True, "exit 0", tail)
        return GateResult(self.name, False, f"exit {outcome.returncode}", tail)


def _command(options: Mapping[str, Any]) -> Gate:
    return CommandGate(options["run"], float(options.get("timeout", 600)), options.get("name"))


GATES: dict[str, Callable[[Mapping[str, Any]], Gate]] = {"command": _command}


def make_gate(spec: GateSpec) -> Gate:
    return GATES[spec.kind](spec.options)


async def check_gates(specs: Sequence[GateSpec], context: GateContext) -> list[GateResult]:
    """Check gates in order; stop at the first that does not pass (later ones would only
    repeat the failure or spend a reviewer's money on broken work)."""
    results: list[GateResult] = []
    for spec in specs:
        result = await make_gate(spec).check(context)
        results.append(result)
        if not result.passed:
            break
    return results


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:40]
