"""Commits carried between machines as `git bundle`s, and a worker's cached clones.

A worker of a cluster shares no disk with the coordinator: the commit an attempt starts
from travels to it as a bundle, and the attempt's result comes back the same way. A
worker keeps one repository per project (`WorkerCache`) and asks only for what that
repository lacks: the first attempt on a node brings the whole history of the run's
first base (the anchor), later ones the commits between the anchor and their base.

Bundles are read and written through files in a temporary directory (git's own format,
verified by git when fetched), so nothing here holds a repository's history in memory
longer than one transfer.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from wavefront.errors import WorkspaceError
from wavefront.workspace.attempt_repo import create_attempt_repo
from wavefront.workspace.git import GitRepo, run_git

__all__ = ["WorkerCache", "bundle_of", "fetch_bundle", "has_commit"]

# Where fetched bundles are kept in a repository, so later bundles can build on them.
_FETCHED = "refs/wavefront-bundles"


def has_commit(repo_dir: Path, commit: str) -> bool:
    """Whether the repository at `repo_dir` holds `commit` (and so its history)."""
    found = run_git(repo_dir, "cat-file", "-e", f"{commit}^{{commit}}", check=False)
    return found.returncode == 0


def bundle_of(repo_dir: Path, exclude: str | None = None) -> bytes | None:
    """A bundle of the repository's HEAD and its history, less `exclude`'s history; None
    when HEAD adds nothing to `exclude`."""
    head = run_git(repo_dir, "rev-parse", "--verify", "HEAD^{commit}").stdout.strip()
    if exclude is not None and head == exclude:
        return None
    with tempfile.TemporaryDirectory(prefix="wavefront-bundle-") as scratch:
        target = Path(scratch) / "out.bundle"
        made = run_git(repo_dir, "bundle", "create", "--quiet", str(target), "HEAD",
                       *([f"^{exclude}"] if exclude else []), check=False)
        if made.returncode != 0:
            if "empty bundle" in made.stderr:
                return None
            raise WorkspaceError(f"cannot bundle {head[:12]} in {repo_dir}: "
                                 f"{made.stderr.strip()}")
        return target.read_bytes()


def fetch_bundle(repo_dir: Path, data: bytes, commit: str) -> None:
    """Fetch the bundle `data` into the repository at `repo_dir` and check that it brought
    `commit`, kept under a ref of wavefront's own so it stays reachable."""
    with tempfile.TemporaryDirectory(prefix="wavefront-bundle-") as scratch:
        source = Path(scratch) / "in.bundle"
        source.write_bytes(data)
        run_git(repo_dir, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                str(source), f"+HEAD:{_FETCHED}/{commit}")
    if not has_commit(repo_dir, commit):
        raise WorkspaceError(f"the bundle fetched into {repo_dir} does not hold {commit[:12]}")


class WorkerCache:
    """A worker's clones, one per project (`key`), and the attempts' workspaces beside
    them; each clone is changed by one attempt at a time (a file lock), so attempts that
    run side by side on a node share it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._held: dict[Path, int] = {}  # workspace -> its open lock (this process's)

    def repository(self, key: str) -> Path:
        path = self.root / "repos" / key
        if not (path / ".git").is_dir():
            path.mkdir(parents=True, exist_ok=True)
            run_git(path, "init", "--quiet", "--template=")
        return path

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[Path]:
        lock_path = self.root / "repos" / f"{key}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self.repository(key)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure(self, key: str, base: str, anchor: str,
               anchor_bundle: Callable[[], bytes], delta_bundle: Callable[[], bytes | None]
               ) -> str:
        """Make the clone hold `base`, asking for as little as it lacks; says which
        bundles were fetched ("none", "delta", "anchor", "anchor+delta")."""
        with self.locked(key) as repo:
            if has_commit(repo, base):
                return "none"
            fetched = []
            if not has_commit(repo, anchor):
                fetch_bundle(repo, anchor_bundle(), anchor)
                fetched.append("anchor")
            if not has_commit(repo, base):
                delta = delta_bundle()
                if delta is None:
                    raise WorkspaceError(f"no bundle brings {base[:12]} to this worker")
                fetch_bundle(repo, delta, base)
                fetched.append("delta")
            return "+".join(fetched)

    def workspace(self, key: str, name: str, base: str) -> Path:
        """A fresh workspace checked out at `base`, borrowing the clone's objects.

        Each workspace is locked by the process that works in it for as long as it does;
        one whose lock nobody holds belonged to an attempt whose process was killed (its
        coordinator went away), and is removed here, as is an earlier one of this name.
        """
        folder = self.root / "workspaces"
        folder.mkdir(parents=True, exist_ok=True)
        self._sweep(folder)
        path = folder / name
        # The lock before the folder: a sweep elsewhere never takes a workspace being made.
        lock = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
        self._held[path] = lock
        shutil.rmtree(path, ignore_errors=True)
        with self.locked(key) as repo:
            create_attempt_repo(GitRepo(repo), path, base, branch="attempt")
        return path

    def remove(self, path: Path) -> None:
        """Remove a workspace and let go of its lock."""
        shutil.rmtree(path, ignore_errors=True)
        lock = self._held.pop(path, None)
        if lock is not None:
            Path(f"{path}.lock").unlink(missing_ok=True)
            os.close(lock)

    def _sweep(self, folder: Path) -> None:
        for lock_path in folder.glob("*.lock"):
            workspace = lock_path.with_suffix("")
            if workspace in self._held:
                continue
            try:
                lock = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock)  # a live attempt works there
                continue
            shutil.rmtree(workspace, ignore_errors=True)
            lock_path.unlink(missing_ok=True)
            os.close(lock)

    def workspaces(self) -> list[Path]:
        """The workspaces now on this worker (none between attempts)."""
        folder = self.root / "workspaces"
        return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
