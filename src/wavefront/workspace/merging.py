"""Merging a task into the integration branch without a checkout, exactly once.

`git merge-tree --write-tree` computes the tree, `git commit-tree` makes the 2-parent
merge commit and `git update-ref <branch> <new> <old>` publishes it only if the branch is
still where the merge started, so a crash or a concurrent writer can never lose work. The
merge takes the exact commit the gates checked, refuses a branch that moved, and finds a
merge published before a crash in the branch's first-parent history. `GitWorkspaces`
(`worktrees`) has these as methods; several tasks at once go through `batchmerge`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from wavefront.errors import WorkspaceError
from wavefront.workspace.base import (
    BatchVerifier,
    CandidateNote,
    MergeEdit,
    MergeItem,
    MergeOutcome,
    MergeVerifier,
    WorkspaceHandle,
)
from wavefront.workspace.batchmerge import merge_batch
from wavefront.workspace.git import GitRepo

__all__ = ["GitMerging"]

# Publishing is compare-and-swap; a branch that moved meanwhile is merged again this often.
_PUBLISH_ATTEMPTS = 5


class GitMerging:
    """The merge methods of the git backend; `GitWorkspaces` provides the rest."""

    repo: GitRepo
    integration_branch: str
    _head_lock: threading.Lock
    _published: str | None

    def task_branch(self, task_id: str) -> str:
        raise NotImplementedError

    def integration_head(self) -> str:
        raise NotImplementedError

    def refuse_if_checked_out(self, branch: str) -> None:
        raise NotImplementedError

    def open(self, task_id: str) -> WorkspaceHandle | None:
        raise NotImplementedError

    def merge(
        self, task_id: str, message: str, verify: MergeVerifier | None = None,
        edit: MergeEdit | None = None, checked: str | None = None,
    ) -> MergeOutcome:
        """Merge the task's `checked` commit into the integration branch, without a checkout.

        `checked` is the commit the gates checked (and a person approved); a task branch
        that points anywhere else is refused. Exactly once: a commit already merged gives
        back its own merge commit. If the branch moves between computing and publishing,
        the merge is computed again on the new head (a few times, then reported as not
        done). `verify`, when given, sees each computed merge before it is published and
        may refuse it; `edit` adds files to the merge commit itself (so they are published
        with it, or not at all).
        """
        task_head = self.pinned_head(task_id, checked)
        if isinstance(task_head, MergeOutcome):
            return task_head
        branch = self.task_branch(task_id)
        self.refuse_if_checked_out(self.integration_branch)
        for _ in range(_PUBLISH_ATTEMPTS):
            old = self.integration_head()
            if (done := self.already_merged(task_id, task_head, old)) is not None:
                return done
            outcome = self.compute_merge(old, task_head, message, edit)
            if not outcome.ok or outcome.commit is None:
                return outcome
            if verify is not None and not verify(outcome.commit, old):
                return MergeOutcome(False, None, (), "the merged tree failed its gates",
                                    verified=False)
            if self.publish(outcome.commit, old):
                return outcome
        return MergeOutcome(
            False,
            None,
            (),
            f"{self.integration_branch} kept moving while merging {branch}; try again",
        )

    def merge_batch(
        self, items: Sequence[MergeItem], verify: BatchVerifier | None = None,
        announce: CandidateNote | None = None, parallel: int = 1,
    ) -> dict[str, MergeOutcome]:
        """Merge several tasks as one candidate, verified once and bisected when red
        (`batchmerge`); each task's outcome by id, as `merge` would give it."""
        return merge_batch(self, items, verify, announce, parallel)

    def pinned_head(self, task_id: str, checked: str | None, known: str | None = None
                    ) -> str | MergeOutcome:
        """The commit to merge: the task branch's head (`known` when already read), if it
        is still `checked`. A refusal (as a `MergeOutcome`) when it moved since the gates
        checked it.
        """
        branch = self.task_branch(task_id)
        task_head = known or self.repo.rev_parse(f"refs/heads/{branch}")
        if task_head is None:
            raise WorkspaceError(f"task branch {branch} does not exist; nothing to merge")
        if checked is not None and task_head != checked:
            return MergeOutcome(
                False, None, (),
                f"branch {branch} moved since its gates checked {checked[:12]} (it is now at "
                f"{task_head[:12]}); not merged",
                refused=True,
            )
        return task_head

    def already_merged(self, task_id: str, task_head: str, onto: str) -> MergeOutcome | None:
        """What to do with a commit `onto` already contains; None when it does not.

        Its own merge commit (second parent `task_head`) means done, exactly once; the base
        itself means there was nothing to merge. Any other integrated commit is refused:
        the agent pointed its branch at work that is not its own.
        """
        if not self.repo.is_ancestor(task_head, onto):
            return None
        branch = self.task_branch(task_id)
        merges = self.repo.run("rev-list", "--first-parent", "--merges", "--parents",
                               "--ancestry-path", f"{task_head}..{onto}", "--")
        for line in merges.splitlines():
            parents = line.split()
            if len(parents) > 2 and parents[2] == task_head:
                return MergeOutcome(True, parents[0], (), f"{branch} is already merged")
        handle = self.open(task_id)
        if handle is not None and handle.base_commit == task_head:
            return MergeOutcome(True, onto, (), f"{branch} has nothing to merge")
        return MergeOutcome(
            False, None, (),
            f"{branch} points at {task_head[:12]}, which is already in "
            f"{self.integration_branch} but not as this task's work; not merged",
            refused=True,
        )

    def compute_merge(self, onto: str, task_head: str, message: str,
                      edit: MergeEdit | None = None) -> MergeOutcome:
        """Make (but do not publish) the 2-parent merge commit of `task_head` onto `onto`."""
        merged = self.repo.merge_tree(onto, task_head)
        notes = "\n".join(merged.notes)
        if not merged.clean:
            return MergeOutcome(False, None, merged.conflicts, notes)
        tree = merged.tree
        if edit is not None:
            changes = edit(lambda path: self.repo.read_text(merged.tree, path))
            if changes:
                tree = self.repo.tree_with(merged.tree, changes)
        commit = self.repo.run(
            "commit-tree", tree, "-p", onto, "-p", task_head, "-F", "-", input=message
        ).strip()
        return MergeOutcome(True, commit, (), notes)

    def publish(self, new: str, old: str) -> bool:
        """Move the integration branch from `old` to `new`; False if it is no longer at `old`."""
        with self._head_lock:
            done = self.repo.run_result(
                "update-ref",
                "-m",
                "wavefront: merge",
                f"refs/heads/{self.integration_branch}",
                new,
                old,
            )
            if done.returncode == 0:
                self._published = new
            return done.returncode == 0
