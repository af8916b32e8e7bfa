"""The merge queue's git side: clean merges, conflicts, exactly-once, compare-and-swap,
conflict rounds in the worktree, and the user's checkout left exactly as it was."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import git
from wavefront.errors import WorkspaceError
from wavefront.workspace.base import WorkspaceHandle
from wavefront.workspace.worktrees import GitRepo, GitWorkspaces

# Tests see no user or system git config: wavefront must work without any.
pytestmark = pytest.mark.usefixtures("isolated_git_config")


SHARED = "one\ntwo\nthree\n"


@pytest.fixture
def spaces(tmp_path: Path) -> GitWorkspaces:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "shared.txt").write_text(SHARED)
    git(root, "add", "shared.txt")
    git(root, "commit", "-q", "-m", "initial")
    workspaces = GitWorkspaces(GitRepo(root), "r1")
    workspaces.create_integration_branch("main")
    return workspaces


def work(spaces: GitWorkspaces, task_id: str, files: dict[str, str]) -> WorkspaceHandle:
    """A task attempt that writes `files` and commits them."""
    handle = spaces.create(task_id)
    for name, text in files.items():
        (handle.path / name).write_text(text)
    assert spaces.commit_all(handle, f"task {task_id}") is not None
    return handle


def parents(repo: GitRepo, commit: str) -> list[str]:
    return repo.run("rev-list", "--parents", "-n", "1", commit).split()[1:]


def show(repo: GitRepo, ref: str, path: str) -> str:
    return repo.run("show", f"{ref}:{path}")


def test_clean_merge_adds_a_two_parent_commit(spaces: GitWorkspaces) -> None:
    repo = spaces.repo
    a = work(spaces, "a", {"a.txt": "from a\n"})
    b = work(spaces, "b", {"b.txt": "from b\n"})
    start = spaces.integration_head()

    first = spaces.merge("a", "merge a")
    assert first.ok and first.conflicts == ()
    assert first.commit == spaces.integration_head()
    assert parents(repo, first.commit) == [start, spaces.head(a)]
    assert repo.run("log", "-1", "--format=%s", first.commit).strip() == "merge a"

    second = spaces.merge("b", "merge b")
    assert second.ok and second.commit is not None
    assert parents(repo, second.commit) == [first.commit, spaces.head(b)]
    assert show(repo, second.commit, "a.txt") == "from a\n"
    assert show(repo, second.commit, "b.txt") == "from b\n"
    assert show(repo, second.commit, "shared.txt") == SHARED
    assert repo.rev_parse("main") == start  # the user's branch did not move


def test_conflict_is_reported_and_nothing_is_written(spaces: GitWorkspaces) -> None:
    repo = spaces.repo
    work(spaces, "a", {"shared.txt": "one\nTWO from a\nthree\n", "a.txt": "a\n"})
    work(spaces, "b", {"shared.txt": "one\nTWO from b\nthree\n", "b.txt": "b\n"})
    assert spaces.merge("a", "merge a").ok
    head = spaces.integration_head()
    refs_before = repo.run("for-each-ref")

    outcome = spaces.merge("b", "merge b")
    assert not outcome.ok and outcome.commit is None
    assert outcome.conflicts == ("shared.txt",)
    assert "CONFLICT" in outcome.details and "shared.txt" in outcome.details
    assert spaces.integration_head() == head
    assert repo.run("for-each-ref") == refs_before


def test_merging_twice_is_a_no_op(spaces: GitWorkspaces) -> None:
    work(spaces, "a", {"a.txt": "a\n"})
    first = spaces.merge("a", "merge a")
    again = spaces.merge("a", "merge a")
    assert again.ok and again.commit == first.commit == spaces.integration_head()
    assert "already merged" in again.details


def test_task_without_commits_merges_as_nothing(spaces: GitWorkspaces) -> None:
    start = spaces.integration_head()
    spaces.create("idle")
    outcome = spaces.merge("idle", "merge idle")
    assert outcome.ok and outcome.commit == start == spaces.integration_head()


def test_merge_of_an_unknown_task_is_an_error(spaces: GitWorkspaces) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        spaces.merge("never-created", "merge")


def test_publish_fails_when_the_branch_moved(spaces: GitWorkspaces) -> None:
    a = work(spaces, "a", {"a.txt": "a\n"})
    work(spaces, "b", {"b.txt": "b\n"})
    old = spaces.integration_head()
    computed = spaces.compute_merge(old, spaces.head(a), "merge a")
    assert computed.ok and computed.commit is not None
    moved = spaces.merge("b", "merge b").commit  # someone else got there first

    assert not spaces.publish(computed.commit, old)
    assert spaces.integration_head() == moved
    redone = spaces.merge("a", "merge a")
    assert redone.ok and redone.commit is not None
    assert parents(spaces.repo, redone.commit)[0] == moved
    assert show(spaces.repo, redone.commit, "b.txt") == "b\n"


class _Interloper(GitWorkspaces):
    """Another writer moves the integration branch just before each of our publishes."""

    def __init__(self, repo: GitRepo, run_id: str, times: int) -> None:
        super().__init__(repo, run_id)
        self.times = times
        self.moves: list[str] = []

    def publish(self, new: str, old: str) -> bool:
        if self.times > 0:
            self.times -= 1
            tree = self.repo.run("rev-parse", f"{old}^{{tree}}").strip()
            other = self.repo.run("commit-tree", tree, "-p", old, "-m", "other").strip()
            self.repo.run("update-ref", f"refs/heads/{self.integration_branch}", other, old)
            self.moves.append(other)
        return super().publish(new, old)


def test_merge_recomputes_when_the_branch_moves_between_compute_and_publish(
    spaces: GitWorkspaces,
) -> None:
    racing = _Interloper(spaces.repo, "r1", times=2)
    a = work(racing, "a", {"a.txt": "a\n"})
    outcome = racing.merge("a", "merge a")
    assert outcome.ok and outcome.commit == racing.integration_head()
    assert len(racing.moves) == 2
    assert parents(racing.repo, outcome.commit) == [racing.moves[-1], racing.head(a)]


def test_merge_gives_up_when_the_branch_keeps_moving(spaces: GitWorkspaces) -> None:
    racing = _Interloper(spaces.repo, "r1", times=100)
    a = work(racing, "a", {"a.txt": "a\n"})
    outcome = racing.merge("a", "merge a")
    assert not outcome.ok and outcome.commit is None and outcome.conflicts == ()
    assert "kept moving" in outcome.details
    assert racing.integration_head() == racing.moves[-1]
    assert not racing.repo.is_ancestor(racing.head(a), racing.integration_head())


def test_conflict_round_in_the_worktree_then_a_clean_merge(spaces: GitWorkspaces) -> None:
    repo = spaces.repo
    work(spaces, "a", {"shared.txt": "one\nTWO from a\nthree\n", "a.txt": "a\n"})
    b = work(spaces, "b", {"shared.txt": "one\nTWO from b\nthree\n", "b.txt": "b\n"})
    assert spaces.merge("a", "merge a").ok
    assert spaces.merge("b", "merge b").conflicts == ("shared.txt",)
    integration = spaces.integration_head()

    assert spaces.start_conflict_resolution(b) == ["shared.txt"]
    marked = (b.path / "shared.txt").read_text()
    for marker in ("<<<<<<<", "|||||||", "=======", ">>>>>>>", "TWO from a", "TWO from b"):
        assert marker in marked
    assert spaces.start_conflict_resolution(b) == ["shared.txt"]  # asking again is harmless
    assert spaces.conflict_markers(b) == ["shared.txt"]

    (b.path / "shared.txt").write_text("one\nTWO from a and b\nthree\n")  # the agent's fix
    assert spaces.conflict_markers(b) == []
    resolved = spaces.commit_all(b, "b: resolve conflict with integration")
    assert resolved is not None
    assert parents(repo, resolved)[1] == integration
    # Only b's own work counts as changed, not a's files that came in with the merge.
    assert spaces.changed_files(b) == ["b.txt", "shared.txt"]
    patch = spaces.diff(b)
    assert "+TWO from a and b" in patch and "-TWO from a" in patch and "a.txt" not in patch
    assert spaces.open("b") == b

    outcome = spaces.merge("b", "merge b")
    assert outcome.ok and outcome.commit is not None
    assert show(repo, outcome.commit, "shared.txt") == "one\nTWO from a and b\nthree\n"
    assert show(repo, outcome.commit, "a.txt") == "a\n"
    assert show(repo, outcome.commit, "b.txt") == "b\n"


def test_conflict_round_that_keeps_the_task_side_still_commits(spaces: GitWorkspaces) -> None:
    work(spaces, "a", {"shared.txt": "A\n"})
    b = work(spaces, "b", {"shared.txt": "B\n"})
    assert spaces.merge("a", "merge a").ok
    spaces.start_conflict_resolution(b)
    (b.path / "shared.txt").write_text("B\n")  # identical to b's own commit
    resolved = spaces.commit_all(b, "b: keep mine")
    assert resolved is not None and len(parents(spaces.repo, resolved)) == 2
    assert spaces.merge("b", "merge b").ok


def test_markers_left_in_a_committed_resolution_are_found(spaces: GitWorkspaces) -> None:
    work(spaces, "a", {"shared.txt": "A\n"})
    b = work(spaces, "b", {"shared.txt": "B\n", "b.txt": "b\n"})
    assert spaces.merge("a", "merge a").ok
    spaces.start_conflict_resolution(b)
    spaces.commit_all(b, "b: 'resolved' with the markers still in")
    assert spaces.conflict_markers(b) == ["shared.txt"]
    assert spaces.merge("b", "merge b").ok  # git itself does not object: the engine must


def test_many_tasks_created_and_merged_from_threads(spaces: GitWorkspaces) -> None:
    ids = [f"t{n}" for n in range(6)]

    def attempt(task_id: str) -> None:
        work(spaces, task_id, {f"{task_id}.txt": task_id})

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(attempt, ids))
    assert len(spaces.worktrees()) == len(ids)
    for task_id in ids:
        assert spaces.merge(task_id, f"merge {task_id}").ok
    head = spaces.integration_head()
    for task_id in ids:
        assert show(spaces.repo, head, f"{task_id}.txt") == task_id


def test_merge_refuses_when_the_user_checked_out_the_integration_branch(
    spaces: GitWorkspaces,
) -> None:
    work(spaces, "a", {"a.txt": "a\n"})
    git(spaces.repo.root, "checkout", "-q", "wavefront/r1")
    with pytest.raises(WorkspaceError, match="is checked out at"):
        spaces.merge("a", "merge a")


def _user_state(root: Path) -> dict[str, str]:
    index = (root / ".git" / "index").read_bytes()
    return {
        "status": git(root, "status", "--porcelain=v1", "--untracked-files=all"),
        "stash": git(root, "stash", "list"),
        "head": (root / ".git" / "HEAD").read_text() + git(root, "rev-parse", "HEAD"),
        "branches": git(root, "for-each-ref", "refs/heads/main", "refs/heads/feature"),
        "index": hashlib.sha256(index).hexdigest(),
        "worktree": (root / "shared.txt").read_text() + (root / "staged.txt").read_text(),
        "config": (root / ".git" / "config").read_text(),
    }


def test_the_users_checkout_is_never_touched(spaces: GitWorkspaces) -> None:
    root = spaces.repo.root
    git(root, "branch", "feature")
    (root / "stashed.txt").write_text("stash me\n")
    git(root, "add", "stashed.txt")
    git(root, "stash", "-q")
    (root / "shared.txt").write_text("one\nuser edit\nthree\n")  # modified, unstaged
    (root / "staged.txt").write_text("staged\n")
    git(root, "add", "staged.txt")
    (root / "untracked.txt").write_text("mine\n")
    before = _user_state(root)

    a = work(spaces, "a", {"shared.txt": "one\nTWO from a\nthree\n"})
    b = work(spaces, "b", {"shared.txt": "one\nTWO from b\nthree\n", "b.txt": "b\n"})
    assert spaces.merge("a", "merge a").ok
    assert not spaces.merge("b", "merge b").ok
    spaces.start_conflict_resolution(b)
    (b.path / "shared.txt").write_text("one\nboth\nthree\n")
    spaces.commit_all(b, "resolve")
    merged = spaces.merge("b", "merge b")
    assert merged.ok and merged.commit is not None
    verify = spaces.checkout_detached(merged.commit, "verify")
    spaces.remove(verify)
    spaces.remove(a, delete_branch=True)
    spaces.prune_stray(set())
    spaces.delete_run_branches()

    assert _user_state(root) == before
