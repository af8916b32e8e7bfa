"""`wavefront doctor --executor ray`: the cluster's nodes, what each offers, and which
agent CLIs each one really has.

A small Ray task is pinned to every live node; it looks for each CLI's program there
(and git, which every worker needs). A node that offers an agent resource without the
CLI would take that runner's tasks and fail them, so that is reported as a problem.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wavefront.executors.raycluster import agent_resource, connect, nodes
from wavefront.words import plural

__all__ = ["NodeCheck", "check_cluster", "format_cluster"]

# How long a node may take to answer the probe before it is reported as silent.
_PROBE_TIMEOUT_S = 60.0
# Resources Ray sets itself; the rest are what the node was started with.
_BUILT_IN = ("memory", "object_store_memory")
# Resources that are no agent's: what a node's hardware offers.
_RAY_OWN = ("CPU", "GPU", "accelerator_type")


@dataclass(frozen=True)
class NodeCheck:
    node_id: str
    address: str
    head: bool
    resources: dict[str, float]
    clis: dict[str, str | None]  # runner -> where its program is on the node, or None
    git: str | None  # `git --version` there
    problems: tuple[str, ...]


def _probe(executables: Mapping[str, Sequence[str]]) -> tuple[dict[str, str | None], str | None]:
    """Runs on a node: each runner's program as found on PATH there, and git's version."""
    found = {runner: next((p for name in names if (p := shutil.which(name))), None)
             for runner, names in executables.items()}
    try:
        git = subprocess.run(["git", "--version"], capture_output=True, text=True,
                             check=False, timeout=10).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        git = None
    return found, git


def check_cluster(address: str, executables: Mapping[str, Sequence[str]]) -> list[NodeCheck]:
    """One `NodeCheck` per node of the cluster at `address` (`executables`: each agent
    runner's program names, as `doctor` knows them)."""
    ray = connect(address)
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(_probe)
    checks = []
    for node in nodes(ray):
        resources = {k: v for k, v in node.resources.items()
                     if k not in _BUILT_IN and not k.startswith("node:")}
        if not node.alive:
            checks.append(NodeCheck(node.node_id, node.address, node.head, resources, {},
                                    None, ("the node is dead",)))
            continue
        ref = probe.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
            node.node_id, soft=False)).remote(dict(executables))
        try:
            clis, git = ray.get(ref, timeout=_PROBE_TIMEOUT_S)
        except Exception as exc:  # a node that cannot run a task cannot run an agent
            checks.append(NodeCheck(node.node_id, node.address, node.head, resources, {},
                                    None, (f"the node did not answer: {type(exc).__name__}",)))
            continue
        problems = [f"offers {agent_resource(runner)!r} but {runner} is not installed there"
                    for runner, path in clis.items()
                    if path is None and resources.get(agent_resource(runner), 0) > 0]
        if git is None:
            problems.append("git is not installed there")
        checks.append(NodeCheck(node.node_id, node.address, node.head, resources, clis, git,
                                tuple(problems)))
    return checks


def format_cluster(address: str, checks: Sequence[NodeCheck]) -> str:
    """Plain lines for an 80-column terminal: one block per node."""
    alive = sum(1 for check in checks if "the node is dead" not in check.problems)
    lines = [f"Ray cluster at {address}: {plural(alive, 'node')} alive"]
    for check in checks:
        role = ", head" if check.head else ""
        lines.append(f"node {check.node_id[:12]} ({check.address}{role})")
        offered = ", ".join(f"{name} {value:g}" for name, value in sorted(check.resources.items()))
        lines.append(f"  resources: {offered or 'none'}")
        installed = sorted(runner for runner, path in check.clis.items() if path)
        if check.clis:
            lines.append(f"  agent CLIs: {', '.join(installed) or 'none'}")
        if check.git:
            lines.append(f"  {check.git}")
        lines += [f"  - {problem}" for problem in check.problems]
    if not any(name not in _RAY_OWN for check in checks for name in check.resources):
        lines.append("No node offers an agent resource: start workers with")
        lines.append("  ray start --address HEAD:PORT --resources '{\"claude\": 2}'")
    return "\n".join(wrapped for line in lines for wrapped in _wrap(line))


def _wrap(line: str) -> list[str]:
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return textwrap.wrap(line, width=80, subsequent_indent=indent,
                         break_on_hyphens=False) or [line]
