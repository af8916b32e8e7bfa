"""One repository per attempt: the agent's own refs, config and hooks; the user's objects.

An attempt's workspace is made with `git init` (no template, so no sample hooks) and an
`objects/info/alternates` line that borrows every object of the user's repository, then a
checkout of the base commit. Nothing else is shared: a `git checkout`, `reset`,
`update-ref`, `stash`, `push` or hook written there changes that repository only. This
costs what `git worktree add` costs (both are dominated by writing the files; see
`benchmarks/bench_workspace.py`), and it is the shape a remote executor needs: the result
comes back as commits, fetched into the user's repository under wavefront's own branch.

Before wavefront runs git there again (to commit, diff or fetch the result), `reclaim`
puts back the git directory's config, alternates and hooks as wavefront wrote them, and
refuses a `.git` that was swapped for a link into another repository.

A released repository can be made into a new attempt's with `reset_attempt_repo`: its git
directory is emptied but for the index (git's record of what each checked-out file was),
so the checkout of the new base writes only the files that differ.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from wavefront.errors import WorkspaceError
from wavefront.workspace.git import GitRepo, run_git

__all__ = ["create_attempt_repo", "fetch_result", "is_attempt_repo", "reclaim",
           "reset_attempt_repo"]

# The whole config of an attempt repository. Written by us (not kept from `git init`) so
# that `reclaim` can restore it byte for byte without remembering anything.
_CONFIG = """[core]
\trepositoryformatversion = {version}
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
"""
# A repository of SHA-256 objects must say so, or the borrowed objects cannot be read.
_SHA256 = "[extensions]\n\tobjectformat = sha256\n"

# Files in a git directory that point git at another repository's refs or config.
_REDIRECTS = ("commondir", "gitdir")


def create_attempt_repo(source: GitRepo, path: Path, commit: str, branch: str | None) -> None:
    """A new repository at `path`, borrowing `source`'s objects, checked out at `commit`.

    With `branch`, HEAD is that (new) branch; without, HEAD is detached at `commit`.
    """
    if path.exists():
        raise WorkspaceError(f"cannot make a workspace at {path}: something is there already")
    path.parent.mkdir(parents=True, exist_ok=True)
    run_git(path.parent, "init", "--quiet", "--template=",
            f"--object-format={_object_format(source)}", "--", str(path))
    reclaim(source, path)
    where = ["-b", branch] if branch else ["--detach"]
    run_git(path, "checkout", "--quiet", *where, commit, "--")


def is_attempt_repo(path: Path) -> bool:
    """Whether `path` looks like a workspace wavefront made (a directory with a `.git` dir)."""
    git_dir = path / ".git"
    return path.is_dir() and git_dir.is_dir() and not git_dir.is_symlink()


def reclaim(source: GitRepo, path: Path) -> None:
    """Put the attempt repository's git directory back as wavefront made it.

    Config, alternates and hooks are rewritten (an agent may have set `core.fsmonitor`, an
    alias, a filter or a hook there); files that would redirect git to another repository
    are removed; a `.git`, or an entry in it, that is a symbolic link is refused, since
    wavefront's next git call there would then act on whatever it points to.
    """
    git_dir = _checked_git_dir(path)
    for name in _REDIRECTS:
        _unlink(git_dir / name)
    sha256 = _object_format(source) == "sha256"
    _rewrite(git_dir / "config", _CONFIG.format(version=1 if sha256 else 0)
             + (_SHA256 if sha256 else ""))
    _rewrite(git_dir / "objects" / "info" / "alternates", f"{source.git_dir / 'objects'}\n")
    _unlink(git_dir / "info" / "attributes")
    hooks = git_dir / "hooks"
    if hooks.exists():
        shutil.rmtree(hooks)


def reset_attempt_repo(source: GitRepo, path: Path, commit: str, branch: str | None) -> None:
    """Make the used attempt repository at `path` what `create_attempt_repo` would make.

    Everything the last attempt left goes: refs and branches, tags, stash, reflogs,
    objects of its own, hooks, config, info/exclude, an unfinished merge or rebase; then
    the files are checked out at `commit` and whatever else is in the tree (untracked,
    ignored, nested repositories) is removed. Raises `WorkspaceError` when any step fails:
    the repository must then be thrown away, never handed out.
    """
    try:
        git_dir = _checked_git_dir(path)
        for entry in git_dir.iterdir():
            if entry.name != "index":
                _unlink(entry)
        for folder in ("refs/heads", "refs/tags", "objects/info"):
            (git_dir / folder).mkdir(parents=True)
        # Detached at the new base: the branch the checkout makes is then the only ref.
        (git_dir / "HEAD").write_text(commit + "\n", encoding="utf-8")
    except OSError as exc:
        raise WorkspaceError(f"cannot reset the workspace at {path}: {exc}") from exc
    reclaim(source, path)
    _trust_the_index(path)
    where = ["-B", branch] if branch else ["--detach"]
    run_git(path, "checkout", "--quiet", "--force", *where, commit, "--")
    run_git(path, "clean", "--quiet", "-ffdx")


def _trust_the_index(path: Path) -> None:
    """Clear the index flags that make git skip a file's check (`git ls-files -v` shows
    "assume unchanged" in lowercase, "skip worktree" as S): either would hide the last
    agent's edit of that file. An index git cannot read is dropped.

    Without the index every file is written again (slow, but right).
    """
    index = path / ".git" / "index"
    if not index.exists():
        return
    listed = run_git(path, "ls-files", "-v", "-z", check=False)
    if listed.returncode != 0:
        _unlink(index)
        return
    entries = [entry for entry in listed.stdout.split("\0") if entry]
    # git takes one of these flags per call: the second would be ignored.
    for option, flagged in (
        ("--no-assume-unchanged", [e[2:] for e in entries if e[0].islower()]),
        ("--no-skip-worktree", [e[2:] for e in entries if e[0] in "Ss"]),
    ):
        if flagged and run_git(path, "update-index", option, "-z", "--stdin",
                               input="\0".join(flagged) + "\0", check=False).returncode:
            _unlink(index)
            return


def fetch_result(source: GitRepo, path: Path, ref: str, commit: str | None = None) -> str:
    """Fetch the attempt repository's HEAD (or `commit`, read from it just before) into
    `ref` of `source`; return the commit.

    The commit is read first and the fetch asks for exactly it, so what `ref` ends up
    naming is what wavefront read, whatever happens to the workspace meanwhile.
    """
    reclaim(source, path)
    if commit is None:
        commit = run_git(path, "rev-parse", "--verify", "HEAD^{commit}").stdout.strip()
    run_git(
        source.root,
        "-c",
        "uploadpack.allowAnySHA1InWant=true",
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--",
        str(path),
        f"+{commit}:{ref}",
    )
    # A fetch of `+<id>:<ref>` that exits 0 has set `ref` to exactly that id.
    return commit


_formats: dict[Path, str] = {}  # a repository's object format does not change


def _object_format(source: GitRepo) -> str:
    if source.git_dir not in _formats:
        found = source.run("rev-parse", "--show-object-format", check=False).strip()
        _formats[source.git_dir] = found if found in ("sha1", "sha256") else "sha1"
    return _formats[source.git_dir]


def _checked_git_dir(path: Path) -> Path:
    """The workspace's git directory; refused when it, or an entry in it, is a link."""
    git_dir = path / ".git"
    if path.is_symlink() or git_dir.is_symlink() or not git_dir.is_dir():
        raise WorkspaceError(
            f"the workspace's .git at {git_dir} was replaced (it is no longer the directory "
            "wavefront made); nothing of this attempt is used"
        )
    linked = sorted(entry.name for entry in git_dir.iterdir() if entry.is_symlink())
    if linked:
        raise WorkspaceError(
            f"the workspace's git directory {git_dir} holds symbolic links "
            f"({', '.join(linked)}); nothing of this attempt is used"
        )
    return git_dir


def _rewrite(target: Path, text: str) -> None:
    # Unlink first: the old file may be a hard link to a file of the user's repository.
    _unlink(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _unlink(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
