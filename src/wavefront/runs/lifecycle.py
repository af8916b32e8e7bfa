"""Start, resume, cancel and clean up runs, and drive the engine in between.

A run is created from a plan, stored in the journal with everything needed to continue it
(task definitions, agents, runners, settings), and driven by the `Engine`. `resume_run`
first reconciles the journal with git: a merge that was published before a crash is
recorded, unfinished attempts are discarded, stray worktrees are removed; then the engine
picks up where the run stood.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from wavefront.agents import load_profiles
from wavefront.agents.preflight import preflight
from wavefront.agents.runners.settings import check_configured_runners
from wavefront.backlog.base import Backlog
from wavefront.config import ProjectConfig
from wavefront.engine.executor import Executor
from wavefront.engine.loop import Engine, RunStop
from wavefront.engine.mergequeue import WriteBack
from wavefront.engine.pool import RunnerPool
from wavefront.engine.settings import RunSettings
from wavefront.engine.taskflow import DoneHook, TaskFlow
from wavefront.errors import WavefrontError
from wavefront.gates.validate import validate_gate_specs, validate_plan_gates
from wavefront.journal.database import Journal, RunRecord
from wavefront.journal.kinds import EventKind
from wavefront.lifetime import kill_tagged, run_tag
from wavefront.model import AgentProfile, TaskStatus
from wavefront.plan.graph import Plan
from wavefront.report.livefiles import LiveFiles
from wavefront.runs.review import default_review, review_gates
from wavefront.runs.settings import (
    RunOptions,
    agent_and_runner,
    chosen_sandbox,
    cluster_notes,
    executor_settings,
    run_settings,
    stored_config,
)
from wavefront.runs.store import (
    STATE_DIR,
    STATE_FILES_DIR,
    ReporterFactory,
    RunResult,
    new_run_id,
    open_journal,
    resolve_run,
)
from wavefront.words import plural
from wavefront.workspace.runlock import RunLock
from wavefront.workspace.sandbox import bwrap_wrapper, checkout_wrapper
from wavefront.workspace.sandbox import unavailable as sandbox_unavailable
from wavefront.workspace.worktrees import GitRepo, GitWorkspaces

__all__ = [
    "cancel_run",
    "clean",
    "preview_prompt",
    "reconcile",
    "resume_run",
    "start_run",
]


def start_run(root: Path, backlog: Backlog, plan: Plan, options: RunOptions,
              reporter: ReporterFactory | None = None) -> RunResult:
    """Create a run for `plan` in the git repository at `root` and drive it to the end."""
    repo = GitRepo(root)
    sandbox = chosen_sandbox(backlog, options)
    if sandbox != "none" and (missing := sandbox_unavailable()) is not None:
        raise WavefrontError(f"sandbox {sandbox}: {missing}")  # before any agent starts
    base = _base_commit(repo, plan, options)
    state_dir = repo.root / STATE_DIR
    with RunLock(state_dir), open_journal(repo.root) as journal:
        config = backlog.config
        profiles = load_profiles(repo.root, config)
        validate_plan_gates(config, plan.tasks, profiles=profiles, root=repo.root)
        if config is not None and config.mcp:
            _check_mcp_extra(config)
        settings = run_settings(backlog, options)
        run_id = options.run_id or new_run_id()
        assigned = []
        for task in plan.tasks:
            agent, runner = agent_and_runner(task, profiles, config, settings)
            assigned.append((replace(task, dependencies=plan.dependencies[task.id]), agent,
                             runner))
        review = default_review(config, assigned, settings, profiles)
        validate_gate_specs(review_gates(review, assigned), profiles=profiles, root=repo.root)
        rows = [(task, agent, runner, plan.priority[task.id], plan.wave_of[task.id])
                for task, (_task, agent, runner) in zip(review.tasks, assigned, strict=True)]
        # Before the journal records anything: a runner that cannot be built would fail
        # every task it was given, one by one.
        check_configured_runners(config, (row[2] for row in rows), options.runner_settings)
        to_run = {row[2] for row in rows
                  if row[0].status != TaskStatus.DONE or options.include_done}
        _check_runners(to_run, settings)
        _executor(settings)  # an unreachable cluster stops the run before it is recorded
        workspaces = GitWorkspaces(repo, run_id, state_dir)
        if repo.rev_parse(f"refs/heads/{workspaces.integration_branch}") is not None:
            # Its journal is gone or another clone made it: merging onto it would merge
            # every task a second time.
            raise WavefrontError(f"branch {workspaces.integration_branch} exists; pick "
                                 "another run id or delete that branch")
        stored = {"settings": settings.to_json(),
                  "config": str(config.source) if config and config.source else None,
                  "notes": [*([review.note] if review.note else []),
                            *cluster_notes(settings)]}
        journal.create_run(run_id, repo=repo.root, base_commit=base,
                           branch=workspaces.integration_branch, options=stored, tasks=rows)
        workspaces.create_integration_branch(base)
        workspaces.pool.discard_interrupted()  # a reset an earlier process did not finish
        for task in plan.tasks:
            if task.status == TaskStatus.DONE and not options.include_done:
                journal.set_status(run_id, task.id, TaskStatus.SKIPPED,
                                   f"already merged on {task.merged_on}" if task.merged_on
                                   else "already done in the backlog file")
        return _drive(journal, repo, run_id, profiles, reporter)


def _check_mcp_extra(config: ProjectConfig) -> None:
    """`mcp: true` starts wavefront's MCP server for each agent: say so now, not in every
    agent's log, when the SDK is missing."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        where = f"{config.source}: " if config.source else ""
        raise WavefrontError(f"{where}mcp: true needs the MCP server's extra: "
                             "pip install 'wavefront[mcp]'")


def _base_commit(repo: GitRepo, plan: Plan, options: RunOptions) -> str:
    """Where the run's branch starts: the user's HEAD; or, when tasks are skipped as merged
    on the last run's integration branch, that branch (HEAD has not moved since) or a merge
    of the two, so the work that is not done again is in the new branch too."""
    head = repo.head_commit()
    if options.include_done:
        return head
    merged_on: dict[str, list[str]] = {}
    for task in plan.tasks:
        if task.status == TaskStatus.DONE and task.merged_on:
            merged_on.setdefault(task.merged_on, []).append(task.id)
    for branch, skipped in merged_on.items():
        tip = repo.rev_parse(f"refs/heads/{branch}")
        if tip is None:
            continue
        if repo.is_ancestor(head, tip):
            return tip
        both = repo.merge_tree(head, tip)
        if not both.clean:
            raise WavefrontError(
                f"{branch} holds the merged work of {plural(len(skipped), 'task')} this run "
                f"skips ({', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}), "
                f"and it conflicts with your HEAD in {', '.join(both.conflicts[:3])}: merge "
                f"it yourself (`git merge {branch}`), or pass --include-done to do those "
                "tasks again")
        message = f"wavefront: start from {branch} and HEAD\n"
        return repo.run("commit-tree", both.tree, "-p", head, "-p", tip, "-F", "-",
                        input=message).strip()
    return head


def resume_run(root: Path, run_id: str | None = None,
               reporter: ReporterFactory | None = None,
               budget_usd: float | None = None, executor: str | None = None,
               ray_address: str | None = None) -> RunResult:
    """Continue a run after Ctrl-C, a crash or a reboot (optionally with a new budget, or
    on another executor: `executor` "local" or "ray" with the cluster's `ray_address`)."""
    repo = GitRepo(root)
    state_dir = repo.root / STATE_DIR
    with RunLock(state_dir), open_journal(repo.root) as journal:
        run = resolve_run(journal, run_id)
        records = journal.tasks(run.id)
        if run.state in ("finished", "cancelled") and all(r.status.is_final for r in records):
            # Nothing left to run: the outcome as it stands, the run's record untouched.
            counts: dict[str, int] = {}
            for record in records:
                counts[record.status.value] = counts.get(record.status.value, 0) + 1
            return RunResult(run.id, run.branch, RunStop("finished", "nothing to resume"),
                             counts)
        profiles = load_profiles(repo.root, stored_config(run))
        if budget_usd is not None or executor is not None:
            _resume_with(journal, run, budget_usd, executor, ray_address)
        workspaces = GitWorkspaces(repo, run.id, state_dir)
        # A run killed between its journal entry and its branch has no branch yet.
        workspaces.create_integration_branch(run.base_commit)
        reconcile(journal, run, workspaces)
        _check_runners({r.runner for r in journal.tasks(run.id)
                        if r.runner and not r.status.is_final},
                       RunSettings.from_stored(resolve_run(journal, run.id).options))
        journal.set_run_state(run.id, "running", resumed=True)
        return _drive(journal, repo, run.id, profiles, reporter)


def _resume_with(journal: Journal, run: RunRecord, budget_usd: float | None,
                 executor: str | None, ray_address: str | None) -> None:
    """Store the settings `resume` was given: a budget, another executor (checked
    reachable before anything changes, and the run's notes said again for it)."""
    before = RunSettings.from_stored(run.options)
    update: dict[str, object] = {}
    if budget_usd is not None:
        update["budget_usd"] = budget_usd
    if executor is not None:
        update.update(executor_settings(executor, ray_address))
    settings = before.model_copy(update=update)
    changes: dict[str, object] = {"settings": settings.to_json()}
    if executor is not None:
        _executor(settings)
        old = cluster_notes(before)
        notes = run.options.get("notes")
        kept = [n for n in notes if n not in old] if isinstance(notes, list) else []
        changes["notes"] = [*kept, *cluster_notes(settings)]
    journal.update_run_options(run.id, changes)


def preview_prompt(root: Path, backlog: Backlog, plan: Plan, task_id: str,
                   runner: str | None = None) -> str:
    """The exact prompt the task would get from `wavefront run` (before any dependency
    has delivered), so it can be read before money is spent."""
    from wavefront.agents.prompt import agent_prompt

    task = plan.by_id.get(task_id)
    if task is None:
        known = ", ".join(list(plan.by_id)[:10])
        raise WavefrontError(f"no task {task_id!r} in the plan (tasks: {known})")
    config = backlog.config
    profiles = load_profiles(root, config)
    configured = config.defaults.runner if config else None
    settings = run_settings(backlog, RunOptions(runner=runner or configured or "script"))
    agent, chosen = agent_and_runner(task, profiles, config, settings)
    (task,) = default_review(config, [(task, agent, chosen)], settings, profiles).tasks
    return agent_prompt(task, profiles.get(agent), RunnerPool(settings.runner_settings).get(chosen),
                        gates=settings.gates_for(task, agent), ask_tool=settings.mcp)


def reconcile(journal: Journal, run: RunRecord, workspaces: GitWorkspaces) -> None:
    """Make the journal agree with git before anything is scheduled again.

    First, agents a dead engine left running are killed: they would otherwise go on
    writing into workspaces the new attempts are about to reuse.
    """
    killed = kill_tagged(run_tag(run.id, journal.path))
    if killed:
        journal.append_event(run.id, EventKind.AGENTS_KILLED, pids=killed,
                             reason="left running by the engine that stopped")
    journal.abandon_attempts(run.id, "the process running it stopped")
    integration = workspaces.integration_head()
    keep: set[str] = set()
    for record in journal.tasks(run.id):
        status = record.status
        if status == TaskStatus.DONE:
            workspaces.discard(record.task_id)  # a crash after its merge left its branch
        elif status == TaskStatus.MERGING:
            head = workspaces.repo.rev_parse(f"refs/heads/{workspaces.task_branch(record.task_id)}")
            merged = (workspaces.already_merged(record.task_id, head, integration)
                      if head is not None else None)
            if merged is not None and merged.ok and merged.commit is not None:
                journal.record_merge(run.id, record.task_id, merged.commit)
                workspaces.discard(record.task_id)
            elif head is None:
                journal.set_status(run.id, record.task_id, TaskStatus.PENDING,
                                   "resumed: its branch was gone, running it again")
            else:
                keep.add(record.task_id)  # the engine merges it again first
        elif status in (TaskStatus.RUNNING, TaskStatus.VERIFYING, TaskStatus.REVIEWING,
                        TaskStatus.READY):
            journal.set_status(run.id, record.task_id, TaskStatus.PENDING,
                               "resumed: the unfinished attempt was discarded")
        elif status in (TaskStatus.NEEDS_HUMAN, TaskStatus.FAILED, TaskStatus.CONFLICT):
            keep.add(record.task_id)
    workspaces.prune_stray(keep)


def cancel_run(root: Path, run_id: str | None, stop: Callable[[int], None],
               wait_s: float = 30.0) -> tuple[int | None, list[str]]:
    """Stop the process driving the run (if any), then cancel its unfinished tasks."""
    repo = GitRepo(root)
    lock = RunLock(repo.root / STATE_DIR)
    pid = lock.holder()
    if pid is not None and pid > 0:
        stop(pid)
        deadline = time.monotonic() + wait_s
        while lock.holder() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
    with lock, open_journal(repo.root) as journal:
        run = resolve_run(journal, run_id)
        if pid is None and run.state in ("finished", "cancelled"):
            raise WavefrontError(f"run {run.id} is {run.state}: nothing to cancel")
        cancelled = []
        for record in journal.tasks(run.id):
            if not record.status.is_final:
                journal.set_status(run.id, record.task_id, TaskStatus.CANCELLED,
                                   "cancelled by `wavefront cancel`")
                cancelled.append(record.task_id)
        journal.set_run_state(run.id, "cancelled")
    return pid, cancelled


def clean(root: Path) -> list[Path]:
    """Remove kept worktrees, task branches and released workspaces kept for reuse."""
    repo = GitRepo(root)
    state_dir = repo.root / STATE_DIR
    removed: list[Path] = []
    with RunLock(state_dir), open_journal(repo.root) as journal:
        for run in journal.runs():
            workspaces = GitWorkspaces(repo, run.id, state_dir)
            removed.extend(workspaces.prune_stray(keep=()))
            removed.extend(workspaces.pool.clear())  # shared by the runs: empty after one
            workspaces.delete_run_branches()
    return removed


def _drive(journal: Journal, repo: GitRepo, run_id: str,
           profiles: Mapping[str, AgentProfile], reporter: ReporterFactory | None
           ) -> RunResult:
    run = resolve_run(journal, run_id)
    settings = RunSettings.from_stored(run.options)
    flow = TaskFlow(
        journal, run_id, GitWorkspaces(repo, run_id, repo.root / STATE_DIR,
                                       protected=settings.protected,
                                       pool=settings.max_parallel + settings.verify_parallel),
        RunnerPool(settings.runner_settings), profiles, settings,
        repo.root / STATE_DIR / "logs" / run_id,
        hooks=_hooks(journal, run_id),
        write_back=_write_back(repo.root) if settings.writeback else None,
        sandbox=_sandbox_for(repo, settings),
        executor=_executor(settings),
    )
    engine = Engine(journal, run_id, flow, settings)
    live = _live_files(journal, repo, run_id, settings.state_files)
    if live is not None:
        journal.listeners.append(live)
    try:
        return _drive_engine(journal, run, engine, reporter)
    finally:
        if live is not None:
            journal.listeners.remove(live)


def _sandbox_for(repo: GitRepo, settings: RunSettings
                 ) -> Callable[[Path], Callable[[Sequence[str]], list[str]]] | None:
    """How each agent is put in the run's sandbox, from its workspace's path."""
    if settings.sandbox == "bwrap":
        network = settings.sandbox_network
        return lambda workspace: bwrap_wrapper(workspace, network)
    if settings.sandbox == "checkout":
        wrapper = checkout_wrapper((repo.root, repo.git_dir), repo.root / STATE_DIR)
        return lambda workspace: wrapper
    return None


def _live_files(journal: Journal, repo: GitRepo, run_id: str, state_files: bool
                ) -> LiveFiles | None:
    """The state and session files kept current during the run, or None when none are."""
    live = LiveFiles(journal, run_id, repo.root,
                     state_dir=repo.root / STATE_FILES_DIR if state_files else None)
    if not live.needed:
        return None
    # Not the user's side of the checkout: the guard must not blame an agent for them.
    repo.ensure_excluded(f"{STATE_FILES_DIR}/")
    repo.ensure_excluded(".tmp/sessions/")
    live.write()
    return live


def _drive_engine(journal: Journal, run: RunRecord, engine: Engine,
                  reporter: ReporterFactory | None) -> RunResult:
    run_id = run.id
    view = reporter(journal, run_id) if reporter is not None else None
    if view is None:
        stop = asyncio.run(_run_with_signals(engine))
    else:
        journal.listeners.append(view)
        try:
            with view:
                stop = asyncio.run(_run_with_signals(engine))
        finally:
            journal.listeners.remove(view)
    kill_tagged(run_tag(run_id, journal.path))  # every attempt is over: nothing of theirs may stay
    journal.set_run_state(run_id, stop.state, reason=stop.reason)
    counts: dict[str, int] = {}
    for record in journal.tasks(run_id):
        counts[record.status.value] = counts.get(record.status.value, 0) + 1
    return RunResult(run_id, run.branch, stop, counts)


def _check_runners(names: set[str], settings: RunSettings) -> None:
    """The pre-flight: every agent CLI the run will use can run here, or `PreflightError`
    (exit 2) lists each problem before a task starts or a retry is spent. On a cluster
    the CLIs are the workers' (`wavefront doctor --executor ray` checks them there)."""
    if settings.executor != "local":
        return
    pool = RunnerPool(settings.runner_settings)
    preflight({name: pool.get(name) for name in sorted(names)})


def _executor(settings: RunSettings) -> Executor | None:
    """The run's executor: None for agents here, connected to its cluster for Ray."""
    if settings.executor != "ray":
        return None
    from wavefront.executors.rayexec import RayExecutor  # only a Ray run imports Ray

    return RayExecutor(settings.ray_address or "")


def _write_back(root: Path) -> WriteBack:
    """The backlog write-back of a run in `root` (each format's own module)."""
    from wavefront.backlog.writeback import write_back

    return lambda task, completion, read: write_back(task, completion, read, root)


def _hooks(journal: Journal, run_id: str) -> tuple[DoneHook, ...]:
    """The done-hooks a run needs: the workflow's, when its tasks came from a workflow."""
    from wavefront.backlog import stories, taskjson
    from wavefront.workflow import uses_workflow
    from wavefront.workflow.runtime import WorkflowHook

    if any(uses_workflow(r.task) for r in journal.tasks(run_id)):
        return (WorkflowHook({"stories": lambda path: stories.load(path).tasks,
                              "subtasks": lambda path: taskjson.load(path).tasks}),)
    return ()


async def _run_with_signals(engine: Engine) -> RunStop:
    loop = asyncio.get_running_loop()
    with _signals(loop, engine):
        return await engine.run()


@contextlib.contextmanager
def _signals(loop: asyncio.AbstractEventLoop, engine: Engine) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed) stop dispatching and cancel
    agents; the run stays resumable."""
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, engine.stop, "interrupted")
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)

