"""What a workspace per attempt costs: made new each time, or a released one reset.

    python benchmarks/bench_workspace.py [--files 2000] [--runs 7]
                                         [--ways worktree,clone,init,reuse]

Makes a repository of `--files` files, then times each way of getting a checkout of its
head: `git worktree add` (the old workspace), `git clone --shared`, wavefront's
`create_attempt_repo` (`git init` + alternates + checkout, what a first attempt gets)
and `reset_attempt_repo` (a released workspace reset, what later attempts in the slot
get). The reset alternates between two commits 11 files apart, as when the
last task's merge moved the base, and each time first leaves behind what an agent
might (an untracked and an ignored file, a branch, a stash, a hook). Prints the median
and the range of `--runs` runs in milliseconds of wall time, and the median CPU time
(this process and its git processes), which a loaded machine changes much less.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wavefront.workspace.attempt_repo import create_attempt_repo, reset_attempt_repo
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
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")
    return repo


def next_commit(repo: Path, files: int, changed: int = 10) -> str:
    """A commit on top of the head with `changed` files edited and one added."""
    for number in range(0, files, max(1, files // changed)):
        path = repo / f"pkg{number % 40}" / f"module{number}.py"
        path.write_text(path.read_text() + "CHANGED = True\n")
    (repo / "added.py").write_text("NEW = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the last task's merge")
    return GitRepo(repo).head_commit()


def leave_behind(workspace: Path) -> None:
    """What an agent might leave in its workspace, for the reset to undo."""
    (workspace / "scratch.txt").write_text("untracked\n")
    (workspace / "debug.log").write_text("ignored\n")
    git(workspace, "branch", "-f", "leftover")
    (workspace / "README.txt").write_text("stashed\n")
    git(workspace, "stash", "-q", "--include-untracked")
    hooks = workspace / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "post-checkout").write_text("#!/bin/sh\nexit 0\n")


def timed_reuse(source: GitRepo, where: Path, commits: tuple[str, str], runs: int
                ) -> Timing:
    """Reset one released workspace `runs` times, to each of `commits` in turn."""
    workspace = where / "reused"
    create_attempt_repo(source, workspace, commits[0], "task")
    took, cpu = [], []
    for number in range(runs):
        leave_behind(workspace)
        started, used = time.perf_counter(), cpu_ms()
        reset_attempt_repo(source, workspace, commits[(number + 1) % 2], "task")
        took.append((time.perf_counter() - started) * 1000)
        cpu.append(cpu_ms() - used)
    shutil.rmtree(workspace)
    return took, cpu


def cpu_ms() -> float:
    """CPU time so far of this process and its finished children, in milliseconds."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.process_time() + children.ru_utime + children.ru_stime) * 1000


Timing = tuple[list[float], list[float]]  # wall and CPU milliseconds of each run


def timed(make: Callable[[Path], None], where: Path, runs: int) -> Timing:
    took, cpu = [], []
    for number in range(runs):
        target = where / f"w{number}"
        started, used = time.perf_counter(), cpu_ms()
        make(target)
        took.append((time.perf_counter() - started) * 1000)
        cpu.append(cpu_ms() - used)
        shutil.rmtree(target)
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--ways", default="worktree,clone,init,reuse",
                        help="which ways to time, comma-separated (default: all)")
    options = parser.parse_args()
    chosen = set(options.ways.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        repo = make_repo(root, options.files)
        source = GitRepo(repo)
        first = source.head_commit()
        head = next_commit(repo, options.files)
        ways: dict[str, tuple[str, Callable[[Path], None]]] = {
            "worktree": ("git worktree add", lambda path: git(
                repo, "worktree", "add", "-q", "--detach", str(path), head)),
            "clone": ("git clone --shared", lambda path: git(
                root, "clone", "-q", "--shared", "--no-tags", str(repo), str(path))),
            "init": ("init + alternates (new)", lambda path: create_attempt_repo(
                source, path, head, "task")),
        }
        print(f"{options.files} files, {options.runs} runs each "
              "(ms: median, min-max; median CPU)")
        for key, (name, make) in ways.items():
            if key in chosen:
                report(name, timed(make, root, options.runs))
                git(repo, "worktree", "prune")
        if "reuse" in chosen:
            report("released one reset (reuse)",
                   timed_reuse(source, root, (first, head), options.runs))


def report(name: str, timing: Timing) -> None:
    took, cpu = timing
    print(f"  {name:32} {statistics.median(took):7.0f}   {min(took):.0f}-{max(took):.0f}"
          f"   CPU {statistics.median(cpu):.0f}", flush=True)


if __name__ == "__main__":
    main()
