"""`wavefront doctor`: which agent CLIs this machine can run, and whether they look ready.

For each CLI runner: is the executable on PATH, what `--version` says (with a short
timeout), and does it look authenticated, judged only by the credential variables and
login files each CLI documents (the runner modules list them). "Looks authenticated" is a
hint, not a test: no request is sent, and a key may still be wrong or out of credit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavefront.agents.runners.aider import AiderRunner
from wavefront.agents.runners.claude import ClaudeRunner
from wavefront.agents.runners.cliutil import CliRunner
from wavefront.agents.runners.codex import CodexRunner
from wavefront.agents.runners.cursor import CursorRunner
from wavefront.agents.runners.gemini import GeminiRunner
from wavefront.agents.runners.goose import GooseRunner
from wavefront.agents.runners.opencode import OpenCodeRunner

__all__ = ["CLI_RUNNERS", "AgentCheck", "check_agents", "format_checks"]

CLI_RUNNERS: tuple[type[CliRunner], ...] = (
    ClaudeRunner,
    CodexRunner,
    GeminiRunner,
    OpenCodeRunner,
    AiderRunner,
    CursorRunner,
    GooseRunner,
)

VERSION_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class AgentCheck:
    """What `doctor` found about one agent CLI."""

    runner: str  # the runner name to use in wavefront.yaml (`runner: claude`)
    executable: str  # the program looked for
    path: str | None  # where it was found, None when not installed
    version: str | None  # first line of `--version`, None when unknown
    authenticated: bool  # a documented credential variable or login file is present
    auth_evidence: str  # which one, or what is missing

    @property
    def installed(self) -> bool:
        return self.path is not None


def check_agents(
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    which: Callable[[str], str | None] = shutil.which,
    runners: Sequence[type[CliRunner]] = CLI_RUNNERS,
) -> list[AgentCheck]:
    """One `AgentCheck` per CLI runner, in a fixed order, for this machine."""
    env = os.environ if environ is None else environ
    home = home if home is not None else Path(env.get("HOME") or Path.home())
    checks = []
    for cls in runners:
        found = next(((n, p) for n in cls.executable_names if (p := which(n)) is not None), None)
        name, path = found if found is not None else (cls.executable_names[0], None)
        authenticated, evidence = _auth(cls, env, home)
        checks.append(
            AgentCheck(
                runner=cls.name,
                executable=name,
                path=path,
                version=_version(path) if path else None,
                authenticated=authenticated,
                auth_evidence=evidence,
            )
        )
    return checks


def format_checks(checks: Sequence[AgentCheck]) -> str:
    """Plain lines for the terminal, one per CLI, and a closing hint."""
    lines = []
    for check in checks:
        if not check.installed:
            lines.append(f"{check.runner:<9} not installed ({check.executable} not on PATH)")
            continue
        auth = "ready" if check.authenticated else "no credentials found"
        version = check.version or "version unknown"
        lines.append(f"{check.runner:<9} {version} at {check.path}: {auth} ({check.auth_evidence})")
    if not any(check.installed for check in checks):
        lines.append("No agent CLI is installed; the `command` runner works with any program.")
    return "\n".join(lines)


def _version(path: str) -> str | None:
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
            start_new_session=True,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    output = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return output[0].strip()[:120] if done.returncode == 0 and output else None


def _auth(cls: type[CliRunner], env: Mapping[str, str], home: Path) -> tuple[bool, str]:
    names = [name for name in cls.auth_env if env.get(name)]
    if names:
        return True, "environment: " + ", ".join(names)
    files = [rel for rel in cls.auth_files if (home / rel).is_file()]
    if files:
        return True, "login file: " + ", ".join(f"~/{rel}" for rel in files)
    wanted = [*cls.auth_env[:2], *(f"~/{rel}" for rel in cls.auth_files[:1])]
    return False, "none of " + ", ".join(wanted)
