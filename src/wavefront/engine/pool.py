"""The runners a run uses, built once each, with their pauses and stops.

A rate-limited runner is paused until its reset time (its tasks wait without spending a
retry); a runner whose CLI is not authenticated is disabled for the rest of the process
with one reason, instead of failing every task that would use it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from wavefront.agents.runners import RUNNERS, make_runner, runner_parameters
from wavefront.agents.runners.base import Runner

__all__ = ["RunnerPool"]

# When a CLI says it is rate limited but not until when, try again after this long.
DEFAULT_RATE_LIMIT_PAUSE_S = 60.0


class RunnerPool:
    def __init__(self, settings: Mapping[str, Mapping[str, Any]] | None = None,
                 runners: Mapping[str, Runner] | None = None) -> None:
        self._settings = dict(settings or {})
        self._runners: dict[str, Runner] = dict(runners or {})
        self._paused_until: dict[str, float] = {}
        self._disabled: dict[str, str] = {}
        self._splits: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}

    def get(self, name: str) -> Runner:
        if name not in self._runners:
            kind, constructor, _ = self._split(name)
            self._runners[name] = make_runner(kind, constructor)
        return self._runners[name]

    def spec(self, name: str) -> tuple[str, dict[str, Any]]:
        """The runner's kind and constructor settings: how to build it on another machine."""
        kind, constructor, _ = self._split(name)
        return kind, constructor

    def options(self, name: str) -> dict[str, Any]:
        """Settings the runner's constructor does not take travel with each request
        (e.g. the script runner's `solutions_dir`)."""
        return self._split(name)[2]

    def _split(self, name: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        if name not in self._splits:
            self._splits[name] = self._split_settings(name)
        kind, constructor, per_request = self._splits[name]
        return kind, dict(constructor), dict(per_request)

    def _split_settings(self, name: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        settings = dict(self._settings.get(name, {}))
        kind = str(settings.pop("kind", name))
        factory = RUNNERS.get(kind)
        accepted = set(runner_parameters(factory)) if factory else set(settings)
        constructor = {k: v for k, v in settings.items() if k in accepted}
        per_request = {k: v for k, v in settings.items() if k not in accepted}
        return kind, constructor, per_request

    def pause(self, name: str, until: float | None) -> float:
        resume_at = until if until is not None else time.time() + DEFAULT_RATE_LIMIT_PAUSE_S
        self._paused_until[name] = max(self._paused_until.get(name, 0.0), resume_at)
        return self._paused_until[name]

    def disable(self, name: str, reason: str) -> None:
        self._disabled.setdefault(name, reason)

    def available(self, name: str, now: float) -> bool:
        return name not in self._disabled and self._paused_until.get(name, 0.0) <= now

    def disabled(self, name: str) -> str | None:
        return self._disabled.get(name)
