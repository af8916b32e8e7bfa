"""What must hold after a run is complete, however often it was killed on the way.

Each check reads the two sources of truth directly, git and the SQLite journal, and
returns the violations it found as sentences (an empty list means every invariant held).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from wavefront.lifetime import run_tag, tagged_processes
from wavefront.workspace.git import safe_name
from wavefront.workspace.runlock import RunLock

from .harness import git, git_ok

# States in which a task's worktree is kept for the user (DESIGN: until `wavefront clean`).
KEPT_WORKTREE_STATES = frozenset({"failed", "conflict", "needs-human"})


def check_invariants(
    repo: Path, run_id: str, expected: Mapping[str, str] | None = None
) -> list[str]:
    """Every invariant of a finished run; `expected` maps task ids to final statuses."""
    problems: list[str] = []
    db = sqlite3.connect(repo / ".wavefront" / "journal.db")
    db.row_factory = sqlite3.Row
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"journal integrity check: {integrity}")
        run = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        tasks = {
            row["task_id"]: row
            for row in db.execute("SELECT * FROM tasks WHERE run_id = ?", (run_id,))
        }
        events = db.execute(
            "SELECT * FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
        running = db.execute(
            "SELECT COUNT(*) FROM attempts WHERE run_id = ? AND state = 'running'", (run_id,)
        ).fetchone()[0]
        checked = {
            row["task_id"]: row["head_commit"]
            for row in db.execute(
                "SELECT task_id, head_commit FROM attempts WHERE run_id = ? AND kind != 'review'"
                " ORDER BY id", (run_id,))
        }
    finally:
        db.close()
    if run is None:
        return [*problems, f"run {run_id} is not in the journal"]
    if run["state"] != "finished":
        problems.append(f"run state is {run['state']!r}, not 'finished'")
    if running:
        problems.append(f"{running} attempt(s) still marked running")
    status = {task_id: row["status"] for task_id, row in tasks.items()}
    if expected is not None:
        for task_id, want in expected.items():
            if status.get(task_id) != want:
                reason = tasks[task_id]["reason"] if task_id in tasks else ""
                problems.append(
                    f"task {task_id} is {status.get(task_id)}, expected {want} ({reason})"
                )
    problems += _check_events(tasks, events)
    problems += _check_branch(repo, run["base_commit"], run["branch"], tasks)
    problems += _check_leftovers(repo, run_id, status)
    problems += _check_pinned(repo, tasks, checked)
    alive = tagged_processes(run_tag(run_id, repo / ".wavefront" / "journal.db"))
    if alive:
        problems.append(f"processes of the run's attempts still alive: {alive}")
    return problems


def _check_pinned(
    repo: Path, tasks: Mapping[str, sqlite3.Row], checked: Mapping[str, str | None]
) -> list[str]:
    """A done task's merge commit is its own: its second parent is the commit its gates
    checked (the head journaled by its last attempt)."""
    problems = []
    for task_id, row in tasks.items():
        head = checked.get(task_id)
        if row["status"] != "done" or not head or not row["merge_commit"]:
            continue
        parents = git(repo, "rev-list", "--parents", "-n", "1", row["merge_commit"]).split()
        if parents[2:3] != [head]:
            problems.append(
                f"task {task_id}: merge commit {row['merge_commit'][:12]} does not merge the "
                f"checked commit {head[:12]}"
            )
    return problems


def _check_events(tasks: Mapping[str, sqlite3.Row], events: list[sqlite3.Row]) -> list[str]:
    """The event log tells the same story as the task rows."""
    problems = []
    last: dict[str, dict[str, object]] = {}
    done_events: Counter[str] = Counter()
    for event in events:
        if event["kind"] != "task_status":
            continue
        data = json.loads(event["data"])
        last[event["task_id"]] = data
        if data["status"] == "done":
            done_events[event["task_id"]] += 1
    for task_id, row in tasks.items():
        final = last.get(task_id, {"status": "pending"})
        if final["status"] != row["status"]:
            problems.append(
                f"task {task_id}: last event says {final['status']}, the task row {row['status']}"
            )
        want_done = 1 if row["status"] == "done" else 0
        if done_events[task_id] != want_done:
            problems.append(
                f"task {task_id} ({row['status']}) has {done_events[task_id]} 'done' events"
            )
        if row["status"] == "done" and final.get("merge_commit") != row["merge_commit"]:
            problems.append(f"task {task_id}: done event and row disagree on the merge commit")
    return problems


def _check_branch(
    repo: Path, base: str, branch: str, tasks: Mapping[str, sqlite3.Row]
) -> list[str]:
    """The integration branch is base + a chain of merges, one per done task, each once."""
    problems = []
    chain = git(repo, "rev-list", "--first-parent", "--parents", f"{base}..{branch}", "--")
    merged: Counter[str] = Counter()
    work_commits: Counter[str] = Counter()
    commits = [line.split() for line in chain.splitlines()]
    for position, (commit, *parents) in enumerate(commits):
        expected_first = commits[position + 1][0] if position + 1 < len(commits) else base
        if len(parents) != 2 or parents[0] != expected_first:
            problems.append(f"{commit} on {branch} is not a merge onto the previous head")
            continue
        work_commits[parents[1]] += 1
        trailers = git(
            repo, "log", "-1", "--format=%(trailers:key=wavefront-task,valueonly)", commit
        ).strip()
        merged[trailers] += 1
    for task_id, row in tasks.items():
        want = 1 if row["status"] == "done" else 0
        if merged[task_id] != want:
            problems.append(
                f"task {task_id} ({row['status']}) is merged {merged[task_id]} times into {branch}"
            )
        if row["status"] == "done":
            commit = row["merge_commit"] or ""
            if not git_ok(repo, "merge-base", "--is-ancestor", commit, branch):
                problems.append(f"task {task_id}: merge commit {commit} not on {branch}")
    problems += [f"work commit {c} merged {n} times" for c, n in work_commits.items() if n > 1]
    unknown = set(merged) - set(tasks)
    problems += [f"a merge names unknown task {t!r}" for t in sorted(unknown)]
    return problems


def _check_leftovers(repo: Path, run_id: str, status: Mapping[str, str]) -> list[str]:
    """No lock, no stray worktree: only failed work keeps its worktree, for the user."""
    problems = []
    state = repo / ".wavefront"
    holder = RunLock(state).holder()
    if holder is not None:
        problems.append(f"the run lock is still held (pid {holder})")
    locks = [p for p in (repo / ".git").rglob("*.lock")]
    problems += [f"git lock file left: {p}" for p in locks]
    kept = {safe_name(t) for t, s in status.items() if s in KEPT_WORKTREE_STATES}
    listed = git(repo, "worktree", "list", "--porcelain")
    registered = [
        Path(line[len("worktree ") :])
        for line in listed.splitlines()
        if line.startswith("worktree ")
    ]
    # Attempts run in repositories of their own: the user's repository has no worktrees.
    problems += [f"worktree left behind: {path}" for path in registered[1:]]
    prefix = f"refs/heads/wavefront-tasks/{run_id}/"
    branches = git(repo, "for-each-ref", "--format=%(refname)", prefix).split()
    problems += [f"task branch left behind: {ref}" for ref in branches
                 if ref.removeprefix(prefix) not in kept]
    tasks_dir, verify_dir = state / "worktrees" / run_id, state / "verify" / run_id
    if tasks_dir.is_dir():
        problems += [
            f"directory left behind: {child}"
            for child in tasks_dir.iterdir()
            if child.name not in kept
        ]
    if verify_dir.is_dir():
        problems += [f"directory left behind: {child}" for child in verify_dir.iterdir()]
    return problems
