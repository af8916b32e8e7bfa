"""An optional OS sandbox for agents: bubblewrap, where the kernel lets it run.

With `--sandbox bwrap` every agent process runs inside `bwrap`: the whole file system
read-only (the user's repository and home included), its own workspace writable (its
`TMPDIR` inside it), a pid namespace that dies with wavefront (no process of it can
outlive the attempt), and, with `--no-sandbox-network`, no network. The environment is
the one `run_process` builds anyway. What the guard only detects without it, this prevents.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["SANDBOXES", "bwrap_wrapper", "unavailable"]

SANDBOXES = ("none", "bwrap")
_INSTALL = "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`)"


def unavailable() -> str | None:
    """Why the bubblewrap sandbox cannot run here, or None when it can."""
    program = shutil.which("bwrap")
    if program is None:
        return f"the bwrap sandbox needs bubblewrap, which is not installed; {_INSTALL}"
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
