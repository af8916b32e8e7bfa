"""The merge queue: the one place where finished work enters the integration branch.

One merge at a time, exactly once: the workspace backend computes the merge without a
checkout and publishes it by compare-and-swap (`Workspaces.merge`, the only publish loop).
With `verify: merged` the command gates run on each computed merge commit, in a throwaway
worktree, before it may be published, so the integration branch never turns red. What to
do with a conflict or a red merged tree (send it back to the agent) is the task flow's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wavefront.agents.prompt import parse_summary
from wavefront.errors import WavefrontError
from wavefront.gates.base import GateContext
from wavefront.gates.registry import check_gates, effective_gates
from wavefront.journal.database import Journal, TaskRecord
from wavefront.journal.kinds import AGENT_WORK, AttemptKind, EventKind
from wavefront.model import Completion, GateResult, GateSpec, Task, TaskStatus
from wavefront.workspace.base import MergeOutcome, Workspaces, call_backend
from wavefront.workspace.git import safe_name

__all__ = ["MergeQueue", "MergeResult", "WriteBack"]

# Sets a task's status: (task id, status, reason).
StatusSetter = Callable[[str, TaskStatus, str], None]
# The backlog's write-back: (merged task, what to record, reader of the merged tree) -> the
# backlog files to change (path -> new text). It raises `WavefrontError` for a file that no
# longer has the shape it was loaded from; the engine knows no formats.
WriteBack = Callable[[Task, Completion, Callable[[str], str | None]], Mapping[str, str]]


@dataclass(frozen=True)
class MergeResult:
    """What the queue did with a task: merged, or why not (a conflict, a red merged tree)."""

    outcome: MergeOutcome
    broken: GateResult | None = None  # the gate the merged tree failed, with `verify: merged`


class MergeQueue:
    def __init__(
        self,
        journal: Journal,
        run_id: str,
        workspaces: Workspaces,
        *,
        verify_merged: bool,
        gate_specs: Callable[[TaskRecord], Sequence[GateSpec]],
        set_status: StatusSetter,
        log_dir: Callable[[str], Path],
        write_back: WriteBack | None = None,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.workspaces = workspaces
        self.verify_merged = verify_merged
        self.gate_specs = gate_specs
        self.set_status = set_status
        self.log_dir = log_dir
        self.write_back = write_back
        self._lock = asyncio.Lock()

    async def merge(self, record: TaskRecord) -> MergeResult:
        """Merge a task whose gates passed; on success its merge is journaled (the task is
        `done`) and its workspace removed."""
        task_id = record.task_id
        message = (f"Merge {task_id}: {record.task.title}\n\nwavefront-run: {self.run_id}\n"
                   f"wavefront-task: {task_id}")
        async with self._lock:
            self.set_status(task_id, TaskStatus.MERGING, "in the merge queue")
            broken: list[GateResult] = []
            verify = None
            if self._verifies_merged(record):
                loop = asyncio.get_running_loop()

                def verify(commit: str, old: str) -> bool:
                    # Called on the backend's thread; the gates run on the event loop.
                    future = asyncio.run_coroutine_threadsafe(
                        self._check_merged(record, commit, old), loop)
                    failed = future.result()
                    if failed is not None:
                        broken.append(failed)
                    return failed is None

            edit = None
            unwritten: list[str] = []
            if self.write_back is not None:
                write_back = self.write_back
                completion = self._completion(record)

                def edit(read: Callable[[str], str | None]) -> Mapping[str, str]:
                    # Called on the backend's thread: the journal is written afterwards.
                    try:
                        return write_back(record.task, completion, read)
                    except WavefrontError as exc:
                        # The work is merged all the same; the backlog file is left as it was.
                        unwritten.append(str(exc))
                        return {}

            outcome = await call_backend(self.workspaces, self.workspaces.merge, task_id,
                                         message, verify, edit)
            if outcome.ok and unwritten:
                self.journal.append_event(self.run_id, EventKind.WRITEBACK_FAILED, task_id,
                                          reason=unwritten[-1])
            if outcome.ok:
                self.journal.record_merge(self.run_id, task_id, outcome.commit or "")
                handle = await call_backend(self.workspaces, self.workspaces.open, task_id)
                if handle is not None:
                    await call_backend(self.workspaces, self.workspaces.remove, handle, True)
        return MergeResult(outcome, broken[-1] if broken else None)

    def _completion(self, record: TaskRecord) -> Completion:
        attempts = self.journal.attempts(self.run_id, record.task_id)
        work = [a for a in attempts if a.kind in AGENT_WORK]
        texts = [a.text for a in work if a.ok]
        findings = [finding for a in work for g in self.journal.gate_results(a.id)
                    if g.findings and g.gate.startswith("review") for finding in g.findings]
        return Completion(agent=record.agent, started_at=work[0].started_at if work else None,
                          completed_at=time.time(),
                          summary=parse_summary(texts[-1]) if texts else "",
                          review=tuple(findings))

    def _verifies_merged(self, record: TaskRecord) -> bool:
        """`verify: merged` and a command gate to run: check the merged tree first."""
        return (self.verify_merged and self.workspaces.versioned
                and bool(effective_gates(self.gate_specs(record), record.task,
                                         stage="merged")))

    async def _check_merged(self, record: TaskRecord, commit: str, old: str
                            ) -> GateResult | None:
        """Run the command gates on the merge commit; the first that fails, or None."""
        self.set_status(record.task_id, TaskStatus.MERGING, "checking gates on the merged tree")
        handle = await call_backend(self.workspaces, self.workspaces.checkout_detached, commit,
                                    f"{safe_name(record.task_id)}-merged")
        attempts = [a for a in self.journal.attempts(self.run_id, record.task_id)
                    if a.kind != AttemptKind.REVIEW]
        attempt = attempts[-1] if attempts else self.journal.start_attempt(
            self.run_id, record.task_id, kind=AttemptKind.GATES, base_commit=old)
        context = GateContext(
            task=record.task, workspace=handle.path, log_dir=self.log_dir(record.task_id),
            base_commit=old, head_commit=commit, changed_files=attempt.changed_files,
            attempt=attempt.number, stage="merged")
        try:
            results = await check_gates(self.gate_specs(record), context)
        finally:
            await call_backend(self.workspaces, self.workspaces.remove, handle)
        for result in results:
            self.journal.record_gate(attempt.id, replace(result,
                                                         gate=f"{result.gate} (merged tree)"))
        return next((r for r in results if not r.passed), None)
