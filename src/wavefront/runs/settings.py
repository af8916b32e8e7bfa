"""A run's settings: what the user chose on the command line, over `wavefront.yaml`,
over the defaults; and who does each task, through which runner."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wavefront.agents import assign_agent
from wavefront.agents.runners import NOT_AGENTS, RUNNERS
from wavefront.backlog.base import Backlog
from wavefront.config import ProjectConfig, load_config
from wavefront.engine.settings import RunSettings
from wavefront.errors import WavefrontError
from wavefront.journal.database import RunRecord
from wavefront.model import AgentProfile, GateSpec, Task
from wavefront.workspace.sandbox import SANDBOXES, resolve
from wavefront.workspace.sandbox import unavailable as sandbox_unavailable

__all__ = [
    "RunOptions",
    "agent_and_runner",
    "agent_gates",
    "chosen_sandbox",
    "cluster_notes",
    "run_settings",
    "stored_config",
]


@dataclass(frozen=True)
class RunOptions:
    """What the user chose on the command line; None means "from wavefront.yaml or default"."""

    run_id: str | None = None
    runner: str | None = None
    max_parallel: int | None = None
    per_runner: Mapping[str, int] = field(default_factory=dict)
    strategy: str = "dependency"
    retries: int | None = None
    fix_rounds: int | None = None
    timeout_s: float | None = None
    verify: str | None = None
    budget_usd: float | None = None
    include_done: bool = False
    wait_for_humans: bool = False
    outside_writes: str = "fail"
    sandbox: str | None = None
    sandbox_network: bool | None = None
    runner_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    executor: str = "local"
    ray_address: str | None = None


def run_settings(backlog: Backlog, options: RunOptions) -> RunSettings:
    """The run's settings: the command line over `wavefront.yaml` over the defaults."""
    config = backlog.config
    defaults = config.defaults if config else None
    limits = config.limits if config else None
    runner_settings: dict[str, dict[str, Any]] = {
        name: dict(values) for name, values in (config.runners if config else {}).items()}
    if config is not None:
        for settings_of_runner in runner_settings.values():
            # Paths in wavefront.yaml are relative to the file, not to the cwd.
            solutions = settings_of_runner.get("solutions_dir")
            if solutions is not None and not Path(solutions).is_absolute():
                settings_of_runner["solutions_dir"] = str(config.base_dir / solutions)
    for name, extra in options.runner_settings.items():
        runner_settings.setdefault(name, {}).update(extra)
    default_runner = options.runner or (defaults.runner if defaults else None)
    if default_runner is None:
        agents_first = sorted(RUNNERS, key=lambda name: name in NOT_AGENTS)
        raise WavefrontError(f"no runner chosen: pass --runner ({', '.join(agents_first)}) "
                             "or set defaults.runner in wavefront.yaml")
    review = config.review if config else None
    settings = RunSettings(
        max_parallel=options.max_parallel or (limits.max_parallel if limits else None)
        or min(4, os.cpu_count() or 1) or 1,
        per_runner={**(limits.per_runner if limits else {}), **options.per_runner},
        strategy="waves" if options.strategy == "waves" else "dependency",
        retries=options.retries if options.retries is not None
        else (defaults.retries if defaults else 0),
        timeout_s=options.timeout_s or (defaults.timeout if defaults else 1800.0),
        verify=_verify(options.verify or (config.verify_mode if config else "branch")),
        verify_parallel=config.verify_parallel if config else 1,
        review_rounds=review.max_rounds if review else 2,
        on_review_limit=review.on_limit if review else "needs-human",
        fix_rounds=options.fix_rounds if options.fix_rounds is not None
        else (defaults.fix_rounds if defaults else 2),
        writeback=config.writeback if config else True,
        state_files=bool(config and config.state_files),
        mcp=bool(config and config.mcp),
        gates=config.gate_specs if config else (),
        budget_usd=options.budget_usd or (limits.max_cost_usd if limits else None),
        wait_for_humans=options.wait_for_humans,
        outside_writes="warn" if options.outside_writes == "warn" else "fail",
        setup=tuple(config.workspace.setup) if config else (),
        copy_files=tuple(config.workspace.copy_files) if config else (),
        teardown=tuple(config.workspace.teardown) if config else (),
        sandbox=_sandbox(chosen_sandbox(backlog, options)),
        sandbox_required=(options.sandbox or (config.sandbox if config else None))
        not in (None, "auto"),
        sandbox_network=options.sandbox_network if options.sandbox_network is not None
        else (config.sandbox_network if config else True),
        protected=tuple(config.protected) if config else (".env*",),
        default_runner=default_runner,
        runner_settings=runner_settings,
        agent_gates=agent_gates(config),
        **executor_settings(options.executor, options.ray_address),
    )
    return settings


def chosen_sandbox(backlog: Backlog, options: RunOptions) -> str:
    """The sandbox agents run in: the command line's, else `wavefront.yaml`'s, else
    `checkout` where bubblewrap works; `auto` is `bwrap` where it works. Where it does not,
    the default and `auto` are none, while an explicit choice stays (and is refused)."""
    config = backlog.config
    chosen = options.sandbox or (config.sandbox if config else None)
    if chosen not in (None, "auto"):
        return chosen
    return resolve(chosen, sandbox_unavailable() is None)


def _sandbox(chosen: str) -> Literal["none", "checkout", "bwrap"]:
    if chosen not in SANDBOXES:
        raise WavefrontError(f"unknown sandbox {chosen!r}; expected none, checkout, bwrap "
                             "or auto")
    return "bwrap" if chosen == "bwrap" else "checkout" if chosen == "checkout" else "none"


def executor_settings(executor: str, address: str | None) -> dict[str, Any]:
    """The executor part of a run's settings, checked: Ray needs its head's address."""
    if executor not in ("local", "ray"):
        raise WavefrontError(f"--executor must be local or ray, not {executor!r}")
    if executor == "local":
        return {"executor": "local", "ray_address": None}
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        raise WavefrontError("--executor ray needs the cluster's head: --address HOST:PORT "
                             "(or RAY_ADDRESS)")
    return {"executor": "ray", "ray_address": address}


def cluster_notes(settings: RunSettings) -> list[str]:
    """What the run's settings ask for that agents on a cluster's workers do not get, one
    line each, for the run to say at its start."""
    if settings.executor == "local" or not settings.mcp:
        return []
    return ["mcp: true applies to agents on this machine only: agents on the cluster get "
            "no MCP server, so they cannot ask a person"]


def stored_config(run: RunRecord) -> ProjectConfig | None:
    """The run's wavefront.yaml again, for its inline agent profiles (None if gone)."""
    path = run.options.get("config")
    if not path or not Path(path).is_file():
        return None
    return load_config(Path(path))


def _verify(value: str) -> Any:
    if value not in ("merged", "branch", "none"):
        raise WavefrontError(f"--verify must be merged, branch or none, not {value!r}")
    return value


def agent_and_runner(task: Task, profiles: Mapping[str, AgentProfile],
                      config: ProjectConfig | None, settings: RunSettings) -> tuple[str, str]:
    """Who does `task` and through which runner: the task's own runner, else its agent's,
    else the run's default."""
    default_agent = (config.defaults.agent if config and config.defaults.agent
                     else "full-stack-engineer")
    agent = assign_agent(task, profiles, default=default_agent).agent
    profile = profiles.get(agent)
    runner = task.options.runner or (profile.runner if profile and profile.runner
                                     else settings.default_runner)
    return agent, runner


def agent_gates(config: ProjectConfig | None) -> dict[str, tuple[GateSpec, ...]]:
    if config is None:
        return {}
    return {name: tuple(GateSpec(g.kind, g.options) for g in agent.gates)
            for name, agent in config.agents.items() if agent.gates}

