"""Where attempts run: one repository per task, merged into the run's integration branch.

The user's checkout, index, HEAD and branches are never touched. A run owns the integration
branch `wavefront/<run>`; each task works in a repository of its own under
`<state_dir>/worktrees/<run>/<name>` (see `attempt_repo`), and its result is fetched back
into branch `wavefront-tasks/<run>/<name>` of the user's repository. A merged task's
repository is not deleted but kept in `<state_dir>/pool` (see `pool`) and reset for the
next attempt, which then pays only for the files that differ. (Task branches cannot
live under `wavefront/<run>/` as the design first said: git refuses a ref `a/b/c` while a
ref `a/b` exists.) Merges never check anything out: `git merge-tree --write-tree` computes
the tree, `git commit-tree` makes the commit and `git update-ref` publishes it only if the
branch is still where the merge started, so a crash or a concurrent writer can never lose
work. The merge takes the exact commit the gates checked, and refuses a branch that moved.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Collection, Sequence
from pathlib import Path

from wavefront.errors import WorkspaceError
from wavefront.workspace.attempt_repo import (
    create_attempt_repo,
    fetch_result,
    is_attempt_repo,
    reclaim,
    reset_attempt_repo,
)
from wavefront.workspace.base import WorkspaceHandle
from wavefront.workspace.git import GitRepo, safe_name, split_z
from wavefront.workspace.guard import DEFAULT_PROTECTED, CheckoutGuard
from wavefront.workspace.merging import GitMerging
from wavefront.workspace.pool import WorkspacePool

__all__ = ["GitRepo", "GitWorkspaces", "safe_name"]

TASK_BRANCH_PREFIX = "wavefront-tasks"
_BASE_FILE = "wavefront-base"  # in a workspace's git dir; removed with the workspace
# Written there when wavefront merges the integration branch in (a conflict round): only
# then can the task's own change start past its base.
_MERGED_IN_FILE = "wavefront-merged-in"
# Released repositories kept for reuse when the caller does not say how many it runs at once.
DEFAULT_POOL = 4


class GitWorkspaces(GitMerging):
    """The branches and worktrees of one run in one repository."""

    versioned = True
    blocking = True

    def __init__(self, repo: GitRepo, run_id: str, state_dir: Path | None = None,
                 protected: Sequence[str] = DEFAULT_PROTECTED, pool: int = DEFAULT_POOL
                 ) -> None:
        if not run_id or safe_name(run_id) != run_id:
            raise WorkspaceError(
                f"run id {run_id!r} cannot name a branch; use letters, digits, '.', '_' "
                f"or '-' (for example {safe_name(run_id or 'run')!r})"
            )
        repo.require_version()
        self.repo = repo
        self.run_id = run_id
        self.protected = tuple(protected)  # the ignored files the guard watches
        chosen = state_dir if state_dir is not None else repo.root / ".wavefront"
        self.state_dir = chosen.resolve()
        self.integration_branch = f"wavefront/{run_id}"
        self._tasks_dir = self.state_dir / "worktrees" / run_id
        self._verify_dir = self.state_dir / "verify" / run_id
        # Shared by the runs of this repository (one runs at a time): what a workspace is
        # reset to does not depend on the run.
        self.pool = WorkspacePool(self.state_dir / "pool", pool)
        # Creating and removing workspaces and task branches, one thread at a time.
        self._admin_lock = threading.RLock()
        # Where wavefront last put the integration branch: it moves only by our merges.
        self._head_lock = threading.Lock()
        self._published: str | None = None
        self._delivered: dict[Path, str] = {}  # workspace -> the head last fetched from it
        self.moved_outside: list[str] = []

    @property
    def repo_root(self) -> Path:
        return self.repo.root

    def guard(self) -> CheckoutGuard:
        """Watches the user's checkout for writes during an attempt."""
        return CheckoutGuard(self.repo, self.protected)

    # -- names -----------------------------------------------------------------------------

    def task_branch(self, task_id: str) -> str:
        return f"{TASK_BRANCH_PREFIX}/{self.run_id}/{safe_name(task_id)}"

    def _task_path(self, task_id: str) -> Path:
        return self._tasks_dir / safe_name(task_id)

    def _inside_state(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.state_dir)

    # -- integration branch ----------------------------------------------------------------

    def create_integration_branch(self, base: str) -> str:
        """Create `wavefront/<run>` at `base`; if it exists already, return its head."""
        existing = self.repo.rev_parse(f"refs/heads/{self.integration_branch}")
        if existing is not None:
            return existing
        commit = self.repo.rev_parse(base)
        if commit is None:
            raise WorkspaceError(f"{base!r} does not name a commit in {self.repo.root}")
        ref = f"refs/heads/{self.integration_branch}"
        # The empty old value makes the update fail if the branch appeared meanwhile.
        created = self.repo.run_result("update-ref", "-m", "wavefront: start run", ref, commit, "")
        if created.returncode != 0:
            existing = self.repo.rev_parse(ref)
            if existing is None:
                raise WorkspaceError(
                    f"cannot create branch {self.integration_branch}: {created.stderr.strip()}"
                )
            return existing
        return commit

    def integration_head(self) -> str:
        """The integration branch's head, put back first if anyone but wavefront moved it.

        Only the merge queue moves the branch; a head elsewhere (an agent's `update-ref`,
        a `git push` into the repository) is undone, and noted in `moved_outside`.
        """
        ref = f"refs/heads/{self.integration_branch}"
        with self._head_lock:
            head = self.repo.rev_parse(ref)
            if head is None:
                raise WorkspaceError(
                    f"branch {self.integration_branch} does not exist in {self.repo.root}; "
                    "start the run again"
                )
            if self._published is None:
                self._published = head
            elif head != self._published:
                self.repo.run("update-ref", "-m", "wavefront: undo an outside move", ref,
                              self._published, head)
                self.moved_outside.append(
                    f"{self.integration_branch} was moved to {head[:12]} outside wavefront; "
                    f"put back to {self._published[:12]}"
                )
                head = self._published
            return head

    # -- task worktrees --------------------------------------------------------------------

    def create(self, task_id: str) -> WorkspaceHandle:
        """A fresh repository for the task, on its branch at the current integration head.

        Anything left from an earlier attempt of this task (workspace, branch) is discarded.
        The task branch in the user's repository starts at the base too, so a task that
        changes nothing (a sync point) has a branch to merge.
        """
        path = self._task_path(task_id)
        branch = self.task_branch(task_id)
        base = self.integration_head()
        self._exclude_state_dir()
        with self._admin_lock:
            # A first attempt has no branch yet: creating it (old value empty) is the test,
            # and only a branch left from before is discarded the slower way.
            self._delivered.pop(path, None)
            self._release(path)  # an earlier attempt's, replaced: a retry was asked for
            created = self.repo.run_result("update-ref", f"refs/heads/{branch}", base, "")
            if created.returncode != 0:
                self._discard_task(path, branch)
                self.repo.run("update-ref", f"refs/heads/{branch}", base, "")
        self._make(path, base, branch)
        return WorkspaceHandle(task_id, path, branch, base)

    def _make(self, path: Path, base: str, branch: str | None) -> None:
        """A workspace at `path` checked out at `base`: a pooled one reset, or a new one."""
        reused = self.pool.take()
        if reused is not None:
            try:
                reset_attempt_repo(self.repo, reused, base, branch)
                self._write_base(reused, base)
                # Only a repository reset to the end is put where an attempt looks for it.
                path.parent.mkdir(parents=True, exist_ok=True)
                reused.rename(path)
                return
            except (WorkspaceError, OSError):
                with self._admin_lock:
                    self._remove_path(reused)  # never handed out half reset
                    self._remove_path(path)
        create_attempt_repo(self.repo, path, base, branch)
        self._write_base(path, base)

    def _release(self, path: Path) -> None:
        """Put a finished-with workspace in the pool, or remove it when the pool is full."""
        self._delivered.pop(path, None)
        # As in `_remove_path`: the parent resolved, the path itself never followed.
        where = path.absolute().parent.resolve() / path.name
        if (where.is_symlink() or not where.is_relative_to(self.state_dir)
                or not self.pool.put(where)):
            self._remove_path(path)

    def open(self, task_id: str) -> WorkspaceHandle | None:
        """The task's existing workspace (for conflict and review rounds), or None."""
        path = self._task_path(task_id)
        if not is_attempt_repo(path):
            return None
        branch = self.task_branch(task_id)
        base = self._read_base(path)
        if base is None and (head := self.repo.rev_parse(f"refs/heads/{branch}")) is not None:
            base = self.repo.run("merge-base", head, self.integration_head(), check=False).strip()
        return WorkspaceHandle(task_id, path, branch, base or None)

    def commit_all(self, handle: WorkspaceHandle, message: str) -> str | None:
        """Commit everything in the workspace and fetch the result into the task branch;
        None when nothing changed.

        When a merge is in progress (a conflict round), this concludes it as a merge commit.
        A HEAD that no longer descends from the workspace's base (`git reset --hard HEAD~1`,
        `git checkout` of another commit) is refused: its diff would be someone else's work.
        """
        reclaim(self.repo, handle.path)
        self.repo.run("add", "--all", cwd=handle.path)
        merging = self.repo.merge_head(handle.path) is not None
        # --no-verify: the user's commit hooks are for people; wavefront verifies with gates.
        # Without a merge to conclude, commit's own refusal says "nothing staged" (only
        # then is the index asked, so a task with changes pays no extra process).
        committed = self.repo.run_result(
            "commit", "--quiet", "--no-verify", *(("--allow-empty",) if merging else ()),
            "-F", "-", cwd=handle.path, input=message)
        if committed.returncode != 0:
            staged = self.repo.run_result("diff", "--cached", "--quiet", cwd=handle.path)
            if merging or staged.returncode != 0:
                detail = (committed.stderr or committed.stdout).strip() or "no message"
                raise WorkspaceError(f"`git commit` failed in {handle.path}: {detail}")
            if handle.branch is not None:
                self.deliver(handle)  # the agent may have committed by itself
            return None
        return self.deliver(handle)

    def deliver(self, handle: WorkspaceHandle) -> str:
        """Fetch the workspace's HEAD into the task branch; refuse one off its base."""
        head = self.head(handle)
        base = handle.base_commit or self._read_base(handle.path)
        if base is not None:
            descends = self.repo.run_result("merge-base", "--is-ancestor", base, head,
                                            cwd=handle.path)
            if descends.returncode not in (0, 1):
                # git itself failed (exit 128): that says nothing about what the agent did.
                raise WorkspaceError(f"`git merge-base --is-ancestor` failed in "
                                     f"{handle.path}: {descends.stderr.strip()}")
            if descends.returncode == 1:
                raise WorkspaceError(
                    f"the workspace's HEAD ({head[:12]}) no longer descends from the commit "
                    f"it started from ({base[:12]}): the agent moved it (`git reset` or "
                    "`git checkout`), so nothing of it is merged"
                )
        delivered = fetch_result(self.repo, handle.path, f"refs/heads/{handle.branch}", head)
        # What the branch holds now: the diffs that follow read it instead of HEAD again.
        self._delivered[handle.path] = delivered
        return delivered

    def changed_files(self, handle: WorkspaceHandle) -> list[str]:
        """Paths the task changed: from its base (or the last integration it merged) to HEAD."""
        return split_z(self._task_diff(handle, "--name-only", "--no-renames", "-z"))

    def diff(self, handle: WorkspaceHandle) -> str:
        """The task's own change as a patch (for reviewers), on the same base as changed_files."""
        return self._task_diff(handle)

    def _task_diff(self, handle: WorkspaceHandle, *options: str) -> str:
        head = self._delivered.get(handle.path) or self.head(handle)
        base = handle.base_commit or self._read_base(handle.path)
        if base is None:
            return ""
        base = self._effective_base(base, head, handle.path)
        return self.repo.run("diff", "--no-ext-diff", "--no-textconv", *options, base, head,
                             "--", cwd=handle.path)

    def conflict_markers(self, handle: WorkspaceHandle) -> list[str]:
        """Files whose changes (committed or not) still hold `<<<<<<<`-style markers.

        For the engine to check an agent's conflict round before accepting it.
        """
        base = handle.base_commit or self._read_base(handle.path)
        against = "HEAD"  # mid-merge, the markers are in the uncommitted files
        if base is not None and self.repo.merge_head(handle.path) is None:
            against = self._effective_base(base, self.head(handle), handle.path)
        out = self.repo.run("diff", "--no-ext-diff", "--check", against, "--",
                            cwd=handle.path, check=False)
        flagged = {
            line.split(":", 1)[0] for line in out.splitlines() if "leftover conflict marker" in line
        }
        return sorted(flagged)

    def head(self, handle: WorkspaceHandle) -> str:
        """The commit the workspace is on."""
        reclaim(self.repo, handle.path)
        return self.repo.run("rev-parse", "--verify", "HEAD^{commit}", cwd=handle.path).strip()

    # -- conflict rounds --------------------------------------------------------------------

    def start_conflict_resolution(self, handle: WorkspaceHandle) -> list[str]:
        """Merge the integration head into the task worktree and stop at the conflicts.

        The files keep their conflict markers (in the user's `merge.conflictStyle`);
        `commit_all` then concludes the merge. Returns the conflicted paths.
        """
        target = self.integration_head()
        reclaim(self.repo, handle.path)
        pending = self.repo.merge_head(handle.path)
        if pending == target:
            return self.repo.unmerged_paths(handle.path)
        if pending is not None:
            self.repo.run("merge", "--abort", cwd=handle.path)
        (handle.path / ".git" / _MERGED_IN_FILE).write_text(target + "\n", encoding="utf-8")
        done = self.repo.run_result(
            "-c",
            f"merge.conflictStyle={self.conflict_style()}",
            "merge",
            "--no-commit",
            "--no-ff",
            "--no-edit",
            target,
            cwd=handle.path,
        )
        if self.repo.merge_head(handle.path) is None and done.returncode != 0:
            raise WorkspaceError(
                f"cannot merge {self.integration_branch} into {handle.path}: "
                f"{(done.stderr or done.stdout).strip()}"
            )
        return self.repo.unmerged_paths(handle.path)

    def conflict_style(self) -> str:
        """The user's `merge.conflictStyle` (git's default `merge` when unset)."""
        chosen = self.repo.run("config", "--get", "merge.conflictStyle", check=False).strip()
        return chosen if chosen in ("merge", "diff3", "zdiff3") else "merge"

    # -- verification and cleanup ------------------------------------------------------------

    def checkout_detached(self, commit: str, name: str) -> WorkspaceHandle:
        """A throwaway workspace at `commit`, to run gates on a merged tree before publishing."""
        resolved = self.repo.rev_parse(commit)
        if resolved is None:
            raise WorkspaceError(f"{commit!r} does not name a commit in {self.repo.root}")
        path = self._verify_dir / safe_name(name)
        self._exclude_state_dir()
        with self._admin_lock:
            self._remove_path(path)
        self._make(path, resolved, None)
        return WorkspaceHandle(name, path, None, resolved)

    def remove(self, handle: WorkspaceHandle, delete_branch: bool = False) -> None:
        """Remove the worktree (and optionally its branch); quiet if already gone.

        A merged-tree check's workspace goes to the pool: nothing in it is kept for anyone.
        """
        with self._admin_lock:
            if handle.path.parent == self._verify_dir:
                self._release(handle.path)
            else:
                self._remove_path(handle.path)
            if delete_branch and handle.branch:
                self._delete_branch(handle.branch)

    def discard(self, task_id: str) -> None:
        """Remove the task's workspace and branch, if any (after its merge is recorded)."""
        with self._admin_lock:
            self._discard_task(self._task_path(task_id), self.task_branch(task_id))

    def discard_many(self, task_ids: Collection[str]) -> None:
        """Release merged tasks' workspaces to the pool, and delete their branches in one
        `update-ref`."""
        with self._admin_lock:
            for task_id in task_ids:
                self._release(self._task_path(task_id))
            script = "".join(f"delete refs/heads/{self.task_branch(task_id)}\n"
                             for task_id in task_ids)
            if script:
                self.repo.run("update-ref", "--stdin", input=script)

    def worktrees(self) -> list[Path]:
        """This run's workspaces that exist, task and verification ones alike."""
        return sorted(
            child.resolve()
            for folder in (self._tasks_dir, self._verify_dir)
            if folder.is_dir()
            for child in folder.iterdir()
            if is_attempt_repo(child)
        )

    def prune_stray(self, keep: Collection[str]) -> list[Path]:
        """Remove this run's worktrees that belong to no task in `keep`; return them.

        Verification worktrees are always stray, and so are directories a crash left
        half-made (on disk but unknown to git).
        """
        wanted = {self._task_path(task_id) for task_id in keep}
        removed: list[Path] = []
        with self._admin_lock:
            removed.extend(self.pool.discard_interrupted())
            candidates: set[Path] = set()
            for folder in (self._tasks_dir, self._verify_dir):
                if folder.is_dir():
                    candidates.update(child.resolve() for child in folder.iterdir())
            for path in sorted(candidates):
                if path not in wanted:
                    self._remove_path(path)
                    removed.append(path)
        return removed

    def delete_run_branches(self) -> list[str]:
        """Delete this run's task branches (not the integration branch); return their names.

        Each branch's workspace goes with it; a branch the user checked out in a worktree
        of their own is left alone.
        """
        prefix = f"refs/heads/{TASK_BRANCH_PREFIX}/{self.run_id}/"
        refs = self.repo.run("for-each-ref", "--format=%(refname)", prefix).splitlines()
        deleted: list[str] = []
        with self._admin_lock:
            checked_out = self.repo.checked_out_branches()
            for ref in refs:
                if ref in checked_out:
                    continue
                branch = ref.removeprefix("refs/heads/")
                self._remove_path(self._tasks_dir / ref.removeprefix(prefix))
                self._delete_branch(branch)
                deleted.append(branch)
        return deleted

    # -- helpers -----------------------------------------------------------------------------

    def _exclude_state_dir(self) -> None:
        # Worktrees inside the user's checkout must not show up in their `git status`.
        if self.state_dir.is_relative_to(self.repo.root):
            relative = self.state_dir.relative_to(self.repo.root).as_posix()
            self.repo.ensure_excluded(f"/{relative}/")

    def refuse_if_checked_out(self, branch: str) -> None:
        """Refuse to move `branch` while a worktree of the user's has it checked out."""
        with self._admin_lock:
            where = self.repo.checked_out_branches().get(f"refs/heads/{branch}")
        if where is not None:
            raise WorkspaceError(
                f"branch {branch} is checked out at {where}; switch that checkout to another "
                "branch so wavefront can add merges to it"
            )

    def _discard_task(self, path: Path, branch: str) -> None:
        self._remove_path(path)
        holder = self.repo.checked_out_branches().get(f"refs/heads/{branch}")
        if holder is not None:
            if not self._inside_state(holder):
                raise WorkspaceError(
                    f"branch {branch} is checked out at {holder}; wavefront needs it for a retry"
                )
            self._remove_path(holder)
        self._delete_branch(branch)

    def _remove_path(self, path: Path) -> None:
        """Remove a workspace of ours; never fails when it is already gone."""
        self._delivered.pop(path, None)
        # The parent is resolved, not the path: an agent may have made it a link elsewhere.
        path = path.absolute().parent.resolve() / path.name
        if not path.is_relative_to(self.state_dir) or path == self.state_dir:
            raise WorkspaceError(f"refusing to remove {path}: it is outside {self.state_dir}")
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path, ignore_errors=True)

    def _delete_branch(self, branch: str) -> None:
        self.repo.run("update-ref", "-d", f"refs/heads/{branch}", check=False)

    def _write_base(self, workspace: Path, base: str) -> None:
        (workspace / ".git" / _BASE_FILE).write_text(base + "\n", encoding="utf-8")

    def _read_base(self, workspace: Path) -> str | None:
        marker = workspace / ".git" / _BASE_FILE
        if not is_attempt_repo(workspace) or not marker.is_file() or marker.is_symlink():
            return None
        text = marker.read_text(encoding="utf-8").strip()
        return text if self.repo.rev_parse(text) == text else None

    def _effective_base(self, base: str, head: str, workspace: Path) -> str:
        """The base moved forward past integration commits the task merged in (conflict rounds).

        After merging integration commit I, the task's own work is exactly the diff I..HEAD.
        """
        if not (workspace / ".git" / _MERGED_IN_FILE).exists():
            return base  # nothing merged in by wavefront: no history to read
        merges = self.repo.run(
            "rev-list", "--first-parent", "--merges", "--parents", f"{base}..{head}", "--"
        )
        for line in merges.splitlines():  # newest first
            for parent in line.split()[2:]:
                if self.repo.is_ancestor(base, parent):
                    return parent
        return base
