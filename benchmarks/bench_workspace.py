"""What a repository of its own per attempt costs, against the `git worktree add` it replaced.

    python benchmarks/bench_workspace.py [--files 2000] [--runs 7]

Makes a repository of `--files` files, then times each way of getting a checkout of its
head: `git worktree add` (the old workspace), `git clone --shared` and wavefront's
`create_attempt_repo` (`git init` + alternates + checkout, what attempts use now). Prints
the median and the range of `--runs` runs in milliseconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wavefront.workspace.attempt_repo import create_attempt_repo
from wavefront.workspace.git import GitRepo

IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *IDENTITY, *args], check=True,
                   capture_output=True)


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for number in range(files):
        path = repo / f"pkg{number % 40}" / f"module{number}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"VALUE = {number}\n" * 40)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")
    return repo


def timed(make: Callable[[Path], None], where: Path, runs: int) -> list[float]:
    took = []
    for number in range(runs):
        target = where / f"w{number}"
        started = time.perf_counter()
        make(target)
        took.append((time.perf_counter() - started) * 1000)
        shutil.rmtree(target)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        repo = make_repo(root, options.files)
        source = GitRepo(repo)
        head = source.head_commit()
        ways: dict[str, Callable[[Path], None]] = {
            "git worktree add": lambda path: git(repo, "worktree", "add", "-q", "--detach",
                                                 str(path), head),
            "git clone --shared": lambda path: git(root, "clone", "-q", "--shared",
                                                   "--no-tags", str(repo), str(path)),
            "init + alternates (wavefront)": lambda path: create_attempt_repo(
                source, path, head, "task"),
        }
        print(f"{options.files} files, {options.runs} runs each (ms: median, min-max)")
        for name, make in ways.items():
            took = timed(make, root, options.runs)
            git(repo, "worktree", "prune")
            print(f"  {name:32} {statistics.median(took):7.0f}   "
                  f"{min(took):.0f}-{max(took):.0f}")


if __name__ == "__main__":
    main()
