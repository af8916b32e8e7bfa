"""Worktrees, task branches, names and cleanup, on real git repositories in tmp_path."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import git
from wavefront.errors import WorkspaceError
from wavefront.workspace.base import PlainWorkspaces, Workspaces
from wavefront.workspace.worktrees import GitRepo, GitWorkspaces, safe_name

SAFE_CHARS = re.compile(r"[A-Za-z0-9._-]+")


# Tests see no user or system git config: wavefront must work without any.
pytestmark = pytest.mark.usefixtures("isolated_git_config")


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(make_repo(tmp_path / "repo"))


@pytest.fixture
def spaces(repo: GitRepo) -> GitWorkspaces:
    workspaces = GitWorkspaces(repo, "r1")
    workspaces.create_integration_branch("HEAD")
    return workspaces


# -- safe_name ---------------------------------------------------------------------------------

KEPT = ["1.1", "auth-login", "Story_2.3", "a", "x.y.z", "head"]
CHANGED = [
    "HEAD",
    "../../etc",
    "-rf",
    "a b",
    "a-b ",
    "\x00",
    "x/../y",
    "x/y",
    "ünïcødé",
    "名前",
    "a" * 300,
    "",
    ".",
    "..",
    ".hidden",
    "foo.lock",
    "trailing.",
    "a@{b}",
    "a\nb",
    "~^:?*[\\",
    "--",
]


@pytest.mark.parametrize("task_id", KEPT + CHANGED)
def test_safe_name_is_a_valid_ref_component_and_directory(task_id: str, tmp_path: Path) -> None:
    name = safe_name(task_id)
    assert SAFE_CHARS.fullmatch(name)
    assert ".." not in name
    assert not name.startswith(("-", "."))
    assert len(name) <= 70
    # git itself is the oracle for what a branch may be called.
    for args in (
        ["check-ref-format", "--branch", name],
        ["check-ref-format", f"refs/heads/wavefront-tasks/run/{name}"],
    ):
        assert subprocess.run(["git", *args], capture_output=True).returncode == 0, args
    folder = tmp_path / name
    folder.mkdir()
    assert folder.resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize("task_id", KEPT)
def test_safe_name_keeps_ids_that_are_already_safe(task_id: str) -> None:
    assert safe_name(task_id) == task_id


@pytest.mark.parametrize("task_id", CHANGED)
def test_safe_name_marks_changed_ids_with_a_hash(task_id: str) -> None:
    name = safe_name(task_id)
    assert name != task_id
    assert re.search(r"-[0-9a-f]{8}$", name)
    assert safe_name(task_id) == name  # stable


def test_safe_names_of_the_table_are_all_different() -> None:
    ids = [*KEPT, *CHANGED, "a-b", "a_b", "a/b", "x-y", "etc"]
    assert len({safe_name(i) for i in ids}) == len(ids)


@given(st.text())
def test_safe_name_invariants_hold_for_any_text(task_id: str) -> None:
    name = safe_name(task_id)
    assert SAFE_CHARS.fullmatch(name)
    assert ".." not in name and not name.startswith(("-", "."))
    assert not name.endswith((".", ".lock"))


# -- GitRepo -------------------------------------------------------------------------------------


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="is not a git repository"):
        GitRepo(tmp_path)


def test_empty_repository_asks_for_a_first_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    repo = GitRepo(tmp_path)
    with pytest.raises(WorkspaceError, match="commit something first"):
        repo.head_commit()
    with pytest.raises(WorkspaceError, match="does not name a commit"):
        GitWorkspaces(repo, "r1").create_integration_branch("HEAD")


def test_missing_git_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(WorkspaceError, match="git is not installed"):
        GitRepo(tmp_path / "repo")


def test_repo_found_from_a_subdirectory(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"pkg/mod.py": "x = 1\n"})
    repo = GitRepo(root / "pkg")
    assert repo.root == root.resolve()
    assert repo.git_dir == (root / ".git").resolve()


def test_rev_parse_and_ancestry(repo: GitRepo) -> None:
    first = repo.head_commit()
    assert repo.rev_parse("main") == first
    assert repo.rev_parse("no-such-branch") is None
    assert repo.rev_parse("-rf") is None  # read as a name, never as an option
    (repo.root / "more.txt").write_text("more\n")
    git(repo.root, "add", "more.txt")
    git(repo.root, "commit", "-q", "-m", "more")
    second = repo.head_commit()
    assert repo.is_ancestor(first, second)
    assert not repo.is_ancestor(second, first)


def test_failed_command_names_the_command_and_stderr(repo: GitRepo) -> None:
    with pytest.raises(WorkspaceError, match=r"git cat-file -p nope.*exit 128"):
        repo.run("cat-file", "-p", "nope")
    assert repo.run("cat-file", "-p", "nope", check=False) == ""


def test_ensure_excluded_appends_once(repo: GitRepo) -> None:
    repo.ensure_excluded()
    repo.ensure_excluded()
    lines = (repo.git_dir / "info" / "exclude").read_text().splitlines()
    assert lines.count(".wavefront/") == 1


# -- worktrees -------------------------------------------------------------------------------


def test_bad_run_id_is_refused(repo: GitRepo) -> None:
    with pytest.raises(WorkspaceError, match="cannot name a branch"):
        GitWorkspaces(repo, "../x")


def test_integration_branch_is_created_once(spaces: GitWorkspaces, repo: GitRepo) -> None:
    first = spaces.integration_head()
    assert first == repo.head_commit()
    (repo.root / "later.txt").write_text("later\n")
    git(repo.root, "add", "later.txt")
    git(repo.root, "commit", "-q", "-m", "later")
    assert spaces.create_integration_branch("HEAD") == first
    assert spaces.integration_head() == first
    assert repo.rev_parse("refs/heads/wavefront/r1") == first


def test_create_commit_and_changed_files(spaces: GitWorkspaces, repo: GitRepo) -> None:
    handle = spaces.create("1.1")
    assert handle.path == spaces.state_dir / "worktrees" / "r1" / "1.1"
    assert handle.branch == "wavefront-tasks/r1/1.1"
    assert handle.base_commit == spaces.integration_head()
    assert (handle.path / "README.md").read_text() == "hello\n"
    assert spaces.commit_all(handle, "nothing yet") is None

    (handle.path / "src").mkdir()
    (handle.path / "src" / "new file.py").write_text("print('hi')\n")
    (handle.path / "README.md").write_text("changed\n")
    commit = spaces.commit_all(handle, "task 1.1: add a module")
    assert commit is not None and commit == spaces.head(handle)
    assert repo.rev_parse(f"refs/heads/{handle.branch}") == commit
    assert git(handle.path, "log", "-1", "--format=%an <%ae>|%s") == (
        "wavefront <wavefront@localhost>|task 1.1: add a module\n"
    )
    assert spaces.changed_files(handle) == ["README.md", "src/new file.py"]
    assert spaces.commit_all(handle, "again") is None


def test_create_again_discards_the_earlier_attempt(spaces: GitWorkspaces) -> None:
    handle = spaces.create("1.1")
    (handle.path / "leftover.txt").write_text("from attempt one\n")
    spaces.commit_all(handle, "attempt one")
    (handle.path / "uncommitted.txt").write_text("dirty\n")

    again = spaces.create("1.1")
    assert again.path == handle.path
    assert not (again.path / "leftover.txt").exists()
    assert not (again.path / "uncommitted.txt").exists()
    assert spaces.head(again) == spaces.integration_head()
    assert spaces.changed_files(again) == []


def test_hostile_task_ids_stay_inside_the_state_dir(spaces: GitWorkspaces, repo: GitRepo) -> None:
    for task_id in ("../../etc", "-rf", "a b", "x/../y"):
        handle = spaces.create(task_id)
        assert handle.path.resolve().is_relative_to(spaces.state_dir / "worktrees" / "r1")
        assert handle.path.parent == spaces.state_dir / "worktrees" / "r1"
        assert handle.branch is not None
        assert repo.rev_parse(f"refs/heads/{handle.branch}") == handle.base_commit
    assert not (repo.root.parent / "etc").exists()


def test_open_finds_an_existing_worktree_only(spaces: GitWorkspaces) -> None:
    assert spaces.open("1.1") is None
    made = spaces.create("1.1")
    assert spaces.open("1.1") == made
    spaces.remove(made)
    assert spaces.open("1.1") is None


def test_checkout_detached_and_remove(spaces: GitWorkspaces, repo: GitRepo) -> None:
    handle = spaces.create("1.1")
    (handle.path / "feature.txt").write_text("feature\n")
    commit = spaces.commit_all(handle, "feature")
    assert commit is not None

    verify = spaces.checkout_detached(commit, "verify 1.1")
    assert verify.branch is None and verify.base_commit == commit
    assert verify.path.is_relative_to(spaces.state_dir / "verify" / "r1")
    assert (verify.path / "feature.txt").read_text() == "feature\n"
    assert git(verify.path, "rev-parse", "HEAD").strip() == commit
    assert set(spaces.worktrees()) == {handle.path, verify.path}

    spaces.remove(verify)
    spaces.remove(verify)  # already gone: still fine
    assert not verify.path.exists()
    assert spaces.worktrees() == [handle.path]

    spaces.remove(handle, delete_branch=True)
    assert spaces.worktrees() == []
    assert repo.rev_parse(f"refs/heads/{handle.branch}") is None
    assert "wavefront-tasks" not in git(repo.root, "worktree", "list")


def test_remove_refuses_paths_outside_the_state_dir(spaces: GitWorkspaces, repo: GitRepo) -> None:
    outside = spaces.create("1.1")
    stray = type(outside)("x", repo.root, None, None)
    with pytest.raises(WorkspaceError, match="outside"):
        spaces.remove(stray)
    assert (repo.root / "README.md").exists()


def test_prune_stray_keeps_only_named_tasks(spaces: GitWorkspaces) -> None:
    keep = spaces.create("keep me")
    drop = spaces.create("2.1")
    verify = spaces.checkout_detached(spaces.integration_head(), "check")
    half_made = spaces.state_dir / "worktrees" / "r1" / "crashed"
    half_made.mkdir()
    (half_made / "junk").write_text("x")
    other_run = GitWorkspaces(spaces.repo, "r2")
    other_run.create_integration_branch("HEAD")
    foreign = other_run.create("2.1")

    removed = spaces.prune_stray({"keep me", "not started"})
    assert set(removed) == {drop.path, verify.path, half_made.resolve()}
    assert spaces.worktrees() == [keep.path]
    assert foreign.path.is_dir()  # another run's worktrees are not ours to prune
    assert other_run.worktrees() == [foreign.path]


def test_delete_run_branches_leaves_the_integration_branch(
    spaces: GitWorkspaces, repo: GitRepo
) -> None:
    kept = spaces.create("1.1")
    done = spaces.create("1.2")
    spaces.remove(done)
    deleted = spaces.delete_run_branches()
    assert sorted(deleted) == ["wavefront-tasks/r1/1.1", "wavefront-tasks/r1/1.2"]
    assert not kept.path.exists()
    assert git(repo.root, "branch", "--list", "wavefront*").split() == ["wavefront/r1"]


# -- plain workspaces --------------------------------------------------------------------------


def test_plain_workspaces_run_in_one_directory_and_touch_nothing(tmp_path: Path) -> None:
    plain: Workspaces = PlainWorkspaces(tmp_path / "work")  # both backends fit the protocol
    git_backend: Workspaces = GitWorkspaces(GitRepo(make_repo(tmp_path / "repo")), "r1")
    assert git_backend.integration_branch == "wavefront/r1"
    handle = plain.create("1.1")
    assert handle.path == (tmp_path / "work").resolve() and handle.path.is_dir()
    assert handle.branch is None and handle.base_commit is None
    (handle.path / "out.txt").write_text("result\n")
    assert plain.commit_all(handle, "msg") is None
    assert plain.changed_files(handle) == []
    outcome = plain.merge("1.1", "msg")
    assert outcome.ok and outcome.commit is None and outcome.conflicts == ()
    assert plain.open("1.1") == handle
    assert plain.checkout_detached("abc", "v").path == handle.path
    plain.remove(handle, delete_branch=True)
    assert (handle.path / "out.txt").read_text() == "result\n"
    assert plain.worktrees() == [] and plain.prune_stray(set()) == []
    assert not (tmp_path / "work" / ".git").exists()
