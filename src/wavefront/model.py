"""The values that flow through wavefront: tasks, profiles, results.

All are frozen dataclasses: a stage hands values to the next and never edits them in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

__all__ = [
    "AgentProfile",
    "AgentResult",
    "Completion",
    "FailureKind",
    "GateAction",
    "GateResult",
    "GateSpec",
    "SourceLocation",
    "Task",
    "TaskStatus",
    "WeightSource",
]

# How a task's weight was found; see `wavefront.plan.weights`.
WeightSource = Literal["given", "measured", "estimate", "median", "unit"]


class TaskStatus(StrEnum):
    """A task's state in the journal; the backlog documents' words are in `from_text`."""

    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    VERIFYING = "verifying"
    REVIEWING = "reviewing"
    MERGING = "merging"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    CONFLICT = "conflict"
    NEEDS_HUMAN = "needs-human"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    @classmethod
    def from_text(cls, text: str | None) -> TaskStatus:
        """Map a status as people write it in backlog files ("In Progress", "✅ Done (QA)")."""
        if not text:
            return cls.PENDING
        words = " ".join(
            "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()
        )
        for phrases, status in _STATUS_WORDS:
            if any(words == p or words.startswith(p + " ") for p in phrases):
                return status
        return cls.PENDING


_FINAL = frozenset(
    {
        TaskStatus.DONE,
        TaskStatus.FAILED,
        TaskStatus.BLOCKED,
        TaskStatus.SKIPPED,
        TaskStatus.CONFLICT,
        TaskStatus.CANCELLED,
    }
)

# Checked in order: the first phrase that starts the normalised text wins.
_STATUS_WORDS: tuple[tuple[tuple[str, ...], TaskStatus], ...] = (
    (("done", "complete", "completed", "approved and merged", "merged", "finished", "x"),
     TaskStatus.DONE),
    (("in progress", "in-progress", "in review", "review", "ready for review", "active",
      "started", "wip", "doing"), TaskStatus.RUNNING),
    (("failed", "error"), TaskStatus.FAILED),
    (("blocked",), TaskStatus.BLOCKED),
    (("skipped", "deferred", "cancelled", "canceled", "optional"), TaskStatus.SKIPPED),
)


@dataclass(frozen=True)
class SourceLocation:
    """Where a task (or one of its fields) was declared: file and 1-based line."""

    path: Path
    line: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class GateSpec:
    """A gate as configured: its kind (`command`, `deliverables`, `contract`, `review`,
    `human`) and its options (e.g. `{"run": "pytest -q", "timeout": 600}`)."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)
    source: SourceLocation | None = None


@dataclass(frozen=True)
class TaskOptions:
    """Per-task settings that the engine and the task flow read; backlogs and workflows set
    them. Everything a task does differently from the run's defaults is here, typed: what
    else a loader keeps about a task (`Task.metadata`) is description for prompts and
    reports, and its own format's write-back: never behaviour of the engine, the gates or
    the run.
    """

    runner: str | None = None
    model: str | None = None
    timeout_s: float | None = None
    max_turns: int | None = None
    retries: int | None = None
    # How many times a refused attempt goes back to its agent (None: the run's setting).
    fix_rounds: int | None = None
    max_cost_usd: float | None = None
    # No agent runs: only the gates (a sync point, a fan-out placeholder).
    agentless: bool = False
    # Success without a file change is no phantom completion (an analyzer answers).
    allow_no_changes: bool = False
    # Named groups with a limit each: at most `limit` tasks of a group run at once.
    concurrency: tuple[tuple[str, int], ...] = ()
    # The scripted agent of the `script` runner (tests, the demo, templates).
    script: Mapping[str, Any] | None = None
    # A placeholder whose done-hook adds one task per item that an earlier step wrote.
    grows_at_run_time: bool = False
    # The workflow's own data for its done-hook (step, kind, labels, branch, loop, fan-out).
    workflow: Mapping[str, Any] | None = None
    # A fix task made after a phase gate refused: the id of that gate's task.
    fixes_gate: str | None = None

    # The names by which backlog files and workflow templates spell these settings.
    KEYS: ClassVar[Mapping[str, str]] = MappingProxyType({
        "runner": "runner", "model": "model", "timeout": "timeout_s",
        "max_turns": "max_turns", "retries": "retries", "fix_rounds": "fix_rounds",
        "max_cost_usd": "max_cost_usd",
        "agentless": "agentless", "allow_no_changes": "allow_no_changes",
        "concurrency": "concurrency", "script": "script",
        "grows_at_run_time": "grows_at_run_time", "workflow": "workflow",
        "fixes_gate": "fixes_gate",
    })

    @classmethod
    def split(cls, values: Mapping[str, Any]) -> tuple[TaskOptions, dict[str, Any]]:
        """(the options among `values`, spelled as in `KEYS`; everything else)."""
        options: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for key, value in values.items():
            name = cls.KEYS.get(key)
            if name is None:
                rest[key] = value
            elif value is not None:
                options[name] = value
        if "concurrency" in options:
            options["concurrency"] = tuple((str(group), int(limit))
                                           for group, limit in options["concurrency"])
        return cls(**options), rest

    def to_json(self) -> dict[str, Any]:
        """The options as JSON-ready data, spelled as in `KEYS` (what `split` reads)."""
        data: dict[str, Any] = {}
        for key, name in self.KEYS.items():
            value = getattr(self, name)
            if value not in (None, False, ()):
                data[key] = ([list(group) for group in value] if name == "concurrency"
                             else dict(value) if isinstance(value, Mapping) else value)
        return data


@dataclass(frozen=True)
class Task:
    """One unit of work, as loaded from a backlog file.

    `status` is what the *file* says (used by `next`/`parallel` and to skip finished work);
    the journal keeps the run's own status. `files` are the paths the task declares it will
    touch (deliverables, file lists, paths named in the text): the scheduler keeps tasks whose
    files overlap apart.
    """

    id: str
    title: str
    source: SourceLocation
    # The backlog format it was read from (a `backlog.FORMATS` name): which write-back
    # it gets, and whether it is a story (reviewed by default).
    backlog_format: str | None = None
    # The earlier run's integration branch that has this task's work merged (and says
    # it is done): the task is skipped, and a new run starts from that branch.
    merged_on: str | None = None
    body: str = ""
    dependencies: tuple[str, ...] = ()
    dependencies_source: SourceLocation | None = None
    status: TaskStatus = TaskStatus.PENDING
    status_text: str | None = None
    epic: str | None = None
    agent: str | None = None
    acceptance_criteria: tuple[str, ...] = ()
    deliverables: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    context_files: tuple[str, ...] = ()
    reference_files: tuple[str, ...] = ()
    gates: tuple[GateSpec, ...] = ()
    parallel: bool = True
    weight: float = 1.0
    # How `weight` was found: "given" by the backlog, or set from what is known of the
    # task's duration when the plan is made (see `plan.weights`); "unit" when nothing is.
    weight_source: WeightSource = "unit"
    # The backlog's size estimate: hours, or points when it gave no unit.
    estimate: float | None = None
    tags: tuple[str, ...] = ()
    options: TaskOptions = TaskOptions()
    # What a loader keeps about the task beyond the fields above, for prompts, reports
    # and its own format's write-back.
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def where_dependencies(self) -> SourceLocation:
        """The location to name in errors about this task's dependencies."""
        return self.dependencies_source or self.source


@dataclass(frozen=True)
class AgentProfile:
    """Who does the work: a role prompt plus settings, from an agent file or built in.

    `origin` says where it came from (`builtin`, or the file path) for `wavefront agents`.
    """

    name: str
    description: str
    prompt: str
    origin: str
    model: str | None = None
    tools: tuple[str, ...] = ()
    runner: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict, compare=False)


class FailureKind(StrEnum):
    """Why an agent attempt did not succeed (DESIGN.md, Runner contract)."""

    ERROR = "error"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    CRASHED = "crashed"
    BAD_OUTPUT = "bad_output"
    AUTH = "auth"
    CANCELLED = "cancelled"
    MAX_TURNS = "max_turns"  # the CLI stopped at its turn limit before finishing
    DENIED = "denied"  # the CLI refused a command or tool the agent needed
    LOST = "lost"  # the machine running the attempt went away; the task runs again


@dataclass(frozen=True)
class AgentResult:
    """What a runner returns for one agent invocation; never raised, always returned."""

    ok: bool
    text: str = ""
    cost_usd: float | None = None
    cost_estimated: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    duration_s: float = 0.0
    failure: FailureKind | None = None
    reason: str = ""
    retry_at: float | None = None
    log_path: Path | None = None
    session_id: str | None = None


class GateAction(StrEnum):
    """What the engine does with a gate that did not pass."""

    FAIL = "fail"  # the attempt failed
    REVISE = "revise"  # changes requested: back to the implementing agent with the findings
    WAIT = "wait"  # a person must decide (`wavefront approve` / `reject`)


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate check. `action` matters only when `passed` is false."""

    gate: str
    passed: bool
    summary: str
    details: str = ""
    findings: tuple[str, ...] = ()
    action: GateAction = GateAction.FAIL


@dataclass(frozen=True)
class Completion:
    """What the backlog is told about a merged task (its write-back): who did it, when,
    the agent's summary, the review's verdict and findings. Times are seconds since the epoch."""

    agent: str | None
    started_at: float | None
    completed_at: float
    summary: str = ""
    review: tuple[str, ...] = ()
    # What the review concluded, in words ("" when no review ran), and whether a reviewer
    # or a person approved the work (the story workflow's Approved).
    verdict: str = ""
    approved: bool = False
