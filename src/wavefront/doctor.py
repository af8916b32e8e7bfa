"""`wavefront doctor`: which agent CLIs this machine can run, and whether they are ready.

For each CLI runner it runs the same checks as the pre-flight of `wavefront run`
(`agents.preflight`): installed, version among the tested ones, credentials or provider,
base URL reachable, with the runner settings of the project's `wavefront.yaml` when there
is one. It also says whether the runner was verified against the real CLI or written from
the CLI's documents only. Nothing is sent to a model: a key may still be wrong or out of
credit.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wavefront.agents.preflight import check_runner
from wavefront.agents.runners.aider import AiderRunner
from wavefront.agents.runners.claude import ClaudeRunner
from wavefront.agents.runners.cliutil import CliRunner
from wavefront.agents.runners.codex import CodexRunner
from wavefront.agents.runners.cursor import CursorRunner
from wavefront.agents.runners.gemini import GeminiRunner
from wavefront.agents.runners.goose import GooseRunner
from wavefront.agents.runners.opencode import OpenCodeRunner
from wavefront.agents.runners.qwen import QwenRunner
from wavefront.workspace.sandbox import resolve, unavailable

__all__ = [
    "CLI_RUNNERS",
    "AgentCheck",
    "SandboxCheck",
    "check_agents",
    "check_cluster",
    "check_sandbox",
    "format_checks",
    "format_sandbox",
]

CLI_RUNNERS: tuple[type[CliRunner], ...] = (
    ClaudeRunner,
    CodexRunner,
    GeminiRunner,
    OpenCodeRunner,
    AiderRunner,
    QwenRunner,
    CursorRunner,
    GooseRunner,
)


@dataclass(frozen=True)
class AgentCheck:
    """What `doctor` found about one agent CLI."""

    runner: str  # the runner name to use in wavefront.yaml (`runner: claude`)
    executable: str  # the program looked for
    path: str | None  # where it was found, None when not installed
    version: str | None  # first line of `--version`, None when unknown
    authenticated: bool  # credentials or a provider are configured
    auth_evidence: str  # which ones, or what is missing
    verified: bool  # the runner was checked against the real CLI
    problems: tuple[str, ...]  # what the pre-flight of a run would refuse

    @property
    def installed(self) -> bool:
        return self.path is not None


def check_agents(
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    which: Callable[[str], str | None] = shutil.which,
    runners: Sequence[type[CliRunner]] = CLI_RUNNERS,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[AgentCheck]:
    """One `AgentCheck` per CLI runner, in a fixed order, for this machine (`settings`:
    the runner settings of wavefront.yaml, by runner name)."""
    env = os.environ if environ is None else environ
    checks = []
    for cls in runners:
        try:
            runner = cls(**dict((settings or {}).get(cls.name, {})))
        except (TypeError, ValueError):
            runner = cls()  # `validate` reports bad settings; doctor checks the machine
        found = next(((n, p) for n in cls.executable_names if (p := which(n)) is not None),
                     None)
        if found is not None and runner.executable == cls.executable_names[0]:
            runner.executable = found[0]
        check = check_runner(cls.name, runner, environ=env, home=home, which=which)
        credential_problem = any(p.kind == "credentials" for p in check.problems)
        checks.append(AgentCheck(
            runner=cls.name, executable=check.executable, path=check.path,
            version=check.version, authenticated=not credential_problem,
            auth_evidence=check.credentials, verified=cls.verified,
            problems=tuple(p.message for p in check.problems)))
    return checks


@dataclass(frozen=True)
class SandboxCheck:
    """Whether the bubblewrap sandbox works here, and what the project asks for."""

    available: bool
    reason: str | None  # why it does not work here (None when it does)
    configured: str | None  # `sandbox` of wavefront.yaml (None: not set)
    network: bool  # `sandbox_network` of wavefront.yaml
    used: str  # the sandbox a run here puts its agents in: none, checkout or bwrap


def check_sandbox(configured: str | None = None, network: bool = True) -> SandboxCheck:
    missing = unavailable()
    return SandboxCheck(missing is None, missing, configured, network,
                        resolve(configured, missing is None))


def format_sandbox(check: SandboxCheck) -> str:
    """The sandbox's lines of `doctor`, in 80 columns."""
    state = "bubblewrap works here" if check.available else "bubblewrap is not available"
    chosen = f"sandbox: {check.configured}" if check.configured else "by default"
    if check.used == "checkout":
        use = f"runs here make your repository read-only for agents ({chosen})"
    elif check.used == "bwrap":
        use = (f"runs here give agents only their workspace to write ({chosen}, network "
               f"{'on' if check.network else 'off'})")
    else:
        use = f"runs here use no sandbox ({chosen})"
    if check.used != "none" and not check.available:
        use = f"{chosen}, so a run here stops before any agent starts"
    lines = [f"{'sandbox':<9} {state}", *_wrapped(use)]
    if check.reason:
        lines += _wrapped(f"- {check.reason}", indent="  ")
    return "\n".join(lines)


def check_cluster(address: str, as_json: bool = False) -> str:
    """The Ray cluster at `address`: its nodes, their resources and which agent CLIs each
    one has, as lines for the terminal or as JSON (Ray is imported only here)."""
    from wavefront.executors.raydoctor import check_cluster as check_nodes
    from wavefront.executors.raydoctor import format_cluster

    executables = {cls.name: cls.executable_names for cls in CLI_RUNNERS}
    nodes = check_nodes(address, executables)
    if as_json:
        import json
        from dataclasses import asdict

        return json.dumps({"address": address, "nodes": [asdict(n) for n in nodes]},
                          indent=2)
    return format_cluster(address, nodes)


def format_checks(checks: Sequence[AgentCheck]) -> str:
    """Plain lines for an 80-column terminal: one block per CLI, its problems below it."""
    lines = []
    for check in checks:
        note = "" if check.verified else " (not verified against the real CLI)"
        if not check.installed:
            lines.append(f"{check.runner:<9} not installed{note}")
            continue
        state = "ready" if not check.problems else "not ready"
        lines.append(f"{check.runner:<9} {check.version or 'version unknown'}: {state}{note}")
        lines += _wrapped(f"at {check.path}")
        if check.authenticated:
            lines += _wrapped(f"credentials: {check.auth_evidence}")
        for problem in check.problems:
            lines += _wrapped(f"- {problem}", indent="  ")
    if not any(check.installed for check in checks):
        lines.append("No agent CLI is installed; the `command` runner works with any program.")
    return "\n".join(lines)


def _wrapped(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=80, initial_indent=" " * 10,
                         subsequent_indent=" " * 10 + indent, break_on_hyphens=False,
                         break_long_words=True) or [""]
