"""Runner settings checked before anything runs: by `validate` and `plan`, and by a run
before its first task, so a wrong key or a missing command is one message, not a failure
per task."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wavefront.agents.runners import REQUEST_SETTINGS, RUNNERS, make_runner, runner_parameters
from wavefront.config import ProjectConfig
from wavefront.errors import ConfigError
from wavefront.model import SourceLocation

__all__ = ["check_configured_runners", "check_runner_settings"]

# What a required setting is, for the message that asks for it.
_SETTING_HINTS = {"argv_template": "the command to run, e.g. argv_template: my-agent {prompt}"}


def check_runner_settings(
    name: str, settings: Mapping[str, Any], *, source: SourceLocation | None = None
) -> None:
    """Raise `ConfigError` unless runner `name` can be built from `settings`: a known kind,
    no key it does not read, every required key present, and values it accepts. One
    message names the keys expected, so a wrong key is found before any task runs."""
    path = source.path if source is not None else Path("wavefront.yaml")
    line = source.line if source is not None else None
    values = dict(settings)
    kind = str(values.pop("kind", name))
    factory = RUNNERS.get(kind)
    if factory is None:
        known = ", ".join(sorted(RUNNERS))
        raise ConfigError(path, line, f"unknown runner {kind!r} (known: {known})")
    parameters = {n: p for n, p in runner_parameters(factory).items() if n != "name"}
    required = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty]
    accepted = [*parameters, *sorted(REQUEST_SETTINGS.get(kind, ()))]
    expected = ", ".join(f"{n} (required)" if n in required else n for n in accepted) or "none"
    where = f"runners.{name}" if name == kind else f"runners.{name} (kind {kind})"
    unknown = [key for key in values if key not in accepted]
    missing = [key for key in required if key not in values]
    if unknown or missing:
        said = []
        if unknown:
            said.append(f"unknown setting{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(map(repr, unknown))}")
        if missing:
            hints = "; ".join(f"{key}: {_SETTING_HINTS.get(key, 'required')}" for key in missing)
            said.append(f"missing {hints}")
        raise ConfigError(
            path, line, f"{where}: {'; '.join(said)} (settings expected: {expected})"
        )
    constructor = {k: v for k, v in values.items() if k in parameters}
    make_runner(kind, constructor, source=source)


def check_configured_runners(
    config: ProjectConfig | None,
    used: Iterable[str] = (),
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Check every runner `wavefront.yaml` configures or chooses, and those in `used`
    (with the `extra` settings given on the command line)."""
    names = list(used)
    if config is not None:
        names.extend(config.runners)
        if config.defaults.runner:
            names.append(config.defaults.runner)
        names.extend(agent.runner for agent in config.agents.values() if agent.runner)
    for name in dict.fromkeys(names):
        settings = {**(config.runners.get(name, {}) if config else {}),
                    **((extra or {}).get(name, {}))}
        source = None
        if config is not None and config.source is not None:
            source = SourceLocation(config.source, config.runner_line(name))
        check_runner_settings(name, settings, source=source)
