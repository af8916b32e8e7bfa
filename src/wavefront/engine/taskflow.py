"""What one task goes through: workspace, agent, gates, review and fix rounds, and then
the merge queue (`mergerounds.py`), which sends a conflict or a broken merged tree back.

Every step is journaled before it is acted on, so `resume` can tell where a task stood.
Agent and gate failures are values; they end in a task status with a reason, never an
exception out of here (a `WavefrontError` from git becomes a failed task too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from wavefront.agents.questions import BadQuestion, parse_question
from wavefront.engine.agentrounds import AgentRounds
from wavefront.engine.conversation import (
    Note,
    ask,
    asked_reason,
    last_session,
    note_for,
    unanswered,
)
from wavefront.engine.executor import Executor, LocalExecutor
from wavefront.engine.feedback import fix_request, phase_fix_request, revision_request
from wavefront.engine.flowstate import FlowState, WorkOutcome
from wavefront.engine.mergequeue import WriteBack
from wavefront.engine.mergerounds import DoneContext, DoneHook, MergeRounds
from wavefront.engine.pool import RunnerPool
from wavefront.engine.prepare import WorkspacePreparer
from wavefront.engine.settings import RunSettings
from wavefront.errors import WavefrontError
from wavefront.journal.database import AttemptRecord, Journal, TaskRecord
from wavefront.journal.kinds import AttemptKind, EventKind
from wavefront.model import (
    AgentProfile,
    AgentResult,
    FailureKind,
    GateAction,
    GateResult,
    Task,
    TaskOptions,
    TaskStatus,
)
from wavefront.words import plural, shell_words
from wavefront.workspace.base import Workspaces
from wavefront.workspace.git import safe_name
from wavefront.workspace.setup import Prepared, WorkspaceSetup

__all__ = ["DoneContext", "DoneHook", "Note", "TaskFlow", "WorkOutcome"]


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
        sandbox: Callable[[Path], Callable[[Sequence[str]], list[str]]] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.state = FlowState(journal, run_id, workspaces, pool, profiles, settings, logs_dir,
                               sandbox=sandbox, executor=executor or LocalExecutor())
        self.journal = journal
        self.run_id = run_id
        self.workspaces = workspaces
        self.settings = settings
        self.preparer = WorkspacePreparer(
            WorkspaceSetup(settings.setup, settings.copy_files, settings.teardown),
            workspaces.repo_root, logs_dir)
        self.rounds = AgentRounds(self.state)
        self.merges = MergeRounds(self.state, self.rounds, self.preparer, hooks, write_back)
        self.hooks = self.merges.hooks

    # -- what the engine asks ---------------------------------------------------------

    def is_merging(self, task_id: str) -> bool:
        return task_id in self.merges.merging

    def runner_available(self, name: str, now: float) -> bool:
        return self.state.pool.available(name or self.settings.default_runner, now)

    def runner_disabled(self, name: str) -> str | None:
        return self.state.pool.disabled(name or self.settings.default_runner)

    async def merge(self, task_id: str, approval_note: str | None = None,
                    record: TaskRecord | None = None) -> None:
        await self.merges.merge(task_id, approval_note, record)

    def not_merging(self, task_id: str) -> None:
        """The task left `work` other than ready to merge: the queue stops waiting for it."""
        self.merges.queue.not_coming(task_id)

    async def run_hooks(self, task_id: str) -> None:
        await self.merges.run_hooks(task_id)

    def unhooked_done_tasks(self) -> list[str]:
        return self.merges.unhooked_done_tasks()

    def note_for(self, task_id: str, decision: str, text: str) -> Note:
        """The next round's note for a person's `answer` or `change` decision."""
        return note_for(self.journal, self.run_id, task_id, decision, text)

    # -- work: agent, gates, review and fix rounds ------------------------------------

    async def work(self, task_id: str, record: TaskRecord | None = None,
                   note: Note | None = None) -> WorkOutcome:
        """Run a dispatched task up to the merge queue. `record` may be the engine's copy of
        the task's journal row (only its definition is used, which a status change leaves
        alone), which saves reading it again. `note` continues a task that waited for a
        person (an answer, a change request) in its kept worktree."""
        if record is None:
            record = self.state.record(task_id)
        attempt: AttemptRecord | None = None
        prepared: Prepared | None = None
        try:
            handle = None
            if note is not None:
                handle = await self.state.off_loop(self.workspaces.open, task_id)
            if handle is None:
                # Where the attempt works is recorded with the attempt (workspace, base).
                handle = await self.state.off_loop(self.workspaces.create, task_id)
            feedback = note or Note("", "")
            session = last_session(self.journal, self.run_id, task_id) if note else None
            prepared = await self.preparer.prepare(task_id, safe_name(task_id), handle.path)
            self.state.env[task_id] = prepared.env
            self.state.copied[task_id] = prepared.copied
            if prepared.failure is not None:
                return self.state.failed(record, prepared.failure)
            round_ = 1
            fixes = 0
            fix_limit = record.task.options.fix_rounds
            if fix_limit is None:
                fix_limit = self.settings.fix_rounds
            agentless = record.task.options.agentless
            while True:
                over = self._over_task_budget(record)
                if over:
                    return self.state.failed(record, over, allow_retry=False)
                if not agentless:
                    self.merges.queue.not_coming(task_id)  # a new round: not on its way yet
                    attempt = self.state.start_attempt(record, handle, kind=AttemptKind.AGENT)
                    result = await self.rounds.run_agent(record, handle, attempt, round_ + fixes,
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
                    self.merges.queue.expect(task_id)
                    outcome = await self.rounds.after_agent(record, handle, attempt, result)
                    attempt = None
                    if outcome is not None:
                        return outcome
                results = await self.rounds.check_gates(record, handle, round_)
                verdict = results[-1] if results else None
                if verdict is None or verdict.passed:
                    return WorkOutcome.READY_TO_MERGE
                if verdict.action is GateAction.REVISE:
                    if round_ < self.settings.review_rounds:
                        round_ += 1
                        feedback = Note("Changes requested", revision_request(verdict))
                        self.state.status(task_id, TaskStatus.RUNNING,
                                     f"changes requested by {verdict.gate} "
                                     f"(round {round_} of {self.settings.review_rounds})")
                        continue
                    if self.settings.on_review_limit == "accept":
                        self.journal.append_event(self.run_id, EventKind.ACCEPTED_WITH_FINDINGS,
                                                  task_id, findings=list(verdict.findings))
                        return WorkOutcome.READY_TO_MERGE
                    self.state.status(task_id, TaskStatus.NEEDS_HUMAN,
                                 f"review not approved after {round_} rounds: "
                                 f"{verdict.summary}; `wavefront approve {shell_words([task_id])}`"
                                 " or `wavefront reject --note \"what to change\" "
                                 f"{shell_words([task_id])}`")
                    return WorkOutcome.WAITING
                if verdict.action is GateAction.WAIT:
                    self.state.status(task_id, TaskStatus.NEEDS_HUMAN,
                                 f"{verdict.summary}; "
                                 f"`wavefront approve {shell_words([task_id])}`")
                    return WorkOutcome.WAITING
                failure = f"gate {verdict.gate} failed: {verdict.summary}"
                if agentless:
                    return self._phase_fix(record, verdict, failure, fix_limit)
                if fixes >= fix_limit:
                    if fixes:
                        failure += f" (after {plural(fixes, 'fix round')})"
                    return self.state.failed(record, failure)
                fixes += 1
                feedback = Note("What failed in your last attempt",
                                fix_request(verdict, fixes, fix_limit))
                self.journal.append_event(self.run_id, EventKind.FIX_ROUND, task_id,
                                          gate=verdict.gate, summary=verdict.summary,
                                          round=fixes, limit=fix_limit)
                self.state.status(task_id, TaskStatus.RUNNING,
                             f"{failure}; back to the agent (fix round {fixes} of {fix_limit})")
        except asyncio.CancelledError:
            if attempt is not None:
                self.journal.finish_attempt(
                    attempt.id, AgentResult(ok=False, failure=FailureKind.CANCELLED,
                                            reason="interrupted"), state="cancelled")
            self.state.status(task_id, TaskStatus.PENDING, "interrupted; will run again on resume")
            raise
        except WavefrontError as exc:
            return self.state.failed(record, str(exc), allow_retry=False)
        except Exception as exc:  # a bug must not hang the run or lose the reason
            self.state.log_crash(task_id, exc)
            return self.state.failed(record, f"internal error: {exc!r}", allow_retry=False)
        finally:
            if prepared is not None and handle is not None:
                await self.preparer.teardown(safe_name(task_id), handle.path, prepared)
                self.state.env.pop(task_id, None)
                self.state.copied.pop(task_id, None)

    def _phase_fix(self, record: TaskRecord, verdict: GateResult, failure: str,
                   limit: int) -> WorkOutcome:
        """A phase gate refused its producers' work: a fix task for the agent of the step
        that produced it, and the gate checks again after that task is merged."""
        task_id = record.task_id
        made = [r for r in self.journal.tasks(self.run_id)
                if r.task.options.fixes_gate == task_id]
        if len(made) >= limit:
            if made:
                failure += f" (after {plural(len(made), 'fix task')})"
            return self.state.failed(record, failure)
        producers = [r for r in (self.journal.task(self.run_id, dep)
                                 for dep in record.task.dependencies) if r is not None]
        maker = next((r for r in producers if r.agent), None)
        agent, runner = (maker.agent, maker.runner) if maker else (None, None)
        fix_by = self._fix_by(record, verdict)
        if fix_by:
            # A validator's FAIL is fixed by the engineer the gate names, not the validator.
            profile = self.state.profiles.get(fix_by)
            agent, runner = fix_by, (profile.runner if profile and profile.runner else runner)
        fix = Task(
            id=f"{task_id}-fix-{len(made) + 1}", title=f"Fix what {task_id} found",
            source=record.task.source,
            body=phase_fix_request(verdict, task_id, [r.task_id for r in producers],
                                   len(made) + 1, limit),
            files=tuple(dict.fromkeys(f for r in producers for f in r.task.files)),
            options=TaskOptions(fixes_gate=task_id))
        self.journal.add_tasks(
            self.run_id, [(fix, agent, runner, record.priority, record.wave)],
            reason=f"{failure}: fix task for {task_id}",
            extend_dependencies={task_id: [fix.id]})
        self.state.status(task_id, TaskStatus.PENDING,
                     f"{failure}; fix task {fix.id} made"
                     + (f" for {agent}" if agent else "")
                     + ", checked again after it")
        return WorkOutcome.REQUEUED

    def _fix_by(self, record: TaskRecord, verdict: GateResult) -> str | None:
        """The agent a gate names for fixing what it refused (`fix_by`), if any."""
        for spec in self.state.gate_specs(record):
            if str(spec.options.get("name") or spec.kind) == verdict.gate:
                fix_by = spec.options.get("fix_by")
                return str(fix_by) if fix_by else None
        return None

    def _ask(self, record: TaskRecord, question: str, journaled: bool = False) -> WorkOutcome:
        """The agent needs a decision: wait for a person without holding a slot."""
        task_id = record.task_id
        if not journaled:
            ask(self.journal, self.run_id, task_id, question, record.agent or "agent")
        self.state.status(task_id, TaskStatus.NEEDS_HUMAN, asked_reason(task_id, question))
        return WorkOutcome.WAITING

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


def _question_of(result: AgentResult) -> tuple[str | None, AgentResult]:
    """The question a successful reply asks, if any; a malformed block fails the attempt."""
    if not result.ok:
        return None, result
    try:
        return parse_question(result.text), result
    except BadQuestion as exc:
        return None, replace(result, ok=False, failure=FailureKind.BAD_OUTPUT, reason=str(exc))
