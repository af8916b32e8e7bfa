"""How a run behaves: one settings type for the engine, the task flow and the journal.

`RunSettings` is made once when a run starts (from `wavefront.yaml` and the command line),
stored as JSON with the run and read back through the same schema on `resume`, so a resumed
run behaves exactly as it started; the engine and the task flow read the same value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wavefront.errors import JournalError
from wavefront.model import GateSpec, Task

__all__ = ["RunSettings"]

# Keys that journals written before this type kept beside `settings` in the run's options.
_FORMERLY_BESIDE = ("runner_settings", "default_runner", "agent_gates")


class RunSettings(BaseModel):
    """Everything a run's engine and task flow read, with the defaults of a bare run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_parallel: int = Field(default=4, ge=1)
    per_runner: dict[str, int] = {}
    strategy: Literal["dependency", "waves"] = "dependency"
    retries: int = Field(default=0, ge=0)
    retry_backoff_s: float = 1.0
    timeout_s: float | None = 1800.0
    verify: Literal["merged", "branch", "none"] = "branch"
    # Merged-tree checks of one batch run side by side (speculative bisection).
    verify_parallel: int = Field(default=1, ge=1)
    review_rounds: int = 2
    on_review_limit: Literal["needs-human", "accept"] = "needs-human"
    # How many times a refused attempt goes back to its agent before the task fails.
    fix_rounds: int = Field(default=2, ge=0)
    # Merged work is recorded in the backlog files on the integration branch.
    writeback: bool = True
    # The story workflow's `.agent-orchestration/` state files, kept current during the run.
    state_files: bool = False
    # Each agent gets wavefront's MCP server for its own task (ask_human, ...).
    mcp: bool = False
    gates: tuple[GateSpec, ...] = ()
    budget_usd: float | None = None
    wait_for_humans: bool = False
    # What a change to the user's checkout during an attempt does: fail the attempt, or
    # only warn (for people who keep working in their checkout while a run goes on).
    outside_writes: Literal["fail", "warn"] = "fail"
    # Agents in a bubblewrap sandbox: the user's repository read-only (`checkout`), or all
    # but the workspace read-only (`bwrap`, with or without network).
    sandbox: Literal["none", "checkout", "bwrap"] = "none"
    sandbox_network: bool = True
    # Asked for by name (not the default, not `auto`): a machine where bubblewrap cannot
    # run then refuses the attempt instead of running the agent without the sandbox.
    sandbox_required: bool = False
    # Ignored files of the user's checkout that the guard watches (`protected:`).
    protected: tuple[str, ...] = (".env*",)
    poll_s: float = 0.5
    default_runner: str = "script"
    # Each runner's settings from `wavefront.yaml` and the command line, by runner name.
    runner_settings: dict[str, dict[str, Any]] = {}
    # The gates an agent profile adds to every task it works on, by agent name.
    agent_gates: dict[str, tuple[GateSpec, ...]] = {}
    # `workspace:` of wavefront.yaml: what prepares each workspace (copy is a BaseModel
    # method, hence copy_files).
    setup: tuple[str, ...] = ()
    copy_files: tuple[str, ...] = ()
    teardown: tuple[str, ...] = ()
    # Where agents run: here, or on a Ray cluster whose head is at `ray_address`.
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None

    def gates_for(self, task: Task, agent: str | None) -> tuple[GateSpec, ...]:
        """Every gate configured for `task` done by `agent`: the run's, the agent's, its own."""
        return (*self.gates, *self.agent_gates.get(agent or "", ()), *task.gates)

    def to_json(self) -> dict[str, Any]:
        """The settings as stored with the run (gate sources are not kept)."""
        data = self.model_dump(mode="json")
        data["gates"] = [_gate_json(spec) for spec in self.gates]
        data["agent_gates"] = {name: [_gate_json(spec) for spec in specs]
                               for name, specs in self.agent_gates.items()}
        return data

    @classmethod
    def from_stored(cls, options: Mapping[str, Any]) -> RunSettings:
        """The settings of a run's stored options, checked against this schema."""
        data = dict(options.get("settings") or {})
        for key in _FORMERLY_BESIDE:
            if key in options and key not in data:
                data[key] = options[key]
        try:
            return cls.model_validate(data)
        except ValueError as error:
            raise JournalError(f"the run's stored settings are not readable: {error}") from None


def _gate_json(spec: GateSpec) -> dict[str, Any]:
    return {"kind": spec.kind, "options": dict(spec.options)}
