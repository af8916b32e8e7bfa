"""The batching merge queue, on real git: candidates verified once, bisected when red.

The first tests drive the git backend's `merge_batch` directly over task branches made
with `git fast-import`, with a verifier that asks git whether the candidate's tree holds
a poisoned file. The last ones run `wavefront` as a process with a merged-tree command
gate, kill it with SIGKILL during a batch, resume it, and check that the integration
branch is green at every commit and each task merged exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
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
    wavefront_env,
    write_backlog,
)
from chaos.invariants import check_invariants
from wavefront.workspace.base import MergeItem
from wavefront.workspace.git import GitRepo
from wavefront.workspace.worktrees import GitWorkspaces

RUN_ID = "batch"


def make_task_branches(repo: Path, base: str, tasks: dict[str, dict[str, str]]) -> None:
    """One commit on `base` per task, on its task branch, all in one `git fast-import`."""
    stream: list[str] = []
    for task_id, files in tasks.items():
        stream += [f"commit refs/heads/wavefront-tasks/{RUN_ID}/{task_id}",
                   "committer Test <test@example.invalid> 1700000000 +0000",
                   f"data {len(task_id)}", task_id, f"from {base}"]
        for path, text in files.items():
            data = text.encode()
            stream += [f"M 100644 inline {path}", f"data {len(data)}", text]
        stream.append("")
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"],
                   input="\n".join(stream) + "\n", text=True, check=True)


def is_green(repo: Path, commit: str) -> bool:
    """The stand-in test suite: a tree is red when it holds a non-empty `poison`."""
    done = subprocess.run(["git", "-C", str(repo), "cat-file", "blob", f"{commit}:poison"],
                          capture_output=True, text=True)
    return done.returncode != 0 or not done.stdout.strip()


class Checker:
    """The verifier handed to the backend; counts the candidates it was shown."""

    def __init__(self, repo: Path, workspaces: GitWorkspaces) -> None:
        self.repo = repo
        self.workspaces = workspaces
        self.candidates: list[tuple[str, tuple[str, ...]]] = []
        self.announced: list[tuple[str, str]] = []

    def verify(self, commit: str, old: str, task_ids: Sequence[str]) -> bool:
        self.candidates.append((commit, tuple(task_ids)))
        return is_green(self.repo, commit)

    def announce(self, old: str, new: str, merges: Sequence[tuple[str, str]]) -> None:
        # Journaled before it is published: the branch is still where the batch began.
        assert self.workspaces.integration_head() == old
        self.announced.append((old, new))


def batch_repo(tmp_path: Path, tasks: dict[str, dict[str, str]]
               ) -> tuple[Path, GitWorkspaces, str]:
    repo = make_repo(tmp_path / "repo")
    workspaces = GitWorkspaces(GitRepo(repo), RUN_ID)
    base = workspaces.create_integration_branch("HEAD")
    make_task_branches(repo, base, tasks)
    return repo, workspaces, base


def first_parents(repo: Path, branch: str, base: str) -> list[str]:
    return git(repo, "rev-list", "--first-parent", f"{base}..{branch}").split()


def assert_merged_once_and_green(repo: Path, workspaces: GitWorkspaces, base: str,
                                 merged: Sequence[str]) -> None:
    branch = workspaces.integration_branch
    history = first_parents(repo, branch, base)
    assert all(is_green(repo, commit) for commit in history)
    seconds = [git(repo, "rev-parse", f"{commit}^2").strip() for commit in history]
    heads = {task_id: git(repo, "rev-parse", workspaces.task_branch(task_id)).strip()
             for task_id in merged}
    assert sorted(seconds) == sorted(heads.values())  # each exactly once, nothing else


def tasks_with(poisoned: Sequence[int], count: int = 32) -> dict[str, dict[str, str]]:
    return {f"t{n:02}": {f"work/t{n:02}.txt": f"{n}\n",
                         **({"poison": f"from t{n:02}\n"} if n in poisoned else {})}
            for n in range(count)}


def run_batch(workspaces: GitWorkspaces, checker: Checker, task_ids: Sequence[str],
              parallel: int = 1) -> dict[str, Any]:
    items = [MergeItem(task_id, f"Merge {task_id}") for task_id in task_ids]
    return workspaces.merge_batch(items, checker.verify, checker.announce, parallel)


def test_a_green_batch_is_verified_once_and_published_at_once(tmp_path: Path) -> None:
    tasks = tasks_with(())
    repo, workspaces, base = batch_repo(tmp_path, tasks)
    checker = Checker(repo, workspaces)
    outcomes = run_batch(workspaces, checker, list(tasks))
    assert all(outcome.ok for outcome in outcomes.values())
    assert len(checker.candidates) == 1 and len(checker.candidates[0][1]) == 32
    assert len(checker.announced) == 1
    assert_merged_once_and_green(repo, workspaces, base, list(tasks))
    # Again (a resume after a crash): every task is found merged, nothing merged twice.
    again = run_batch(workspaces, Checker(repo, workspaces), list(tasks))
    assert all(outcome.ok and "already merged" in outcome.details for outcome in again.values())
    assert_merged_once_and_green(repo, workspaces, base, list(tasks))


@pytest.mark.parametrize(("culprit", "parallel"), [(0, 1), (13, 1), (31, 1), (20, 3)])
def test_one_culprit_among_32_is_found_by_bisection(
    tmp_path: Path, culprit: int, parallel: int
) -> None:
    tasks = tasks_with((culprit,))
    repo, workspaces, base = batch_repo(tmp_path, tasks)
    checker = Checker(repo, workspaces)
    outcomes = run_batch(workspaces, checker, list(tasks), parallel)
    bad = f"t{culprit:02}"
    assert not outcomes[bad].ok and not outcomes[bad].verified
    assert outcomes[bad].commit is not None and not is_green(repo, outcomes[bad].commit)
    good = [task_id for task_id in tasks if task_id != bad]
    assert all(outcomes[task_id].ok for task_id in good)
    if parallel == 1:
        assert len(checker.candidates) <= 7
    assert_merged_once_and_green(repo, workspaces, base, good)


def test_two_culprits_are_both_sent_back(tmp_path: Path) -> None:
    tasks = tasks_with((5, 22), count=24)
    repo, workspaces, base = batch_repo(tmp_path, tasks)
    outcomes = run_batch(workspaces, Checker(repo, workspaces), list(tasks))
    refused = sorted(task_id for task_id, outcome in outcomes.items() if not outcome.ok)
    assert refused == ["t05", "t22"]
    assert_merged_once_and_green(repo, workspaces, base,
                                 [t for t in tasks if t not in refused])


def test_a_task_clashing_with_another_of_its_batch_gets_the_real_conflict(
    tmp_path: Path
) -> None:
    tasks = {"a": {"shared.txt": "from a\n"}, "b": {"shared.txt": "from b\n"},
             "c": {"c.txt": "c\n"}}
    repo, workspaces, base = batch_repo(tmp_path, tasks)
    outcomes = run_batch(workspaces, Checker(repo, workspaces), list(tasks))
    assert outcomes["a"].ok and outcomes["c"].ok
    assert not outcomes["b"].ok and outcomes["b"].conflicts == ("shared.txt",)
    assert_merged_once_and_green(repo, workspaces, base, ["a", "c"])


# -- a real run, killed during a batch --------------------------------------------------

CHECK = """\
import pathlib, sys, time
poison = pathlib.Path("poison")
time.sleep(0.3)
sys.exit(1 if poison.exists() and poison.read_text().strip() else 0)
"""


def batch_backlog(repo: Path) -> list[dict[str, Any]]:
    (repo / "check.py").write_text(CHECK)
    git(repo, "add", "check.py")
    git(repo, "commit", "-q", "-m", "checker")
    tasks: list[dict[str, Any]] = [
        {"id": f"t{n}", "title": f"task {n}",
         "script": {"sleep": 0.05 if n == 0 else 0.2, "files": {f"work/t{n}.txt": f"{n}\n"}}}
        for n in range(6)]
    # Passes alone (the check runs on merged trees only), turns any candidate red; its
    # fix round empties the file.
    tasks.append({"id": "culprit", "title": "the culprit", "script": {
        "sleep": 0.2, "attempts": [{"files": {"poison": "bad\n"}},
                                   {"files": {"poison": "\n"}}]}})
    gate = {"kind": "command", "run": [sys.executable, "check.py"], "on": "merged",
            "timeout": 60}
    write_backlog(repo, tasks, limits={"max_parallel": 7}, verify="merged", gates=[gate])
    return tasks


def checking_a_batch(kind: str, task_id: str | None, data: str) -> bool:
    return kind == "task_status" and "checking gates on the merged tree with" in data


@pytest.mark.parametrize("kill", ["verifying", "before-publish", "after-publish"])
def test_sigkill_during_a_batch_then_resume(tmp_path: Path, kill: str) -> None:
    repo = make_repo(tmp_path / "repo")
    chaos_dir = tmp_path / "chaos"
    env = wavefront_env(chaos_dir)
    tasks = batch_backlog(repo)
    process = WavefrontProcess(repo, ("run", "--no-progress"), env=env)
    watch = JournalWatch(repo)
    assert watch.wait_for(checking_a_batch, process), "no batch was ever checked"
    if kill == "verifying":
        process.send(signal.SIGKILL)
    else:
        # The git wrapper kills the engine at the batch's first publish (see the harness).
        (chaos_dir / f"kill-merge-{kill.removesuffix('-publish')}").write_text("")
    watch.close()
    finished = process.wait(120)
    assert finished.returncode == -signal.SIGKILL, finished.stderr
    run_id = str(journal_rows(repo, "SELECT id FROM runs")[0]["id"])
    for _ in range(3):
        done = run_cli(repo, "resume", "--no-progress", env=env)
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode != 3:
            break
    assert done.returncode == 0, done.stdout + done.stderr
    assert check_invariants(repo, run_id, {t["id"]: "done" for t in tasks}) == []
    base = str(journal_rows(repo, "SELECT base_commit FROM runs")[0]["base_commit"])
    history = first_parents(repo, f"wavefront/{run_id}", base)
    assert all(is_green(repo, commit) for commit in history)
    # The culprit went back to its agent with the failure, then merged with its fix.
    rounds = journal_rows(repo, "SELECT COUNT(*) AS n FROM attempts WHERE task_id = "
                          "'culprit' AND kind = 'merged-fix'")
    assert rounds[0]["n"] == 1
    candidates = journal_rows(repo, "SELECT COUNT(*) AS n FROM events WHERE kind = "
                              "'merge_candidate'")
    assert candidates[0]["n"] >= 2
