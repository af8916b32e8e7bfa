"""Notice an agent that writes outside its workspace: the user's checkout, refs and git files.

An agent works in a repository of its own, but without the sandbox nothing stops a program
from writing to `../../../../README.md` or running `git -C <the user's repo> push` from
there. The task flow takes a snapshot of the user's side of the repository before an agent
runs and compares after it: files in the user's checkout (status, size and modification
time of every changed or untracked path), the ignored files that matter (`protected:` in
wavefront.yaml, `.env*` by default), where HEAD is, every ref outside wavefront's
namespace (branches, tags, remotes, the stash), the stash's entries, `.git/config`,
`.git/hooks` and `.git/info/attributes`. wavefront's own branches and state directory are
not the user's side, nor is a file that wavefront's own output is redirected into
(`wavefront run > run.out`).

Who made a change, Linux does not say (no writer is recorded, and watching each write by
process needs privileges a user does not have). So the blame follows what could write:
in a sandbox (`checkout`, the default where bubblewrap works, or `bwrap`) no process of
an attempt can write to the user's repository, so a change seen there is a person's: it
is recorded, and fails no attempt. Without a sandbox every attempt that ran meanwhile
could have made it, so it fails (the message says so, and `wavefront retry` runs the task
again; `--outside-writes warn` only records it).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavefront.workspace.git import GitRepo, split_z, user_entries

__all__ = ["DEFAULT_PROTECTED", "CheckoutGuard", "CheckoutState"]

# Branch prefixes that belong to wavefront (integration and task branches).
_OWN_REF_PREFIXES = ("refs/heads/wavefront/", "refs/heads/wavefront-tasks/")
_SHOWN = 5
# Ignored files an agent must not touch unless told otherwise: secrets live there.
DEFAULT_PROTECTED = (".env*",)
# Files of the git directory whose change would act on the user's next git command.
_GIT_FILES = ("config", "info/attributes", "logs/refs/stash")
_GLOB_SPECIAL = re.compile(r"[\\*?\[]")


@dataclass(frozen=True)
class CheckoutState:
    """The user's side of a repository at one moment."""

    entries: Mapping[str, tuple[str, int, int]]  # path -> (status record, size, mtime ns)
    head: str  # the `# branch.*` lines: where HEAD points and its commit
    refs: Mapping[str, str]  # the user's refs (branches, tags, remotes, stash) -> object id
    git_files: Mapping[str, str]  # `.git/config`, hooks, ... -> digest of their content


class CheckoutGuard:
    """Snapshots of the user's checkout and refs, and what changed between two of them."""

    def __init__(self, repo: GitRepo, protected: Sequence[str] = DEFAULT_PROTECTED) -> None:
        self.repo = repo
        self.protected = tuple(protected)
        self.own_outputs = _own_outputs(repo.root)

    def snapshot(self) -> CheckoutState:
        status = self.repo.run(
            "status",
            "--porcelain=v2",
            "--branch",
            "-z",
            "--untracked-files=all",
            "--ignore-submodules=all",
        )
        entries: dict[str, tuple[str, int, int]] = {}
        head: list[str] = []
        records = iter(split_z(status))
        for record in records:
            if record.startswith("2 "):
                next(records, None)  # a rename's origin path follows as its own record
            if record.startswith("# "):
                head.append(record)
                continue
            path = _record_path(record)
            if path is not None and path not in self.own_outputs:
                entries[path] = (record, *_stat(self.repo.root / path))
        for path in self._protected_ignored():
            entries[path] = ("ignored", *_stat(self.repo.root / path))
        listed = self.repo.run("for-each-ref", "--format=%(refname) %(objectname)")
        refs = {}
        for line in listed.splitlines():
            name, _, commit = line.partition(" ")
            if not name.startswith(_OWN_REF_PREFIXES):
                refs[name] = commit
        return CheckoutState(entries, "\n".join(head), refs, self._git_files())

    def _protected_ignored(self) -> list[str]:
        """The ignored files that match the protected patterns, anywhere in the checkout."""
        if not self.protected:
            return []
        out = self.repo.run("ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                            "--", *_pathspecs(self.repo.root, self.protected))
        # git also names nested repositories (wavefront's own workspaces) as `dir/`.
        return [path for path in split_z(out) if not path.endswith("/")
                and any(_protects(pattern, path) for pattern in self.protected)]

    def _git_files(self) -> dict[str, str]:
        """A digest of each git-directory file (and hook) that could run or redirect the
        user's next git command; hooks are listed whatever their name."""
        git_dir = self.repo.git_dir
        names = list(_GIT_FILES)
        hooks = git_dir / "hooks"
        if hooks.is_dir():
            names += [f"hooks/{entry.name}" for entry in hooks.iterdir()]
        return {name: _digest(git_dir / name) for name in names}

    def changes(self, before: CheckoutState) -> list[str]:
        """What differs between `before` and now, one short phrase per change."""
        after = self.snapshot()
        found: list[str] = []
        for path in sorted(set(before.entries) | set(after.entries)):
            if before.entries.get(path) != after.entries.get(path):
                found.append(path)
        if before.head != after.head:
            found.append("HEAD")
        for ref in sorted(set(before.refs) | set(after.refs)):
            if before.refs.get(ref) != after.refs.get(ref):
                found.append(ref.removeprefix("refs/heads/").removeprefix("refs/"))
        for name in sorted(set(before.git_files) | set(after.git_files)):
            if before.git_files.get(name) != after.git_files.get(name):
                found.append(f".git/{name}")
        return found

    def describe(self, changes: list[str]) -> str:
        """A failure reason naming what changed (the first few), for the task's status."""
        shown = ", ".join(changes[:_SHOWN])
        more = f" and {len(changes) - _SHOWN} more" if len(changes) > _SHOWN else ""
        return (
            f"the agent wrote outside its worktree: {shown}{more} changed in "
            f"{self.repo.root} while it ran (if you made that change yourself, "
            "`wavefront retry` runs the task again)"
        )


def _pathspecs(root: Path, patterns: Sequence[str]) -> list[str]:
    """Pathspecs for `patterns` at the top and in each of the user's top-level folders."""
    specs = [f":(glob){pattern}" for pattern in patterns]
    for entry in user_entries(root):
        if entry.is_dir(follow_symlinks=False):
            folder = _GLOB_SPECIAL.sub(r"\\\g<0>", entry.name)
            specs += [f":(glob){folder}/**/{pattern}" for pattern in patterns]
    return specs


def _protects(pattern: str, path: str) -> bool:
    """Whether `pattern` (`.env*`, `secrets/*.key`) names `path`, in any folder."""
    name = path.rsplit("/", 1)[-1]
    return (fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(path, pattern)
            or fnmatch.fnmatchcase(path, f"*/{pattern}"))


def _record_path(record: str) -> str | None:
    """The path of one `git status --porcelain=v2 -z` record (None for a rename's origin)."""
    fields_before_path = {"1": 8, "2": 9, "u": 10, "?": 1, "!": 1}.get(record[:1])
    if fields_before_path is None or record[1:2] != " ":
        return None
    parts = record.split(" ", fields_before_path)
    return parts[-1] if len(parts) == fields_before_path + 1 else None


def _own_outputs(root: Path) -> frozenset[str]:
    """Files in the checkout that this process's stdout or stderr is redirected into: they
    grow with wavefront's own output (`wavefront run > run.out`), not with an agent's."""
    found = set()
    for fd in (1, 2):
        try:
            target = Path(os.readlink(f"/proc/self/fd/{fd}"))
            is_file = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError:
            continue
        if is_file and target.is_relative_to(root):
            found.add(target.relative_to(root).as_posix())
    return frozenset(found)


def _digest(path: Path) -> str:
    try:
        if path.is_symlink():
            return "link:" + os.readlink(path)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    except OSError:
        return "unreadable"


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = os.lstat(path)
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)
