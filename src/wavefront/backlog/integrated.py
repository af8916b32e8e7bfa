"""The backlog as the last run's integration branch has it.

A run writes merged work back into the backlog files on its branch `wavefront/<run>`, never
into the user's checkout. So that `next`, `parallel`, `status` and a new `run` never offer
or redo merged work, the backlog files are read again as that branch has them, and a task
the branch says is done is done here too (`Task.merged_on` names the branch).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from wavefront.backlog.base import Backlog
from wavefront.errors import WavefrontError
from wavefront.journal.database import Journal
from wavefront.model import TaskStatus
from wavefront.workspace.git import GitRepo

__all__ = ["latest_branch", "with_integrated_status"]

_JOURNAL = Path(".wavefront") / "journal.db"


def latest_branch(repo: GitRepo) -> str | None:
    """The integration branch of the newest run in `repo` that still exists, or None."""
    journal_path = repo.root / _JOURNAL
    if not journal_path.is_file():
        return None
    for branch in reversed(Journal.run_branches(journal_path)):
        if repo.rev_parse(f"refs/heads/{branch}") is not None:
            return branch
    return None


def with_integrated_status(backlog: Backlog, given: Sequence[Path], root: Path,
                           format: str | None) -> Backlog:
    """`backlog` with the tasks that wavefront's runs marked done on the latest
    integration branch set done.

    A task counts when the branch's backlog files say it is done and those of the commit
    where the branch left the user's history do not: one done there was done before
    wavefront's runs, and the user may have opened it again since. Each version of the
    files is copied into a scratch directory and read by the same loader; anything that
    cannot be read so leaves the backlog as it is.
    """
    try:
        repo = GitRepo(root)
        branch = latest_branch(repo)
        if branch is None:
            return backlog
        tip = f"refs/heads/{branch}"
        on_branch = _done_at(repo, tip, backlog, given, format)
        fork = repo.merge_base("HEAD", tip)
    except WavefrontError:
        return backlog
    done = on_branch - {task.id for task in backlog.tasks if task.status == TaskStatus.DONE}
    if done and fork:  # only then is the second read of the files worth it
        done -= _done_at(repo, fork, backlog, given, format)
    if not done:
        return backlog
    return replace(backlog, tasks=tuple(
        replace(task, status=TaskStatus.DONE, status_text=f"done on {branch}",
                merged_on=branch)
        if task.id in done else task
        for task in backlog.tasks))


def _done_at(repo: GitRepo, commit: str, backlog: Backlog, given: Sequence[Path],
             format: str | None) -> set[str]:
    """The ids of the tasks that the backlog files say are done as `commit` has them
    (none when they cannot be read there)."""
    from wavefront.backlog import load_backlog

    top = repo.root
    try:
        with tempfile.TemporaryDirectory(prefix="wavefront-integrated-") as scratch:
            base = Path(scratch)
            for file in backlog.files:
                resolved = file.resolve()
                if not resolved.is_relative_to(top):
                    continue
                relative = resolved.relative_to(top).as_posix()
                text = repo.read_text(commit, relative)
                if text is not None:
                    target = base / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
            moved = [base / p.resolve().relative_to(top) for p in given
                     if p.resolve().is_relative_to(top)]
            if len(moved) != len(given) or not all(p.exists() for p in moved):
                return set()
            there = load_backlog(moved, format=format)
    except WavefrontError:
        return set()  # the files do not load there: keep what the checkout says
    return {task.id for task in there.tasks if task.status == TaskStatus.DONE}
