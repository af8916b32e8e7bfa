"""The Ray executor: each agent attempt is a Ray task on a worker node of the cluster.

The journal and the merge queue stay here, with the coordinator. An attempt's workspace
is made here as for a local run (the gates and the merge queue use it afterwards); what
it starts from goes to the worker as a bundle through Ray's object store, and the
worker's commits come back as a bundle that is fetched into that workspace, so the task
flow carries on as if the agent had run here.

Placement: a task asks for one unit of the Ray resource named after its runner
(`agent_resource`), so a node offers as many agents of a kind as it can run, and a node
without that CLI offers none and never gets its tasks. Rate-limit pauses need nothing
here: the coordinator's runner pool holds them for the whole cluster.

A worker node that dies mid-attempt returns a `LOST` result (the task runs again on
another node, no retry spent); the attempt's work was never fetched, so it cannot be
merged twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from wavefront.engine.executor import AttemptJob
from wavefront.executors.raycluster import agent_resource, connect
from wavefront.executors.worker import WorkerJob, WorkerResult, run_here
from wavefront.model import AgentResult, FailureKind, GateResult
from wavefront.workspace.bundles import bundle_of, fetch_bundle
from wavefront.workspace.git import run_git

__all__ = ["RayExecutor"]

# How long the cluster's offered resources are trusted before they are read again.
_RESOURCES_TTL_S = 5.0
# Ray's errors that mean the attempt's node or process went away, not that it failed.
_LOST = ("NodeDiedError", "WorkerCrashedError", "ObjectLostError", "OwnerDiedError",
         "LocalRayletDiedError", "RaySystemError", "ObjectFetchTimedOutError")


def _on_worker(job: WorkerJob) -> WorkerResult:
    """The Ray task: runs in a worker process of whichever node Ray picked."""
    import ray

    return run_here(job, ray.get, ray.get_runtime_context().get_node_id())


class RayExecutor:
    """Runs attempts as Ray tasks on the cluster at `address`."""

    name = "ray"
    remote = True

    def __init__(self, address: str, worker_dir: str | None = None) -> None:
        self.address = address
        self.worker_dir = worker_dir
        self._ray = connect(address)
        self._task = self._ray.remote(_on_worker)
        self._anchor: tuple[str, Any] | None = None  # (commit, its whole-history bundle)
        self._anchor_lock = threading.Lock()
        # attempt tag -> (commit, its command gates' results) checked on the worker
        self._checked: dict[str, tuple[str, dict[str, GateResult]]] = {}
        self._offered: tuple[float, dict[str, float]] = (0.0, {})

    async def run(self, job: AttemptJob) -> AgentResult:
        workspace = job.request.workspace
        if _merging(workspace):
            # A conflict round's merge in progress is no commit and cannot travel.
            return await job.runner.run(job.request)
        resource = agent_resource(job.runner_name)
        if self._offer(resource) <= 0:
            return AgentResult(
                ok=False, failure=FailureKind.ERROR,
                reason=f"no node of the Ray cluster offers resource {resource!r}; start "
                       f"workers with `ray start --resources '{{\"{resource}\": N}}'`")
        worker_job = await asyncio.to_thread(self._job, job)
        ref = self._task.options(
            num_cpus=0, resources={resource: 1}, max_retries=0,
            scheduling_strategy="SPREAD").remote(worker_job)
        try:
            done: WorkerResult = await ref
        except asyncio.CancelledError:
            self._ray.cancel(ref, force=True)
            raise
        except Exception as exc:
            return _failure(exc)
        await asyncio.to_thread(self._receive, job, done)
        if done.head is not None and done.gates:
            self._checked[job.attempt_tag] = (done.head, done.gates)
        return replace(done.result, log_path=job.request.log_path)

    def checked_gates(self, attempt_tag: str, head: str | None) -> Mapping[str, GateResult]:
        """The command gates the worker checked, once, if the commit is still the one."""
        checked = self._checked.pop(attempt_tag, None)
        if checked is None or head is None or checked[0] != head:
            return {}
        return checked[1]

    # -- what goes out and what comes back ------------------------------------------------

    def _job(self, job: AttemptJob) -> WorkerJob:
        workspace = job.request.workspace
        start = run_git(workspace, "rev-parse", "--verify", "HEAD^{commit}").stdout.strip()
        with self._anchor_lock:  # one whole-history bundle per coordinator
            if self._anchor is None:
                self._anchor = (start, self._ray.put(bundle_of(workspace)))
            anchor, anchor_ref = self._anchor
        delta = None if start == anchor else bundle_of(workspace, exclude=anchor)
        return WorkerJob(
            repo_key=_repo_key(job.repo_root or workspace), start=start, anchor=anchor,
            bundles={"anchor": anchor_ref,
                     "delta": self._ray.put(delta) if delta is not None else None},
            runner_kind=job.runner_kind, runner_settings=dict(job.runner_settings),
            request=job.request, commit_message=job.commit_message,
            attempt_tag=job.attempt_tag, setup=job.setup, worker_dir=self.worker_dir,
            gates=job.gates, attempt_number=job.attempt_number, sandbox=job.sandbox,
            copied=dict(job.copied),
            checkout=str(job.repo_root) if job.repo_root is not None else None)

    def _receive(self, job: AttemptJob, done: WorkerResult) -> None:
        log = job.request.log_path
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            handle.write(done.log)
        for name, text in done.gate_logs.items():
            (log.parent / name).write_bytes(text)
        if done.bundle is not None and done.head is not None:
            workspace = job.request.workspace
            fetch_bundle(workspace, done.bundle, done.head)
            run_git(workspace, "reset", "--quiet", "--hard", done.head)

    def _offer(self, resource: str) -> float:
        read_at, offered = self._offered
        if time.monotonic() - read_at > _RESOURCES_TTL_S:
            offered = {str(k): float(v) for k, v in self._ray.cluster_resources().items()}
            self._offered = (time.monotonic(), offered)
        return offered.get(resource, 0.0)


def _failure(exc: BaseException) -> AgentResult:
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if kinds.intersection(_LOST):
        return AgentResult(ok=False, failure=FailureKind.LOST,
                           reason=f"the worker running the attempt was lost "
                                  f"({type(exc).__name__})")
    cause = getattr(exc, "cause", None) or exc
    first = str(cause).strip().splitlines()[-1:] or [type(cause).__name__]
    return AgentResult(ok=False, failure=FailureKind.ERROR,
                       reason=f"the attempt failed on its worker: {first[0]}")


def _merging(workspace: Path) -> bool:
    return (workspace / ".git" / "MERGE_HEAD").exists()


def _repo_key(root: Path) -> str:
    """The name of a project's clone on the workers: the same for every run of it."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
