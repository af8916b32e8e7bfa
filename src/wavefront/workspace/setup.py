"""Preparing a workspace before its agent starts, and tidying it after.

A fresh workspace holds what git tracks and nothing else: no `node_modules`, no `.env`, no
virtual environment. `wavefront.yaml` says what each one needs:

```yaml
workspace:
  copy: [".env*"]         # git-ignored files copied from your checkout (never overwriting)
  setup: ["npm ci"]        # run in the workspace before the agent; a failure fails the attempt
  teardown: ["npm run db:drop"]
```

A `.worktreeinclude` file in the checkout (one glob a line, as other worktree tools read it)
adds to `copy`. Every command, the agent and the gates see `WAVEFRONT_TASK_ID`,
`WAVEFRONT_WORKSPACE` and `WAVEFRONT_PORT`, the first of a block of free ports that no other
workspace of this process holds, so parallel dev servers and test databases do not collide.

This module knows nothing of how the workspace was made (a worktree, a clone): it is given
the checkout to copy from and the directory to prepare.
"""

from __future__ import annotations

import fnmatch
import shutil
import socket
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wavefront.workspace.git import user_entries

__all__ = [
    "PORT_BLOCK",
    "Prepared",
    "RunCommand",
    "WorkspaceEnv",
    "WorkspaceSetup",
    "copied_contents",
    "files_to_copy",
    "prepare_workspace",
    "release_ports",
    "teardown_workspace",
]

PORT_BLOCK = 10
INCLUDE_FILE = ".worktreeinclude"
_OUTPUT_SHOWN = 2000  # characters of a failed setup command's output put in the reason

# How a setup or teardown command is run: (command, cwd, env, log path, timeout) -> (ok,
# its output or why it failed). The engine passes its contained process runner.
RunCommand = Callable[[str, Path, Mapping[str, str], Path, float], Awaitable[tuple[bool, str]]]

_held_ports: set[int] = set()
_ports_lock = threading.Lock()


@dataclass(frozen=True)
class WorkspaceSetup:
    """What `workspace:` in wavefront.yaml asks for each workspace."""

    setup: tuple[str, ...] = ()
    copy: tuple[str, ...] = ()
    teardown: tuple[str, ...] = ()
    timeout_s: float = 900.0


class WorkspaceEnv(Mapping[str, str]):
    """A workspace's variables. Its port block is found when a process first reads them:
    finding ten free ports takes eleven sockets, and a task whose agent and gates start
    no process (an in-process runner) never needs them."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._port: int | None = None

    def _all(self) -> dict[str, str]:
        if self._port is None:
            self._port = _free_port_block()
            self._values["WAVEFRONT_PORT"] = str(self._port)
        return self._values

    def __getitem__(self, key: str) -> str:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def release(self) -> None:
        """Hand the port block back, if one was found."""
        if self._port is not None:
            _release_block(self._port)
            self._port = None
            self._values.pop("WAVEFRONT_PORT", None)


@dataclass(frozen=True)
class Prepared:
    """A prepared workspace: the variables its processes get, and why setup failed."""

    env: Mapping[str, str] = field(default_factory=dict)
    copied: tuple[str, ...] = ()
    failure: str | None = None


def files_to_copy(checkout: Path, patterns: Sequence[str]) -> list[str]:
    """Paths (relative to `checkout`) of its git-ignored files matching `patterns` or a line
    of its `.worktreeinclude`. Tracked files are already in every workspace."""
    wanted = [*patterns, *_include_lines(checkout)]
    if not wanted:
        return []
    entries = [f":(literal){entry.name}" for entry in user_entries(checkout)]
    if not entries:
        return []
    listed = subprocess.run(
        ["git", "-C", str(checkout), "ls-files", "-z", "--others", "--ignored",
         "--exclude-standard", "--directory", "--no-empty-directory", "--", *entries],
        capture_output=True, check=False,
    )
    found: list[str] = []
    for raw in listed.stdout.decode("utf-8", "surrogateescape").split("\0"):
        path = raw.rstrip("/")
        if path and _matches(path, wanted):
            found.append(path)
    return sorted(found)


def _include_lines(checkout: Path) -> list[str]:
    include = checkout / INCLUDE_FILE
    if not include.is_file():
        return []
    lines = include.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _matches(path: str, patterns: Sequence[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        bare = pattern.strip("/")
        if fnmatch.fnmatchcase(path, bare) or ("/" not in bare and fnmatch.fnmatchcase(name, bare)):
            return True
    return False


def copied_contents(workspace: Path, copied: Sequence[str]) -> dict[str, bytes]:
    """The regular files among `copied` (the paths `prepare_workspace` copied, folders
    walked) with their bytes, by path, for a workspace made on another machine."""
    contents: dict[str, bytes] = {}
    for relative in copied:
        top = workspace / relative
        files = [top] if not top.is_dir() else sorted(p for p in top.rglob("*"))
        for path in files:
            if path.is_file() and not path.is_symlink():
                contents[path.relative_to(workspace).as_posix()] = path.read_bytes()
    return contents


def _copy(checkout: Path, workspace: Path, relative: str) -> bool:
    """Copy one file or folder; what the workspace already has is kept, never overwritten."""
    source, target = checkout / relative, workspace / relative
    if target.exists() or target.is_symlink():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target, follow_symlinks=False)
    return True


def _free_port_block(size: int = PORT_BLOCK) -> int:
    """The first of `size` consecutive ports that are free now and not handed out yet."""
    with _ports_lock:
        for _ in range(200):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                start = int(probe.getsockname()[1])
            block = range(start, start + size)
            if block[-1] < 65536 and not _held_ports.intersection(block) and all(
                _is_free(port) for port in block
            ):
                _held_ports.update(block)
                return start
    raise OSError("no block of free ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def release_ports(env: Mapping[str, str]) -> None:
    """Hand a workspace's port block back."""
    if isinstance(env, WorkspaceEnv):
        env.release()
        return
    start = env.get("WAVEFRONT_PORT")
    if start and start.isdigit():
        _release_block(int(start))


def _release_block(start: int) -> None:
    with _ports_lock:
        _held_ports.difference_update(range(start, start + PORT_BLOCK))


async def prepare_workspace(
    spec: WorkspaceSetup,
    checkout: Path,
    workspace: Path,
    task_id: str,
    log_path: Path,
    run: RunCommand,
) -> Prepared:
    """Give `workspace` its variables and copied files, then run the setup commands, with
    their output appended to `log_path`. A failing command is returned, not raised."""
    env = WorkspaceEnv({"WAVEFRONT_TASK_ID": task_id, "WAVEFRONT_WORKSPACE": str(workspace)})
    copied = tuple(
        path for path in files_to_copy(checkout, spec.copy) if _copy(checkout, workspace, path)
    )
    for command in spec.setup:
        ok, output = await run(command, workspace, env, log_path, spec.timeout_s)
        if not ok:
            return Prepared(env, copied, f"workspace setup `{command}` {output[-_OUTPUT_SHOWN:]}")
    return Prepared(env, copied)


async def teardown_workspace(
    spec: WorkspaceSetup, workspace: Path, env: Mapping[str, str], log_path: Path,
    run: RunCommand
) -> None:
    """Run the teardown commands (each whatever the previous one did) and free the ports."""
    try:
        for command in spec.teardown:
            if workspace.is_dir():
                await run(command, workspace, env, log_path, spec.timeout_s)
    finally:
        release_ports(env)
