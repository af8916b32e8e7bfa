"""The journal: one SQLite database per repository, the only source of truth for runs.

Every state change is an event appended to `events` in the same transaction that updates
the `tasks` row, and it is written before the engine acts on it. The engine keeps nothing
the journal cannot rebuild: task definitions are stored as JSON snapshots, so a resume
does not depend on the backlog files being unchanged.

Concurrency: WAL mode; one writer (the engine) plus short writes from `approve`/`reject`
commands in other processes, serialised by SQLite's own lock with a busy timeout.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wavefront.errors import JournalError
from wavefront.journal.checkpoint import (
    AUTOCHECKPOINT_PAGES,
    CHECKPOINT_EVERY,
    WAL_LIMIT_BYTES,
    Checkpointer,
    enable_wal,
)
from wavefront.journal.groupcommit import Group
from wavefront.journal.kinds import AttemptKind, EventKind
from wavefront.journal.migrations import MIGRATIONS, SCHEMA_VERSION
from wavefront.journal.records import (
    AttemptRecord,
    Event,
    RunRecord,
    TaskRecord,
    attempt_from_row,
    dumps,
    run_from_row,
    split_sql,
    task_from_json,
    task_from_row,
    task_to_json,
)
from wavefront.model import (
    AgentResult,
    GateAction,
    GateResult,
    Task,
    TaskStatus,
)
from wavefront.redact import redactor_for

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

__all__ = [
    "AttemptRecord",
    "Event",
    "Journal",
    "RunRecord",
    "TaskRecord",
    "task_from_json",
    "task_to_json",
]


class Journal:
    """Open with `Journal.open(path)`; use as a context manager or call `close()`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        # Reporters subscribe here; they see an event only once it is committed.
        self.listeners: list[Callable[[Event], None]] = []
        # Secret values never reach the file (see `redact`); compiled once per journal.
        self._redactor = redactor_for()
        self._uncommitted: list[Event] = []
        self._checkpointer: Checkpointer | None = None
        self._commits = 0  # writes committed (the checkpointer's cadence)
        self._group: Group | None = None
        self._broken: JournalError | None = None  # a lost group: no more writes

    @classmethod
    def open(cls, path: Path) -> Journal:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            connection.row_factory = sqlite3.Row
            enable_wal(connection)
            # NORMAL in WAL mode survives a killed process; only a power loss may drop the
            # last transactions, never corrupt the file.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            connection.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            journal = cls(connection, path)
            journal._migrate()
        except sqlite3.Error as exc:
            raise JournalError(f"{path}: cannot open the journal: {exc}") from exc
        return journal

    def close(self) -> None:
        if self._group is not None:
            self._end_group()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------

    def _migrate(self) -> None:
        """Apply each missing schema version in its own transaction. The version is read
        inside the write transaction, so two processes opening a new journal at once
        cannot both apply the same migration."""
        while True:
            with self._transaction():
                version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise JournalError(
                        f"{self.path}: journal schema {version} is newer than this wavefront "
                        f"understands ({SCHEMA_VERSION}); upgrade wavefront"
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in split_sql(MIGRATIONS[version]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={version + 1}")

    @contextmanager
    def group_commits(self, loop: AbstractEventLoop,
                      on_failure: Callable[[BaseException], None]) -> Iterator[None]:
        """While `loop` runs: the writes of one pass share one transaction, committed at
        the start of the next (see `groupcommit`). Before acting on a state it wrote, a
        caller awaits `durable()`. `on_failure` hears of a commit that failed."""
        self._group = Group(loop, on_failure)
        try:
            yield
        except BaseException:
            self._end_group()
            raise
        self._end_group()
        if self._broken is not None:
            raise self._broken

    async def durable(self) -> None:
        """Return once everything written so far is committed (at once outside a group)."""
        if self._broken is not None:
            raise self._broken
        if self._group is not None and self._db.in_transaction:
            await self._group.wait()

    @property
    def pending(self) -> bool:
        """Whether writes wait for their group's commit."""
        return self._group is not None and self._db.in_transaction

    def _end_group(self) -> None:
        self._commit_group()
        self._group = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._group is not None:
            with self._grouped() as db:
                yield db
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise JournalError(self._cannot_write(exc)) from exc
        try:
            yield self._db
        except BaseException as exc:
            self._uncommitted.clear()
            self._rollback()
            # A full disk or an I/O error is the journal's failure; a constraint violation
            # is the caller's to explain (a duplicate run id).
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise JournalError(self._cannot_write(exc)) from exc
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._uncommitted.clear()
            self._rollback()
            raise JournalError(self._cannot_write(exc)) from exc
        self._committed(1)

    @contextmanager
    def _grouped(self) -> Iterator[sqlite3.Connection]:
        """One write inside the pass's transaction, all or nothing (a savepoint)."""
        group = self._group
        assert group is not None
        if self._broken is not None:
            raise self._broken
        try:
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
                group.loop.call_soon(self._commit_group)
            self._db.execute("SAVEPOINT write")
        except sqlite3.Error as exc:
            raise self._lose_group(exc) from exc
        mark = len(self._uncommitted)
        try:
            yield self._db
        except BaseException as exc:
            del self._uncommitted[mark:]
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise self._lose_group(exc) from exc
            try:
                self._db.execute("ROLLBACK TO write")
                self._db.execute("RELEASE write")
            except sqlite3.Error as error:
                raise self._lose_group(error) from exc
            raise
        try:
            self._db.execute("RELEASE write")
        except sqlite3.Error as exc:
            raise self._lose_group(exc) from exc
        group.writes += 1

    def _commit_group(self) -> None:
        group = self._group
        if group is None:
            return
        if not self._db.in_transaction:
            group.release(self._broken)
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            failure = self._lose_group(exc)
            group.on_failure(failure)
            return
        writes, group.writes = group.writes, 0
        try:
            self._committed(writes)
        except BaseException as exc:  # a listener's bug: the engine stops with it
            group.release()
            group.on_failure(exc)
            return
        group.release()

    def _lose_group(self, exc: sqlite3.Error) -> JournalError:
        """A write or the commit of a group failed: every write since the last commit is
        gone, and the journal takes no more (the engine stops, `resume` goes on)."""
        self._uncommitted.clear()
        self._rollback()
        self._broken = JournalError(self._cannot_write(exc))
        if self._group is not None:
            self._group.writes = 0
            self._group.release(self._broken)
        return self._broken

    def _committed(self, writes: int) -> None:
        before = self._commits
        self._commits += writes
        if self._commits // CHECKPOINT_EVERY != before // CHECKPOINT_EVERY:
            # Started only once a journal has written a fair amount: a short-lived one
            # (`approve`, `status`) never needs it.
            if self._checkpointer is None:
                self._checkpointer = Checkpointer(self.path)
            self._checkpointer.request()
        committed, self._uncommitted = self._uncommitted, []
        for event in committed:
            for listener in self.listeners:
                listener(event)

    def _rollback(self) -> None:
        # After a failed COMMIT (disk full, I/O error) SQLite may have rolled back already.
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _cannot_write(self, exc: sqlite3.Error) -> str:
        hint = ""
        if any(word in str(exc) for word in ("full", "I/O")):
            hint = "; is the disk full? Free some space, then `wavefront resume`"
        return f"{self.path}: cannot write the journal: {exc}{hint}"

    def _insert_event(
        self, run_id: str, kind: str, task_id: str | None, data: Mapping[str, Any]
    ) -> int:
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO events (run_id, at, kind, task_id, data) VALUES (?, ?, ?, ?, ?)",
            (run_id, now, kind, task_id, self._json(data)),
        )
        event_id = int(cursor.lastrowid or 0)
        if self.listeners:
            self._uncommitted.append(Event(event_id, run_id, now, kind, task_id, dict(data)))
        return event_id

    def _json(self, data: Any) -> str:
        """`data` as stored: JSON with secret values redacted."""
        return self._redactor.text(dumps(data))

    # -- runs -----------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        *,
        repo: Path,
        base_commit: str,
        branch: str,
        options: Mapping[str, Any],
        tasks: Sequence[tuple[Task, str | None, str | None, float, int]],
    ) -> None:
        """Record a new run with its tasks as (task, agent, runner, priority, wave)."""
        now = time.time()
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO runs (id, created_at, repo, base_commit, branch, state, options)"
                    " VALUES (?, ?, ?, ?, ?, 'running', ?)",
                    (run_id, now, str(repo), base_commit, branch, self._json(options)),
                )
                db.executemany(
                    "INSERT INTO tasks (run_id, task_id, position, status, agent, runner,"
                    " priority, wave, definition, updated_at)"
                    " VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, task.id, position, agent, runner, priority, wave,
                         self._redactor.text(task_to_json(task)), now)
                        for position, (task, agent, runner, priority, wave) in enumerate(tasks)
                    ],
                )
                self._insert_event(run_id, EventKind.RUN_CREATED, None,
                                   {"base_commit": base_commit, "branch": branch,
                                    "tasks": len(tasks)})
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"run {run_id!r} already exists in {self.path}") from exc

    def add_tasks(
        self,
        run_id: str,
        tasks: Sequence[tuple[Task, str | None, str | None, float, int]],
        *,
        reason: str,
        extend_dependencies: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Grow a run's graph (workflow fan-out); journaled so a resume sees the same graph.

        `extend_dependencies` adds dependencies to tasks already in the run (the fan-in of
        a fan-out waits for the new tasks), in the same transaction.
        """
        now = time.time()
        extend = {k: list(v) for k, v in (extend_dependencies or {}).items()}
        with self._transaction() as db:
            for task_id, extra in extend.items():
                row = db.execute("SELECT definition FROM tasks WHERE run_id = ? AND task_id = ?",
                                 (run_id, task_id)).fetchone()
                if row is None:
                    raise JournalError(f"run {run_id!r} has no task {task_id!r}")
                task = task_from_json(row["definition"])
                deps = tuple(dict.fromkeys((*task.dependencies, *extra)))
                db.execute("UPDATE tasks SET definition = ?, updated_at = ? WHERE run_id = ?"
                           " AND task_id = ?", (task_to_json(replace(task, dependencies=deps)),
                                                now, run_id, task_id))
            start = int(db.execute("SELECT COUNT(*) FROM tasks WHERE run_id = ?",
                                   (run_id,)).fetchone()[0])
            db.executemany(
                "INSERT INTO tasks (run_id, task_id, position, status, agent, runner,"
                " priority, wave, definition, updated_at)"
                " VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, task.id, start + offset, agent, runner, priority, wave,
                     self._redactor.text(task_to_json(task)), now)
                    for offset, (task, agent, runner, priority, wave) in enumerate(tasks)
                ],
            )
            self._insert_event(run_id, EventKind.GRAPH_GROWN, None,
                               {"tasks": [t[0].id for t in tasks], "reason": reason,
                                **({"dependencies_added": extend} if extend else {})})

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return run_from_row(row) if row else None

    def latest_run(self) -> RunRecord | None:
        row = self._db.execute(
            "SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return run_from_row(row) if row else None

    def runs(self) -> list[RunRecord]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY created_at, rowid").fetchall()
        return [run_from_row(row) for row in rows]

    @staticmethod
    def run_branches(path: Path) -> list[str]:
        """The integration branches of the runs in the journal at `path`, oldest first,
        read without opening it for writing (no migration, no wait on a running engine)."""
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
            try:
                rows = connection.execute(
                    "SELECT branch FROM runs ORDER BY created_at, rowid").fetchall()
            finally:
                connection.close()
        except sqlite3.Error:
            return []
        return [str(row[0]) for row in rows]

    def update_run_options(self, run_id: str, changes: Mapping[str, Any]) -> None:
        """Change stored run options (e.g. a larger budget given to `resume`)."""
        run = self.get_run(run_id)
        if run is None:
            raise JournalError(f"no run {run_id!r} in {self.path}")
        with self._transaction() as db:
            db.execute("UPDATE runs SET options = ? WHERE id = ?",
                       (self._json({**run.options, **changes}), run_id))
            self._insert_event(run_id, EventKind.RUN_OPTIONS_CHANGED, None, dict(changes))

    def set_run_state(self, run_id: str, state: str, **data: Any) -> None:
        finished = time.time() if state in {"finished", "cancelled"} else None
        with self._transaction() as db:
            db.execute("UPDATE runs SET state = ?, finished_at = ? WHERE id = ?",
                       (state, finished, run_id))
            self._insert_event(run_id, EventKind.run_state(state), None, data)

    # -- tasks ----------------------------------------------------------------------

    def tasks(self, run_id: str) -> list[TaskRecord]:
        rows = self._db.execute(
            "SELECT * FROM tasks WHERE run_id = ? ORDER BY position", (run_id,)
        ).fetchall()
        return [task_from_row(row) for row in rows]

    def task(self, run_id: str, task_id: str) -> TaskRecord | None:
        row = self._db.execute(
            "SELECT * FROM tasks WHERE run_id = ? AND task_id = ?", (run_id, task_id)
        ).fetchone()
        return task_from_row(row) if row else None

    def set_status(
        self,
        run_id: str,
        task_id: str,
        status: TaskStatus,
        reason: str = "",
        *,
        spend_retry: bool = False,
        **data: Any,
    ) -> int:
        """Change a task's status and append the event, in one transaction."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE tasks SET status = ?, reason = ?, updated_at = ?,"
                " retries_used = retries_used + ? WHERE run_id = ? AND task_id = ?",
                (status.value, self._redactor.text(reason), time.time(), int(spend_retry),
                 run_id, task_id),
            )
            if cursor.rowcount != 1:
                raise JournalError(f"run {run_id!r} has no task {task_id!r}")
            payload: dict[str, Any] = {"status": status.value, **data}
            if reason:
                payload["reason"] = reason
            return self._insert_event(run_id, EventKind.TASK_STATUS, task_id, payload)

    def record_merge(self, run_id: str, task_id: str, merge_commit: str) -> None:
        """The merge is published: the task is done (DESIGN: done only with its commit)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE tasks SET status = 'done', reason = '', merge_commit = ?,"
                " updated_at = ? WHERE run_id = ? AND task_id = ?",
                (merge_commit, time.time(), run_id, task_id),
            )
            self._insert_event(run_id, EventKind.TASK_STATUS, task_id,
                               {"status": "done", "merge_commit": merge_commit})

    def record_merges(self, run_id: str, merges: Sequence[tuple[str, str]]) -> None:
        """`record_merge` for several tasks published together, in one transaction."""
        if not merges:
            return
        with self._transaction() as db:
            now = time.time()
            for task_id, merge_commit in merges:
                db.execute(
                    "UPDATE tasks SET status = 'done', reason = '', merge_commit = ?,"
                    " updated_at = ? WHERE run_id = ? AND task_id = ?",
                    (merge_commit, now, run_id, task_id),
                )
                self._insert_event(run_id, EventKind.TASK_STATUS, task_id,
                                   {"status": "done", "merge_commit": merge_commit})

    def reset_retries(self, run_id: str, task_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE tasks SET retries_used = 0 WHERE run_id = ? AND task_id = ?",
                       (run_id, task_id))

    # -- attempts -------------------------------------------------------------------

    def start_attempt(
        self,
        run_id: str,
        task_id: str,
        *,
        kind: str = AttemptKind.AGENT,
        runner: str | None = None,
        agent: str | None = None,
        base_commit: str | None = None,
        workspace: Path | None = None,
        log_path: Path | Callable[[int], Path] | None = None,
    ) -> AttemptRecord:
        """Record a new attempt; `log_path` may be a function of the attempt's number."""
        with self._transaction() as db:
            number = int(db.execute(
                "SELECT COUNT(*) FROM attempts WHERE run_id = ? AND task_id = ? AND kind = ?",
                (run_id, task_id, kind),
            ).fetchone()[0]) + 1
            if callable(log_path):
                log_path = log_path(number)
            cursor = db.execute(
                "INSERT INTO attempts (run_id, task_id, number, kind, state, started_at, runner,"
                " agent, base_commit, workspace, log_path)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?) RETURNING *",
                (run_id, task_id, number, kind, time.time(), runner, agent, base_commit,
                 str(workspace) if workspace else None, str(log_path) if log_path else None),
            )
            # The stored row itself (defaults included), without reading it back.
            record = attempt_from_row(cursor.fetchall()[0])
            self._insert_event(run_id, EventKind.ATTEMPT_STARTED, task_id,
                               {"attempt": record.id, "number": number, "kind": kind,
                                "runner": runner, "agent": agent})
        return record

    def finish_attempt(
        self,
        attempt_id: int,
        result: AgentResult,
        *,
        state: str | None = None,
        head_commit: str | None = None,
        changed_files: Sequence[str] = (),
        deviations: Sequence[str] = (),
    ) -> None:
        final_state = state or ("succeeded" if result.ok else "failed")
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE attempts SET state = ?, finished_at = ?, ok = ?, failure = ?, reason = ?,"
                " text = ?, cost_usd = ?, cost_estimated = ?, tokens_in = ?, tokens_out = ?,"
                " duration_s = ?, log_path = COALESCE(?, log_path), head_commit = ?,"
                " changed_files = ?, deviations = ? WHERE id = ? RETURNING run_id, task_id",
                (final_state, time.time(), int(result.ok),
                 result.failure.value if result.failure else None,
                 self._redactor.text(result.reason),
                 self._redactor.text(result.text),
                 result.cost_usd, int(result.cost_estimated), result.tokens_in,
                 result.tokens_out, result.duration_s,
                 str(result.log_path) if result.log_path else None, head_commit,
                 self._json(list(changed_files)), self._json(list(deviations)), attempt_id),
            ).fetchall()
            if not rows:  # nothing was updated; the transaction rolls back
                raise JournalError(f"no attempt {attempt_id}")
            row = rows[0]
            self._insert_event(
                row["run_id"], EventKind.ATTEMPT_FINISHED, row["task_id"],
                {"attempt": attempt_id, "state": final_state, "ok": result.ok,
                 "failure": result.failure.value if result.failure else None,
                 "reason": result.reason, "cost_usd": result.cost_usd,
                 "tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
                 # The agent CLI's session, so a later round can continue it.
                 "session_id": result.session_id},
            )

    def abandon_attempts(self, run_id: str, reason: str) -> list[int]:
        """Mark attempts still `running` (their process is gone) as abandoned."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, task_id FROM attempts WHERE run_id = ? AND state = 'running'",
                (run_id,),
            ).fetchall()
            db.execute(
                "UPDATE attempts SET state = 'abandoned', finished_at = ?, ok = 0, reason = ?"
                " WHERE run_id = ? AND state = 'running'",
                (time.time(), reason, run_id),
            )
            for row in rows:
                self._insert_event(run_id, EventKind.ATTEMPT_ABANDONED, row["task_id"],
                                   {"attempt": row["id"], "reason": reason})
        return [int(row["id"]) for row in rows]

    def count_attempts(self, run_id: str, task_id: str, kinds: Sequence[str]) -> int:
        marks = ", ".join("?" for _ in kinds)
        return int(self._db.execute(
            f"SELECT COUNT(*) FROM attempts WHERE run_id = ? AND task_id = ? AND kind IN ({marks})",
            (run_id, task_id, *kinds),
        ).fetchone()[0])

    def dependency_reports(self, run_id: str, task_ids: Sequence[str], kinds: Sequence[str]
                           ) -> dict[str, tuple[str, str, tuple[str, ...]]]:
        """Per task: (title, text, changed files) of its latest successful attempt of the
        given kinds, in one query (what a dependent's prompt shows)."""
        if not task_ids:
            return {}
        tasks = ", ".join("?" for _ in task_ids)
        marks = ", ".join("?" for _ in kinds)
        rows = self._db.execute(
            # The title straight from the stored JSON: no task decoded for one field.
            "SELECT a.task_id, a.text, a.changed_files,"
            " json_extract(t.definition, '$.title') FROM attempts a"
            " JOIN tasks t ON t.run_id = a.run_id AND t.task_id = a.task_id"
            f" WHERE a.run_id = ? AND a.task_id IN ({tasks}) AND a.kind IN ({marks})"
            " AND a.ok = 1 ORDER BY a.id",
            (run_id, *task_ids, *kinds),
        ).fetchall()
        return {row[0]: (str(row[3] or ""), row[1], tuple(json.loads(row[2])))
                for row in rows}

    def last_head(self, run_id: str, task_id: str) -> str | None:
        """The head commit of the task's latest attempt other than a review (None: no
        such attempt, or it has no commit), without reading whole attempts."""
        row = self._db.execute(
            "SELECT head_commit FROM attempts WHERE run_id = ? AND task_id = ?"
            " AND kind != ? ORDER BY id DESC LIMIT 1", (run_id, task_id, AttemptKind.REVIEW),
        ).fetchone()
        return None if row is None else row[0]

    def attempt(self, attempt_id: int) -> AttemptRecord | None:
        row = self._db.execute("SELECT * FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
        return attempt_from_row(row) if row else None

    def attempts(self, run_id: str, task_id: str | None = None) -> list[AttemptRecord]:
        if task_id is None:
            rows = self._db.execute("SELECT * FROM attempts WHERE run_id = ? ORDER BY id",
                                    (run_id,)).fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM attempts WHERE run_id = ? AND task_id = ? ORDER BY id",
                (run_id, task_id),
            ).fetchall()
        return [attempt_from_row(row) for row in rows]

    def record_gate(self, attempt_id: int, result: GateResult) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT run_id, task_id FROM attempts WHERE id = ?",
                             (attempt_id,)).fetchone()
            if row is None:
                raise JournalError(f"no attempt {attempt_id}")
            db.execute(
                "INSERT INTO gate_results (attempt_id, at, gate, passed, summary, details,"
                " findings, action) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (attempt_id, time.time(), result.gate, int(result.passed),
                 self._redactor.text(result.summary),
                 self._redactor.text(result.details), self._json(list(result.findings)),
                 result.action.value),
            )
            self._insert_event(row["run_id"], EventKind.GATE_CHECKED, row["task_id"],
                               {"attempt": attempt_id, "gate": result.gate,
                                "passed": result.passed, "summary": result.summary})

    def gate_results(self, attempt_id: int) -> list[GateResult]:
        rows = self._db.execute(
            "SELECT * FROM gate_results WHERE attempt_id = ? ORDER BY id", (attempt_id,)
        ).fetchall()
        return [
            GateResult(gate=row["gate"], passed=bool(row["passed"]), summary=row["summary"],
                       details=row["details"], findings=tuple(json.loads(row["findings"])),
                       action=GateAction(row["action"]))
            for row in rows
        ]

    # -- events and decisions --------------------------------------------------------

    def append_event(self, run_id: str, kind: str, task_id: str | None = None,
                     **data: Any) -> int:
        with self._transaction():
            return self._insert_event(run_id, kind, task_id, data)

    def events(self, run_id: str, since_id: int = 0, kind: str | None = None,
               task_id: str | None = None, kinds: Sequence[str] = ()) -> list[Event]:
        """The run's events after `since_id`, oldest first; `kind` (or any of `kinds`) and
        `task_id` narrow them (one task's events are read through their own index, not
        the run's)."""
        query = "SELECT * FROM events WHERE run_id = ? AND id > ?"
        params: list[Any] = [run_id, since_id]
        if task_id is not None:
            query += " AND task_id = ?"
            params.append(task_id)
        if kind is not None:
            query += " AND kind = ?"
            params.append(kind)
        if kinds:
            query += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            params.extend(kinds)
        rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [Event(id=row["id"], run_id=row["run_id"], at=row["at"], kind=row["kind"],
                      task_id=row["task_id"], data=json.loads(row["data"])) for row in rows]

    def last_event_id(self, run_id: str) -> int:
        """The id of the run's newest event (0 before any): where a follower starts."""
        row = self._db.execute("SELECT MAX(id) FROM events WHERE run_id = ?",
                               (run_id,)).fetchone()
        return int(row[0] or 0)

    def add_decision(self, run_id: str, task_id: str, decision: str, note: str = "",
                     who: str = "") -> None:
        """A person's decision on a waiting task (`approve`, `reject`, `change`, `answer`),
        written by any process; the event keeps who and when."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO decisions (run_id, task_id, decision, note, at) VALUES (?,?,?,?,?)",
                (run_id, task_id, decision, note, time.time()),
            )
            self._insert_event(run_id, EventKind.DECISION, task_id,
                               {"decision": decision, "note": note, "who": who})

    def take_decisions(self, run_id: str) -> list[tuple[str, str, str]]:
        """Unconsumed decisions as (task_id, decision, note), marking them consumed."""
        query = "SELECT 1 FROM decisions WHERE run_id = ? AND consumed = 0 LIMIT 1"
        if self._db.execute(query, (run_id,)).fetchone() is None:
            return []  # asked on every wake-up while a task waits: no write for nothing
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, task_id, decision, note FROM decisions"
                " WHERE run_id = ? AND consumed = 0 ORDER BY id", (run_id,),
            ).fetchall()
            db.executemany("UPDATE decisions SET consumed = 1 WHERE id = ?",
                           [(row["id"],) for row in rows])
        return [(row["task_id"], row["decision"], row["note"]) for row in rows]

    def take_answer(self, run_id: str, task_id: str) -> str | None:
        """The oldest unconsumed `answer` for one task, marked consumed (None if none): an
        agent waiting inside the MCP server's `ask_human` takes its answer itself."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id, note FROM decisions WHERE run_id = ? AND task_id = ?"
                " AND decision = 'answer' AND consumed = 0 ORDER BY id LIMIT 1",
                (run_id, task_id),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE decisions SET consumed = 1 WHERE id = ?", (row["id"],))
        return str(row["note"])

    def totals(self, run_id: str) -> dict[str, float]:
        row = self._db.execute(
            "SELECT COALESCE(SUM(cost_usd), 0) AS cost, COALESCE(SUM(tokens_in), 0) AS tin,"
            " COALESCE(SUM(tokens_out), 0) AS tout, COUNT(*) AS n,"
            " MAX(cost_estimated) AS est FROM attempts WHERE run_id = ?", (run_id,),
        ).fetchone()
        return {"cost_usd": float(row["cost"]), "tokens_in": float(row["tin"]),
                "tokens_out": float(row["tout"]), "attempts": float(row["n"]),
                "cost_estimated": float(row["est"] or 0)}
