"""Drive wavefront's real engine over a generated graph, the way `runs.lifecycle` does.

No git: tasks run in one plain directory (`PlainWorkspaces`), so what is measured is the
scheduler, the task flow, the runner and the journal (SQLite, WAL, every event written),
not git. The git-backed measurement lives in `bench_engine.py`.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dags import Dag
from wavefront.engine.loop import Engine
from wavefront.engine.pool import RunnerPool
from wavefront.engine.settings import RunSettings
from wavefront.engine.taskflow import TaskFlow
from wavefront.journal.database import Journal
from wavefront.model import SourceLocation, Task, TaskOptions, TaskStatus
from wavefront.plan.graph import Plan
from wavefront.plan.weights import default_weights
from wavefront.workspace import attempt_repo
from wavefront.workspace import git as git_module
from wavefront.workspace.base import PlainWorkspaces
from wavefront.workspace.worktrees import GitRepo, GitWorkspaces

__all__ = [
    "EngineRun",
    "GitRun",
    "Priority",
    "TaskKind",
    "build_tasks",
    "run_engine",
    "run_engine_git",
]

# sleep: the script runner sleeps the task's duration; noop: it returns at once;
# command: the command runner starts a real child (`true`) per task.
TaskKind = Literal["sleep", "noop", "command", "git"]
# What the engine is told about each task's length: the true durations (an oracle, like a
# well-estimated `weight`), unit weights (only the graph's shape), or nothing at all;
# `estimates`: each task's duration as its `estimate`, weighted and planned by wavefront
# itself (`plan.weights`, `Plan.build`); `half-estimates`: every other task has one, the
# rest get the median.
Priority = Literal["durations", "unit", "none", "estimates", "half-estimates"]

SOURCE = SourceLocation(Path("benchmark"), 1)


@dataclass(frozen=True)
class EngineRun:
    wall_s: float
    done: int
    tasks: int
    counts: dict[str, int]


def build_tasks(
    dag: Dag, kind: TaskKind, priority: Priority = "durations"
) -> list[tuple[Task, str | None, str | None, float, int]]:
    """Journal rows (task, agent, runner, priority, wave) for `dag`."""
    if priority == "durations":
        levels = dag.bottom_levels
    elif priority in ("estimates", "half-estimates"):
        every = 1 if priority == "estimates" else 2
        estimated = [Task(id=task_id, title=task_id, source=SOURCE,
                          dependencies=dag.deps[task_id],
                          estimate=dag.durations[task_id] if index % every == 0 else None)
                     for index, task_id in enumerate(dag.ids)]
        levels = dict(Plan.build(default_weights(estimated, {})).priority)
    elif priority == "unit":
        levels = dag.with_durations({t: 1.0 for t in dag.ids}).bottom_levels
    else:
        levels = {t: 0.0 for t in dag.ids}
    wave_of = {t: number for number, wave in enumerate(dag.waves) for t in wave}
    rows: list[tuple[Task, str | None, str | None, float, int]] = []
    for task_id in dag.ids:
        script: dict[str, Any] | None = None
        if kind == "sleep":
            script = {"sleep": dag.durations[task_id]}
        elif kind == "git":
            # One new file per task: a real change that merges without conflicts.
            script = {"files": {f"work/{task_id}.txt": f"{task_id}\n"}}
        rows.append(
            (
                Task(
                    id=task_id,
                    title=f"task {task_id}",
                    source=SOURCE,
                    dependencies=dag.deps[task_id],
                    options=TaskOptions(script=script),
                ),
                None,
                None,
                levels[task_id],
                wave_of[task_id],
            )
        )
    return rows


def run_engine(
    dag: Dag,
    workdir: Path,
    *,
    slots: int = 8,
    kind: TaskKind = "sleep",
    priority: Priority = "durations",
    poll_s: float = 0.5,
    run_id: str = "bench",
) -> EngineRun:
    """Create a run for `dag` in a fresh journal under `workdir` and drive it to the end."""
    workdir.mkdir(parents=True, exist_ok=True)
    runner = "command" if kind == "command" else "script"
    pool_settings = {"command": {"argv_template": ["true"]}} if kind == "command" else {}
    with Journal.open(workdir / "journal.db") as journal:
        journal.create_run(
            run_id,
            repo=workdir,
            base_commit="",
            branch="",
            options={},
            tasks=build_tasks(dag, kind, priority),
        )
        settings = RunSettings(
            max_parallel=slots, poll_s=poll_s, timeout_s=None, default_runner=runner
        )
        flow = TaskFlow(
            journal,
            run_id,
            PlainWorkspaces(workdir / "work"),
            RunnerPool(pool_settings),
            {},
            settings,
            workdir / "logs",
        )
        engine = Engine(journal, run_id, flow, settings)
        started = time.perf_counter()
        stop = asyncio.run(engine.run())
        wall = time.perf_counter() - started
        counts: dict[str, int] = {}
        for record in journal.tasks(run_id):
            counts[record.status.value] = counts.get(record.status.value, 0) + 1
    if stop.state != "finished":
        raise RuntimeError(f"benchmark run stopped early: {stop}")
    return EngineRun(wall, counts.get(TaskStatus.DONE.value, 0), len(dag), counts)


@dataclass(frozen=True)
class GitRun:
    wall_s: float
    done: int
    tasks: int
    git_calls: int
    git_s: float  # summed duration of every git process the run started
    by_command: dict[str, tuple[int, float]]  # git subcommand -> (calls, seconds)


@contextmanager
def _timed_git(calls: list[tuple[str, float]]) -> Iterator[None]:
    """Record the duration of every git process wavefront starts (instrumentation only:
    each call still runs the real git). Every call goes through `run_git`, which the
    modules that call it hold by name."""
    modules = (git_module, attempt_repo)
    original = git_module.run_git

    def timed(where: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        started = time.perf_counter()
        try:
            return original(where, *args, **kwargs)
        finally:
            words = list(args)
            while words[:1] == ["-c"]:  # per-call config before the subcommand
                words = words[2:]
            name = " ".join(words[:2]) if words[:1] == ["worktree"] else (words[:1] or [""])[0]
            calls.append((name, time.perf_counter() - started))

    for module in modules:
        module.run_git = timed  # type: ignore[assignment]
    try:
        yield
    finally:
        for module in modules:
            module.run_git = original  # type: ignore[assignment]


def init_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(["git", "-C", str(root), *identity, *args], check=True, capture_output=True)
    return root


def run_engine_git(dag: Dag, workdir: Path, *, slots: int = 8, run_id: str = "bench") -> GitRun:
    """Drive `dag` with real worktrees, commits and merges (as `runs.lifecycle` does)."""
    repo = GitRepo(init_repo(workdir / "repo"))
    state_dir = repo.root / ".wavefront"
    calls: list[tuple[str, float]] = []
    with Journal.open(state_dir / "journal.db") as journal, _timed_git(calls):
        workspaces = GitWorkspaces(repo, run_id, state_dir)
        base = repo.head_commit()
        journal.create_run(
            run_id,
            repo=repo.root,
            base_commit=base,
            branch=workspaces.integration_branch,
            options={},
            tasks=build_tasks(dag, "git", "unit"),
        )
        workspaces.create_integration_branch(base)
        calls.clear()  # count only what the run itself does
        settings = RunSettings(max_parallel=slots, timeout_s=None, default_runner="script")
        flow = TaskFlow(
            journal, run_id, workspaces, RunnerPool(), {}, settings, state_dir / "logs" / run_id
        )
        engine = Engine(journal, run_id, flow, settings)
        started = time.perf_counter()
        stop = asyncio.run(engine.run())
        wall = time.perf_counter() - started
        records = journal.tasks(run_id)
    done = sum(r.status == TaskStatus.DONE for r in records)
    if stop.state != "finished" or done != len(dag):
        problems = "; ".join(
            f"{r.task_id} {r.status.value}: {r.reason}"
            for r in records
            if r.status != TaskStatus.DONE
        )
        raise RuntimeError(
            f"git benchmark run ended {stop} with {done}/{len(dag)} done: {problems[:2000]}"
        )
    by_command: dict[str, tuple[int, float]] = {}
    for command, seconds in calls:
        count, total = by_command.get(command, (0, 0.0))
        by_command[command] = (count + 1, total + seconds)
    return GitRun(wall, done, len(dag), len(calls), sum(s for _, s in calls), by_command)


def bare_git_per_task(workdir: Path, tasks: int) -> float:
    """Seconds per task for the least git a task needs, run back to back with no engine:
    worktree add, write a file, add, commit, merge-tree, commit-tree, update-ref,
    worktree remove, branch -D."""
    root = init_repo(workdir / "bare")
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]

    def git(*args: str, cwd: Path = root) -> str:
        return subprocess.run(
            ["git", "-C", str(cwd), *identity, *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("branch", "integration")
    started = time.perf_counter()
    for number in range(tasks):
        name = f"t{number}"
        tree_dir = workdir / "bare-trees" / name
        git("worktree", "add", "-q", "-b", f"task/{name}", str(tree_dir), "integration")
        (tree_dir / f"{name}.txt").write_text(name + "\n")
        git("add", "--all", cwd=tree_dir)
        git("commit", "-q", "-m", name, cwd=tree_dir)
        old = git("rev-parse", "integration")
        tree = git("merge-tree", "--write-tree", old, f"task/{name}").splitlines()[0]
        commit = git("commit-tree", tree, "-p", old, "-p", f"task/{name}", "-m", f"merge {name}")
        git("update-ref", "refs/heads/integration", commit, old)
        git("worktree", "remove", "--force", str(tree_dir))
        git("branch", "-q", "-D", f"task/{name}")
    return (time.perf_counter() - started) / tasks
