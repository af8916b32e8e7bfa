"""Runners: adapters that run one agent attempt (see `base.Runner`).

Adding a CLI is one module and one line in `RUNNERS`. `make_runner` builds a runner from
its name and the settings the user wrote for it (`wavefront.yaml` or an agent profile).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wavefront.agents.runners.aider import AiderRunner
from wavefront.agents.runners.base import AgentRequest, Runner
from wavefront.agents.runners.claude import ClaudeRunner
from wavefront.agents.runners.codex import CodexRunner
from wavefront.agents.runners.command import CommandRunner
from wavefront.agents.runners.cursor import CursorRunner
from wavefront.agents.runners.gemini import GeminiRunner
from wavefront.agents.runners.goose import GooseRunner
from wavefront.agents.runners.opencode import OpenCodeRunner
from wavefront.agents.runners.qwen import QwenRunner
from wavefront.agents.runners.script import ScriptRunner
from wavefront.errors import ConfigError
from wavefront.model import SourceLocation

__all__ = ["REQUEST_SETTINGS", "RUNNERS", "AgentRequest", "Runner", "make_runner"]

# Settings a runner reads from each request rather than its constructor; with `kind` (which
# runner a named entry is), the only keys besides the constructor's that a runner accepts.
REQUEST_SETTINGS: dict[str, frozenset[str]] = {
    "script": frozenset({"solutions_dir", "seed", "script"})
}

# name -> factory called with the runner's settings as keyword arguments.
RUNNERS: dict[str, Callable[..., Runner]] = {
    "command": CommandRunner,
    "script": ScriptRunner,
    "claude": ClaudeRunner,
    "codex": CodexRunner,
    "gemini": GeminiRunner,
    "opencode": OpenCodeRunner,
    "aider": AiderRunner,
    "qwen": QwenRunner,
    "cursor": CursorRunner,
    "goose": GooseRunner,
}


def make_runner(
    name: str, settings: Mapping[str, Any], *, source: SourceLocation | None = None
) -> Runner:
    """The runner called `name`, built from `settings`.

    An unknown name or settings the runner does not accept raise `ConfigError` at
    `source` (the place in the config that chose the runner), naming what is allowed.
    """
    path = source.path if source is not None else Path("wavefront.yaml")
    line = source.line if source is not None else None
    try:
        factory = RUNNERS[name]
    except KeyError:
        known = ", ".join(sorted(RUNNERS))
        raise ConfigError(path, line, f"unknown runner {name!r} (known: {known})") from None
    try:
        return factory(**dict(settings))
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, line, f"runner {name!r}: {exc}") from None
