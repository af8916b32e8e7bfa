"""The scheduling loop: dispatch ready tasks the moment their dependencies are merged.

One asyncio loop. A task is ready when every dependency is `done` (merged); among ready
tasks the one with the highest remaining critical path starts first, subject to the
overall limit, the per-runner limits, paused runners (rate limits) and file overlap with
work that is not merged yet. `strategy="waves"` adds the story workflow's barrier: only the lowest
unfinished wave may start.

All state lives in the journal. The engine keeps a cache of task statuses, fed by the
journal's committed events, plus counters of unfinished dependencies so that finding the
ready tasks costs O(log n) per task rather than a scan of the whole graph.
What one task goes through (agent, gates, review rounds, merge) is in `taskflow.py`.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from wavefront.engine.settings import RunSettings
from wavefront.engine.taskflow import Note, TaskFlow, WorkOutcome
from wavefront.journal.database import Event, Journal, TaskRecord
from wavefront.journal.kinds import EventKind
from wavefront.model import TaskStatus
from wavefront.plan.overlap import files_overlap

__all__ = ["Engine", "RunStop"]

# States in which a task occupies one of the parallel slots.
_SLOT_STATES = frozenset({TaskStatus.RUNNING, TaskStatus.VERIFYING, TaskStatus.REVIEWING})
# States in which a task's files are not merged yet (so overlapping tasks must wait).
_UNMERGED_STATES = _SLOT_STATES | {TaskStatus.MERGING, TaskStatus.NEEDS_HUMAN}
# Final states that block a task's dependents.
_BLOCKING_STATES = frozenset({TaskStatus.FAILED, TaskStatus.CONFLICT, TaskStatus.CANCELLED,
                              TaskStatus.BLOCKED})
_STARTABLE = frozenset({TaskStatus.PENDING, TaskStatus.READY})


@dataclass(frozen=True)
class RunStop:
    """Why the loop ended: `finished`, `interrupted`, `budget`, `waiting` or `stopped`."""

    state: str
    reason: str = ""


class Engine:
    """Runs one journaled run to the end (or until interrupted)."""

    def __init__(self, journal: Journal, run_id: str, flow: TaskFlow,
                 settings: RunSettings) -> None:
        self.journal = journal
        self.run_id = run_id
        self.flow = flow
        self.settings = settings
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._stopping: str | None = None
        self._not_before: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._records: dict[str, TaskRecord] = {}
        self._blocking: set[str] = set()  # blocked by this loop, their event not back yet
        self._status: dict[str, TaskStatus] = {}
        # The same statuses grouped by value, so dispatch reads the few tasks holding a slot
        # instead of scanning the whole graph on every wake-up.
        self._by_status: dict[TaskStatus, set[str]] = {}
        self._dependents: dict[str, list[str]] = {}
        self._missing_deps: dict[str, int] = {}
        self._ready: list[tuple[float, int, str]] = []
        # Committed journal events not applied yet: (task, new status), or (task, None) for
        # "its done-hooks ran"; `_graph_grown` asks for a rebuild from the journal instead.
        self._changes: list[tuple[str, TaskStatus | None]] = []
        self._graph_grown = False
        self._hooked: set[str] = set()
        self._released: set[str] = set()
        self._open = 0
        self._fatal: BaseException | None = None

    # -- control ---------------------------------------------------------------------

    def stop(self, reason: str = "interrupted") -> None:
        """Stop dispatching and cancel agents at work (a Ctrl-C). Merges in flight finish."""
        if self._stopping is None:
            self._stopping = reason
            for task_id, job in self._jobs.items():
                if not self.flow.is_merging(task_id):
                    job.cancel()
        self._wake.set()

    async def run(self) -> RunStop:
        self.journal.listeners.append(self._on_event)
        try:
            # One commit per pass of the loop, shared by every task's writes; each action
            # waits for the commit of the state that announces it (`Journal.durable`).
            with self.journal.group_commits(asyncio.get_running_loop(), self._journal_failed):
                try:
                    return await self._loop()
                finally:
                    for job in self._jobs.values():
                        job.cancel()
                    if self._jobs:
                        await asyncio.gather(*self._jobs.values(), return_exceptions=True)
        finally:
            self.journal.listeners.remove(self._on_event)

    async def _loop(self) -> RunStop:
        self._load()
        for task_id, status in self._status.items():
            if status == TaskStatus.MERGING:  # merged or not before a crash: finish it
                self._start(task_id, self.flow.merge(task_id))
        for task_id in self.flow.unhooked_done_tasks():
            self._start(task_id, self.flow.run_hooks(task_id))
        while True:
            if self._fatal is not None:
                raise self._fatal
            self._apply_changes()
            self._apply_decisions()
            if self._stopping is None:
                self._stopping = self._budget_exceeded()
            if self._stopping is None:
                self._dispatch()
            if not self._jobs:
                if self.journal.pending:
                    # Statuses written but not committed yet decide what comes next.
                    await self.journal.durable()
                    continue
                outcome = self._idle_outcome()
                if outcome is not None:
                    return outcome
            await self._sleep()

    def _journal_failed(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        self._wake.set()

    # -- the cache -------------------------------------------------------------------

    def _load(self) -> None:
        self._records = {r.task_id: r for r in self.journal.tasks(self.run_id)}
        self._status = {task_id: r.status for task_id, r in self._records.items()}
        self._by_status = {status: set() for status in TaskStatus}
        for task_id, status in self._status.items():
            self._by_status[status].add(task_id)
        self._dependents = {task_id: [] for task_id in self._records}
        hooked = (self.journal.events(self.run_id, kind=EventKind.HOOKS_DONE)
                  if self.flow.hooks else [])
        self._hooked = {e.task_id for e in hooked if e.task_id is not None}
        self._released = {t for t in self._records if self._releases(t)}
        self._missing_deps = {}
        for task_id, record in self._records.items():
            deps = [d for d in record.task.dependencies if d in self._records]
            for dep in deps:
                self._dependents[dep].append(task_id)
            self._missing_deps[task_id] = sum(d not in self._released for d in deps)
        self._open = sum(not s.is_final for s in self._status.values())
        self._ready = []
        for task_id in self._records:
            self._push_if_ready(task_id)
        # Blocking is derived state: settle it for failures recorded before this process.
        for task_id, status in list(self._status.items()):
            if status in _BLOCKING_STATES:
                self._block_dependents_of(task_id)

    def _on_event(self, event: Event) -> None:
        if event.kind == EventKind.TASK_STATUS and event.task_id is not None:
            self._changes.append((event.task_id, TaskStatus(event.data["status"])))
            self._wake.set()
        elif event.kind == EventKind.GRAPH_GROWN:
            self._graph_grown = True
            self._wake.set()
        elif event.kind == EventKind.HOOKS_DONE and event.task_id is not None:
            self._changes.append((event.task_id, None))
            self._wake.set()

    def _apply_changes(self) -> None:
        while self._changes or self._graph_grown:
            if self._graph_grown:  # new tasks and dependencies: rebuild from the journal
                self._graph_grown = False
                self._changes.clear()
                self._load()
                continue
            changes, self._changes = self._changes, []
            for task_id, status in changes:
                if status is None:
                    if task_id in self._status:
                        self._hooked.add(task_id)
                        self._sync_release(task_id)
                else:
                    self._apply_change(task_id, status)

    def _releases(self, task_id: str) -> bool:
        """Whether a task lets its dependents start: done (and its done-hooks ran, which
        may grow the graph in front of them), or skipped (a branch not taken)."""
        status = self._status[task_id]
        if status == TaskStatus.SKIPPED:
            return True
        return status == TaskStatus.DONE and (not self.flow.hooks or task_id in self._hooked)

    def _sync_release(self, task_id: str) -> None:
        releases = self._releases(task_id)
        if releases == (task_id in self._released):
            return
        if releases:
            self._released.add(task_id)
        else:
            self._released.discard(task_id)
        for dependent in self._dependents[task_id]:
            self._missing_deps[dependent] += -1 if releases else 1
            if releases:
                self._push_if_ready(dependent)

    def _apply_change(self, task_id: str, status: TaskStatus) -> None:
        previous = self._status.get(task_id)
        if previous is None or previous == status:
            return
        self._status[task_id] = status
        self._by_status[previous].discard(task_id)
        self._by_status[status].add(task_id)
        self._open += int(previous.is_final) - int(status.is_final)
        self._sync_release(task_id)
        if status in _BLOCKING_STATES:
            self._block_dependents_of(task_id)
        if status in _STARTABLE:
            self._blocking.discard(task_id)
            self._push_if_ready(task_id)

    def _push_if_ready(self, task_id: str) -> None:
        if self._status[task_id] in _STARTABLE and self._missing_deps[task_id] == 0:
            record = self._records[task_id]
            heapq.heappush(self._ready, (-record.priority, record.position, task_id))

    def _block_dependents_of(self, task_id: str) -> None:
        """Mark every task that waits on a failed one as blocked, naming the root cause."""
        status = self._status[task_id]
        reason = self.journal.task(self.run_id, task_id)
        why = reason.reason if reason else ""
        cause = why if status == TaskStatus.BLOCKED and why else (
            f"blocked by {task_id} ({status.value}{': ' + why if why else ''})")
        # The new statuses come back as events; `_apply_changes` propagates them further
        # in its loop (iteratively: a long chain must not recurse).
        for dependent in self._dependents[task_id]:
            # Two dependencies failing in one batch would block it twice before the first
            # event comes back: each blocked task is written (and reported) once.
            if self._status[dependent] in _STARTABLE and dependent not in self._blocking:
                self._blocking.add(dependent)
                self.journal.set_status(self.run_id, dependent, TaskStatus.BLOCKED, cause,
                                        blocked_by=task_id)

    # -- dispatch --------------------------------------------------------------------

    def _dispatch(self) -> None:
        now = time.time()
        holding = self._in_states(_SLOT_STATES)
        if len(holding) >= self.settings.max_parallel or not self._ready:
            return
        unmerged = [self._records[t] for t in self._in_states(_UNMERGED_STATES)]
        wave_floor = 0
        if self.settings.strategy == "waves":
            wave_floor = min((self._records[t].wave for t, s in self._status.items()
                              if not s.is_final), default=0)
        runners = [self._records[t].runner for t in holding]
        exclusive_running = any(not self._records[t].task.parallel for t in holding)
        deferred: list[tuple[float, int, str]] = []
        while self._ready and len(holding) < self.settings.max_parallel:
            entry = heapq.heappop(self._ready)
            task_id = entry[2]
            record = self._records[task_id]
            if self._status[task_id] not in _STARTABLE or task_id in self._jobs:
                continue  # stale heap entry
            runner = record.runner or ""
            limit = self.settings.per_runner.get(runner)
            if (
                exclusive_running
                or self._not_before.get(task_id, 0.0) > now
                or (self.settings.strategy == "waves" and record.wave > wave_floor)
                or not self.flow.runner_available(runner, now)
                or (limit is not None and runners.count(runner) >= limit)
                or (not record.task.parallel and holding)
                or self._group_full(record, holding)
                or any(files_overlap(record.task, other.task) for other in unmerged)
            ):
                deferred.append(entry)
                continue
            self.journal.set_status(self.run_id, task_id, TaskStatus.RUNNING, "dispatched")
            # Its event comes with the pass's commit; the slot is taken now.
            self._apply_change(task_id, TaskStatus.RUNNING)
            holding.append(task_id)
            runners.append(record.runner)
            unmerged.append(record)
            exclusive_running = not record.task.parallel
            self._start(task_id, self._work_then_merge(task_id))
        for entry in deferred:
            heapq.heappush(self._ready, entry)

    def _group_full(self, record: TaskRecord, holding: list[str]) -> bool:
        """Whether a concurrency group of the task (`TaskOptions.concurrency`: (name, limit),
        e.g. a workflow's max_concurrent) already has its limit of tasks at work."""
        for name, limit in record.task.options.concurrency:
            busy = sum(any(group[0] == name for group in
                           self._records[t].task.options.concurrency)
                       for t in holding)
            if busy >= int(limit):
                return True
        return False

    def _in_states(self, states: frozenset[TaskStatus]) -> list[str]:
        return [task_id for status in states for task_id in self._by_status[status]]

    def _start(self, task_id: str, coroutine: Coroutine[Any, Any, None]) -> None:
        job = asyncio.ensure_future(coroutine)
        self._jobs[task_id] = job
        job.add_done_callback(lambda done: self._finished(task_id, done))

    def _finished(self, task_id: str, job: asyncio.Task[None]) -> None:
        self._jobs.pop(task_id, None)
        # A task sent back to pending (retry, rate limit) may have been dropped from the
        # ready heap while its job was still finishing; it is ready again now.
        if task_id in self._status:
            self._push_if_ready(task_id)
        # Task flows turn every failure into a task status; what still escapes (the journal
        # cannot be written) ends the run instead of leaving it waiting forever.
        if not job.cancelled() and job.exception() is not None and self._fatal is None:
            self._fatal = job.exception()
        self._wake.set()

    async def _work_then_merge(self, task_id: str, note: Note | None = None) -> None:
        # The cached record's definition is what the journal holds (a changed definition
        # comes with `graph_grown`, which reloads the cache); statuses are read afresh.
        record = self._records[task_id]
        outcome = await self.flow.work(task_id, record, note)
        if outcome is WorkOutcome.READY_TO_MERGE:
            await self.flow.merge(task_id, record=record)
            return
        self.flow.not_merging(task_id)
        if outcome is WorkOutcome.RETRY:
            current = self.journal.task(self.run_id, task_id)
            used = current.retries_used if current else 1
            self._not_before[task_id] = (
                time.time() + self.settings.retry_backoff_s * 2 ** max(used - 1, 0))

    # -- humans, budgets, the end -----------------------------------------------------

    def _apply_decisions(self) -> None:
        if not self._by_status.get(TaskStatus.NEEDS_HUMAN):
            return
        for task_id, decision, note in self.journal.take_decisions(self.run_id):
            if self._status.get(task_id) != TaskStatus.NEEDS_HUMAN or task_id in self._jobs:
                continue
            if decision == "approve":
                self._start(task_id, self.flow.merge(task_id, approval_note=note))
            elif decision in ("answer", "change"):
                # Another round for the same agent, in its kept worktree.
                self.journal.set_status(self.run_id, task_id, TaskStatus.RUNNING,
                                        "answered by a person" if decision == "answer"
                                        else f"changes requested by a person: {note}")
                self._start(task_id, self._work_then_merge(
                    task_id, self.flow.note_for(task_id, decision, note)))
            else:
                reason = f"rejected by a person: {note}" if note else "rejected by a person"
                self.journal.set_status(self.run_id, task_id, TaskStatus.FAILED, reason)
        self._apply_changes()

    def _budget_exceeded(self) -> str | None:
        budget = self.settings.budget_usd
        if budget is None:
            return None
        totals = self.journal.totals(self.run_id)
        spent = totals["cost_usd"]
        # "Would be exceeded": expect the next attempt to cost what attempts cost so far.
        expected = spent / totals["attempts"] if totals["attempts"] else 0.0
        if spent + expected <= budget:
            return None
        self.journal.append_event(self.run_id, EventKind.BUDGET_REACHED, spent_usd=spent,
                                  budget_usd=budget)
        return "budget"

    def _idle_outcome(self) -> RunStop | None:
        """Nothing is running: decide whether the run is over or only waiting."""
        if self._stopping is not None:
            return RunStop(self._stopping, self._stopping)
        if self._open == 0:
            return RunStop("finished")
        now = time.time()
        startable = [t for _, _, t in self._ready if self._status[t] in _STARTABLE]
        humans = sorted(t for t, s in self._status.items() if s == TaskStatus.NEEDS_HUMAN)
        if startable:
            disabled = {self.flow.runner_disabled(self._records[t].runner or "")
                        for t in startable}
            if None not in disabled:
                return RunStop("stopped", "; ".join(sorted(str(d) for d in disabled)))
            if any(self._not_before.get(t, 0.0) > now
                   or not self.flow.runner_available(self._records[t].runner or "", now)
                   for t in startable):
                return None  # a retry backoff or a rate-limit pause: wait for it
            # Held back only by files or a wave that a task waiting for a person holds.
        if humans:
            if self.settings.wait_for_humans:
                return None
            return RunStop("waiting", "waiting for approval: " + ", ".join(humans))
        if startable:
            return None
        # Open tasks whose dependencies can never finish would be a bug; end them clearly.
        for task_id, status in list(self._status.items()):
            if not status.is_final:
                self.journal.set_status(self.run_id, task_id, TaskStatus.BLOCKED,
                                        "its dependencies cannot complete")
        self._apply_changes()
        return RunStop("finished")

    async def _sleep(self) -> None:
        if self._changes or self._graph_grown:
            return
        self._wake.clear()
        # A timer that sets the same event, rather than `wait_for`, which wraps the wait in
        # a task of its own on every wake-up (and the loop wakes a few times per task).
        timer = asyncio.get_running_loop().call_later(self.settings.poll_s, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            timer.cancel()
