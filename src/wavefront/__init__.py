"""wavefront: run a backlog through coding agents in parallel; get one verified branch.

The public API: load a backlog (`load_backlog`, `discover_backlog`), plan it (`Plan`,
`PlanOptions`, `load_and_plan`), run it (`start_run`, `resume_run`, `RunOptions`), and the
values and errors they use. Everything else is internal and may change.
"""

# Not typing.TYPE_CHECKING: importing typing is a tenth of what `wavefront --help` costs.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from wavefront.backlog import Backlog, discover_backlog, load_backlog
    from wavefront.backlog.load import load_and_plan
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
        GateAction,
        GateResult,
        GateSpec,
        SourceLocation,
        Task,
        TaskStatus,
    )
    from wavefront.plan.graph import Plan, PlanOptions
    from wavefront.runs import RunOptions, RunResult, resume_run, start_run

# Loaded on first use, so `wavefront --help` pays for none of it (not even the values).
_LAZY = {
    **dict.fromkeys(("BacklogError", "ConfigError", "JournalError", "PlanError",
                     "RunLockedError", "WavefrontError", "WorkspaceError"), "wavefront.errors"),
    **dict.fromkeys(("AgentProfile", "AgentResult", "FailureKind", "GateAction", "GateResult",
                     "GateSpec", "SourceLocation", "Task", "TaskStatus"), "wavefront.model"),
    "Backlog": "wavefront.backlog",
    "discover_backlog": "wavefront.backlog",
    "load_backlog": "wavefront.backlog",
    "Plan": "wavefront.plan.graph",
    "PlanOptions": "wavefront.plan.graph",
    "load_and_plan": "wavefront.backlog.load",
    "RunOptions": "wavefront.runs",
    "RunResult": "wavefront.runs",
    "resume_run": "wavefront.runs",
    "start_run": "wavefront.runs",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wavefront' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "AgentProfile",
    "AgentResult",
    "Backlog",
    "BacklogError",
    "ConfigError",
    "FailureKind",
    "GateAction",
    "GateResult",
    "GateSpec",
    "JournalError",
    "Plan",
    "PlanError",
    "PlanOptions",
    "RunLockedError",
    "RunOptions",
    "RunResult",
    "SourceLocation",
    "Task",
    "TaskStatus",
    "WavefrontError",
    "WorkspaceError",
    "__version__",
    "discover_backlog",
    "load_and_plan",
    "load_backlog",
    "resume_run",
    "start_run",
]
