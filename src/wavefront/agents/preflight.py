"""Before a run starts: can every agent CLI it will use actually run here?

For each CLI runner the run uses: the program is installed; its version is one the runner
was tested with (same major and minor version as the tested range; the runner setting
`check_version: false` accepts another); credentials or a provider are configured (the
variable `api_key_env` names is set, or a documented credential variable or login file
exists, or a `base_url` is given); Codex's sandbox can work (its home is not inside the
temporary directory); and a `base_url`, when set, accepts a connection.
Nothing is sent to a model, so no money is spent and no retry is used. `doctor` reports
the same checks for every runner.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from wavefront.agents.runners.aider import AiderRunner
from wavefront.agents.runners.base import Runner
from wavefront.agents.runners.cliutil import CliRunner
from wavefront.agents.runners.codex import CodexRunner, configured_env_keys
from wavefront.agents.runners.opencode import OpenCodeRunner
from wavefront.errors import WavefrontError

__all__ = [
    "PreflightError",
    "Problem",
    "RunnerCheck",
    "check_runner",
    "preflight",
    "version_number",
]

VERSION_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 3.0
Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Problem:
    """One reason a runner cannot be used, said to the user."""

    runner: str
    message: str
    kind: str = "credentials"  # installed | version | credentials | sandbox | reachable

    def __str__(self) -> str:
        return f"runner {self.runner}: {self.message}"


@dataclass(frozen=True)
class RunnerCheck:
    """What was found about one CLI runner, whether or not it is usable."""

    runner: str
    executable: str
    path: str | None
    version: str | None  # the first line `--version` printed
    credentials: str  # what credentials or provider it will use, or what is missing
    problems: tuple[Problem, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


class PreflightError(WavefrontError):
    """Runners the run needs cannot be used; one line per problem."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"cannot start: {count} problem{'s' if count != 1 else ''} with the agent "
                 "CLIs this run uses (nothing was run):"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


def preflight(runners: Mapping[str, Runner]) -> None:
    """Raise `PreflightError` listing every problem of the CLI runners in `runners`
    (runner name as configured -> runner); other kinds of runner are not checked."""
    problems = [problem for name, runner in runners.items() if isinstance(runner, CliRunner)
                for problem in check_runner(name, runner).problems]
    if problems:
        raise PreflightError(problems)


def check_runner(name: str, runner: CliRunner, *, environ: Mapping[str, str] | None = None,
                 home: Path | None = None, which: Which = shutil.which) -> RunnerCheck:
    """All checks of one CLI runner (`name` as the configuration calls it)."""
    env = os.environ if environ is None else environ
    home = home if home is not None else Path(env.get("HOME") or Path.home())
    problems: list[Problem] = []
    path = _locate(runner.executable, which)
    version: str | None = None
    if path is None:
        hint = f" (install it from {runner.package})" if runner.package else ""
        problems.append(Problem(name, f"{runner.executable} is not installed or not on "
                                      f"PATH{hint}", "installed"))
    else:
        version = read_version(path)
        problem = _version_problem(name, runner, version)
        if problem is not None:
            problems.append(Problem(name, problem, "version"))
    credentials, problem = _credentials(runner, env, home)
    if problem is not None:
        problems.append(Problem(name, problem))
    if isinstance(runner, CodexRunner):
        problem = runner.sandbox_problem(env, home)
        if problem is not None:
            problems.append(Problem(name, problem, "sandbox"))
    if runner.base_url:
        problem = _unreachable(runner.base_url)
        if problem is not None:
            problems.append(Problem(name, problem, "reachable"))
    return RunnerCheck(name, runner.executable, path, version, credentials, tuple(problems))


def read_version(path: str) -> str | None:
    """The first line the CLI prints for `--version`, or None when it fails."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True,
                              timeout=VERSION_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              check=False, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    lines = lines or [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return lines[0][:120] if done.returncode == 0 and lines else None


def version_number(text: str | None) -> tuple[int, int, int] | None:
    """The first `major.minor.patch` in `text`."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _locate(executable: str, which: Which) -> str | None:
    if os.sep in executable:
        return executable if os.access(executable, os.X_OK) else None
    return which(executable)


def _version_problem(name: str, runner: CliRunner, version: str | None) -> str | None:
    tested = runner.tested_versions
    if tested is None or not runner.check_version:
        return None
    found = version_number(version)
    if found is None:
        return (f"could not read the version of {runner.executable} ({version or 'no output'}"
                f" from --version); set runners.{name}.check_version: false to run it anyway")
    low, high = (version_number(v) for v in tested)
    assert low is not None and high is not None
    if low[:2] <= found[:2] <= high[:2]:
        return None
    shown = tested[0] if tested[0] == tested[1] else f"{tested[0]} to {tested[1]}"
    return (f"{runner.executable} {'.'.join(map(str, found))} is not a tested version "
            f"(tested: {shown}); set runners.{name}.check_version: false to run it anyway")


def _credentials(runner: CliRunner, env: Mapping[str, str],
                 home: Path) -> tuple[str, str | None]:
    """What the runner will authenticate with, and the problem when it has nothing."""
    if isinstance(runner, OpenCodeRunner):
        problem = runner.provider_problem()
        if problem is not None:
            return "no provider chosen", problem
    if isinstance(runner, AiderRunner):
        problem = runner.login_problem()
        if problem is not None:
            return "no model or key", problem
    if runner.api_key_env:
        if env.get(runner.api_key_env):
            return f"key from {runner.api_key_env}", None
        return "key missing", (f"api_key_env names {runner.api_key_env}, which is not set "
                               "in this environment")
    if runner.base_url:
        return f"provider at {runner.base_url} (no key)", None
    names = [n for n in runner.auth_env if env.get(n) or runner.env.get(n)]
    if isinstance(runner, CodexRunner):
        names += [n for n in configured_env_keys(home) if env.get(n)]
    if names:
        return "environment: " + ", ".join(dict.fromkeys(names)), None
    files = [rel for rel in runner.auth_files if (home / rel).is_file()]
    if files:
        return "login file: " + ", ".join(f"~/{rel}" for rel in files), None
    if not runner.auth_env and not runner.auth_files:
        return "not checked", None
    wanted = ", ".join([*runner.auth_env[:3], *(f"~/{rel}" for rel in runner.auth_files[:1])])
    return f"none of {wanted}", (
        f"no credentials found (none of {wanted}): set one, or give this runner "
        "api_key_env (and base_url) in wavefront.yaml")


def _unreachable(base_url: str) -> str | None:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as exc:
        return f"base_url {base_url} is not reachable ({exc.strerror or exc})"
