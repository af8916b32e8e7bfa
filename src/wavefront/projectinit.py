"""`wavefront init` on an existing repository: a commented `wavefront.yaml` from what is there.

It looks for the backlogs every format discovers, the agent CLIs on PATH and the project's
test command (`pytest`, `npm test`, `go test ./...`, `cargo test`, `make test`), and writes
them as settings with a comment on each, so the file doubles as the documentation of what
can be changed. Nothing is guessed that the user cannot see in the file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wavefront.agents.runners import RUNNERS
from wavefront.backlog import FORMATS
from wavefront.backlog.native import FILE_NAMES
from wavefront.doctor import CLI_RUNNERS
from wavefront.errors import WavefrontError

__all__ = ["Detected", "detect_project", "init_project", "render_config"]

# Formats that are wavefront's own files, not a backlog another tool keeps.
_OWN_FORMATS = ("wavefront", "workflow")


@dataclass(frozen=True)
class Detected:
    """What `init` found in a repository."""

    backlogs: tuple[tuple[str, str], ...]  # (format, path relative to the repository)
    agents: tuple[str, ...]  # runner names whose CLI is installed, in preference order
    test_command: str | None


def detect_project(root: Path, which: Callable[[str], str | None] = shutil.which) -> Detected:
    backlogs: list[tuple[str, str]] = []
    for name, fmt in FORMATS.items():
        if name in _OWN_FORMATS:
            continue
        for path in fmt.discover(root):
            relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
            backlogs.append((name, relative))
    names = {factory: name for name, factory in RUNNERS.items()}
    agents = tuple(
        names[cls]
        for cls in CLI_RUNNERS
        if cls in names and any(which(executable) for executable in cls.executable_names)
    )
    return Detected(tuple(backlogs), agents, _test_command(root))


def _test_command(root: Path) -> str | None:
    package = root / "package.json"
    if package.is_file():
        try:
            scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts", {})
        except (ValueError, AttributeError):
            scripts = {}
        test = scripts.get("test", "") if isinstance(scripts, dict) else ""
        if test and "no test specified" not in test:
            return "npm test"
    if any((root / name).is_file() for name in ("pyproject.toml", "setup.py", "pytest.ini",
                                                 "setup.cfg", "tox.ini")):
        return "python -m pytest -q"
    if (root / "go.mod").is_file():
        return "go test ./..."
    if (root / "Cargo.toml").is_file():
        return "cargo test"
    makefile = root / "Makefile"
    if makefile.is_file() and any(
        line.startswith("test:") for line in makefile.read_text(errors="replace").splitlines()
    ):
        return "make test"
    return None


def render_config(found: Detected) -> str:
    """The commented `wavefront.yaml` for what was found."""
    lines = [
        "# wavefront.yaml, written by `wavefront init`. Every key is optional; delete what",
        "# you do not need. `wavefront validate` checks this file.",
        "version: 1",
        "",
    ]
    if found.backlogs:
        lines.append("# The backlog: the files your tasks come from.")
        lines.append("backlog:")
        lines.extend(f"  - {path}   # {fmt}" for fmt, path in found.backlogs)
    else:
        lines += [
            "# No backlog was found. Name one (docs/stories/, .taskmaster/tasks/tasks.json,",
            "# specs/*/tasks.md, ...) or write tasks here:",
            "# backlog: [docs/stories]",
            "tasks:",
            "  - id: first",
            "    title: Describe the first task here",
        ]
    lines.append("")
    runner = found.agents[0] if found.agents else "command"
    if found.agents:
        others = ", ".join(found.agents[1:])
        also = f" (also installed: {others})" if others else ""
        lines.append(f"# The agent CLI that does the work{also}.")
    else:
        lines.append("# No agent CLI was found on PATH: run any command as the agent. {prompt} is")
        lines.append("# replaced by the task's prompt ({prompt_file} by a file holding it).")
    lines += ["defaults:", f"  runner: {runner}", "  retries: 1", ""]
    if runner == "command":
        lines += ["runners:", "  command:", "    argv_template: my-agent --yes {prompt}", ""]
    lines += [
        "# How many agents work at once.",
        "limits:",
        "  max_parallel: 4",
        "  # max_cost_usd: 20",
        "",
    ]
    if found.test_command:
        lines += [
            "# Work is merged only when this passes in its workspace.",
            "gates:",
            f"  - {{kind: command, run: {found.test_command}, timeout: 900}}",
            "",
        ]
    else:
        lines += ["# gates:", "#   - {kind: command, run: make test}", ""]
    lines += [
        "# Who reviews each story once its agent is done: auto (an agent, when the run has",
        "# one that can review), agent (every task), human (a person approves each), off.",
        "# review: auto",
        "",
        "# What each new workspace needs before its agent starts (it holds only what git",
        "# tracks): git-ignored files to copy from your checkout, and setup commands.",
        "# workspace:",
        "#   copy: ['.env*']",
        "#   setup: ['npm ci']",
        "#   teardown: []",
        "",
    ]
    return "\n".join(lines)


def init_project(root: Path, *, force: bool = False) -> tuple[Path, Detected]:
    """Write `root/wavefront.yaml` for what `root` holds; an existing one is kept unless
    `force`."""
    target = root / FILE_NAMES[0]
    if target.exists() and not force:
        raise WavefrontError(f"{target} exists; pass --force to replace it")
    found = detect_project(root)
    target.write_text(render_config(found), encoding="utf-8")
    return target, found
