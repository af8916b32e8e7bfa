"""Released workspaces reset for the next attempt: nothing of the last one gets through.

The repositories are real, and so is what the "last agent" leaves behind (git commands run
in its workspace, as an agent would run them); the end-to-end test runs `wavefront run`
with shell-script agents in a one-slot run, so the second task works in the first one's
repository.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from chaos.harness import git as harness_git
from chaos.harness import journal_rows, make_repo, run_cli, write_backlog
from conftest import git
from wavefront.workspace.base import WorkspaceHandle
from wavefront.workspace.worktrees import GitRepo, GitWorkspaces

pytestmark = pytest.mark.usefixtures("isolated_git_config")


@pytest.fixture
def repo(git_repo: Path) -> GitRepo:
    (git_repo / "kept.txt").write_text("as committed\n")
    (git_repo / ".gitignore").write_text("*.log\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "a kept file, ignored logs")
    return GitRepo(git_repo)


@pytest.fixture
def spaces(repo: GitRepo) -> GitWorkspaces:
    workspaces = GitWorkspaces(repo, "r1")
    workspaces.create_integration_branch("HEAD")
    return workspaces


def leave_everything_behind(path: Path) -> dict[str, str]:
    """What a careless or hostile agent (or a gate) leaves in its workspace once its work
    is committed; returns ids to look for."""
    git(path, "update-ref", "refs/heads/leftover", "HEAD")
    git(path, "tag", "leftover-tag")
    git(path, "update-ref", "refs/notes/commits", "HEAD")
    (path / "README.md").write_text("stashed edit\n")
    git(path, "stash", "-q")
    stash = git(path, "rev-parse", "refs/stash").strip()
    hook = path / ".git" / "hooks" / "post-checkout"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\ntouch hook-ran\n")
    hook.chmod(0o755)
    git(path, "config", "user.name", "the last agent")
    git(path, "config", "alias.st", "!touch alias-ran")
    (path / ".git" / "info").mkdir(exist_ok=True)
    (path / ".git" / "info" / "exclude").write_text("hidden.txt\n")
    (path / ".git" / "info" / "attributes").write_text("* filter=evil\n")
    (path / ".git" / "leftover-note").write_text("for the next agent\n")
    (path / "hidden.txt").write_text("excluded locally\n")
    (path / "debug.log").write_text("ignored by .gitignore\n")
    (path / "untracked").mkdir()
    (path / "untracked" / "file.txt").write_text("untracked\n")
    nested = path / "vendor"
    nested.mkdir()
    git(nested, "init", "-q")
    # Edits git would not look at: the flags make the index vouch for the old content.
    (path / "kept.txt").write_text("edited, then hidden from git\n")
    git(path, "update-index", "--skip-worktree", "kept.txt")
    git(path, "update-index", "--assume-unchanged", "README.md")
    (path / "README.md").write_text("edited under assume-unchanged\n")
    return {"stash": stash}


def what_the_next_agent_sees(handle: WorkspaceHandle) -> dict[str, str]:
    path = handle.path
    git_dir = path / ".git"
    return {
        "refs": git(path, "for-each-ref", "--format=%(refname)"),
        "stash": git(path, "stash", "list"),
        "reflog": git(path, "reflog", "--all", "--format=%gs"),
        "status": git(path, "status", "--porcelain", "--ignored", "-uall"),
        "flags": "".join(line for line in git(path, "ls-files", "-v").splitlines(True)
                         if not line.startswith("H ")),
        "files": " ".join(sorted(p.name for p in path.iterdir())),
        "git dir": " ".join(sorted(p.name for p in git_dir.iterdir())),
        "config": (git_dir / "config").read_text(),
        "hooks": str((git_dir / "hooks").exists()),
    }


def test_a_merged_tasks_workspace_is_reused_with_nothing_of_it_left(
    spaces: GitWorkspaces, repo: GitRepo
) -> None:
    first = spaces.create("first")
    (first.path / "work.txt").write_text("the task's work\n")
    assert spaces.commit_all(first, "first") is not None
    planted = leave_everything_behind(first.path)
    inode = os.stat(first.path / ".git").st_ino
    assert spaces.merge("first", "merge first").ok
    spaces.discard_many(["first"])
    assert not first.path.exists()

    second = spaces.create("second")
    assert os.stat(second.path / ".git").st_ino == inode  # the same repository, reset
    seen = what_the_next_agent_sees(second)
    assert seen["refs"] == f"refs/heads/{second.branch}\n"
    assert seen["stash"] == ""
    assert seen["reflog"].splitlines() == [  # only what the reset itself did
        f"branch: Created from {second.base_commit}",
        f"checkout: moving from {second.base_commit} to {second.branch}"]
    assert seen["status"] == ""
    assert seen["flags"] == ""
    assert seen["files"] == ".git .gitignore README.md kept.txt work.txt"
    assert seen["git dir"] == "HEAD config index logs objects refs wavefront-base"
    assert "the last agent" not in seen["config"] and "alias" not in seen["config"]
    assert seen["hooks"] == "False"
    # The files are the new base's (the first task's merge), byte for byte.
    assert (second.path / "kept.txt").read_text() == "as committed\n"
    assert (second.path / "README.md").read_text() == "hello\n"
    assert (second.path / "work.txt").read_text() == "the task's work\n"
    assert git(second.path, "rev-parse", "HEAD").strip() == spaces.integration_head()
    # The stash's commit was the workspace's own object: it is gone, not just unnamed.
    assert not _has_object(second.path, planted["stash"])
    assert spaces.changed_files(second) == []
    (second.path / "two.txt").write_text("two\n")
    assert spaces.commit_all(second, "second") is not None
    assert spaces.changed_files(second) == ["two.txt"]


def test_a_reset_workspace_commits_every_change_again(spaces: GitWorkspaces) -> None:
    """The flags an agent set are cleared, so the next task's edits are all committed."""
    first = spaces.create("first")
    git(first.path, "update-index", "--assume-unchanged", "README.md")
    git(first.path, "update-index", "--skip-worktree", "kept.txt")
    spaces.discard_many(["first"])  # its branch is deleted with it; nothing to merge
    second = spaces.create("second")
    (second.path / "README.md").write_text("changed by the second task\n")
    (second.path / "kept.txt").write_text("this too\n")
    assert spaces.commit_all(second, "second") is not None
    assert spaces.changed_files(second) == ["README.md", "kept.txt"]


def test_failed_and_waiting_workspaces_are_kept_not_reused(spaces: GitWorkspaces) -> None:
    failed = spaces.create("failed")
    (failed.path / "evidence.txt").write_text("what went wrong\n")
    spaces.create("next")
    assert (failed.path / "evidence.txt").read_text() == "what went wrong\n"
    assert list(spaces.pool.folder.glob("*")) == []
    assert spaces.prune_stray({"failed", "next"}) == []
    assert failed.path.is_dir()


def test_merged_tree_check_workspaces_are_reused(spaces: GitWorkspaces) -> None:
    check = spaces.checkout_detached(spaces.integration_head(), "batch 1")
    (check.path / "build").mkdir()
    (check.path / "build" / "out.o").write_text("gate output\n")
    inode = os.stat(check.path / ".git").st_ino
    spaces.remove(check)
    again = spaces.checkout_detached(spaces.integration_head(), "batch 2")
    assert os.stat(again.path / ".git").st_ino == inode
    assert not (again.path / "build").exists()
    assert git(again.path, "status", "--porcelain", "--ignored") == ""
    assert git(again.path, "for-each-ref") == ""


def test_a_workspace_killed_while_being_reset_is_thrown_away(
    spaces: GitWorkspaces, repo: GitRepo
) -> None:
    first = spaces.create("first")
    (first.path / "dirty.txt").write_text("the last task's\n")
    spaces.discard_many(["first"])
    claimed = spaces.pool.take()  # what a process killed mid-reset leaves: a claimed entry
    assert claimed is not None and claimed.name.endswith(".resetting")

    resumed = GitWorkspaces(repo, "r1")  # the next process, on resume
    assert resumed.prune_stray(keep=()) == [claimed]
    assert not claimed.exists()
    fresh = resumed.create("second")
    assert not (fresh.path / "dirty.txt").exists()
    assert git(fresh.path, "status", "--porcelain", "--ignored") == ""


def test_a_workspace_that_cannot_be_reset_is_replaced_by_a_new_one(
    spaces: GitWorkspaces,
) -> None:
    first = spaces.create("first")
    (first.path / "dirty.txt").write_text("the last task's\n")
    spaces.discard_many(["first"])
    [pooled] = list(spaces.pool.folder.iterdir())
    (pooled / ".git" / "index").unlink()
    (pooled / ".git" / "index").symlink_to(spaces.repo.git_dir / "index")
    users_index = (spaces.repo.git_dir / "index").read_bytes()

    second = spaces.create("second")
    assert not (second.path / "dirty.txt").exists()
    assert not (second.path / ".git" / "index").is_symlink()
    assert not pooled.exists() and not pooled.with_name(pooled.name + ".resetting").exists()
    assert (spaces.repo.git_dir / "index").read_bytes() == users_index


def test_a_workspace_swapped_for_a_link_is_never_pooled(
    spaces: GitWorkspaces, repo: GitRepo
) -> None:
    first = spaces.create("first")
    os.rename(first.path, first.path.with_name("moved"))
    first.path.symlink_to(repo.root)  # "its workspace" is now the user's checkout
    spaces.discard_many(["first"])
    assert list(spaces.pool.folder.glob("*")) == []
    assert (repo.root / "README.md").read_text() == "hello\n"
    assert git(repo.root, "status", "--porcelain") == ""
    assert not first.path.is_symlink()
    assert first.path.with_name("moved").is_dir()  # removed is only the link


def test_the_pool_keeps_at_most_its_limit(repo: GitRepo) -> None:
    spaces = GitWorkspaces(repo, "r1", pool=2)
    spaces.create_integration_branch("HEAD")
    for task_id in ("a", "b", "c"):
        spaces.create(task_id)
    spaces.discard_many(["a", "b", "c"])
    assert len(list(spaces.pool.folder.iterdir())) == 2


def _has_object(path: Path, object_id: str) -> bool:
    return subprocess.run(["git", "-C", str(path), "cat-file", "-e", object_id],
                          capture_output=True).returncode == 0


# -- through the engine -----------------------------------------------------------------


FIRST_AGENT = (
    "stat -c %i .git > ../../../first-inode; "
    "git update-ref refs/heads/leftover HEAD; "
    "echo edit >> README.md; git stash -q; "
    "mkdir -p .git/hooks; printf '#!/bin/sh\\ntouch hook-ran\\n' > .git/hooks/post-checkout; "
    "chmod +x .git/hooks/post-checkout; "
    "git config user.name 'the first agent'; "
    "echo secret > .env.local; echo first > first.txt"
)
SECOND_AGENT = (
    "{ stat -c %i .git; git for-each-ref --format='%(refname)'; git stash list; "
    "ls -A; ls -A .git; git config --local --list; "
    "git status --porcelain --ignored -uall; } > ../../../second-saw; echo second > second.txt"
)


def test_the_next_task_in_a_slot_sees_nothing_of_the_last(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    (root / ".gitignore").write_text(".env*\n")
    harness_git(root, "add", ".gitignore")
    harness_git(root, "commit", "-q", "-m", "ignore .env")

    def shell(script: str) -> dict[str, object]:
        return {"kind": "command", "argv_template": ["sh", "-c", script, "agent"]}

    write_backlog(root, [{"id": "first", "title": "first", "runner": "first"},
                         {"id": "second", "title": "second", "runner": "second",
                          "depends_on": ["first"]}],
                  runners={"first": shell(FIRST_AGENT), "second": shell(SECOND_AGENT)},
                  limits={"max_parallel": 1})
    done = run_cli(root, "run", "--no-progress", "--sandbox", "none")
    assert done.returncode == 0, done.stderr
    statuses = {r["task_id"]: r["status"] for r in journal_rows(root, "SELECT * FROM tasks")}
    assert statuses == {"first": "done", "second": "done"}

    saw = (root / ".wavefront" / "second-saw").read_text().splitlines()
    first_inode = (root / ".wavefront" / "first-inode").read_text().strip()
    assert saw[0] == first_inode  # the second task ran in the first one's repository
    refs = [line for line in saw if line.startswith("refs/")]
    assert refs == ["refs/heads/wavefront-tasks/" + _run_id(root) + "/second"]
    text = "\n".join(saw)
    for leftover in ("leftover", "stash@", ".env.local", "hooks", "the first agent",
                     "hook-ran"):
        assert leftover not in text, leftover
    assert "first.txt" in saw  # the first task's merged work is the new base


def _run_id(root: Path) -> str:
    return str(journal_rows(root, "SELECT id FROM runs")[0]["id"])
