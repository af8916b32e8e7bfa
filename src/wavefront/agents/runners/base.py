"""The runner contract: how wavefront asks a coding agent to do one attempt.

A runner is one method, `async run(request) -> AgentResult`. It never raises for an
agent's failure (non-zero exit, timeout, garbage output, rate limit): it returns an
`AgentResult` with `ok=False` and a `FailureKind`. Cancellation (`asyncio.CancelledError`)
is the one exception: the child's process group is killed and the cancellation propagates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wavefront.agents.runners.mcpwiring import McpServer
from wavefront.model import AgentProfile, AgentResult, Task

__all__ = ["AgentRequest", "Runner"]


@dataclass(frozen=True)
class AgentRequest:
    """Everything one agent invocation needs.

    `prompt` is the full text built for this task (see `agents.prompt`); `profile` is kept
    so a CLI runner can pass the persona its own way (system prompt, `--agent`, ...).
    `log_path` is where the runner writes the child's stdout/stderr for `wavefront log`.
    """

    task: Task
    prompt: str
    workspace: Path
    log_path: Path
    profile: AgentProfile | None = None
    model: str | None = None
    timeout_s: float | None = None
    max_turns: int | None = None
    budget_usd: float | None = None
    permissions: tuple[str, ...] = ()
    # The shell commands the task's gates run (tests, linters): the agent is told to run
    # them, so a runner lets the CLI run exactly these.
    commands: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    # wavefront's MCP server for this task (`mcp: true`), for the runner to configure.
    mcp: McpServer | None = None


class Runner(Protocol):
    """An adapter for one agent CLI (or a plain command, or a script for tests)."""

    name: str

    async def run(self, request: AgentRequest) -> AgentResult: ...

    def passes_persona(self, profile: AgentProfile | None) -> bool:
        """True when the runner hands `profile.prompt` to its CLI itself (a system-prompt
        flag, a named agent), so the task prompt must not repeat it."""
        ...
