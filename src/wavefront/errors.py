"""The one error hierarchy of wavefront.

Mistakes in the user's input are raised as a subclass of `WavefrontError`; the CLI turns
any of them into one line and exit code 2. An agent or a gate that fails is *not* an
error: it is returned as a result value (see `model.AgentResult`, `model.GateResult`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BacklogError",
    "ConfigError",
    "JournalError",
    "PlanError",
    "RunLockedError",
    "WavefrontError",
    "WorkspaceError",
]


class WavefrontError(Exception):
    """Base class of every error wavefront raises on purpose."""

    exit_code = 2


class BacklogError(WavefrontError):
    """A backlog or profile file that cannot be read as its format requires.

    The message always starts with `path:line:` so editors and terminals can jump to it.
    """

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else f"{self.path}"
        super().__init__(f"{where}: {message}")


class ConfigError(BacklogError):
    """A `wavefront.yaml` (or workflow) setting that is invalid."""


class PlanError(WavefrontError):
    """The task graph is not valid: duplicates, missing dependencies, cycles, bad scope."""

    def __init__(self, message: str, cycle: tuple[str, ...] = ()) -> None:
        self.cycle = cycle
        super().__init__(message)


class WorkspaceError(WavefrontError):
    """Git or the file system refused something the run needs (not a repository, git missing)."""


class JournalError(WavefrontError):
    """The journal database cannot be opened, migrated or written."""


class RunLockedError(WavefrontError):
    """Another live wavefront process holds the run lock of this repository."""
