"""What the parts of a task's life share: the run's journal, workspaces, runners and
settings, and the small steps every part takes (a status change, a new attempt, a failure
that may spend a retry).

`TaskFlow` (the rounds up to the merge queue), `AgentRounds` (one agent round and its
gates) and `MergeRounds` (the merge and the rounds back after it) all work on one of these.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from wavefront.engine.executor import Executor, LocalExecutor
from wavefront.engine.pool import RunnerPool
from wavefront.engine.settings import RunSettings
from wavefront.errors import WavefrontError
from wavefront.journal.database import AttemptRecord, Journal, TaskRecord
from wavefront.journal.kinds import EventKind
from wavefront.lifetime import run_tag
from wavefront.model import AgentProfile, GateSpec, TaskStatus
from wavefront.workspace.base import WorkspaceHandle, Workspaces, call_backend
from wavefront.workspace.git import safe_name

__all__ = ["FlowState", "WorkOutcome"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class WorkOutcome(Enum):
    READY_TO_MERGE = "ready_to_merge"
    RETRY = "retry"  # failed, a retry is left: the engine backs off and re-dispatches
    REQUEUED = "requeued"  # rate limit or a disabled runner: no retry spent
    FAILED = "failed"
    WAITING = "waiting"  # needs a person


@dataclass
class FlowState:
    journal: Journal
    run_id: str
    workspaces: Workspaces
    pool: RunnerPool
    profiles: Mapping[str, AgentProfile]
    settings: RunSettings
    logs_dir: Path
    # task id -> its workspace's variables, while the task holds its workspace
    env: dict[str, Mapping[str, str]] = field(default_factory=dict)
    # task id -> the files copied into its workspace from the user's checkout, likewise
    copied: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The OS sandbox for an agent in a workspace: a workspace's path -> a function that
    # turns an argv into the same command inside it (None: no sandbox).
    sandbox: Callable[[Path], Callable[[Sequence[str]], list[str]]] | None = None
    # Where agent attempts run: here, or on the workers of a cluster.
    executor: Executor = field(default_factory=LocalExecutor)
    _run_tag: str | None = field(default=None, init=False, repr=False)

    def record(self, task_id: str) -> TaskRecord:
        record = self.journal.task(self.run_id, task_id)
        if record is None:
            raise WavefrontError(f"run {self.run_id} has no task {task_id!r}")
        return record

    def status(self, task_id: str, status: TaskStatus, reason: str = "",
               **data: Any) -> None:
        self.journal.set_status(self.run_id, task_id, status, reason, **data)

    def failed(self, record: TaskRecord, reason: str, allow_retry: bool = True) -> WorkOutcome:
        """Fail the task, or send it back to `pending` while it has retries left."""
        current = self.record(record.task_id)
        retries = (record.task.options.retries if record.task.options.retries is not None
                   else self.settings.retries)
        if allow_retry and current.retries_used < retries:
            self.status(record.task_id, TaskStatus.PENDING,
                        f"{reason}; retry {current.retries_used + 1} of {retries}",
                        spend_retry=True)
            return WorkOutcome.RETRY
        self.status(record.task_id, TaskStatus.FAILED, reason)
        return WorkOutcome.FAILED

    def runner_name(self, record: TaskRecord) -> str:
        return record.runner or self.settings.default_runner

    def gate_specs(self, record: TaskRecord) -> tuple[GateSpec, ...]:
        return self.settings.gates_for(record.task, record.agent)

    def start_attempt(self, record: TaskRecord, handle: WorkspaceHandle,
                      kind: str) -> AttemptRecord:
        suffix = "" if kind == "agent" else f"-{kind}"
        return self.journal.start_attempt(
            self.run_id, record.task_id, kind=kind, runner=self.runner_name(record),
            agent=record.agent, base_commit=handle.base_commit, workspace=handle.path,
            log_path=lambda number: self.log_path(record.task_id, number, suffix))

    def attempt_tag(self, attempt_id: int) -> str:
        """The tag every process of this attempt carries (see `wavefront.lifetime`)."""
        if self._run_tag is None:  # a path resolved and hashed: once per run
            self._run_tag = run_tag(self.run_id, self.journal.path)
        return self._run_tag + str(attempt_id)

    def log_path(self, task_id: str, number: int, suffix: str = "") -> Path:
        return self.logs_dir / safe_name(task_id) / f"attempt-{number}{suffix}.log"

    def drain_moves(self, task_id: str) -> list[str]:
        """Journal the integration-branch moves the workspaces undid; the branch names."""
        moves = list(self.workspaces.moved_outside)
        self.workspaces.moved_outside.clear()
        for note in moves:
            self.journal.append_event(self.run_id, EventKind.INTEGRATION_MOVED, task_id,
                                      note=note)
        return [self.workspaces.integration_branch] if moves else []

    def log_crash(self, task_id: str, exc: BaseException) -> None:
        path = self.log_path(task_id, 0).with_name("internal-error.log")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")

    async def off_loop(self, call: Callable[_P, _R], *args: _P.args,
                       **kwargs: _P.kwargs) -> _R:
        # Write before act: what the journal says of the task is on disk first.
        await self.journal.durable()
        return await call_backend(self.workspaces, call, *args, **kwargs)
