"""The merge queue: the one place where finished work enters the integration branch.

Tasks that finish while a merge is under way wait, and are then merged together: the
workspace backend chains their merge commits into one candidate without a checkout,
verifies it once and publishes it by compare-and-swap (`Workspaces.merge_batch`, the one
publish loop); a red candidate is bisected, its green part published and the task that
turned it red handed back. With `verify: merged` the command gates run on each candidate
in a throwaway workspace before it may be published, so the integration branch never
turns red. Each candidate is journaled before it is published; a task is done only once
its own merge commit is recorded, and a merge published before a crash is found again
in the branch's history (exactly once). What to do with a conflict or a red merged tree
(send it back to the agent) is the task flow's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from wavefront.agents.prompt import parse_summary
from wavefront.engine.prepare import WorkspacePreparer
from wavefront.errors import WavefrontError
from wavefront.gates.base import GateContext
from wavefront.gates.registry import check_gates, effective_gates
from wavefront.gates.review import is_approval
from wavefront.journal.database import Journal, TaskRecord
from wavefront.journal.kinds import AGENT_WORK, AttemptKind, EventKind
from wavefront.model import Completion, GateResult, GateSpec, Task, TaskStatus
from wavefront.workspace.base import MergeEdit, MergeItem, MergeOutcome, Workspaces, call_backend
from wavefront.workspace.git import safe_name

__all__ = ["MergeQueue", "MergeResult", "WriteBack"]

_T = TypeVar("_T")

# With `verify: merged` each candidate costs a run of the gates, so a queue that was idle
# first gathers what finishes with the first task: it waits while tasks whose agents are
# done are on their way to it (committing, checking their own gates) or one more came in
# the last GATHER_QUIET_S, at most GATHER_MAX_S. One candidate for all of them, not the
# first alone and then the rest.
GATHER_QUIET_S = 0.1
GATHER_MAX_S = 1.0

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


@dataclass
class _Waiting:
    record: TaskRecord
    result: asyncio.Future[MergeResult]
    cleaned: asyncio.Task[None] | None = None
    unwritten: list[str] = field(default_factory=list)


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
        preparer: WorkspacePreparer | None = None,
        write_back: WriteBack | None = None,
        verify_parallel: int = 1,
        batch_limit: int = 64,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.workspaces = workspaces
        self.verify_merged = verify_merged
        self.gate_specs = gate_specs
        self.set_status = set_status
        self.log_dir = log_dir
        self.preparer = preparer
        self.write_back = write_back
        self.verify_parallel = max(1, verify_parallel)
        self.batch_limit = max(1, batch_limit)
        self._waiting: list[_Waiting] = []
        self._coming: set[str] = set()  # agents done, on their way here (see `expect`)
        self._worker: asyncio.Task[None] | None = None
        self._cleanups = _Background()

    def expect(self, task_id: str) -> None:
        """The task's agent has finished: it comes to merge unless its gates refuse it."""
        self._coming.add(task_id)

    def not_coming(self, task_id: str) -> None:
        self._coming.discard(task_id)

    async def merge(self, record: TaskRecord) -> MergeResult:
        """Merge a task whose gates passed, with whatever else waits; on success its merge
        is journaled (the task is `done`) and its workspace removed."""
        self._coming.discard(record.task_id)
        self.set_status(record.task_id, TaskStatus.MERGING, "in the merge queue")
        waiting = _Waiting(record, asyncio.get_running_loop().create_future())
        # A caller cancelled meanwhile (the run stops) never reads its result: marked as
        # read here, so a failed batch does not end the run with asyncio's warning.
        waiting.result.add_done_callback(_mark_read)
        self._waiting.append(waiting)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._drain())
        # Shielded: a caller cancelled (a Ctrl-C) must not abandon a batch half-published.
        result = await asyncio.shield(waiting.result)
        if waiting.cleaned is not None:
            await asyncio.shield(waiting.cleaned)
        return result

    async def _drain(self) -> None:
        if self._verifies_merged(self._waiting[0].record):
            await self._gather()
        while self._waiting:
            batch = self._next_batch()
            try:
                await self._merge_batch(batch)
            except asyncio.CancelledError:
                # The run is ending: its callers are being cancelled too.
                for waiting in [*batch, *self._waiting]:
                    if not waiting.result.done():
                        waiting.result.cancel()
                raise
            except Exception as exc:
                # Each caller turns it into its task's status (a failed merge).
                for waiting in batch:
                    if not waiting.result.done():
                        waiting.result.set_exception(exc)

    async def _gather(self) -> None:
        clock = asyncio.get_running_loop().time
        deadline = clock() + GATHER_MAX_S
        seen, quiet_until = len(self._waiting), clock() + GATHER_QUIET_S
        while clock() < deadline and (self._coming or clock() < quiet_until):
            await asyncio.sleep(GATHER_QUIET_S / 5)
            if len(self._waiting) != seen:
                seen, quiet_until = len(self._waiting), clock() + GATHER_QUIET_S

    def _next_batch(self) -> list[_Waiting]:
        """The oldest waiting task and every other one checked by the same merged-tree
        gates (a candidate is verified once, by one set of gates), up to the limit."""
        key = self._gates_key(self._waiting[0].record)
        batch = [w for w in self._waiting if self._gates_key(w.record) == key]
        batch = batch[:self.batch_limit]
        self._waiting = [w for w in self._waiting if w not in batch]
        return batch

    def _gates_key(self, record: TaskRecord) -> tuple[str, ...] | None:
        if not self._verifies_merged(record):
            return None
        return tuple(repr((s.kind, sorted(s.options.items(), key=str)))
                     for s in effective_gates(self.gate_specs(record), record.task,
                                              stage="merged"))

    async def _merge_batch(self, batch: list[_Waiting]) -> None:
        loop = asyncio.get_running_loop()
        by_id = {w.record.task_id: w for w in batch}
        failures: dict[str, GateResult] = {}
        passed: dict[str, list[GateResult]] = {}
        verify = None
        if self._verifies_merged(batch[0].record):

            def verify(commit: str, old: str, task_ids: Sequence[str]) -> bool:
                # Called on the backend's thread; the gates run on the event loop.
                records = [by_id[task_id].record for task_id in task_ids]
                results = _on_loop(loop, self._check_merged(records, commit, old))
                failed = next((r for r in results if not r.passed), None)
                if failed is not None:
                    failures[commit] = failed
                else:
                    passed[commit] = results
                return failed is None

        tips: dict[str, str] = {}  # task -> the tip of the candidate that published it

        def announce(old: str, new: str, merges: Sequence[tuple[str, str]]) -> None:
            # Write before act: the candidate is in the journal before the branch moves.
            tips.update((task_id, new) for task_id, _ in merges)
            _on_loop(loop, self._journaled(lambda: self.journal.append_event(
                self.run_id, EventKind.MERGE_CANDIDATE, None, old=old, new=new,
                merges=[list(pair) for pair in merges]), lambda: None))

        items = [MergeItem(w.record.task_id, self._message(w.record),
                           self._checked_commit(w.record.task_id), self._edit(w))
                 for w in batch]
        await self.journal.durable()
        outcomes = await call_backend(self.workspaces, self.workspaces.merge_batch, items,
                                      verify, announce, self.verify_parallel)
        merged = [(w, outcomes[w.record.task_id]) for w in batch
                  if outcomes[w.record.task_id].ok]
        for waiting, _ in merged:
            if waiting.unwritten:
                self.journal.append_event(self.run_id, EventKind.WRITEBACK_FAILED,
                                          waiting.record.task_id, reason=waiting.unwritten[-1])
        self._record_gates(batch, outcomes, tips, passed, failures)
        self.journal.record_merges(self.run_id, [(w.record.task_id, o.commit or "")
                                                 for w, o in merged])
        if merged:
            # Outside the queue: the next batch does not wait for the removals.
            gone = [w.record.task_id for w, _ in merged]
            cleaned = self._cleanups.add_task(self._journaled(lambda: None, lambda: call_backend(
                self.workspaces, self.workspaces.discard_many, gone)))
            for waiting, _ in merged:
                waiting.cleaned = cleaned
        for waiting in batch:
            outcome = outcomes[waiting.record.task_id]
            broken = failures.get(outcome.commit or "") if not outcome.verified else None
            waiting.result.set_result(MergeResult(outcome, broken))

    async def _journaled(self, write: Callable[[], object],
                         then: Callable[[], Awaitable[_T] | None]) -> _T | None:
        """`write` to the journal, wait until it is on disk, then act (`then`)."""
        write()
        await self.journal.durable()
        acting = then()
        return await acting if acting is not None else None

    def _message(self, record: TaskRecord) -> str:
        return (f"Merge {record.task_id}: {record.task.title}\n\nwavefront-run: "
                f"{self.run_id}\nwavefront-task: {record.task_id}")

    def _edit(self, waiting: _Waiting) -> MergeEdit | None:
        if self.write_back is None:
            return None
        write_back = self.write_back
        completion = self._completion(waiting.record)

        def edit(read: Callable[[str], str | None]) -> Mapping[str, str]:
            # Called on the backend's thread: the journal is written afterwards.
            try:
                return write_back(waiting.record.task, completion, read)
            except WavefrontError as exc:
                # The work is merged all the same; the backlog file is left as it was.
                waiting.unwritten.append(str(exc))
                return {}

        return edit

    def _record_gates(self, batch: Sequence[_Waiting], outcomes: Mapping[str, MergeOutcome],
                      tips: Mapping[str, str], passed: Mapping[str, list[GateResult]],
                      failures: Mapping[str, GateResult]) -> None:
        """Each task keeps the merged-tree results that decided it: those of the candidate
        that published it, or the failure of the one it turned red."""
        if not passed and not failures:
            return
        for waiting in batch:
            task_id = waiting.record.task_id
            outcome = outcomes[task_id]
            results: Sequence[GateResult] = ()
            if outcome.ok and tips.get(task_id) in passed:
                results = passed[tips[task_id]]
            elif not outcome.verified and (outcome.commit or "") in failures:
                results = [failures[outcome.commit or ""]]
            if not results:
                continue
            attempt = self._last_attempt(task_id)
            for result in results:
                self.journal.record_gate(attempt, replace(
                    result, gate=f"{result.gate} (merged tree)"))

    def _last_attempt(self, task_id: str) -> int:
        attempts = [a for a in self.journal.attempts(self.run_id, task_id)
                    if a.kind != AttemptKind.REVIEW]
        if attempts:
            return attempts[-1].id
        # A task with no agent: its merged-tree check is an attempt of its own.
        return self.journal.start_attempt(self.run_id, task_id, kind=AttemptKind.GATES).id

    def _checked_commit(self, task_id: str) -> str | None:
        """The commit the task's gates last checked (and a person approved): the head of
        its latest attempt. None for a task with no agent, whose branch is its base."""
        return self.journal.last_head(self.run_id, task_id)

    def _completion(self, record: TaskRecord) -> Completion:
        attempts = self.journal.attempts(self.run_id, record.task_id)
        work = [a for a in attempts if a.kind in AGENT_WORK]
        texts = [a.text for a in work if a.ok]
        reviews = [[g for g in self.journal.gate_results(a.id) if g.gate.startswith("review")]
                   for a in work]
        findings = [finding for results in reviews for g in results for finding in g.findings]
        # The last round that was reviewed (a conflict round after it is not reviewed).
        verdict, approved = _verdict(next((r for r in reversed(reviews) if r), []),
                                     sum(1 for results in reviews if results))
        if self.journal.events(self.run_id, kind=EventKind.APPROVED, task_id=record.task_id):
            verdict = "approved by a person" + (f" (the review: {verdict})" if verdict else "")
            approved = True
        return Completion(agent=record.agent, started_at=work[0].started_at if work else None,
                          completed_at=time.time(),
                          summary=parse_summary(texts[-1]) if texts else "",
                          review=tuple(findings), verdict=verdict, approved=approved)

    def _verifies_merged(self, record: TaskRecord) -> bool:
        """`verify: merged` and a command gate to run: check the merged tree first."""
        return (self.verify_merged and self.workspaces.versioned
                and bool(effective_gates(self.gate_specs(record), record.task,
                                         stage="merged")))

    async def _check_merged(self, records: Sequence[TaskRecord], commit: str, old: str
                            ) -> list[GateResult]:
        """Run the command gates on a candidate (the merge commits of `records`, in order,
        ending at `commit`); their results, up to the first that fails."""
        top = records[-1]
        for record in records:
            self.set_status(record.task_id, TaskStatus.MERGING,
                            "checking gates on the merged tree"
                            + (f" with {len(records) - 1} other task"
                               f"{'' if len(records) == 2 else 's'}" if len(records) > 1
                               else ""))
        name = f"{safe_name(top.task_id)}-merged-{commit[:12]}"
        await self.journal.durable()
        handle = await call_backend(self.workspaces, self.workspaces.checkout_detached,
                                    commit, name)
        changed: list[str] = []
        number = 1
        for record in records:
            attempts = [a for a in self.journal.attempts(self.run_id, record.task_id)
                        if a.kind != AttemptKind.REVIEW]
            if attempts:
                changed.extend(attempts[-1].changed_files)
                number = attempts[-1].number
        prepared = (await self.preparer.prepare(top.task_id, name, handle.path)
                    if self.preparer is not None else None)
        context = GateContext(
            task=top.task, workspace=handle.path, log_dir=self.log_dir(top.task_id),
            base_commit=old, head_commit=commit, changed_files=tuple(dict.fromkeys(changed)),
            attempt=number, stage="merged", env=prepared.env if prepared else {})
        try:
            if prepared is not None and prepared.failure is not None:
                return [GateResult("workspace setup", False, prepared.failure)]
            return await check_gates(self.gate_specs(top), context)
        finally:
            if self.preparer is not None and prepared is not None:
                await self.preparer.teardown(name, handle.path, prepared)
            await call_backend(self.workspaces, self.workspaces.remove, handle)


class _Background:
    """Tasks started to run beside the queue, kept referenced until they end."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def add_task(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        async def wrapped() -> None:
            await coroutine
        task = asyncio.ensure_future(wrapped())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # Its callers await it and get its error; when they were cancelled (the run is
        # stopping, say on a full disk) it is marked read, so asyncio prints no warning.
        task.add_done_callback(_mark_read)
        return task




def _on_loop(loop: asyncio.AbstractEventLoop, coroutine: Awaitable[_T]) -> _T:
    """Run `coroutine` on the event loop from the backend's thread and wait for it (the
    journal and the gates belong to the loop's thread)."""
    async def wrapped() -> _T:
        return await coroutine
    return asyncio.run_coroutine_threadsafe(wrapped(), loop).result()


def _mark_read(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _verdict(last: Sequence[GateResult], rounds: int) -> tuple[str, bool]:
    """The last round's review results in words, and whether every reviewer approved."""
    if not last:
        return "", False
    said = "; ".join(f"{g.summary} ({g.gate.removeprefix('review: ')})" for g in last)
    if rounds > 1:
        said += f", after {rounds} rounds"
    return said, all(is_approval(g) for g in last)
