"""One agent attempt on a worker machine: workspace, setup, agent, commit, the task's
command gates on that commit, and the result bundle.

This is what runs inside a Ray task, but nothing here needs Ray: the caller hands over a
way to read the bundles (`get`) and the node's id. The workspace is made from the
worker's cached clone (`WorkerCache`), which fetches only the commits it lacks, and it
is removed when the attempt ends, whatever happened; a workspace that an interrupted
attempt left behind is removed when the same attempt runs again on that node.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wavefront.agents.runners import make_runner
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.command import keep_prompt
from wavefront.gates.base import GateContext
from wavefront.gates.registry import check_gates, spec_key
from wavefront.lifetime import attempt_scope
from wavefront.model import AgentResult, FailureKind, GateResult, GateSpec
from wavefront.workspace.attempt_repo import reclaim
from wavefront.workspace.bundles import WorkerCache, bundle_of
from wavefront.workspace.git import GitRepo, run_git, safe_name
from wavefront.workspace.sandbox import SandboxChoice, bwrap_wrapper, checkout_wrapper
from wavefront.workspace.sandbox import unavailable as sandbox_unavailable

__all__ = ["WORKER_DIR_VARIABLE", "WorkerJob", "WorkerResult", "run_here", "worker_root"]

# Where a worker keeps its clones and workspaces (default: the system's temporary folder).
WORKER_DIR_VARIABLE = "WAVEFRONT_WORKER_DIR"


@dataclass(frozen=True)
class WorkerJob:
    """What the coordinator sends: the commit to start from and how to get it, the
    runner to build, the agent's request (its paths are the coordinator's), the commit
    message and the workspace's setup commands."""

    repo_key: str
    start: str  # the commit the workspace starts from
    anchor: str  # the first commit this coordinator sent whole
    bundles: Mapping[str, Any]  # "anchor", "delta": references to bundles, read on demand
    runner_kind: str
    runner_settings: Mapping[str, Any]
    request: AgentRequest
    commit_message: str
    attempt_tag: str
    setup: tuple[str, ...] = ()
    worker_dir: str | None = None
    gates: tuple[GateSpec, ...] = ()  # command gates, checked here on the attempt's commit
    attempt_number: int = 1
    sandbox: SandboxChoice = field(default_factory=SandboxChoice)  # the run's, applied here
    copied: Mapping[str, bytes] = field(default_factory=dict)  # from the user's checkout
    checkout: str | None = None  # the user's repository, on the coordinator's machine


@dataclass(frozen=True)
class WorkerResult:
    """What comes back: the runner's result, the attempt's commit and the bundle that
    brings it (None when the agent changed nothing), the log, and where it ran."""

    result: AgentResult
    head: str | None
    bundle: bytes | None
    log: bytes
    node: str
    fetched: str
    seconds: float
    gates: dict[str, GateResult] = field(default_factory=dict)  # by `spec_key`
    gate_logs: dict[str, bytes] = field(default_factory=dict)  # file name -> its log


def worker_root(override: str | None = None) -> Path:
    chosen = override or os.environ.get(WORKER_DIR_VARIABLE)
    return Path(chosen) if chosen else Path(tempfile.gettempdir()) / "wavefront-worker"


def run_here(job: WorkerJob, get: Callable[[Any], bytes], node: str) -> WorkerResult:
    """Run the attempt on this machine; an agent's failure is a result, not an exception."""
    started = time.monotonic()
    cache = WorkerCache(worker_root(job.worker_dir) / safe_name(node))
    delta = job.bundles.get("delta")
    fetched = cache.ensure(job.repo_key, job.start, job.anchor,
                           lambda: get(job.bundles["anchor"]),
                           lambda: get(delta) if delta is not None else None)
    name = safe_name(job.attempt_tag)
    path = cache.workspace(job.repo_key, name, job.start)
    log_path = cache.root / "logs" / f"{name}.log"
    gate_dir = cache.root / "logs" / f"{name}-gates"
    try:
        here = str(path)
        away = str(job.request.workspace)
        # The workspace's variables name the coordinator's folder; here it is this one.
        env = {key: value.replace(away, here) for key, value in job.request.env.items()}
        request = replace(job.request, workspace=path, log_path=log_path, env=env, mcp=None)
        _write_copied(job.copied, path)
        result = _setup(job.setup, path, env) or _agent(
            job, request, cache.repository(job.repo_key), node)
        head, bundle = None, None
        gates: dict[str, GateResult] = {}
        gate_logs: dict[str, bytes] = {}
        if result.ok:
            head, bundle = _commit(cache.repository(job.repo_key), path, job)
            gates, gate_logs = _gates(job, request, head, gate_dir, node)
        log = log_path.read_bytes() if log_path.is_file() else b""
        return WorkerResult(replace(result, log_path=None), head, bundle, log, node, fetched,
                            time.monotonic() - started, gates, gate_logs)
    finally:
        cache.remove(path)
        shutil.rmtree(gate_dir, ignore_errors=True)
        for leftover in log_path.parent.glob(f"{name}.*"):
            leftover.unlink(missing_ok=True)


def _write_copied(copied: Mapping[str, bytes], workspace: Path) -> None:
    """Put the files the coordinator copied from the user's checkout into `workspace`, as
    its own workspace has them (ignored by git there too)."""
    for name, data in copied.items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            continue  # the coordinator sends paths inside the checkout only
        target = workspace / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _setup(commands: tuple[str, ...], path: Path, env: Mapping[str, str]) -> AgentResult | None:
    """Run the workspace's setup commands; a failed one is the attempt's failure."""
    for command in commands:
        done = subprocess.run(["sh", "-c", command], cwd=path, env={**os.environ, **env},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return AgentResult(ok=False, failure=FailureKind.ERROR,
                               reason=f"setup `{command}` failed on the worker "
                                      f"(exit {done.returncode}): {tail[0]}")
    return None


def _agent(job: WorkerJob, request: AgentRequest, clone: Path, node: str) -> AgentResult:
    runner = make_runner(job.runner_kind, job.runner_settings)
    keep_prompt(request.log_path, request.prompt)
    missing = sandbox_unavailable() if job.sandbox.mode != "none" else None
    if missing is not None and job.sandbox.required:
        return AgentResult(ok=False, failure=FailureKind.ERROR,
                           reason=f"the {job.sandbox.mode} sandbox cannot run on worker node "
                                  f"{node[:12]}: {missing}")
    if missing is not None:  # the default sandbox, where bubblewrap works: not here
        with request.log_path.open("a", encoding="utf-8") as log:
            log.write(f"[no {job.sandbox.mode} sandbox on this node: {missing}]\n")
    wrap = _sandbox_wrapper(job, request.workspace, clone) if missing is None else None

    async def run() -> AgentResult:
        # The agent's processes carry the attempt's tag here as on the coordinator.
        with attempt_scope(job.attempt_tag, lambda pgid: None, wrap):
            return await runner.run(request)

    return asyncio.run(run())


def _sandbox_wrapper(job: WorkerJob, workspace: Path, clone: Path
                     ) -> Callable[[Sequence[str]], list[str]] | None:
    """How the agent is put in the run's sandbox on this node (None: the run has none)."""
    if job.sandbox.mode == "bwrap":
        return bwrap_wrapper(workspace, job.sandbox.network)
    if job.sandbox.mode != "checkout":
        return None
    # This node's clone stands for the user's repository: read-only to the agent, as the
    # objects every workspace here borrows; on the coordinator's machine the user's
    # repository is too.
    checkout = Path(job.checkout) if job.checkout else None
    return checkout_wrapper([clone, *([checkout] if checkout and checkout.is_dir() else [])],
                            workspace)


def _gates(job: WorkerJob, request: AgentRequest, head: str, gate_dir: Path, node: str
           ) -> tuple[dict[str, GateResult], dict[str, bytes]]:
    """Check the command gates on the attempt's commit, here; their logs go back by name,
    and the results say where they ran and where the coordinator keeps their logs."""
    if not job.gates:
        return {}, {}
    gate_dir.mkdir(parents=True, exist_ok=True)
    context = GateContext(task=request.task, workspace=request.workspace, log_dir=gate_dir,
                          base_commit=job.start, head_commit=head,
                          attempt=job.attempt_number, env=request.env)
    results = asyncio.run(check_gates(job.gates, context, auto_deliverables=False))
    there = job.request.log_path.parent  # the coordinator's folder of the task's logs
    checked = {}
    for spec, result in zip(job.gates, results, strict=False):
        details = result.details.replace(str(gate_dir), str(there))
        checked[spec_key(spec)] = replace(
            result, details=f"checked on worker node {node[:12]}\n{details}")
    logs = {entry.name: entry.read_bytes() for entry in gate_dir.iterdir() if entry.is_file()}
    return checked, logs


def _commit(clone: Path, path: Path, job: WorkerJob) -> tuple[str, bytes | None]:
    """Commit what the agent left (its own commits stay) and bundle it from the start."""
    reclaim(GitRepo(clone), path)  # the agent may have rewritten the git directory's config
    run_git(path, "add", "--all")
    staged = run_git(path, "diff", "--cached", "--quiet", check=False)
    if staged.returncode != 0:
        run_git(path, "commit", "--quiet", "--no-verify", "-F", "-", input=job.commit_message)
    head = run_git(path, "rev-parse", "--verify", "HEAD^{commit}").stdout.strip()
    return head, bundle_of(path, exclude=job.start)
