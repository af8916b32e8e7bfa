"""OS sandboxes for agents: bubblewrap, where the kernel lets it run.

Two of them. `checkout` (the default where bubblewrap works) makes the user's repository
read-only for every agent process, its git directory included, and leaves the rest of
the machine as it is: the home folder where agent CLIs keep logins and sessions, the
network, the processes. `.wavefront/` stays writable: the workspace is inside it, and the
task's MCP server writes the journal. `bwrap` goes further: the whole file system
read-only, the user's home included, only the workspace writable (its `TMPDIR` inside
it), a pid namespace that dies with wavefront (no process of it can outlive the attempt),
and, with `sandbox_network: false`, no network. The environment is the one `run_process`
builds anyway. What the guard only detects without a sandbox, either one prevents.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SANDBOXES", "SandboxChoice", "bwrap_wrapper", "checkout_wrapper", "resolve",
           "unavailable"]

SANDBOXES = ("none", "checkout", "bwrap")
_INSTALL = "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`)"


@dataclass(frozen=True)
class SandboxChoice:
    """A run's sandbox as another machine applies it: which one, with network or not, and
    whether the user asked for it by name (then a machine where bubblewrap cannot run
    refuses the attempt; otherwise its agent runs there without the sandbox)."""

    mode: str = "none"
    network: bool = True
    required: bool = False


def resolve(chosen: str | None, works: bool) -> str:
    """The sandbox a run uses for a choice (None: none made): by default `checkout` where
    bubblewrap `works`, `auto` is `bwrap` there; else both are none. An explicit choice
    stays, and a run refuses it where bubblewrap does not work."""
    if chosen is None or chosen == "auto":
        return ("bwrap" if chosen == "auto" else "checkout") if works else "none"
    return chosen


def unavailable() -> str | None:
    """Why the bubblewrap sandbox cannot run here, or None when it can."""
    program = shutil.which("bwrap")
    if program is None:
        return f"the sandbox needs bubblewrap, which is not installed; {_INSTALL}"
    return _tried(program)


@functools.cache  # a run asks once per choice; the answer does not change meanwhile
def _tried(program: str) -> str | None:
    try:
        tried = subprocess.run([program, "--ro-bind", "/", "/", "--unshare-pid", "true"],
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap ({program}) cannot run here: {exc}"
    if tried.returncode != 0:
        detail = tried.stderr.strip().splitlines()[-1:] or ["no message"]
        return (f"bubblewrap ({program}) cannot make a sandbox here: {detail[0]} (it needs "
                "unprivileged user namespaces, or root)")
    return None


def checkout_wrapper(read_only: Sequence[Path], writable: Path
                     ) -> Callable[[Sequence[str]], list[str]]:
    """A function that runs an agent's argv with the folders `read_only` (the user's
    repository and its git directory, wherever it is) read-only, and `writable` (where
    wavefront keeps its state, with the workspaces) writable even inside them."""
    prefix = ["bwrap", "--dev-bind", "/", "/"]
    for place in dict.fromkeys(folder.resolve() for folder in read_only):
        prefix += ["--ro-bind", str(place), str(place)]
    state = writable.resolve()
    prefix += ["--bind", str(state), str(state)]
    # No --chdir: bubblewrap starts in the directory it was started in, the workspace.
    return lambda argv: [*prefix, "--", *argv]


def bwrap_wrapper(workspace: Path, network: bool) -> Callable[[Sequence[str]], list[str]]:
    """A function that turns an agent's argv into the same command inside the sandbox."""
    place = Path(workspace).resolve()
    # The agent's own temp dir lives in its git dir: writable, never committed, and gone
    # with the workspace. (Not a tmpfs on /tmp: that would hide a repository under /tmp.)
    temp = place / ".git" / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    prefix = [
        "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
        "--bind", str(place), str(place), "--chdir", str(place),
        "--setenv", "TMPDIR", str(temp),
        "--unshare-pid", "--die-with-parent", "--new-session",
        *([] if network else ["--unshare-net"]),
    ]
    return lambda argv: [*prefix, "--", *argv]
