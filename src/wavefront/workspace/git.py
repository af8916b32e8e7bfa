"""A thin, safe door to the `git` program, and the one rule for turning task ids into names.

Every git call wavefront makes goes through `run_git`: an argument list (never a shell),
`git -C <dir>`, no terminal prompts, a fixed identity so it works with no git config, and
none of the `GIT_DIR`-style variables a calling hook may have set (they would point git at
the user's index). An agent can write hooks and config into any repository it reaches, so
every call also switches off what git would otherwise execute on wavefront's behalf:
hooks (`core.hooksPath=/dev/null`), `core.fsmonitor`, external diff and textconv drivers,
credential helpers, automatic gc, and config handed down through `GIT_CONFIG_*` variables.
Failures become `WorkspaceError` carrying the command and git's own message.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wavefront.errors import WorkspaceError

__all__ = [
    "MIN_GIT_VERSION", "GitRepo", "TreeMerge", "run_git", "safe_name", "split_z",
    "user_entries",
]

# `git merge-tree --write-tree` (merges without a checkout) arrived in git 2.38.
MIN_GIT_VERSION = (2, 38)

_NO_GIT = "git is not installed (or not on PATH); wavefront needs git"

_IDENTITY = (
    "-c",
    "user.name=wavefront",
    "-c",
    "user.email=wavefront@localhost",
    # A user's signing setup could prompt or fail; wavefront's own commits are never signed.
    "-c",
    "commit.gpgSign=false",
)

# Config that would make git run a program (or hand a repository's secrets to one) while it
# does wavefront's work. Command-line config wins over every file, and git passes it on to
# the git processes it starts itself (the upload-pack of a local fetch).
_NEUTRALISED = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.untrackedCache=false",
    "-c",
    "credential.helper=",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.file.allow=always",
    "-c",
    "diff.external=",
    "-c",
    "core.pager=cat",
    "-c",
    "log.showSignature=false",
)

# Variables that redirect git away from the directory given with -C.
_REDIRECTING_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)

# Variables that would add config, or programs, to every git call.
_EXECUTING_ENV_PREFIXES = ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_",
                           "GIT_CONFIG_VALUE_", "GIT_EXTERNAL_DIFF", "GIT_SSH", "GIT_ASKPASS",
                           "GIT_PROXY_COMMAND")

# Top-level folders of a checkout that hold none of the user's files.
_NOT_USER_FILES = frozenset({".git", ".wavefront"})
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 60


def safe_name(task_id: str) -> str:
    """A name for `task_id` that is valid as a ref component and as one directory name.

    Ids that are already safe are kept as they are (`1.2`, `auth-login`). Anything else is
    cleaned to `[A-Za-z0-9._-]` with no `..`, no leading `-`/`.`, no trailing `.` or `.lock`,
    and gets a short hash of the original id appended, so two ids that clean to the same
    text still get different names.
    """
    cleaned = _UNSAFE_CHARS.sub("-", task_id)
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    cleaned = cleaned.lstrip("-.").rstrip(".")
    if cleaned.lower().endswith(".lock"):
        cleaned = cleaned[: -len(".lock")] + "-lock"
    # `HEAD` is the one otherwise-clean word git refuses as a branch name.
    if cleaned == task_id and 0 < len(cleaned) <= _MAX_NAME and cleaned != "HEAD":
        return cleaned
    digest = hashlib.sha256(task_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem = cleaned[:_MAX_NAME].rstrip("-.")
    return f"{stem}-{digest}" if stem else f"task-{digest}"


def split_z(text: str) -> list[str]:
    """The non-empty fields of git's NUL-separated (`-z`) output."""
    return [part for part in text.split("\0") if part]


@dataclass(frozen=True)
class TreeMerge:
    """A merge computed by `git merge-tree --write-tree`; nothing in any checkout changed."""

    tree: str
    clean: bool
    conflicts: tuple[str, ...]
    notes: tuple[str, ...]


def user_entries(root: Path) -> list[os.DirEntry[str]]:
    """The top-level entries of a checkout but git's folder and wavefront's state folder.

    A search of ignored files limited to these (as pathspecs) never walks wavefront's pool
    of workspaces: git skips a folder no pathspec can match, and a pool folder removed
    while git reads it makes git stop with "Invalid path"."""
    return [entry for entry in os.scandir(root) if entry.name not in _NOT_USER_FILES]


def _git_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _REDIRECTING_ENV and not key.startswith(_EXECUTING_ENV_PREFIXES)
    }
    env["GIT_TERMINAL_PROMPT"] = "0"
    # Messages we parse (merge-tree's conflict notes) must not be translated.
    env["LC_ALL"] = "C"
    return env


def _git_program() -> str:
    """git's full path, looked up once per PATH (not again by every exec of a run)."""
    return _which_git(os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=8)
def _which_git(search: str) -> str:
    return shutil.which("git", path=search) or "git"


_FULL_ID = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})")


def run_git(
    where: Path,
    *args: str,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `git -C <where> <args>` with hooks and executable config neutralised.

    With `check`, a non-zero exit raises `WorkspaceError` naming the command and quoting
    git's stderr; without it, the result is returned whatever the exit code. `env` adds
    variables wavefront sets itself (a temporary `GIT_INDEX_FILE`).
    """
    command = [_git_program(), "-C", str(where), *_IDENTITY, *_NEUTRALISED, *args]
    try:
        done = subprocess.run(
            command,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            env={**_git_env(), **(env or {})},
            stdin=None if input is not None else subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        raise WorkspaceError(_NO_GIT) from exc
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or "no message"
        raise WorkspaceError(
            f"`git {' '.join(args)}` failed in {where} (exit {done.returncode}): {detail}"
        )
    return done


class GitRepo:
    """One repository: its top level and its common git directory."""

    root: Path
    git_dir: Path

    def __init__(self, root: Path) -> None:
        if shutil.which("git") is None:
            raise WorkspaceError(_NO_GIT)
        start = Path(root).expanduser().resolve()
        if not start.is_dir():
            raise WorkspaceError(f"{start} is not a directory, so it is not a git repository")
        self.root = start
        found = self.run("rev-parse", "--show-toplevel", cwd=start, check=False)
        if not found.strip():
            raise WorkspaceError(
                f"{start} is not a git repository (with a working tree); "
                "run `git init` there or pass the repository's directory"
            )
        self.root = Path(found.strip()).resolve()
        common = self.run("rev-parse", "--git-common-dir").strip()
        self.git_dir = (self.root / common).resolve()

    # -- running git ---------------------------------------------------------------------

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        input: str | None = None,
    ) -> str:
        """Run `git -C <cwd or root> <args>` and return its stdout (not stripped).

        With `check`, a non-zero exit raises `WorkspaceError` naming the command and
        quoting git's stderr; without it, stdout is returned whatever the exit code.
        """
        return self.run_result(*args, cwd=cwd, check=check, input=input).stdout

    def run_result(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = False,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Like `run`, but hands back the whole result for callers that read the exit code.
        `env` adds variables (such as a temporary `GIT_INDEX_FILE`) to git's environment."""
        return run_git(cwd if cwd is not None else self.root, *args, check=check, input=input,
                       env=env)

    # -- questions about commits -----------------------------------------------------------

    def version(self) -> tuple[int, int]:
        """The installed git's (major, minor) version."""
        text = self.run("version")
        match = re.search(r"(\d+)\.(\d+)", text)
        if match is None:
            raise WorkspaceError(f"cannot read the git version from {text.strip()!r}")
        return int(match.group(1)), int(match.group(2))

    def require_version(self, minimum: tuple[int, int] = MIN_GIT_VERSION) -> None:
        """Raise a clear error when git is older than `minimum`."""
        found = self.version()
        if found < minimum:
            need = ".".join(map(str, minimum))
            have = ".".join(map(str, found))
            raise WorkspaceError(
                f"wavefront needs git {need} or newer (found {have}); please upgrade git"
            )

    def rev_parse(self, ref: str) -> str | None:
        """The commit id `ref` names, or None when it names no commit."""
        args = ("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        done = self.run_result(*args)
        # `--verify --quiet` exits 1 for "no such commit"; anything else is git failing,
        # which must not pass for a missing branch (a merge would be judged undone).
        if done.returncode not in (0, 1):
            detail = (done.stderr or done.stdout).strip() or "no message"
            raise WorkspaceError(
                f"`git {' '.join(args)}` failed in {self.root} (exit {done.returncode}): {detail}"
            )
        return done.stdout.strip() or None

    def head_commit(self) -> str:
        """The commit the user's checkout is on; an error when there is none yet."""
        commit = self.rev_parse("HEAD")
        if commit is None:
            raise WorkspaceError(
                f"{self.root} has no commits yet: commit something first, "
                "so wavefront has a base to branch from"
            )
        return commit

    def merge_base(self, first: str, second: str) -> str | None:
        """The best common ancestor of two commits, or None when they share no history."""
        done = self.run_result("merge-base", "--end-of-options", first, second)
        if done.returncode != 0:
            return None
        return done.stdout.strip() or None

    def is_ancestor(self, commit: str, of: str) -> bool:
        """Whether `commit` is reachable from `of` (a commit is its own ancestor)."""
        # Full ids need no lookup: merge-base itself fails on one that names no commit.
        first = commit if _FULL_ID.fullmatch(commit) else self.rev_parse(commit)
        second = of if _FULL_ID.fullmatch(of) else self.rev_parse(of)
        if first is None or second is None:
            missing = commit if first is None else of
            raise WorkspaceError(f"{missing!r} does not name a commit in {self.root}")
        done = self.run_result("merge-base", "--is-ancestor", first, second)
        if done.returncode not in (0, 1):
            raise WorkspaceError(
                f"`git merge-base --is-ancestor` failed in {self.root}: {done.stderr.strip()}"
            )
        return done.returncode == 0

    def ensure_excluded(self, pattern: str = ".wavefront/") -> None:
        """Add `pattern` to `.git/info/exclude` unless it is already there.

        The exclude file is private to this clone, so the user's `.gitignore` stays untouched.
        """
        exclude = self.git_dir / "info" / "exclude"
        try:
            text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
            if pattern in (line.strip() for line in text.splitlines()):
                return
            exclude.parent.mkdir(parents=True, exist_ok=True)
            prefix = "" if not text or text.endswith("\n") else "\n"
            with exclude.open("a", encoding="utf-8") as handle:
                handle.write(f"{prefix}{pattern}\n")
        except OSError as exc:
            raise WorkspaceError(f"cannot update {exclude}: {exc}") from exc

    # -- worktrees and merges ---------------------------------------------------------------

    def worktree_list(self) -> list[dict[str, str]]:
        """`git worktree list --porcelain` as one dict per worktree (`worktree`, `HEAD`, ...)."""
        entries: list[dict[str, str]] = []
        current: dict[str, str] = {}
        for field in self.run("worktree", "list", "--porcelain", "-z").split("\0"):
            if not field:  # an empty field ends a worktree's record
                if current:
                    entries.append(current)
                current = {}
                continue
            key, _, value = field.partition(" ")
            current[key] = value
        if current:
            entries.append(current)
        return entries

    def checked_out_branches(self) -> dict[str, Path]:
        """Full ref name -> the worktree that has that branch checked out."""
        return {
            entry["branch"]: Path(entry["worktree"]).resolve()
            for entry in self.worktree_list()
            if "branch" in entry
        }

    def merge_tree(self, ours: str, theirs: str) -> TreeMerge:
        """Merge two commits into a tree object only, listing conflicted paths if any."""
        done = self.run_result(
            "merge-tree", "--write-tree", "--name-only", "-z", "--messages", ours, theirs
        )
        if done.returncode not in (0, 1):
            raise WorkspaceError(
                f"`git merge-tree` failed in {self.root}: {(done.stderr or done.stdout).strip()}"
            )
        fields = done.stdout.split("\0")
        # Layout: <tree> NUL, conflicted paths each NUL, an empty field, then notes.
        index = 1
        conflicts: list[str] = []
        while index < len(fields) and fields[index]:
            conflicts.append(fields[index])
            index += 1
        index += 1
        notes: list[str] = []
        # Each note: <path count> NUL <paths> NUL... <kind> NUL <message> NUL
        while index < len(fields) and fields[index].isdigit():
            message_at = index + int(fields[index]) + 2
            if message_at < len(fields):
                notes.append(fields[message_at].strip())
            index = message_at + 1
        return TreeMerge(
            tree=fields[0].strip(),
            clean=done.returncode == 0,
            conflicts=tuple(sorted(set(conflicts))),
            notes=tuple(notes),
        )

    def read_text(self, treeish: str, path: str) -> str | None:
        """The text of `path` in a commit or tree, or None when it has no such file."""
        done = self.run_result("cat-file", "blob", f"{treeish}:{path}")
        return done.stdout if done.returncode == 0 else None

    def tree_with(self, tree: str, files: Mapping[str, str]) -> str:
        """A tree like `tree` with each of `files` (path -> text) written into it.

        Built in a temporary index, so no checkout, index or branch changes.
        """
        with tempfile.TemporaryDirectory(prefix="wavefront-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.run_result("read-tree", tree, env=env, check=True)
            for path, text in files.items():
                blob = self.run("hash-object", "-w", "--stdin", input=text).strip()
                self.run_result("update-index", "--add", "--cacheinfo",
                                f"100644,{blob},{path}", env=env, check=True)
            return self.run_result("write-tree", env=env, check=True).stdout.strip()

    def merge_head(self, worktree: Path) -> str | None:
        """The commit being merged in `worktree`, or None when no merge is in progress."""
        marker = worktree / ".git" / "MERGE_HEAD"
        git_dir = worktree / ".git"
        if git_dir.is_dir() and not git_dir.is_symlink():
            # A repository of its own (an attempt's): the file answers without a process.
            if not marker.is_file():
                return None
            first = marker.read_text(encoding="utf-8", errors="replace").split()
            if first and _FULL_ID.fullmatch(first[0]):
                return first[0]
        out = self.run_result("rev-parse", "--verify", "--quiet", "MERGE_HEAD", cwd=worktree)
        return out.stdout.strip() or None

    def unmerged_paths(self, worktree: Path) -> list[str]:
        """Paths with unresolved conflicts in `worktree`'s index."""
        out = self.run("diff", "--name-only", "--diff-filter=U", "-z", cwd=worktree)
        return sorted(set(split_z(out)))
