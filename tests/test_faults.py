"""Fault injection: git failing, a full disk under the journal, agents that misbehave.

Each fault must end in a clear task state and message, never a hung or corrupted run;
and once the fault is gone, `wavefront retry` / `resume` must finish the work with every
invariant of `chaos.invariants` held.
"""

from __future__ import annotations

import resource
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chaos.harness import WavefrontProcess, make_repo, run_cli, wavefront_env, write_backlog
from chaos.invariants import check_invariants

RUN = ("run", "--no-progress")


def rows(repo: Path, query: str, *params: Any) -> list[sqlite3.Row]:
    db = sqlite3.connect(repo / ".wavefront" / "journal.db")
    db.row_factory = sqlite3.Row
    try:
        return db.execute(query, params).fetchall()
    finally:
        db.close()


def statuses(repo: Path) -> dict[str, tuple[str, str]]:
    return {r["task_id"]: (r["status"], r["reason"]) for r in rows(repo, "SELECT * FROM tasks")}


def latest_run(repo: Path) -> str | None:
    if not (repo / ".wavefront" / "journal.db").exists():
        return None
    if not rows(repo, "SELECT name FROM sqlite_master WHERE name = 'runs'"):
        return None  # the journal could not even be set up
    found = rows(repo, "SELECT id FROM runs ORDER BY created_at DESC")
    return str(found[0]["id"]) if found else None


def simple_tasks(count: int, sleep: float = 0.0) -> list[dict[str, Any]]:
    return [
        {
            "id": f"t{i}",
            "title": f"task {i}",
            "depends_on": [f"t{i - 1}"] if i % 3 else [],
            "script": {"sleep": sleep, "files": {f"out/t{i}.txt": f"{i}\n"}},
        }
        for i in range(count)
    ]


def recover(repo: Path) -> str:
    """With the fault gone: finish the run the way a user would, and return its id."""
    run_id = latest_run(repo)
    if run_id is None:
        done = run_cli(repo, *RUN)
        assert done.returncode == 0, done.stderr
        run_id = latest_run(repo)
        assert run_id is not None
        return run_id
    failed = [t for t, (s, _) in statuses(repo).items() if s in ("failed", "conflict")]
    command = ("retry", *failed, "--no-progress") if failed else ("resume", "--no-progress")
    done = run_cli(repo, *command)
    assert done.returncode == 0, done.stdout + done.stderr
    return run_id


def assert_one_clear_line(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), stderr
    for word in words:
        assert word in last, last


# -- a full disk under the journal ------------------------------------------------------


def file_size_limit(limit: int) -> Any:
    """Child setup: files may not grow past `limit` bytes (writes fail with EFBIG, as on a
    full disk; Python ignores SIGXFSZ, so the write error reaches SQLite)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("limit_kb", [8, 96, 400])
def test_a_full_disk_under_the_journal_stops_the_run_clearly_and_resume_finishes(
    tmp_path: Path, limit_kb: int
) -> None:
    repo = make_repo(tmp_path / "repo")
    tasks = simple_tasks(12)
    write_backlog(repo, tasks, limits={"max_parallel": 3})
    process = WavefrontProcess(repo, RUN, preexec_fn=file_size_limit(limit_kb * 1024))
    finished = process.wait(120)

    assert finished.returncode == 2, finished.stdout + finished.stderr
    assert_one_clear_line(finished.stderr, "journal.db", "cannot", "journal")
    integrity = rows(repo, "PRAGMA integrity_check")[0][0]
    assert integrity == "ok"
    run_id = recover(repo)
    assert check_invariants(repo, run_id, {t["id"]: "done" for t in tasks}) == []
