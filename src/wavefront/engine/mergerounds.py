"""A task whose gates passed goes through the merge queue; when its merge conflicts it goes
back to its agent once, and when the merged tree fails a gate, for up to `fix_rounds` fix
rounds, in its workspace with the merge in progress; after a merge, the done-hooks (a
workflow's fan-out, a branch choice) run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wavefront.engine.agentrounds import AgentRounds
from wavefront.engine.conversation import Note
from wavefront.engine.feedback import output_tail
from wavefront.engine.flowstate import FlowState
from wavefront.engine.mergequeue import MergeQueue, WriteBack
from wavefront.engine.prepare import WorkspacePreparer
from wavefront.errors import WavefrontError
from wavefront.journal.database import Journal, TaskRecord
from wavefront.journal.kinds import AGENT_WORK, AttemptKind, EventKind
from wavefront.model import FailureKind, GateResult, Task, TaskStatus
from wavefront.redact import redact
from wavefront.words import plural
from wavefront.workspace.base import WorkspaceHandle, Workspaces

__all__ = ["DoneContext", "DoneHook", "MergeRounds"]


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

# Told to the agent when the markers carry the base (the user's `merge.conflictStyle` is
# diff3 or zdiff3): a section it has never seen, easy to keep by mistake.
BASE_SECTION_NOTE = (
    "The markers show three versions: from `<<<<<<<` to `|||||||` is your branch, from "
    "`|||||||` to `=======` the common base both started from (for comparison only), from "
    "`=======` to `>>>>>>>` the work merged since. Keep no marker and no base section."
)


def base_sections(workspace: Path, paths: Sequence[str]) -> bool:
    """Whether any of the conflicted `paths` holds a diff3 base section (`|||||||`)."""
    for path in paths:
        try:
            text = (workspace / path).read_bytes()
        except OSError:
            continue
        if text.startswith(b"|||||||") or b"\n|||||||" in text:
            return True
    return False


class MergeRounds:
    def __init__(self, state: FlowState, rounds: AgentRounds, preparer: WorkspacePreparer,
                 hooks: Sequence[DoneHook] = (), write_back: WriteBack | None = None) -> None:
        self.state = state
        self.rounds = rounds
        self.hooks = tuple(hooks)
        self.queue = MergeQueue(
            state.journal, state.run_id, state.workspaces,
            verify_merged=state.settings.verify == "merged",
            gate_specs=state.gate_specs, set_status=state.status,
            log_dir=lambda task_id: state.log_path(task_id, 0).parent, write_back=write_back,
            preparer=preparer, verify_parallel=state.settings.verify_parallel)
        self.merging: set[str] = set()

    async def merge(self, task_id: str, approval_note: str | None = None,
                    record: TaskRecord | None = None) -> None:
        """Merge a task whose gates passed; one merge at a time, exactly once. `record` may
        be the engine's copy of the task's journal row."""
        state = self.state
        self.merging.add(task_id)
        try:
            if approval_note is not None:
                state.journal.append_event(state.run_id, EventKind.APPROVED, task_id,
                                           note=approval_note)
            await self._merge(task_id, record)
        except WavefrontError as exc:
            self._fail_unless_merged(task_id, f"merge failed: {exc}")
        except Exception as exc:
            state.log_crash(task_id, exc)
            self._fail_unless_merged(task_id, f"internal error in merge: {exc!r}")
        finally:
            self.merging.discard(task_id)

    async def run_hooks(self, task_id: str) -> None:
        """Run the done-hooks (workflow fan-out, branch choice) once per task.

        Hooks write their effects to the journal themselves; `hooks_done` marks them
        complete so a resume after a crash here runs them again, and only then.
        """
        if not self.hooks:
            return
        state = self.state
        record = state.record(task_id)
        texts = [a.text for a in state.journal.attempts(state.run_id, task_id)
                 if a.kind in (AttemptKind.AGENT, AttemptKind.CONFLICT) and a.ok]
        context = DoneContext(journal=state.journal, run_id=state.run_id, task=record.task,
                              final_text=texts[-1] if texts else "",
                              commit=record.merge_commit or "", workspaces=state.workspaces)
        for hook in self.hooks:
            await hook(context)
        state.journal.append_event(state.run_id, EventKind.HOOKS_DONE, task_id)

    def unhooked_done_tasks(self) -> list[str]:
        """Done tasks whose hooks did not complete (the process stopped in between)."""
        if not self.hooks:
            return []
        state = self.state
        hooked = {e.task_id for e in state.journal.events(state.run_id,
                                                          kind=EventKind.HOOKS_DONE)}
        return [r.task_id for r in state.journal.tasks(state.run_id)
                if r.status == TaskStatus.DONE and r.task_id not in hooked]

    def _fail_unless_merged(self, task_id: str, reason: str) -> None:
        """Fail a task whose merge went wrong; one already merged stays done (a failure in
        the cleanup after the merge, such as removing its worktree, is only recorded)."""
        state = self.state
        if state.record(task_id).status == TaskStatus.DONE:
            state.journal.append_event(state.run_id, EventKind.CLEANUP_FAILED, task_id,
                                       reason=reason)
        else:
            state.status(task_id, TaskStatus.FAILED, reason)

    async def _merge(self, task_id: str, record: TaskRecord | None = None) -> None:
        if record is None:
            record = self.state.record(task_id)
        merged = await self.queue.merge(record)
        if merged.outcome.ok:
            await self.run_hooks(task_id)
        elif merged.outcome.refused:
            self.state.status(task_id, TaskStatus.FAILED, merged.outcome.details)
        elif merged.broken is not None:
            await self._fix_merged(record, merged.broken)
        else:
            await self._resolve_conflict(record, merged.outcome.conflicts,
                                         merged.outcome.details)

    async def _fix_merged(self, record: TaskRecord, broken: GateResult) -> None:
        """A semantic conflict: each side passes alone, the merge does not. Back to the
        agent, with the integration branch merged into its worktree, the failure and the
        tasks merged meanwhile; a counted fix round, at most `fix_rounds` of them."""
        state = self.state
        task_id = record.task_id
        limit = record.task.options.fix_rounds
        if limit is None:
            limit = state.settings.fix_rounds
        tried = state.journal.count_attempts(state.run_id, task_id,
                                             (AttemptKind.MERGED_FIX,))
        handle = await state.off_loop(state.workspaces.open, task_id)
        failure = f"the merged tree fails gate {broken.gate}: {broken.summary}"
        if tried >= limit or handle is None:
            rounds = f" (after {plural(tried, 'fix round')})" if tried else ""
            state.status(task_id, TaskStatus.CONFLICT,
                         f"{failure}{rounds}; not merged, the integration branch is "
                         "unchanged" + (f"; worktree kept at {handle.path}" if handle else ""))
            return
        met = self._merged_since(task_id, handle.base_commit)
        conflicts = await state.off_loop(state.workspaces.start_conflict_resolution, handle)
        round_ = tried + 1
        state.journal.append_event(state.run_id, EventKind.FIX_ROUND, task_id,
                                   gate=f"{broken.gate} (merged tree)",
                                   summary=broken.summary, round=round_, limit=limit,
                                   merged_since=[m.split(" ", 1)[0] for m in met])
        state.status(task_id, TaskStatus.RUNNING,
                     f"{failure}; back to the agent (fix round {round_} of {limit})")
        clash = (f" It also conflicts in: {', '.join(conflicts)}; resolve those markers."
                 if conflicts else "")
        has_base: bool = await state.off_loop(base_sections, handle.path, conflicts)
        if has_base:
            clash += " " + BASE_SECTION_NOTE
        others = ("\n\nMerged since you started (the change yours meets):\n"
                  + "\n".join(f"- {line}" for line in met)) if met else ""
        feedback = redact(
            "Your change passes its gates on its own, but merged with the work integrated "
            f"since you started, gate {broken.gate} fails ({broken.summary}). That work is "
            f"being merged into your worktree (a merge is in progress).{clash} Make the "
            "merged code pass while keeping both sides' intent "
            f"(fix round {round_} of {limit}; after that the task is not merged)."
            f"{others}\n\nGate output (last lines):\n```\n{output_tail(broken.details)}"
            "\n```")
        await self._send_back(record, handle, AttemptKind.MERGED_FIX, feedback,
                              f"the fix for {failure}")

    def _merged_since(self, task_id: str, base: str | None) -> list[str]:
        """The tasks merged into the integration branch since this task's worktree last
        took it in (its base, or its last merged-tree fix): `id (title; changed files)`."""
        state = self.state
        fixes = [a for a in state.journal.attempts(state.run_id, task_id)
                 if a.kind == AttemptKind.MERGED_FIX]
        merges = [e for e in state.journal.events(state.run_id, kind=EventKind.TASK_STATUS)
                  if e.data.get("merge_commit") and e.task_id and e.task_id != task_id]
        if fixes:
            merges = [e for e in merges if e.at >= fixes[-1].started_at]
        else:
            # The base is an integration state: the merge that made it, or the run's start.
            at = next((n for n, e in enumerate(merges)
                       if e.data.get("merge_commit") == base), -1)
            merges = merges[at + 1:]
        lines = []
        for event in merges:
            other = state.journal.task(state.run_id, event.task_id or "")
            if other is None:
                continue
            work = [a for a in state.journal.attempts(state.run_id, other.task_id)
                    if a.kind in AGENT_WORK and a.ok]
            files = ", ".join(work[-1].changed_files[:10]) if work else ""
            lines.append(f"{other.task_id} ({other.task.title}"
                         + (f"; changed {files}" if files else "") + ")")
        return lines

    async def _resolve_conflict(self, record: TaskRecord, conflicts: tuple[str, ...],
                                details: str) -> None:
        """Send a conflict back to the agent once, in its worktree; then give up clearly."""
        state = self.state
        task_id = record.task_id
        tried = state.journal.count_attempts(state.run_id, task_id,
                                             (AttemptKind.CONFLICT,)) > 0
        handle = await state.off_loop(state.workspaces.open, task_id)
        files = ", ".join(conflicts) or "unknown files"
        if tried or handle is None:
            state.status(task_id, TaskStatus.CONFLICT,
                         f"merge conflict in {files}; worktree kept"
                         + (f" at {handle.path}" if handle else ""))
            return
        markers = await state.off_loop(state.workspaces.start_conflict_resolution, handle)
        state.status(task_id, TaskStatus.RUNNING,
                     f"merge conflict in {files}: back to the agent once")
        marked = list(markers or conflicts)
        explained = (" " + BASE_SECTION_NOTE
                     if await state.off_loop(base_sections, handle.path, marked) else "")
        feedback = (
            "Your branch conflicts with work merged since you started. The merge is in "
            f"progress in your worktree; resolve the conflict markers in: "
            f"{', '.join(marked)}. Keep both sides' intent.{explained}\n{details}"
        )
        await self._send_back(record, handle, AttemptKind.CONFLICT, feedback,
                              f"merge conflict in {files}")

    async def _send_back(self, record: TaskRecord, handle: WorkspaceHandle, kind: str,
                         feedback: str, what: str) -> None:
        """One agent round in the task's worktree (merge in progress), then gates and the
        merge queue again; a failure ends in `conflict` with the worktree kept (or, for a
        merged-tree fix, another fix round while `fix_rounds` allows)."""
        state = self.state
        task_id = record.task_id
        attempt = state.start_attempt(record, handle, kind=kind)
        result = await self.rounds.run_agent(record, handle, attempt, 1,
                                             Note("Notes", feedback))
        unresolved = []
        if result.ok:
            unresolved = await state.off_loop(state.workspaces.conflict_markers, handle)
        if unresolved:
            state.journal.finish_attempt(attempt.id, replace(
                result, ok=False, failure=FailureKind.BAD_OUTPUT,
                reason=f"conflict markers left in {', '.join(unresolved)}"))
            state.status(task_id, TaskStatus.CONFLICT,
                         f"{what} not resolved by the agent (conflict markers left); "
                         f"worktree kept at {handle.path}")
            return
        if await self.rounds.after_agent(record, handle, attempt, result) is not None:
            return
        results = await self.rounds.check_gates(record, handle, 1)
        if results and not results[-1].passed and kind == AttemptKind.MERGED_FIX:
            # The worktree holds the merge now: its own gates failing is the merged tree
            # failing again, another fix round while the limit allows.
            await self._fix_merged(record, results[-1])
            return
        if results and not results[-1].passed:
            state.status(task_id, TaskStatus.CONFLICT,
                         f"{what} failed gate {results[-1].gate}: {results[-1].summary}")
            return
        await self._merge(task_id)
