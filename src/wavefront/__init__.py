"""wavefront: run a backlog through coding agents in parallel; get one verified branch."""

from wavefront.errors import (
    BacklogError,
    ConfigError,
    JournalError,
    PlanError,
    RunLockedError,
    WavefrontError,
    WorkspaceError,
)
from wavefront.model import (
    AgentProfile,
    AgentResult,
    FailureKind,
    GateResult,
    GateSpec,
    SourceLocation,
    Task,
    TaskStatus,
)

__version__ = "0.1.0"

__all__ = [
    "AgentProfile",
    "AgentResult",
    "BacklogError",
    "ConfigError",
    "FailureKind",
    "GateResult",
    "GateSpec",
    "JournalError",
    "PlanError",
    "RunLockedError",
    "SourceLocation",
    "Task",
    "TaskStatus",
    "WavefrontError",
    "WorkspaceError",
    "__version__",
]
