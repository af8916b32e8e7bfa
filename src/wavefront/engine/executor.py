"""Where an agent attempt runs: the `Executor` seam between the task flow and the agents.

One method runs an attempt (`run`); a remote executor may also have checked the task's
command gates where the agent ran, and `checked_gates` hands those results over.

The task flow decides what an attempt is (prompt, workspace, limits) and what follows it
(commit, gates, merge); an executor only runs it and returns the runner's result. The
local executor runs the agent here, in the attempt's workspace. A remote one (the Ray
executor, `wavefront.executors`) runs it on another machine and leaves the agent's
commits in that same workspace before it returns, so everything after the attempt is the
same whichever executor ran it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wavefront.agents.runners.base import AgentRequest, Runner
from wavefront.model import AgentResult, GateResult, GateSpec
from wavefront.workspace.sandbox import SandboxChoice

__all__ = ["AttemptJob", "Executor", "LocalExecutor"]


@dataclass(frozen=True)
class AttemptJob:
    """One agent attempt as the task flow hands it to an executor.

    `runner` is the runner built here; `runner_kind` and `runner_settings` say how to build
    the same runner elsewhere. `request.workspace` is the attempt's workspace on this
    machine, at `base_commit`; `commit_message` is what the attempt's commit is called.
    """

    run_id: str
    attempt_tag: str
    runner_name: str
    runner: Runner
    runner_kind: str
    runner_settings: Mapping[str, Any]
    request: AgentRequest
    base_commit: str | None
    commit_message: str
    repo_root: Path | None
    setup: tuple[str, ...] = ()
    # The command gates of the task's own branch, which a remote executor may check where
    # the agent ran (they need the workspace, not the journal); `attempt_number` names
    # their logs as the task flow would.
    gates: tuple[GateSpec, ...] = ()
    attempt_number: int = 1
    # The run's sandbox, for an executor whose agents run elsewhere: the local one puts
    # them in it through the attempt's scope.
    sandbox: SandboxChoice = field(default_factory=SandboxChoice)
    # The files copied into the workspace from the user's checkout (`workspace: copy`),
    # by path, for an executor whose workspaces are elsewhere: the checkout is here.
    copied: Mapping[str, bytes] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


class Executor(Protocol):
    """Runs one agent attempt and returns its result; never raises for an agent's failure.

    `remote` executors run the agent away from this machine: the task flow then keeps
    what only works here (the run's MCP server, the checkout guard) out of the attempt.
    """

    name: str
    remote: bool

    async def run(self, job: AttemptJob) -> AgentResult: ...

    def checked_gates(self, attempt_tag: str, head: str | None) -> Mapping[str, GateResult]:
        """Gate results the executor already has for the attempt's commit `head`, by
        `gates.registry.spec_key`; the task flow checks the rest itself."""
        ...


class LocalExecutor:
    """Agents as processes of this machine, in the attempt's own workspace."""

    name = "local"
    remote = False

    async def run(self, job: AttemptJob) -> AgentResult:
        return await job.runner.run(job.request)

    def checked_gates(self, attempt_tag: str, head: str | None) -> Mapping[str, GateResult]:
        return {}
