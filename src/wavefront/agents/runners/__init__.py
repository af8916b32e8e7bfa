"""Runners: adapters that run one agent attempt (see `base.Runner`).

Adding a CLI is one module and one line in `RUNNERS`. `make_runner` builds a runner from
its name and the settings the user wrote for it (`wavefront.yaml` or an agent profile).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from wavefront.agents.runners.base import AgentRequest, Runner
from wavefront.errors import ConfigError
from wavefront.model import SourceLocation

__all__ = ["NOT_AGENTS", "REQUEST_SETTINGS", "RUNNERS", "AgentRequest", "Runner", "make_runner",
           "runner_parameters"]

# Settings a runner reads from each request rather than its constructor; with `kind` (which
# runner a named entry is), the only keys besides the constructor's that a runner accepts.
REQUEST_SETTINGS: dict[str, frozenset[str]] = {
    "script": frozenset({"solutions_dir", "seed", "script"})
}


class _Registry(Mapping[str, Callable[..., Runner]]):
    """Runner name -> its class, each module imported when its runner is first asked for:
    `plan` with one configured runner does not import the other nine adapters."""

    def __init__(self, where: Mapping[str, str]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, Callable[..., Runner]] = {}

    def __getitem__(self, name: str) -> Callable[..., Runner]:
        if name not in self._loaded:
            module, _, attribute = self._where[name].partition(":")
            found = getattr(importlib.import_module(f"wavefront.agents.runners.{module}"),
                            attribute)
            self._loaded[name] = found
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


# Runners that run a program (the user's command, a script), not a model: nothing that
# could review a change unless the user says so.
NOT_AGENTS = frozenset({"command", "script"})

# name -> factory called with the runner's settings as keyword arguments.
RUNNERS: Mapping[str, Callable[..., Runner]] = _Registry({
    "command": "command:CommandRunner",
    "script": "script:ScriptRunner",
    "claude": "claude:ClaudeRunner",
    "codex": "codex:CodexRunner",
    "gemini": "gemini:GeminiRunner",
    "opencode": "opencode:OpenCodeRunner",
    "aider": "aider:AiderRunner",
    "qwen": "qwen:QwenRunner",
    "cursor": "cursor:CursorRunner",
    "goose": "goose:GooseRunner",
})


def runner_parameters(factory: Callable[..., Runner]) -> dict[str, inspect.Parameter]:
    """The keyword settings `factory` takes: its own parameters and, where it passes the
    rest on to its base class (`**common`), the base class's, and so on up."""
    found: dict[str, inspect.Parameter] = {}
    owners = inspect.getmro(factory) if isinstance(factory, type) else (factory,)
    for owner in owners:
        if isinstance(owner, type) and "__init__" not in vars(owner):
            continue
        passes_on = False
        for parameter in inspect.signature(owner).parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                passes_on = True
            elif parameter.kind is not parameter.VAR_POSITIONAL:
                found.setdefault(parameter.name, parameter)
        if not passes_on:
            break
    return found


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
