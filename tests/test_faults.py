"""Fault injection: git failing, a full disk under the journal, agents that misbehave.

Each fault must end in a clear task state and message, never a hung or corrupted run;
and once the fault is gone, `wavefront retry` / `resume` must finish the work with every
invariant of `chaos.invariants` held.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pytest

from chaos.harness import (
    WavefrontProcess,
    git,
    journal_rows,
    make_repo,
    run_cli,
    wavefront_env,
    write_backlog,
)
from chaos.invariants import check_invariants

RUN = ("run", "--no-progress")



def statuses(repo: Path) -> dict[str, tuple[str, str]]:
    records = journal_rows(repo, "SELECT * FROM tasks")
    return {r["task_id"]: (r["status"], r["reason"]) for r in records}


def latest_run(repo: Path) -> str | None:
    if not (repo / ".wavefront" / "journal.db").exists():
        return None
    if not journal_rows(repo, "SELECT name FROM sqlite_master WHERE name = 'runs'"):
        return None  # the journal could not even be set up
    found = journal_rows(repo, "SELECT id FROM runs ORDER BY created_at DESC")
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
    integrity = journal_rows(repo, "PRAGMA integrity_check")[0][0]
    assert integrity == "ok"
    run_id = recover(repo)
    assert check_invariants(repo, run_id, {t["id"]: "done" for t in tasks}) == []


# -- git failing ------------------------------------------------------------------------


def count_git_calls(tmp_path: Path) -> int:
    """How many git calls a clean run of `simple_tasks(4)` makes (through the wrapper)."""
    repo = make_repo(tmp_path / "count" / "repo")
    write_backlog(repo, simple_tasks(4), limits={"max_parallel": 1})
    chaos_dir = tmp_path / "count" / "chaos"
    done = run_cli(repo, *RUN, env=wavefront_env(chaos_dir, WF_GIT_FAIL_AT="999999"))
    assert done.returncode == 0, done.stderr
    return int((chaos_dir / "git-calls").read_text())


def test_a_git_command_failing_at_any_point_ends_clearly_and_retry_finishes(
    tmp_path: Path,
) -> None:
    total = count_git_calls(tmp_path)
    assert total > 20
    # Spread over the run: start, worktree creation, commits, merges, cleanup.
    for number in sorted({2, 5, total // 4, total // 2, (3 * total) // 4, total - 2}):
        case = tmp_path / f"fail-{number}"
        repo = make_repo(case / "repo")
        tasks = simple_tasks(4)
        write_backlog(repo, tasks, limits={"max_parallel": 1})
        env = wavefront_env(case / "chaos", WF_GIT_FAIL_AT=str(number))
        finished = run_cli(repo, *RUN, env=env, timeout=60)
        assert finished.returncode in (0, 1, 2), (number, finished.stderr)
        assert "Traceback" not in finished.stderr, (number, finished.stderr)
        if finished.returncode == 2:
            assert_one_clear_line(finished.stderr, "git")
        for task_id, (status, reason) in statuses(repo).items() if latest_run(repo) else ():
            if status == "failed":
                assert "injected failure of git call" in reason, (number, task_id, reason)
            else:
                assert status in ("done", "blocked", "pending"), (number, task_id, status)
        if latest_run(repo) is not None:
            assert journal_rows(repo, "PRAGMA integrity_check")[0][0] == "ok"
        run_id = recover(repo)
        assert check_invariants(repo, run_id, {t["id"]: "done" for t in tasks}) == [], number


# -- agents and reviewers that misbehave --------------------------------------------------


def tree_of(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", f"{ref}^{{tree}}").strip()


def command_agent(script: str) -> dict[str, Any]:
    """A `command` runner whose agent is a shell script (the prompt arrives as $1)."""
    return {"kind": "command", "argv_template": ["sh", "-c", script, "agent"]}


# The user's repository, seen from an attempt's workspace (.wavefront/worktrees/<run>/<task>).
USER_REPO = 'U="$PWD/../../../.."; '

OUTSIDE_WRITES = {
    "edits a file in the user's checkout": (
        USER_REPO + 'echo mine > mine.txt; echo hacked >> "$U/README.md"',
        "README.md",
    ),
    "adds a file to the user's checkout": (
        USER_REPO + 'echo mine > mine.txt; echo x > "$U/planted.txt"',
        "planted.txt",
    ),
    "moves the user's branch": (
        USER_REPO + "echo mine > mine.txt;"
        ' git -C "$U" update-ref refs/heads/main'
        ' "$(git -C "$U" commit-tree -m x "main^{tree}" -p main)"',
        "main",
    ),
}


@pytest.mark.parametrize("case", list(OUTSIDE_WRITES), ids=list(OUTSIDE_WRITES))
def test_an_agent_that_writes_outside_its_worktree_fails_its_attempt(
    tmp_path: Path, case: str
) -> None:
    script, named = OUTSIDE_WRITES[case]
    repo = make_repo(tmp_path / "repo")
    tree_before = tree_of(repo, "main")
    write_backlog(
        repo,
        [
            {"id": "rogue", "title": "writes outside", "runner": "rogue"},
            {"id": "after", "title": "depends", "depends_on": ["rogue"]},
        ],
        runners={"rogue": command_agent(script)},
    )
    finished = run_cli(repo, *RUN, "--sandbox", "none")  # what the guard sees
    assert finished.returncode == 1, finished.stderr
    found = statuses(repo)
    assert found["rogue"][0] == "failed"
    assert "wrote outside its worktree" in found["rogue"][1]
    assert named in found["rogue"][1]
    assert found["after"][0] == "blocked"
    run_id = latest_run(repo)
    assert run_id is not None
    # Nothing of the rogue attempt reached the integration branch.
    assert tree_of(repo, f"wavefront/{run_id}") == tree_before


def test_an_agent_that_deletes_its_branch_only_changes_its_own_repository(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    refs_before = git(repo, "for-each-ref")
    vandal = (
        "echo mine > mine.txt; branch=$(git symbolic-ref -q HEAD);"
        ' git checkout -q --detach; git update-ref -d "$branch"'
    )
    write_backlog(
        repo,
        [
            {"id": "vandal", "title": "deletes its branch", "runner": "vandal"},
            {"id": "fine", "title": "fine", "script": {"files": {"fine.txt": "ok\n"}}},
        ],
        runners={"vandal": command_agent(vandal)},
    )
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    run_id = latest_run(repo)
    assert run_id is not None
    # Its workspace is a repository of its own: the work still came back as a commit.
    assert git(repo, "show", f"wavefront/{run_id}:mine.txt") == "mine\n"
    assert check_invariants(repo, run_id, {"vandal": "done", "fine": "done"}) == []
    after = [line for line in git(repo, "for-each-ref").splitlines()
             if "refs/heads/wavefront/" not in line]
    assert after == refs_before.splitlines()


def test_a_reviewer_that_answers_garbage_never_approves(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_backlog(
        repo,
        [
            {
                "id": "reviewed",
                "title": "reviewed work",
                "gates": [{"kind": "review", "agents": ["reviewer"]}],
                "script": {"files": {"r.txt": "r\n"}, "review": ["garbage"]},
            }
        ],
        agents={"reviewer": {"profile": "code-reviewer", "runner": "script"}},
    )
    finished = run_cli(repo, *RUN)
    assert finished.returncode in (1, 3), finished.stderr
    assert "Traceback" not in finished.stderr
    status, reason = statuses(repo)["reviewed"]
    assert status in ("failed", "needs-human")
    assert "verdict" in reason, reason
    run_id = latest_run(repo)
    assert run_id is not None
    assert git(repo, "rev-list", "--count", f"main..wavefront/{run_id}").strip() == "0"


def fake_cli(tmp_path: Path, name: str, body: str) -> str:
    """An executable standing in for an agent CLI: here, one that misbehaves on purpose."""
    path = tmp_path / "bin" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("runner", "body", "words"),
    [
        ("command", "exit 0", "changed no files"),
        ("claude", "exit 0", "bad_output"),
        ("claude", "echo made-a-change > work.txt; exit 0", "bad_output"),
        ("codex", "exit 0", "bad_output"),
    ],
    ids=["command-silent", "claude-silent", "claude-silent-with-files", "codex-silent"],
)
def test_a_runner_that_exits_0_with_no_result_fails_the_task(
    tmp_path: Path, runner: str, body: str, words: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    executable = fake_cli(tmp_path, runner, body)
    settings: dict[str, Any] = (
        {"kind": "command", "argv_template": [executable]}
        if runner == "command"
        # A stand-in with no version and no login: let the pre-flight accept it.
        else {"executable": executable, "check_version": False,
              "env": {"ANTHROPIC_API_KEY": "sk-fake", "CODEX_API_KEY": "sk-fake"}}
    )
    write_backlog(
        repo,
        [{"id": "silent", "title": "says nothing", "runner": "agent"}],
        runners={"agent": {"kind": runner, **settings}}
        if runner != "command"
        else {"agent": settings},
    )
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 1, finished.stdout + finished.stderr
    status, reason = statuses(repo)["silent"]
    assert status == "failed"
    assert words in reason, reason


def test_a_failure_after_a_merge_is_published_leaves_the_task_done(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    # One task: with more, the next task's first git call races the cleanup's for the
    # injected failure, which is meant for the cleanup.
    tasks = simple_tasks(1)
    write_backlog(repo, tasks, limits={"max_parallel": 1})
    chaos_dir = tmp_path / "chaos"
    env = wavefront_env(chaos_dir)
    (chaos_dir / "fail-git-after-merge").write_text("")
    finished = run_cli(repo, *RUN, env=env)
    assert (chaos_dir / "fail-next-git.done").exists()  # the fault did fire
    assert finished.returncode == 0, finished.stdout + finished.stderr
    run_id = latest_run(repo)
    assert run_id is not None
    cleanup = journal_rows(repo, "SELECT task_id, data FROM events WHERE kind = 'cleanup_failed'")
    assert len(cleanup) == 1 and "injected failure of the git call" in cleanup[0]["data"]
    assert run_cli(repo, "clean").returncode == 0  # the worktree left by the fault goes
    assert check_invariants(repo, run_id, {t["id"]: "done" for t in tasks}) == []
