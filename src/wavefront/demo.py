"""`wavefront demo`: the bundled example project, run end to end with scripted agents.

The example (`examples/bookshelf/`) is a small real program whose stories each come with an
example solution; the `script` runner applies them, so the whole engine (worktrees, gates,
review rounds, the merge queue) runs without a model service.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from wavefront.errors import WavefrontError

__all__ = ["DemoProject", "prepare_demo"]

EXAMPLE = "bookshelf"


@dataclass(frozen=True)
class DemoProject:
    root: Path
    solutions_dir: Path


def _example_dir() -> Path:
    return Path(str(resources.files("wavefront") / "examples" / EXAMPLE))


def prepare_demo(directory: Path | None = None) -> DemoProject:
    """Copy the example into a new git repository (`directory`, or a temporary one)."""
    source = _example_dir()
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="wavefront-demo-"))
    elif directory.exists() and any(directory.iterdir()):
        raise WavefrontError(f"{directory} is not empty; give a new directory to --dir")
    shutil.copytree(source / "project", directory, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    identity = ["-c", "user.name=wavefront demo", "-c", "user.email=demo@wavefront.invalid"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 [*identity, "commit", "-q", "-m", "bookshelf: starting point"]):
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise WavefrontError(f"git {' '.join(args)} failed in {directory}: "
                                 f"{done.stderr.strip()}")
    return DemoProject(root=directory, solutions_dir=source / "solutions")
