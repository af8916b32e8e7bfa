"""One agent round in a task's workspace, and the gates after it.

A round builds the agent's request (the same prompt `wavefront prompt` shows), runs the
agent with its processes tagged and contained, checks that it changed nothing outside its
workspace, commits what it wrote and journals the attempt. Gates then check the commit;
a reviewer gate runs its reviewer agent through here too, so its cost is journaled.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path

from wavefront.agents.evidence import reported_deviations
from wavefront.agents.prompt import (
    DependencyDelivery,
    agent_prompt,
    gate_commands,
    parse_deviations,
)
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.command import keep_prompt
from wavefront.agents.runners.mcpwiring import McpServer
from wavefront.engine.conversation import Note, answers, deviations_since
from wavefront.engine.executor import AttemptJob
from wavefront.engine.flowstate import FlowState, WorkOutcome
from wavefront.errors import WorkspaceError
from wavefront.gates.base import GateContext
from wavefront.gates.registry import check_gates, effective_gates
from wavefront.journal.database import AttemptRecord, TaskRecord
from wavefront.journal.kinds import AGENT_WORK, AttemptKind, EventKind
from wavefront.lifetime import attempt_scope
from wavefront.model import AgentResult, FailureKind, GateResult, Task, TaskStatus
from wavefront.workspace.base import WorkspaceHandle
from wavefront.workspace.sandbox import SandboxChoice
from wavefront.workspace.setup import copied_contents

__all__ = ["AgentRounds", "commit_message"]

# Attempts a task may lose with their machines before losing one more counts as a failure
# (a cluster that keeps failing it should not keep it forever).
_LOST_FREE = 3


def commit_message(record: TaskRecord, run_id: str) -> str:
    """The message of the commit that holds an agent round's work."""
    return f"{record.task_id}: {record.task.title}\n\nwavefront-run: {run_id}"


class AgentRounds:
    def __init__(self, state: FlowState) -> None:
        self.state = state

    async def run_agent(self, record: TaskRecord, handle: WorkspaceHandle,
                        attempt: AttemptRecord, round_: int, feedback: Note,
                        session: str | None = None) -> AgentResult:
        state = self.state
        task = record.task
        runner_name = state.runner_name(record)
        runner = state.pool.get(runner_name)
        profile = state.profiles.get(record.agent or "")
        mcp = None if state.executor.remote else self._mcp_server(task.id)
        prompt = agent_prompt(task, profile, runner, dependencies=self._deliveries(task),
                              gates=state.gate_specs(record),
                              answers=answers(state.journal, state.run_id, task.id),
                              extra=feedback.text, extra_heading=feedback.heading or "Notes",
                              deviations=_evidence(task, handle), ask_tool=mcp is not None)
        request = AgentRequest(
            task=task, prompt=prompt, workspace=handle.path,
            log_path=Path(attempt.log_path or state.log_path(task.id, attempt.number)),
            profile=profile, model=task.options.model or (profile.model if profile else None),
            timeout_s=task.options.timeout_s or state.settings.timeout_s,
            max_turns=task.options.max_turns,
            env=state.env.get(task.id, {}),
            commands=gate_commands(state.gate_specs(record)),
            options={**state.pool.options(runner_name), "attempt": self._attempt_count(task.id),
                     "round": round_, "role": "implement" if attempt.kind == AttemptKind.AGENT
                     else "resolve-conflict",
                     **({"resume_session": session} if session else {}),
                     **({"script": task.options.script} if task.options.script is not None
                        else {})},
            # The run's MCP server reads this machine's journal: no use on another one.
            mcp=mcp,
        )
        kind, constructor = state.pool.spec(runner_name)
        job = AttemptJob(
            run_id=state.run_id, attempt_tag=state.attempt_tag(attempt.id),
            runner_name=runner_name, runner=runner, runner_kind=kind,
            runner_settings=constructor, request=request, base_commit=handle.base_commit,
            commit_message=commit_message(record, state.run_id),
            repo_root=state.workspaces.repo_root, setup=state.settings.setup,
            gates=tuple(spec for spec in effective_gates(state.gate_specs(record), task,
                                                         stage="branch")
                        if spec.kind == "command"),
            attempt_number=attempt.number,
            sandbox=SandboxChoice(state.settings.sandbox, state.settings.sandbox_network,
                                  state.settings.sandbox_required),
            copied=copied_contents(handle.path, state.copied.get(task.id, ()))
            if state.executor.remote else {})
        guard = state.workspaces.guard()
        before = await asyncio.to_thread(guard.snapshot) if guard is not None else None
        keep_prompt(request.log_path, prompt)
        result = await self._contained(lambda _: state.executor.run(job), request, task.id,
                                       attempt.id)
        if guard is not None and before is not None:
            outside = await asyncio.to_thread(guard.changes, before)
            # An outside move is put back by the next look at the branch (a merge's or this
            # one), and blamed on an attempt that ran meanwhile: this one, if none has yet.
            await state.off_loop(state.workspaces.integration_head)
            outside += state.drain_moves(task.id)
            if outside and state.settings.sandbox != "none":
                # The sandbox let no process of the attempt write there: a person did.
                state.journal.append_event(state.run_id, EventKind.OUTSIDE_WRITES, task.id,
                                           changes=", ".join(outside), by="not an agent")
            elif outside and state.settings.outside_writes == "warn":
                state.journal.append_event(state.run_id, EventKind.OUTSIDE_WRITES, task.id,
                                           changes=guard.describe(outside))
            elif outside:
                result = replace(result, ok=False, failure=FailureKind.ERROR,
                                 reason=guard.describe(outside))
        return result

    async def after_agent(self, record: TaskRecord, handle: WorkspaceHandle,
                          attempt: AttemptRecord, result: AgentResult) -> WorkOutcome | None:
        """Record the attempt; None means the work is committed and goes on to the gates."""
        state = self.state
        task_id = record.task_id
        if not result.ok:
            state.journal.finish_attempt(attempt.id, result)
            return self._agent_failed(record, result)
        message = commit_message(record, state.run_id)
        try:
            head = await state.off_loop(state.workspaces.commit_all, handle, message)
        except WorkspaceError as exc:  # the agent broke its workspace's git state
            result = replace(result, ok=False, failure=FailureKind.BAD_OUTPUT, reason=str(exc))
            state.journal.finish_attempt(attempt.id, result)
            return self._agent_failed(record, result)
        changed = await state.off_loop(state.workspaces.changed_files, handle)
        if (not changed and state.workspaces.versioned
                and not record.task.options.allow_no_changes):
            # A phantom completion: the agent said it was done and changed nothing.
            result = replace(result, ok=False, failure=FailureKind.BAD_OUTPUT,
                             reason="the agent reported success but changed no files")
            state.journal.finish_attempt(attempt.id, result)
            return self._agent_failed(record, result)
        if head is None and state.workspaces.versioned:
            head = await state.off_loop(state.workspaces.head, handle)
        state.journal.finish_attempt(
            attempt.id, result, head_commit=head, changed_files=changed,
            deviations=[*parse_deviations(result.text),
                        *deviations_since(state.journal, state.run_id, task_id,
                                          attempt.started_at)])
        return None

    async def check_gates(self, record: TaskRecord, handle: WorkspaceHandle,
                          round_: int) -> list[GateResult]:
        state = self.state
        specs = state.gate_specs(record)
        if not effective_gates(specs, record.task, stage="branch"):
            return []
        state.status(record.task_id, TaskStatus.VERIFYING, "checking gates")
        attempts = [a for a in state.journal.attempts(state.run_id, record.task_id)
                    if a.kind != AttemptKind.REVIEW]
        # A task with no agent (a sync point, a validator) records its gates on an attempt
        # of kind "gates" so every gate result hangs off an attempt.
        attempt = attempts[-1] if attempts else state.journal.start_attempt(
            state.run_id, record.task_id, kind=AttemptKind.GATES,
            base_commit=handle.base_commit, workspace=handle.path)
        context = GateContext(
            task=record.task, workspace=handle.path,
            log_dir=state.log_path(record.task_id, 0).parent,
            base_commit=handle.base_commit, head_commit=attempt.head_commit,
            changed_files=attempt.changed_files,
            diff=await state.off_loop(state.workspaces.diff, handle),
            attempt=attempt.number, round=round_, env=state.env.get(record.task_id, {}),
            report=attempt.text if attempt.kind != AttemptKind.GATES else "",
            run_reviewer=lambda agent, prompt, n: self._review(record, handle, agent,
                                                               prompt, n),
        )
        known = state.executor.checked_gates(state.attempt_tag(attempt.id),
                                             attempt.head_commit)
        await state.journal.durable()
        results = await check_gates(specs, context, known=known)
        for result in results:
            state.journal.record_gate(attempt.id, result)
        return results

    def _agent_failed(self, record: TaskRecord, result: AgentResult) -> WorkOutcome:
        state = self.state
        runner_name = state.runner_name(record)
        if result.failure is FailureKind.RATE_LIMITED:
            until = state.pool.pause(runner_name, result.retry_at)
            state.status(record.task_id, TaskStatus.PENDING,
                         f"runner {runner_name} rate limited until "
                         f"{time.strftime('%H:%M:%S', time.localtime(until))}; "
                         "no retry spent")
            return WorkOutcome.REQUEUED
        if result.failure is FailureKind.LOST:
            lost = sum(1 for a in state.journal.attempts(state.run_id, record.task_id)
                       if a.failure == FailureKind.LOST.value)
            if lost <= _LOST_FREE:
                # The machine went away, not the agent: nothing was fetched or spent.
                state.status(record.task_id, TaskStatus.PENDING,
                             f"{result.reason}; runs again, no retry spent")
                return WorkOutcome.REQUEUED
            return state.failed(record, f"{result.reason}; {lost} attempts of this task were lost")
        if result.failure is FailureKind.AUTH:
            state.pool.disable(runner_name, f"runner {runner_name} is not authenticated: "
                                            f"{result.reason}")
            state.status(record.task_id, TaskStatus.PENDING,
                         f"waiting: runner {runner_name} is not authenticated")
            return WorkOutcome.REQUEUED
        kind = result.failure.value if result.failure else "error"
        return state.failed(record, f"agent {kind}: {result.reason or 'no reason given'}")

    async def _review(self, record: TaskRecord, handle: WorkspaceHandle, agent: str,
                      prompt: str, round_: int) -> AgentResult:
        """Run a reviewer agent in the task's worktree, through its profile's runner or
        else the implementer's; its cost is journaled too."""
        state = self.state
        profile = state.profiles.get(agent)
        runner_name = (profile.runner if profile and profile.runner
                       else state.runner_name(record))
        state.status(record.task_id, TaskStatus.REVIEWING, f"review by {agent}")
        attempt = state.journal.start_attempt(
            state.run_id, record.task_id, kind=AttemptKind.REVIEW, runner=runner_name,
            agent=agent, workspace=handle.path,
            log_path=state.log_path(record.task_id, 0).with_name(
                f"review-{agent}-{round_}.log"))
        request = AgentRequest(
            task=record.task, prompt=prompt, workspace=handle.path,
            log_path=Path(attempt.log_path or ""), profile=profile,
            model=profile.model if profile else None, timeout_s=state.settings.timeout_s,
            options={**state.pool.options(runner_name), "role": "review", "round": round_,
                     "attempt": attempt.number,
                     **({"script": record.task.options.script}
                        if record.task.options.script is not None else {})},
        )
        keep_prompt(request.log_path, prompt)
        result = await self._contained(state.pool.get(runner_name).run, request,
                                       record.task_id, attempt.id)
        state.journal.finish_attempt(attempt.id, result)
        return result

    async def _contained(self, run: Callable[[AgentRequest], Awaitable[AgentResult]],
                         request: AgentRequest, task_id: str, attempt_id: int) -> AgentResult:
        """Run an agent with its processes tagged; the tag is journaled before it starts,
        so `resume` can kill what a dead engine left running."""
        state = self.state
        tag = state.attempt_tag(attempt_id)
        state.journal.append_event(state.run_id, EventKind.AGENT_PROCESSES, task_id, tag=tag)

        def started(pgid: int) -> None:
            state.journal.append_event(state.run_id, EventKind.AGENT_STARTED, task_id,
                                       tag=tag, pgid=pgid)

        wrap = state.sandbox(request.workspace) if state.sandbox is not None else None
        await state.journal.durable()  # the tag is on disk before any process has it
        with attempt_scope(tag, started, wrap):
            return await run(request)

    def _mcp_server(self, task_id: str) -> McpServer | None:
        """wavefront's MCP server bound to this task of this run, when the run has `mcp`."""
        state = self.state
        root = state.workspaces.repo_root
        if not state.settings.mcp or root is None:
            return None
        return McpServer(sys.executable, ("-m", "wavefront", "mcp", "--task", task_id,
                                          "--run", state.run_id, "-C", str(root)))

    def _attempt_count(self, task_id: str) -> int:
        """Attempts at the work itself (first tries, retries, conflict rounds) so far."""
        return self.state.journal.count_attempts(self.state.run_id, task_id, AGENT_WORK)

    def _deliveries(self, task: Task) -> list[DependencyDelivery]:
        """What each dependency's agent reported and changed, for this task's prompt."""
        reports = self.state.journal.dependency_reports(self.state.run_id, task.dependencies,
                                                        AGENT_WORK)
        return [DependencyDelivery(dep, *reports[dep]) for dep in task.dependencies
                if dep in reports]


def _evidence(task: Task, handle: WorkspaceHandle) -> list[str]:
    """The deviations in the EVIDENCE files a workflow step reconciles (`deviations_from`),
    as its worktree has them."""
    info = task.options.workflow
    patterns = info.get("deviations_from") if isinstance(info, Mapping) else None
    if not patterns:
        return []
    return reported_deviations(handle.path, [str(p) for p in patterns])
