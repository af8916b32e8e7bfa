"""The journal's schema, one entry per version; `Journal` applies the missing ones, each in
its own transaction."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

# Each entry is one schema version; it runs in its own transaction (see `Journal._migrate`).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        repo TEXT NOT NULL,
        base_commit TEXT NOT NULL,
        branch TEXT NOT NULL,
        state TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        finished_at REAL
    );
    CREATE TABLE tasks (
        run_id TEXT NOT NULL REFERENCES runs(id),
        task_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        agent TEXT,
        runner TEXT,
        priority REAL NOT NULL DEFAULT 0,
        wave INTEGER NOT NULL DEFAULT 0,
        definition TEXT NOT NULL,
        retries_used INTEGER NOT NULL DEFAULT 0,
        merge_commit TEXT,
        updated_at REAL NOT NULL,
        PRIMARY KEY (run_id, task_id)
    );
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'agent',
        state TEXT NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        runner TEXT,
        agent TEXT,
        base_commit TEXT,
        head_commit TEXT,
        workspace TEXT,
        ok INTEGER,
        failure TEXT,
        reason TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        cost_usd REAL,
        cost_estimated INTEGER NOT NULL DEFAULT 0,
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        duration_s REAL NOT NULL DEFAULT 0,
        log_path TEXT,
        changed_files TEXT NOT NULL DEFAULT '[]',
        deviations TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX attempts_by_task ON attempts (run_id, task_id);
    CREATE TABLE gate_results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        attempt_id INTEGER NOT NULL REFERENCES attempts(id),
        at REAL NOT NULL,
        gate TEXT NOT NULL,
        passed INTEGER NOT NULL,
        summary TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '',
        findings TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        task_id TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_run ON events (run_id, id);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        decision TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        at REAL NOT NULL,
        consumed INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: a gate that waits for a person is not a failure; keep what the gate asked for.
    """
    ALTER TABLE gate_results ADD COLUMN action TEXT NOT NULL DEFAULT 'fail';
    """,
    # 3: one task's events (its questions, answers, sessions) without reading the run's.
    """
    CREATE INDEX events_by_task ON events (run_id, task_id, id);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
