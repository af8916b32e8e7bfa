"""Crash and resume, for real: `wavefront run` in a subprocess, interrupted with SIGINT or
killed with SIGKILL at chosen points, then `wavefront resume`.

After every resume the run's invariants are checked against git and the journal
(`chaos.invariants`): every task done and merged exactly once, the integration branch a
chain of merges, the event log consistent, no worktree or lock left behind.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from chaos.harness import (
    JournalWatch,
    WavefrontProcess,
    git,
    journal_rows,
    make_repo,
    run_cli,
    status_event,
    wavefront_env,
    write_backlog,
)
from chaos.invariants import check_invariants

RUN = ("run", "--no-progress")



def run_id_of(repo: Path) -> str:
    return str(journal_rows(repo, "SELECT id FROM runs ORDER BY created_at DESC")[0]["id"])


def processes_working_in(folder: Path) -> list[int]:
    """Live processes whose current directory is inside `folder` (agents in worktrees)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd.is_relative_to(folder):
            found.append(int(entry.name))
    return found


def resume_until_finished(repo: Path, env: dict[str, str] | None = None, most: int = 3) -> int:
    """Resume until the run finishes; returns how many resumes it took."""
    for number in range(1, most + 1):
        done = run_cli(repo, "resume", "--no-progress", env=env)
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode != 3:
            assert done.returncode == 0, done.stdout + done.stderr
            return number
    raise AssertionError(f"the run did not finish after {most} resumes")


def files_task(task_id: str, sleep: float = 0.1, **extra: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "title": f"task {task_id}",
        "script": {"sleep": sleep, "files": {f"out/{task_id}.txt": f"{task_id}\n"}},
        **extra,
    }


def test_ctrl_c_stops_dispatch_cancels_agents_and_resume_completes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    hang_first = {"attempts": [{"behaviour": "hang"}, {"behaviour": "ok"}]}
    write_backlog(
        repo,
        [
            {**files_task("a"), "script": {**files_task("a")["script"], **hang_first}},
            {**files_task("b"), "script": {**files_task("b")["script"], **hang_first}},
            files_task("c", depends_on=["a"]),
            files_task("d", depends_on=["b"]),
            files_task("e"),
        ],
        limits={"max_parallel": 2},
    )
    process = WavefrontProcess(repo, RUN)
    watch = JournalWatch(repo)
    started: set[str] = set()

    def both_agents_started(kind: str, task_id: str | None, data: str) -> bool:
        if kind == "attempt_started" and task_id is not None:
            started.add(task_id)
        return started == {"a", "b"}

    assert watch.wait_for(both_agents_started, process)
    worktrees = repo / ".wavefront" / "worktrees"
    for _ in range(200):  # the hanging children start just after their attempts do
        if len(processes_working_in(worktrees)) >= 2:
            break
        watch.wait_for(lambda *_: False, timeout=0.05)
    assert len(processes_working_in(worktrees)) >= 2

    process.send(signal.SIGINT)
    finished = process.wait(60)
    watch.close()

    assert finished.returncode == 3, finished.stderr
    assert "Traceback" not in finished.stderr
    assert "wavefront resume" in finished.stdout
    assert processes_working_in(worktrees) == []  # the agents' process groups are gone
    run_id = run_id_of(repo)
    assert journal_rows(repo, "SELECT state FROM runs")[0]["state"] == "interrupted"
    attempts = journal_rows(repo, "SELECT task_id, state FROM attempts ORDER BY id")
    assert sorted((a["task_id"], a["state"]) for a in attempts) == [
        ("a", "cancelled"),
        ("b", "cancelled"),
    ]
    statuses = {r["task_id"]: r["status"] for r in journal_rows(repo, "SELECT * FROM tasks")}
    assert statuses == dict.fromkeys("abcde", "pending")
    # Dispatch stopped: nothing started once the interruption was recorded.
    events = journal_rows(repo, "SELECT id, data FROM events WHERE kind = 'task_status'")
    stopped_at = min(e["id"] for e in events if "interrupted" in e["data"])
    assert not [
        e for e in events if e["id"] > stopped_at and json.loads(e["data"])["status"] == "running"
    ]

    assert resume_until_finished(repo) == 1
    assert check_invariants(repo, run_id, dict.fromkeys("abcde", "done")) == []


def test_sigkill_mid_run_then_resume_loses_nothing_and_merges_nothing_twice(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    tasks = [
        files_task(f"t{i}", sleep=0.4, depends_on=[f"t{i - 2}"] if i >= 2 else []) for i in range(8)
    ]
    write_backlog(repo, tasks, limits={"max_parallel": 2})
    process = WavefrontProcess(repo, RUN)
    watch = JournalWatch(repo)
    done: set[str] = set()

    def two_done_and_more_running(kind: str, task_id: str | None, data: str) -> bool:
        if kind == "task_status" and '"done"' in data and task_id:
            done.add(task_id)
        return len(done) >= 2 and kind == "attempt_started"

    assert watch.wait_for(two_done_and_more_running, process)
    process.kill9()
    watch.close()
    run_id = run_id_of(repo)
    statuses = {r["task_id"]: r["status"] for r in journal_rows(repo, "SELECT * FROM tasks")}
    assert "running" in statuses.values()  # killed mid-run, with an agent at work
    lock = repo / ".wavefront" / "run.lock"
    assert lock.read_text() == str(process.pid)  # the dead process's pid is still written

    assert resume_until_finished(repo) == 1
    assert check_invariants(repo, run_id, {t["id"]: "done" for t in tasks}) == []
    tree = git(repo, "ls-tree", "-r", "--name-only", f"wavefront/{run_id}", "out/").split()
    assert sorted(tree) == sorted(f"out/t{i}.txt" for i in range(8))


def gate_task(task_id: str) -> dict[str, Any]:
    return files_task(task_id, gates=[{"kind": "command", "run": "sleep 0.6"}])


# (phase, how the kill is placed, backlog). The merge-queue kills come from the git wrapper:
# it SIGKILLs the engine just before or just after the update-ref that publishes a merge.
PHASES = [
    ("dispatch", status_event("running", "dispatched"), None),
    ("agent", lambda kind, task_id, data: kind == "attempt_started", None),
    ("gate", status_event("verifying"), None),
    ("merging", status_event("merging"), None),
    ("merge-before-publish", None, "kill-merge-before"),
    ("merge-after-publish", None, "kill-merge-after"),
    # The run is in the journal, its integration branch not yet in git.
    ("start-before-branch", None, "kill-start-before"),
    ("start-after-branch", None, "kill-start-after"),
]


@pytest.mark.parametrize(
    ("phase", "predicate", "trigger"), PHASES, ids=[phase for phase, _, _ in PHASES]
)
def test_sigkill_in_each_phase_then_resume(
    tmp_path: Path, phase: str, predicate: Any, trigger: str | None
) -> None:
    repo = make_repo(tmp_path / "repo")
    chaos_dir = tmp_path / "chaos"
    env = wavefront_env(chaos_dir)
    tasks = [
        gate_task("g1"),
        files_task("a"),
        files_task("b", depends_on=["a"]),
        gate_task("g2"),
        files_task("c", depends_on=["g1", "b"]),
    ]
    write_backlog(repo, tasks, limits={"max_parallel": 2}, verify="branch")
    if trigger is not None:
        (chaos_dir / trigger).write_text("")
    process = WavefrontProcess(repo, RUN, env=env)
    if predicate is not None:
        watch = JournalWatch(repo)
        assert watch.wait_for(predicate, process), f"never reached phase {phase}"
        process.send(signal.SIGKILL)
        watch.close()
    finished = process.wait(60)
    assert finished.returncode == -signal.SIGKILL, (phase, finished.stderr)
    run_id = run_id_of(repo)
    if trigger == "kill-merge-after":
        # The crash window of the merge queue: git has the merge, the journal does not.
        merging = journal_rows(repo, "SELECT task_id FROM tasks WHERE status = 'merging'")
        assert len(merging) == 1
        log = git(
            repo, "log", "--format=%(trailers:key=wavefront-task,valueonly)", f"wavefront/{run_id}"
        )
        assert merging[0]["task_id"] in log.split()

    resume_until_finished(repo, env=env)
    assert check_invariants(repo, run_id, {t["id"]: "done" for t in tasks}) == []


def test_a_second_run_while_one_is_active_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    # Long enough that the second command starts while the first still runs, on a busy machine.
    write_backlog(repo, [files_task("slow", sleep=8.0), files_task("next", depends_on=["slow"])])
    first = WavefrontProcess(repo, RUN)
    watch = JournalWatch(repo)
    assert watch.wait_for(lambda kind, *_: kind == "attempt_started", first), (
        first.alive(),
        first.stderr(),
    )
    watch.close()

    for command in (RUN, ("resume", "--no-progress")):
        second = run_cli(repo, *command)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1] == (
            f"error: another wavefront run (pid {first.pid}) is active in this repository; "
            "wait for it to finish or stop it (Ctrl-C / `wavefront cancel`)"
        )
    assert first.alive()  # the refused commands did not disturb the active run

    first.kill9()
    # The lock died with its process: the next command takes it over.
    assert resume_until_finished(repo) == 1
    assert check_invariants(repo, run_id_of(repo), {"slow": "done", "next": "done"}) == []
