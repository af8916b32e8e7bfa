"""What one task goes through: workspace, agent, gates, review rounds, the merge queue, and
the rounds back to the agent when its merge conflicts or breaks the merged tree.

Every step is journaled before it is acted on, so `resume` can tell where a task stood.
Agent and gate failures are values; they end in a task status with a reason, never an
exception out of here (a `WavefrontError` from git becomes a failed task too).
"""

from __future__ import annotations

import asyncio
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from wavefront.agents.prompt import (
    DependencyDelivery,
    agent_prompt,
    gate_commands,
    parse_deviations,
)
from wavefront.agents.questions import BadQuestion, parse_question
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.command import keep_prompt
from wavefront.agents.runners.mcpwiring import McpServer
from wavefront.engine.conversation import (
    Note,
    answers,
    ask,
    asked_reason,
    deviations_since,
    last_session,
    note_for,
    unanswered,
)
from wavefront.engine.feedback import fix_request, phase_fix_request, revision_request
from wavefront.engine.mergequeue import MergeQueue, WriteBack
from wavefront.engine.pool import RunnerPool
from wavefront.engine.prepare import WorkspacePreparer
from wavefront.engine.settings import RunSettings
from wavefront.errors import WavefrontError, WorkspaceError
from wavefront.gates.base import GateContext
from wavefront.gates.registry import check_gates, effective_gates
from wavefront.journal.database import AttemptRecord, Journal, TaskRecord
from wavefront.journal.kinds import AGENT_WORK, AttemptKind, EventKind
from wavefront.lifetime import attempt_scope
from wavefront.model import (
    AgentProfile,
    AgentResult,
    FailureKind,
    GateAction,
    GateResult,
    GateSpec,
    Task,
    TaskStatus,
)
from wavefront.workspace.base import WorkspaceHandle, Workspaces, call_backend
from wavefront.workspace.git import safe_name
from wavefront.workspace.sandbox import bwrap_wrapper
from wavefront.workspace.setup import Prepared, WorkspaceSetup

__all__ = ["DoneContext", "DoneHook", "Note", "TaskFlow", "WorkOutcome"]

# Task metadata of a fix task: the phase gate whose refusal it fixes.
_FIXES = "fixes_gate"

_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True)
class DoneContext:
    """What a done-hook sees: the finished task, its agent's last report, the commit."""

    journal: Journal
    run_id: str
    task: Task
    final_text: str
    commit: str
    workspaces: Workspaces


DoneHook = Callable[[DoneContext], Awaitable[None]]


class WorkOutcome(Enum):
    READY_TO_MERGE = "ready_to_merge"
    RETRY = "retry"  # failed, a retry is left: the engine backs off and re-dispatches
    REQUEUED = "requeued"  # rate limit or a disabled runner: no retry spent
    FAILED = "failed"
    WAITING = "waiting"  # needs a person


class TaskFlow:
    def __init__(
        self,
        journal: Journal,
        run_id: str,
        workspaces: Workspaces,
        pool: RunnerPool,
        profiles: Mapping[str, AgentProfile],
        settings: RunSettings,
        logs_dir: Path,
        hooks: Sequence[DoneHook] = (),
        write_back: WriteBack | None = None,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.workspaces = workspaces
        self.pool = pool
        self.profiles = profiles
        self.settings = settings
        self.logs_dir = logs_dir
        self.hooks = tuple(hooks)
        self.preparer = WorkspacePreparer(
            WorkspaceSetup(settings.setup, settings.copy_files, settings.teardown),
            workspaces.repo_root, logs_dir)
        self.queue = MergeQueue(
            journal, run_id, workspaces, verify_merged=settings.verify == "merged",
            gate_specs=self._gate_specs, set_status=self._status,
            log_dir=lambda task_id: self._log_path(task_id, 0).parent, write_back=write_back,
            preparer=self.preparer)
        self._merging: set[str] = set()
        self._env: dict[str, dict[str, str]] = {}  # task id -> its workspace's variables

    # -- what the engine asks ---------------------------------------------------------

    def is_merging(self, task_id: str) -> bool:
        return task_id in self._merging

    def runner_available(self, name: str, now: float) -> bool:
        return self.pool.available(name or self.settings.default_runner, now)

    def runner_disabled(self, name: str) -> str | None:
        return self.pool.disabled(name or self.settings.default_runner)

    # -- work: agent, gates, review rounds ----------------------------------------------

    async def work(self, task_id: str, record: TaskRecord | None = None,
                   note: Note | None = None) -> WorkOutcome:
        """Run a dispatched task up to the merge queue. `record` may be the engine's copy of
        the task's journal row (only its definition is used, which a status change leaves
        alone), which saves reading it again. `note` continues a task that waited for a
        person (an answer, a change request) in its kept worktree."""
        if record is None:
            record = self._record(task_id)
        attempt: AttemptRecord | None = None
        prepared: Prepared | None = None
        try:
            handle = None
            if note is not None:
                handle = await self._off_loop(self.workspaces.open, task_id)
            if handle is None:
                # Where the attempt works is recorded with the attempt (workspace, base).
                handle = await self._off_loop(self.workspaces.create, task_id)
            feedback = note or Note("", "")
            session = last_session(self.journal, self.run_id, task_id) if note else None
            prepared = await self.preparer.prepare(task_id, safe_name(task_id), handle.path)
            self._env[task_id] = prepared.env
            if prepared.failure is not None:
                return self._failed(record, prepared.failure)
            round_ = 1
            fixes = 0
            fix_limit = record.task.options.fix_rounds
            if fix_limit is None:
                fix_limit = self.settings.fix_rounds
            agentless = record.task.options.agentless
            while True:
                over = self._over_task_budget(record)
                if over:
                    return self._failed(record, over, allow_retry=False)
                if not agentless:
                    attempt = self._start_attempt(record, handle, kind=AttemptKind.AGENT)
                    result = await self._run_agent(record, handle, attempt, round_ + fixes,
                                                   feedback, session)
                    session = result.session_id or session
                    question, result = _question_of(result)
                    if question:
                        # A question stops the round before the gates: the work is unfinished.
                        self.journal.finish_attempt(attempt.id, result)
                        return self._ask(record, question)
                    asked = unanswered(self.journal, self.run_id, task_id)
                    if asked is not None:
                        # Asked through the MCP server's ask_human and ended the round
                        # before an answer came: wait for it the same way.
                        self.journal.finish_attempt(attempt.id, result)
                        return self._ask(record, asked, journaled=True)
                    outcome = await self._after_agent(record, handle, attempt, result)
                    attempt = None
                    if outcome is not None:
                        return outcome
                results = await self._check_gates(record, handle, round_)
                verdict = results[-1] if results else None
                if verdict is None or verdict.passed:
                    return WorkOutcome.READY_TO_MERGE
                if verdict.action is GateAction.REVISE:
                    if round_ < self.settings.review_rounds:
                        round_ += 1
                        feedback = Note("Changes requested", revision_request(verdict))
                        self._status(task_id, TaskStatus.RUNNING,
                                     f"changes requested by {verdict.gate} "
                                     f"(round {round_} of {self.settings.review_rounds})")
                        continue
                    if self.settings.on_review_limit == "accept":
                        self.journal.append_event(self.run_id, EventKind.ACCEPTED_WITH_FINDINGS,
                                                  task_id, findings=list(verdict.findings))
                        return WorkOutcome.READY_TO_MERGE
                    self._status(task_id, TaskStatus.NEEDS_HUMAN,
                                 f"review not approved after {round_} rounds: "
                                 f"{verdict.summary}; `wavefront approve {task_id}` or "
                                 f"`wavefront reject {task_id} --note \"what to change\"`")
                    return WorkOutcome.WAITING
                if verdict.action is GateAction.WAIT:
                    self._status(task_id, TaskStatus.NEEDS_HUMAN,
                                 f"{verdict.summary}; `wavefront approve {task_id}`")
                    return WorkOutcome.WAITING
                failure = f"gate {verdict.gate} failed: {verdict.summary}"
                if agentless:
                    return self._phase_fix(record, verdict, failure, fix_limit)
                if fixes >= fix_limit:
                    if fixes:
                        failure += f" (after {fixes} fix round{'s' if fixes > 1 else ''})"
                    return self._failed(record, failure)
                fixes += 1
                feedback = Note("What failed in your last attempt",
                                fix_request(verdict, fixes, fix_limit))
                self.journal.append_event(self.run_id, EventKind.FIX_ROUND, task_id,
                                          gate=verdict.gate, summary=verdict.summary,
                                          round=fixes, limit=fix_limit)
                self._status(task_id, TaskStatus.RUNNING,
                             f"{failure}; back to the agent (fix round {fixes} of {fix_limit})")
        except asyncio.CancelledError:
            if attempt is not None:
                self.journal.finish_attempt(
                    attempt.id, AgentResult(ok=False, failure=FailureKind.CANCELLED,
                                            reason="interrupted"), state="cancelled")
            self._status(task_id, TaskStatus.PENDING, "interrupted; will run again on resume")
            raise
        except WavefrontError as exc:
            return self._failed(record, str(exc), allow_retry=False)
        except Exception as exc:  # a bug must not hang the run or lose the reason
            self._log_crash(task_id, exc)
            return self._failed(record, f"internal error: {exc!r}", allow_retry=False)
        finally:
            if prepared is not None and handle is not None:
                await self.preparer.teardown(safe_name(task_id), handle.path, prepared)
                self._env.pop(task_id, None)

    def _phase_fix(self, record: TaskRecord, verdict: GateResult, failure: str,
                   limit: int) -> WorkOutcome:
        """A phase gate refused its producers' work: a fix task for the agent of the step
        that produced it, and the gate checks again after that task is merged."""
        task_id = record.task_id
        made = [r for r in self.journal.tasks(self.run_id)
                if r.task.metadata.get(_FIXES) == task_id]
        if len(made) >= limit:
            if made:
                failure += f" (after {len(made)} fix task{'s' if len(made) > 1 else ''})"
            return self._failed(record, failure)
        producers = [r for r in (self.journal.task(self.run_id, dep)
                                 for dep in record.task.dependencies) if r is not None]
        maker = next((r for r in producers if r.agent), None)
        fix = Task(
            id=f"{task_id}-fix-{len(made) + 1}", title=f"Fix what {task_id} found",
            source=record.task.source,
            body=phase_fix_request(verdict, task_id, [r.task_id for r in producers],
                                   len(made) + 1, limit),
            files=tuple(dict.fromkeys(f for r in producers for f in r.task.files)),
            metadata={_FIXES: task_id})
        self.journal.add_tasks(
            self.run_id, [(fix, maker.agent if maker else None,
                           maker.runner if maker else None, record.priority, record.wave)],
            reason=f"{failure}: fix task for {task_id}",
            extend_dependencies={task_id: [fix.id]})
        self._status(task_id, TaskStatus.PENDING,
                     f"{failure}; fix task {fix.id} made"
                     + (f" for {maker.agent}" if maker and maker.agent else "")
                     + ", checked again after it")
        return WorkOutcome.REQUEUED

    def _ask(self, record: TaskRecord, question: str, journaled: bool = False) -> WorkOutcome:
        """The agent needs a decision: wait for a person without holding a slot."""
        task_id = record.task_id
        if not journaled:
            ask(self.journal, self.run_id, task_id, question, record.agent or "agent")
        self._status(task_id, TaskStatus.NEEDS_HUMAN, asked_reason(task_id, question))
        return WorkOutcome.WAITING

    def _mcp_server(self, task_id: str) -> McpServer | None:
        """wavefront's MCP server bound to this task of this run, when the run has `mcp`."""
        root = self.workspaces.repo_root
        if not self.settings.mcp or root is None:
            return None
        return McpServer(sys.executable, ("-m", "wavefront", "mcp", "--task", task_id,
                                          "--run", self.run_id, "-C", str(root)))

    def note_for(self, task_id: str, decision: str, text: str) -> Note:
        """The next round's note for a person's `answer` or `change` decision."""
        return note_for(self.journal, self.run_id, task_id, decision, text)

    async def _run_agent(self, record: TaskRecord, handle: WorkspaceHandle,
                         attempt: AttemptRecord, round_: int, feedback: Note,
                         session: str | None = None) -> AgentResult:
        task = record.task
        runner_name = self._runner_name(record)
        runner = self.pool.get(runner_name)
        profile = self.profiles.get(record.agent or "")
        prompt = agent_prompt(task, profile, runner, dependencies=self._deliveries(task),
                              gates=self._gate_specs(record),
                              answers=answers(self.journal, self.run_id, task.id),
                              extra=feedback.text, extra_heading=feedback.heading or "Notes")
        request = AgentRequest(
            task=task, prompt=prompt, workspace=handle.path,
            log_path=Path(attempt.log_path or self._log_path(task.id, attempt.number)),
            profile=profile, model=task.options.model or (profile.model if profile else None),
            timeout_s=task.options.timeout_s or self.settings.timeout_s,
            max_turns=task.options.max_turns,
            env=self._env.get(task.id, {}),
            commands=gate_commands(self._gate_specs(record)),
            options={**self.pool.options(runner_name), "attempt": self._attempt_count(task.id),
                     "round": round_, "role": "implement" if attempt.kind == AttemptKind.AGENT
                     else "resolve-conflict",
                     **({"resume_session": session} if session else {}),
                     **({"script": task.options.script} if task.options.script is not None
                        else {})},
            mcp=self._mcp_server(task.id),
        )
        guard = self.workspaces.guard()
        before = await asyncio.to_thread(guard.snapshot) if guard is not None else None
        keep_prompt(request.log_path, prompt)
        result = await self._contained(runner.run, request, task.id, attempt.id)
        if guard is not None and before is not None:
            outside = await asyncio.to_thread(guard.changes, before)
            # An outside move is put back by the next look at the branch (a merge's or this
            # one), and blamed on an attempt that ran meanwhile: this one, if none has yet.
            await self._off_loop(self.workspaces.integration_head)
            outside += self._drain_moves(task.id)
            if outside and self.settings.outside_writes == "warn":
                self.journal.append_event(self.run_id, EventKind.OUTSIDE_WRITES, task.id,
                                          changes=guard.describe(outside))
            elif outside:
                result = replace(result, ok=False, failure=FailureKind.ERROR,
                                 reason=guard.describe(outside))
        return result

    async def _after_agent(self, record: TaskRecord, handle: WorkspaceHandle,
                           attempt: AttemptRecord, result: AgentResult) -> WorkOutcome | None:
        """Record the attempt; None means the work is committed and goes on to the gates."""
        task_id = record.task_id
        if not result.ok:
            self.journal.finish_attempt(attempt.id, result)
            return self._agent_failed(record, result)
        message = f"{task_id}: {record.task.title}\n\nwavefront-run: {self.run_id}"
        try:
            head = await self._off_loop(self.workspaces.commit_all, handle, message)
        except WorkspaceError as exc:  # the agent broke its workspace's git state
            result = replace(result, ok=False, failure=FailureKind.BAD_OUTPUT, reason=str(exc))
            self.journal.finish_attempt(attempt.id, result)
            return self._agent_failed(record, result)
        changed = await self._off_loop(self.workspaces.changed_files, handle)
        if (not changed and self.workspaces.versioned
                and not record.task.options.allow_no_changes):
            # A phantom completion: the agent said it was done and changed nothing.
            result = replace(result, ok=False, failure=FailureKind.BAD_OUTPUT,
                             reason="the agent reported success but changed no files")
            self.journal.finish_attempt(attempt.id, result)
            return self._agent_failed(record, result)
        if head is None and self.workspaces.versioned:
            head = await self._off_loop(self.workspaces.head, handle)
        self.journal.finish_attempt(attempt.id, result, head_commit=head, changed_files=changed,
                                    deviations=[*parse_deviations(result.text),
                                                *deviations_since(self.journal, self.run_id,
                                                                  task_id,
                                                                  attempt.started_at)])
        return None

    def _agent_failed(self, record: TaskRecord, result: AgentResult) -> WorkOutcome:
        runner_name = self._runner_name(record)
        if result.failure is FailureKind.RATE_LIMITED:
            until = self.pool.pause(runner_name, result.retry_at)
            self._status(record.task_id, TaskStatus.PENDING,
                         f"runner {runner_name} rate limited until "
                         f"{time.strftime('%H:%M:%S', time.localtime(until))}; "
                         "no retry spent")
            return WorkOutcome.REQUEUED
        if result.failure is FailureKind.AUTH:
            self.pool.disable(runner_name, f"runner {runner_name} is not authenticated: "
                                           f"{result.reason}")
            self._status(record.task_id, TaskStatus.PENDING,
                         f"waiting: runner {runner_name} is not authenticated")
            return WorkOutcome.REQUEUED
        kind = result.failure.value if result.failure else "error"
        return self._failed(record, f"agent {kind}: {result.reason or 'no reason given'}")

    def _failed(self, record: TaskRecord, reason: str, allow_retry: bool = True) -> WorkOutcome:
        current = self._record(record.task_id)
        retries = (record.task.options.retries if record.task.options.retries is not None
                   else self.settings.retries)
        if allow_retry and current.retries_used < retries:
            self._status(record.task_id, TaskStatus.PENDING,
                         f"{reason}; retry {current.retries_used + 1} of {retries}",
                         spend_retry=True)
            return WorkOutcome.RETRY
        self._status(record.task_id, TaskStatus.FAILED, reason)
        return WorkOutcome.FAILED

    # -- gates -------------------------------------------------------------------------

    def _gate_specs(self, record: TaskRecord) -> tuple[GateSpec, ...]:
        return self.settings.gates_for(record.task, record.agent)

    async def _check_gates(self, record: TaskRecord, handle: WorkspaceHandle,
                           round_: int) -> list[GateResult]:
        specs = self._gate_specs(record)
        if not effective_gates(specs, record.task, stage="branch"):
            return []
        self._status(record.task_id, TaskStatus.VERIFYING, "checking gates")
        attempts = [a for a in self.journal.attempts(self.run_id, record.task_id)
                    if a.kind != AttemptKind.REVIEW]
        # A task with no agent (a sync point, a validator) records its gates on an attempt
        # of kind "gates" so every gate result hangs off an attempt.
        attempt = attempts[-1] if attempts else self.journal.start_attempt(
            self.run_id, record.task_id, kind=AttemptKind.GATES, base_commit=handle.base_commit,
            workspace=handle.path)
        context = GateContext(
            task=record.task, workspace=handle.path,
            log_dir=self._log_path(record.task_id, 0).parent,
            base_commit=handle.base_commit, head_commit=attempt.head_commit,
            changed_files=attempt.changed_files,
            diff=await self._off_loop(self.workspaces.diff, handle),
            attempt=attempt.number, round=round_, env=self._env.get(record.task_id, {}),
            run_reviewer=lambda agent, prompt, n: self._review(record, handle, agent,
                                                               prompt, n),
        )
        results = await check_gates(specs, context)
        for result in results:
            self.journal.record_gate(attempt.id, result)
        return results

    async def _review(self, record: TaskRecord, handle: WorkspaceHandle, agent: str,
                      prompt: str, round_: int) -> AgentResult:
        """Run a reviewer agent in the task's worktree; its cost is journaled too."""
        profile = self.profiles.get(agent)
        runner_name = (profile.runner if profile and profile.runner
                       else self.settings.default_runner)
        self._status(record.task_id, TaskStatus.REVIEWING, f"review by {agent}")
        attempt = self.journal.start_attempt(
            self.run_id, record.task_id, kind=AttemptKind.REVIEW, runner=runner_name, agent=agent,
            workspace=handle.path,
            log_path=self._log_path(record.task_id, 0).with_name(f"review-{agent}-{round_}.log"))
        request = AgentRequest(
            task=record.task, prompt=prompt, workspace=handle.path,
            log_path=Path(attempt.log_path or ""), profile=profile,
            model=profile.model if profile else None, timeout_s=self.settings.timeout_s,
            options={**self.pool.options(runner_name), "role": "review", "round": round_,
                     "attempt": attempt.number,
                     **({"script": record.task.options.script}
                        if record.task.options.script is not None else {})},
        )
        keep_prompt(request.log_path, prompt)
        result = await self._contained(self.pool.get(runner_name).run, request,
                                       record.task_id, attempt.id)
        self.journal.finish_attempt(attempt.id, result)
        return result

    async def _contained(self, run: Callable[[AgentRequest], Awaitable[AgentResult]],
                         request: AgentRequest, task_id: str, attempt_id: int) -> AgentResult:
        """Run an agent with its processes tagged; the tag is journaled before it starts,
        so `resume` can kill what a dead engine left running."""
        tag = f"{self.run_id}:{attempt_id}"
        self.journal.append_event(self.run_id, EventKind.AGENT_PROCESSES, task_id, tag=tag)

        def started(pgid: int) -> None:
            self.journal.append_event(self.run_id, EventKind.AGENT_STARTED, task_id, tag=tag,
                                      pgid=pgid)

        wrap = (bwrap_wrapper(request.workspace, self.settings.sandbox_network)
                if self.settings.sandbox == "bwrap" else None)
        with attempt_scope(tag, started, wrap):
            return await run(request)

    # -- merge queue --------------------------------------------------------------------

    async def merge(self, task_id: str, approval_note: str | None = None,
                    record: TaskRecord | None = None) -> None:
        """Merge a task whose gates passed; one merge at a time, exactly once. `record` as
        for `work`."""
        self._merging.add(task_id)
        try:
            if approval_note is not None:
                self.journal.append_event(self.run_id, EventKind.APPROVED, task_id,
                                          note=approval_note)
            await self._merge(task_id, record)
        except WavefrontError as exc:
            self._fail_unless_merged(task_id, f"merge failed: {exc}")
        except Exception as exc:
            self._log_crash(task_id, exc)
            self._fail_unless_merged(task_id, f"internal error in merge: {exc!r}")
        finally:
            self._merging.discard(task_id)

    def _fail_unless_merged(self, task_id: str, reason: str) -> None:
        """Fail a task whose merge went wrong; one already merged stays done (a failure in
        the cleanup after the merge, such as removing its worktree, is only recorded)."""
        if self._record(task_id).status == TaskStatus.DONE:
            self.journal.append_event(self.run_id, EventKind.CLEANUP_FAILED, task_id, reason=reason)
        else:
            self._status(task_id, TaskStatus.FAILED, reason)

    async def _merge(self, task_id: str, record: TaskRecord | None = None) -> None:
        if record is None:
            record = self._record(task_id)
        merged = await self.queue.merge(record)
        if merged.outcome.ok:
            await self.run_hooks(task_id)
        elif merged.outcome.refused:
            self._status(task_id, TaskStatus.FAILED, merged.outcome.details)
        elif merged.broken is not None:
            await self._fix_merged(record, merged.broken)
        else:
            await self._resolve_conflict(record, merged.outcome.conflicts,
                                         merged.outcome.details)

    def _drain_moves(self, task_id: str) -> list[str]:
        """Journal the integration-branch moves the workspaces undid; the branch names."""
        moves = list(self.workspaces.moved_outside)
        self.workspaces.moved_outside.clear()
        for note in moves:
            self.journal.append_event(self.run_id, EventKind.INTEGRATION_MOVED, task_id,
                                      note=note)
        return [self.workspaces.integration_branch] if moves else []

    async def _fix_merged(self, record: TaskRecord, broken: GateResult) -> None:
        """A semantic conflict: each side passes alone, the merge does not. Back to the
        agent once, with the integration branch merged into its worktree and the failure."""
        task_id = record.task_id
        tried = self.journal.count_attempts(self.run_id, task_id, (AttemptKind.MERGED_FIX,)) > 0
        handle = await self._off_loop(self.workspaces.open, task_id)
        failure = f"the merged tree fails gate {broken.gate}: {broken.summary}"
        if tried or handle is None:
            self._status(task_id, TaskStatus.CONFLICT,
                         f"{failure}; not merged, the integration branch is unchanged"
                         + (f"; worktree kept at {handle.path}" if handle else ""))
            return
        conflicts = await self._off_loop(self.workspaces.start_conflict_resolution, handle)
        self._status(task_id, TaskStatus.RUNNING, f"{failure}: back to the agent once")
        clash = (f" It also conflicts in: {', '.join(conflicts)}; resolve those markers."
                 if conflicts else "")
        feedback = (
            "Your change passes its gates on its own, but merged with the work integrated "
            f"since you started, gate {broken.gate} fails ({broken.summary}). That work is "
            f"being merged into your worktree (a merge is in progress).{clash} Make the "
            "merged code pass while keeping both sides' intent.\n\nGate output:\n"
            f"{broken.details}")
        await self._send_back(record, handle, "merged-fix", feedback,
                              f"the fix for {failure}")

    async def _resolve_conflict(self, record: TaskRecord, conflicts: tuple[str, ...],
                                details: str) -> None:
        """Send a conflict back to the agent once, in its worktree; then give up clearly."""
        task_id = record.task_id
        tried = self.journal.count_attempts(self.run_id, task_id, (AttemptKind.CONFLICT,)) > 0
        handle = await self._off_loop(self.workspaces.open, task_id)
        files = ", ".join(conflicts) or "unknown files"
        if tried or handle is None:
            self._status(task_id, TaskStatus.CONFLICT,
                         f"merge conflict in {files}; worktree kept"
                         + (f" at {handle.path}" if handle else ""))
            return
        markers = await self._off_loop(self.workspaces.start_conflict_resolution, handle)
        self._status(task_id, TaskStatus.RUNNING,
                     f"merge conflict in {files}: back to the agent once")
        feedback = (
            "Your branch conflicts with work merged since you started. The merge is in "
            f"progress in your worktree; resolve the conflict markers in: "
            f"{', '.join(markers or conflicts)}. Keep both sides' intent.\n{details}"
        )
        await self._send_back(record, handle, "conflict", feedback,
                              f"merge conflict in {files}")

    async def _send_back(self, record: TaskRecord, handle: WorkspaceHandle, kind: str,
                         feedback: str, what: str) -> None:
        """One agent round in the task's worktree (merge in progress), then gates and the
        merge queue again; a failure ends in `conflict` with the worktree kept."""
        task_id = record.task_id
        attempt = self._start_attempt(record, handle, kind=kind)
        result = await self._run_agent(record, handle, attempt, 1,
                                       Note("Notes", feedback))
        unresolved = []
        if result.ok:
            unresolved = await self._off_loop(self.workspaces.conflict_markers, handle)
        if unresolved:
            self.journal.finish_attempt(attempt.id, replace(
                result, ok=False, failure=FailureKind.BAD_OUTPUT,
                reason=f"conflict markers left in {', '.join(unresolved)}"))
            self._status(task_id, TaskStatus.CONFLICT,
                         f"{what} not resolved by the agent (conflict markers left); "
                         f"worktree kept at {handle.path}")
            return
        if await self._after_agent(record, handle, attempt, result) is not None:
            return
        results = await self._check_gates(record, handle, 1)
        if results and not results[-1].passed:
            self._status(task_id, TaskStatus.CONFLICT,
                         f"{what} failed gate {results[-1].gate}: {results[-1].summary}")
            return
        await self._merge(task_id)

    # -- after a task is done ----------------------------------------------------------------

    async def run_hooks(self, task_id: str) -> None:
        """Run the done-hooks (workflow fan-out, branch choice) once per task.

        Hooks write their effects to the journal themselves; `hooks_done` marks them
        complete so a resume after a crash here runs them again, and only then.
        """
        if not self.hooks:
            return
        record = self._record(task_id)
        texts = [a.text for a in self.journal.attempts(self.run_id, task_id)
                 if a.kind in (AttemptKind.AGENT, AttemptKind.CONFLICT) and a.ok]
        context = DoneContext(journal=self.journal, run_id=self.run_id, task=record.task,
                              final_text=texts[-1] if texts else "",
                              commit=record.merge_commit or "", workspaces=self.workspaces)
        for hook in self.hooks:
            await hook(context)
        self.journal.append_event(self.run_id, EventKind.HOOKS_DONE, task_id)

    def unhooked_done_tasks(self) -> list[str]:
        """Done tasks whose hooks did not complete (the process stopped in between)."""
        if not self.hooks:
            return []
        hooked = {e.task_id for e in self.journal.events(self.run_id, kind=EventKind.HOOKS_DONE)}
        return [r.task_id for r in self.journal.tasks(self.run_id)
                if r.status == TaskStatus.DONE and r.task_id not in hooked]

    async def _off_loop(self, call: Callable[_P, _R], *args: _P.args,
                        **kwargs: _P.kwargs) -> _R:
        return await call_backend(self.workspaces, call, *args, **kwargs)

    # -- helpers ------------------------------------------------------------------------

    def _record(self, task_id: str) -> TaskRecord:
        record = self.journal.task(self.run_id, task_id)
        if record is None:
            raise WavefrontError(f"run {self.run_id} has no task {task_id!r}")
        return record

    def _status(self, task_id: str, status: TaskStatus, reason: str = "",
                **data: Any) -> None:
        self.journal.set_status(self.run_id, task_id, status, reason, **data)

    def _runner_name(self, record: TaskRecord) -> str:
        return record.runner or self.settings.default_runner

    def _start_attempt(self, record: TaskRecord, handle: WorkspaceHandle,
                       kind: str) -> AttemptRecord:
        suffix = "" if kind == "agent" else f"-{kind}"
        return self.journal.start_attempt(
            self.run_id, record.task_id, kind=kind, runner=self._runner_name(record),
            agent=record.agent, base_commit=handle.base_commit, workspace=handle.path,
            log_path=lambda number: self._log_path(record.task_id, number, suffix))

    def _over_task_budget(self, record: TaskRecord) -> str:
        """Why no further attempt may start (the task's `max_cost_usd`), or ""."""
        limit = record.task.options.max_cost_usd
        if limit is None:
            return ""
        spent = sum(a.cost_usd or 0.0 for a in self.journal.attempts(self.run_id,
                                                                     record.task_id))
        if spent < float(limit):
            return ""
        return f"task budget reached: spent ${spent:.2f} of max_cost_usd ${float(limit):.2f}"

    def _attempt_count(self, task_id: str) -> int:
        """Attempts at the work itself (first tries, retries, conflict rounds) so far."""
        return self.journal.count_attempts(self.run_id, task_id,
                                           AGENT_WORK)

    def _log_path(self, task_id: str, number: int, suffix: str = "") -> Path:
        return self.logs_dir / safe_name(task_id) / f"attempt-{number}{suffix}.log"

    def _deliveries(self, task: Task) -> list[DependencyDelivery]:
        """What each dependency's agent reported and changed, for this task's prompt."""
        reports = self.journal.dependency_reports(self.run_id, task.dependencies,
                                                  AGENT_WORK)
        return [DependencyDelivery(dep, *reports[dep]) for dep in task.dependencies
                if dep in reports]

    def _log_crash(self, task_id: str, exc: BaseException) -> None:
        path = self._log_path(task_id, 0).with_name("internal-error.log")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")


def _question_of(result: AgentResult) -> tuple[str | None, AgentResult]:
    """The question a successful reply asks, if any; a malformed block fails the attempt."""
    if not result.ok:
        return None, result
    try:
        return parse_question(result.text), result
    except BadQuestion as exc:
        return None, replace(result, ok=False, failure=FailureKind.BAD_OUTPUT, reason=str(exc))
