"""The native `wavefront.yaml`: project settings and tasks, validated with pydantic.

This is the file users write by hand, so every model forbids unknown keys (a typo such as
`dependson` is an error that lists the keys allowed) and every error names the file and
line. `parse_config` validates a loaded document and remembers where each task, gate and
agent was written; `ProjectConfig.build_tasks` turns the tasks into `model.Task` values.

```yaml
version: 1
name: shop
backlog: [docs/stories]          # other backlogs to include, relative to this file
defaults: {agent: full-stack-engineer, runner: claude, timeout: 1800, retries: 1}
limits: {max_parallel: 4, per_runner: {claude: 3}, max_cost_usd: 20}
runners: {claude: {model: sonnet}}
agents: {reviewer: {profile: code-reviewer, model: opus}}
gates: [{kind: command, run: "pytest -q", timeout: 600}]
verify: merged                   # merged | branch | none (default: merged if a command gate is set)
verify_parallel: 1               # merged-tree checks of one batch run side by side
review: {mode: auto, max_rounds: 2, on_limit: needs-human}   # or review: off | agent | human
tasks:
  - id: api
    title: Build the API
    depends_on: [db]
    files: [src/api/**]
    gates: [deliverables, {kind: review, agents: [reviewer]}]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr

from wavefront.errors import ConfigError
from wavefront.estimates import parse_estimate
from wavefront.model import GateSpec, SourceLocation, Task, TaskOptions, TaskStatus
from wavefront.yamlsource import YamlDocument, load_yaml, raise_validation_error

__all__ = [
    "GATE_OPTIONS",
    "AgentConfig",
    "Defaults",
    "GateConfig",
    "Limits",
    "ProjectConfig",
    "ReviewMode",
    "ReviewPolicy",
    "TaskConfig",
    "load_config",
    "parse_config",
]

# Options each gate kind accepts, and which of them are required. The gates module reads
# them; a key not listed here is a typo and is reported with the choices.
GATE_OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "command": (
        frozenset({"run", "name", "timeout", "env", "cwd", "on"}),
        frozenset({"run"}),
    ),
    "deliverables": (frozenset({"name", "paths"}), frozenset()),
    "contract": (frozenset({"name", "paths", "markers"}), frozenset()),
    "review": (frozenset({"name", "agents", "max_rounds", "on_limit"}), frozenset()),
    "human": (frozenset({"name", "prompt"}), frozenset()),
    # `fix_by`: the agent a phase gate's fix task goes to (a validator's FAIL is fixed
    # by an engineer, not by the validator).
    "signoff": (frozenset({"name", "paths", "fix_by"}), frozenset()),
}


def _text(value: Any) -> Any:
    """Numbers written where text is meant (`id: 3`) become text; other values are kept."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _listed(value: Any) -> Any:
    """A single value where a list is meant (`depends_on: db`) becomes a one-item list."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [value]
    return value


Text = Annotated[str, BeforeValidator(_text)]
TextList = Annotated[list[Text], BeforeValidator(_listed)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class GateConfig(BaseModel):
    """One gate: `kind` plus that kind's options, written flat (`{kind: command, run: ...}`)
    or as the bare kind (`deliverables`)."""

    model_config = ConfigDict(extra="allow")

    kind: str
    _line: int = PrivateAttr(default=0)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _bare_kind(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @pydantic.model_validator(mode="after")
    def _known_options(self) -> GateConfig:
        if self.kind not in GATE_OPTIONS:
            raise ValueError(
                f"unknown gate kind {self.kind!r} (expected one of: {', '.join(GATE_OPTIONS)})"
            )
        allowed, required = GATE_OPTIONS[self.kind]
        options = self.options
        for key in options:
            if key not in allowed:
                raise ValueError(
                    f"unknown option {key!r} for a {self.kind} gate "
                    f"(expected one of: {', '.join(sorted(allowed))})"
                )
        missing = sorted(required - options.keys())
        if missing:
            raise ValueError(f"a {self.kind} gate needs {', '.join(repr(m) for m in missing)}")
        run = options.get("run")
        if run is not None and not (
            (isinstance(run, str) and run.strip())
            or (isinstance(run, list) and run and all(isinstance(a, str) for a in run))
        ):
            raise ValueError("'run' must be a command line or a list of arguments")
        timeout = options.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise ValueError(f"'timeout' must be a positive number of seconds, got {timeout!r}")
        return self

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def to_spec(self, path: Path | None) -> GateSpec:
        source = SourceLocation(path, self._line or 1) if path is not None else None
        return GateSpec(kind=self.kind, options=self.options, source=source)


class Defaults(_Strict):
    """What a task gets when it does not say otherwise."""

    agent: str | None = None
    runner: str | None = None
    model: str | None = None
    timeout: Annotated[float, Field(gt=0)] | None = 1800
    retries: Annotated[int, Field(ge=0)] = 1
    # How many times a refused attempt goes back to its agent with what failed.
    fix_rounds: Annotated[int, Field(ge=0)] = 2
    max_turns: Annotated[int, Field(gt=0)] | None = None


class Limits(_Strict):
    """How much may run at once, and the most a run may spend."""

    max_parallel: Annotated[int, Field(gt=0)] | None = None
    per_runner: dict[str, Annotated[int, Field(gt=0)]] = {}
    max_cost_usd: Annotated[float, Field(gt=0)] | None = None


ReviewMode = Literal["auto", "agent", "human", "off"]


def _review_shorthand(value: Any) -> Any:
    """`review: off` (which YAML reads as false, `on` as true) or `review: human` stands
    for `{mode: ...}`."""
    if isinstance(value, bool):
        return {"mode": "agent" if value else "off"}
    if isinstance(value, str):
        return {"mode": value.strip().lower()}
    return value


class ReviewPolicy(_Strict):
    """Who reviews each story once its agent is done, and how a review loop ends.

    `mode`: `auto` (the default) has an agent review every story of a story backlog
    (markdown stories, BMAD) when the run has an agent that can review, and says once that
    it does not when only `command`/`script` runners run; `agent` has every task reviewed
    by an agent whatever its runner; `human` has a person review every task; `off` adds
    no review (gates written in the file still apply). `agents` are the reviewers
    (default `code-reviewer`). After `max_rounds` change requests, ask a person or accept.
    """

    mode: ReviewMode = "auto"
    agents: TextList = []
    max_rounds: Annotated[int, Field(ge=0)] = 2
    on_limit: Literal["needs-human", "accept"] = "needs-human"


class AgentConfig(_Strict):
    """An agent profile defined or adjusted in `wavefront.yaml`.

    `profile` names a profile to start from (built-in or from an agent file), `file` an
    agent markdown file relative to `wavefront.yaml`; the other keys override it.
    """

    profile: str | None = None
    file: str | None = None
    description: str | None = None
    prompt: str | None = None
    model: str | None = None
    runner: str | None = None
    tools: TextList | None = None
    gates: list[GateConfig] = []
    options: dict[str, Any] = {}
    _line: int = PrivateAttr(default=0)

    @pydantic.field_validator("tools", mode="before")
    @classmethod
    def _comma_tools(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value


class TaskConfig(_Strict):
    """One task as written in `tasks:`."""

    id: Text = Field(min_length=1)
    title: Text | None = None
    body: str = ""
    depends_on: TextList = []
    agent: str | None = None
    status: str | None = None
    epic: Text | None = None
    files: TextList = []
    deliverables: TextList = []
    acceptance_criteria: TextList = []
    context_files: TextList = []
    reference_files: TextList = []
    gates: list[GateConfig] = []
    weight: Annotated[float, Field(gt=0)] | None = None
    # "3h", "2 days", 5 (points): the task's default weight (`plan.weights`).
    estimate: float | None = None
    parallel: bool = True
    tags: TextList = []
    runner: str | None = None
    model: str | None = None
    timeout: Annotated[float, Field(gt=0)] | None = None
    retries: Annotated[int, Field(ge=0)] | None = None
    fix_rounds: Annotated[int, Field(ge=0)] | None = None
    max_turns: Annotated[int, Field(gt=0)] | None = None
    max_cost_usd: Annotated[float, Field(gt=0)] | None = None
    script: dict[str, Any] | None = None
    _line: int = PrivateAttr(default=0)
    _depends_line: int = PrivateAttr(default=0)

    @pydantic.field_validator("estimate", mode="before")
    @classmethod
    def _estimate(cls, value: object) -> float | None:
        if value is None:
            return None
        size = (parse_estimate(value) if isinstance(value, str)
                else float(value) if isinstance(value, (int, float))
                and not isinstance(value, bool) else None)
        if size is None or size <= 0:
            raise ValueError(f"expected a duration such as 3h or 2 days, or a number of "
                             f"points, got {value!r}")
        return size


class WorkspaceConfig(_Strict):
    """`workspace:`: what each new workspace gets before its agent starts."""

    setup: TextList = []
    # `copy` in the file; another name here, since pydantic models have a copy() method
    copy_files: TextList = Field(default=[], alias="copy")
    teardown: TextList = []


class ProjectConfig(_Strict):
    """The root of `wavefront.yaml` (and `Backlog.config` for a native backlog)."""

    version: Literal[1] = 1
    name: str | None = None
    backlog: TextList = []
    defaults: Defaults = Field(default_factory=Defaults)
    limits: Limits = Field(default_factory=Limits)
    runners: dict[str, dict[str, Any]] = {}
    agents: dict[str, AgentConfig] = {}
    gates: list[GateConfig] = []
    verify: Literal["merged", "branch", "none"] | None = None
    # How many candidates of a batch the merge queue checks at once (`verify: merged`).
    verify_parallel: int = Field(default=1, ge=1, le=16)
    review: Annotated[ReviewPolicy, BeforeValidator(_review_shorthand)] = Field(
        default_factory=ReviewPolicy)
    workspace: WorkspaceConfig = Field(default_factory=WorkspaceConfig)
    # Merged work is recorded in the backlog files (on the integration branch only).
    writeback: bool = True
    # The story workflow's `.agent-orchestration/` state files, kept current during a run.
    state_files: bool = False
    # Each agent gets wavefront's MCP server for its own task (ask_human, ...).
    mcp: bool = False
    # Agents in a bubblewrap sandbox: the repository read-only (`checkout`, the default
    # where bubblewrap works), all but the workspace read-only (`bwrap`; `auto` where it
    # works), or none.
    sandbox: Literal["none", "checkout", "bwrap", "auto"] | None = None
    sandbox_network: bool = True
    # Git-ignored files of the checkout an agent must not touch (the guard watches them).
    protected: TextList = [".env*"]
    tasks: list[TaskConfig] = []
    # Reserved for workflows (a later issue): any mapping is kept as written.
    workflow: dict[str, Any] | None = None
    _source: Path | None = PrivateAttr(default=None)
    # runner name -> its line under `runners:`; "" -> the line of `defaults.runner`
    _runner_lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _review_line: int = PrivateAttr(default=1)

    @property
    def source(self) -> Path | None:
        """The `wavefront.yaml` this came from (None when built in code)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the file are resolved against."""
        return self._source.parent if self._source is not None else Path(".")

    @property
    def gate_specs(self) -> tuple[GateSpec, ...]:
        """The gates every task must pass."""
        return tuple(gate.to_spec(self._source) for gate in self.gates)

    @property
    def verify_mode(self) -> Literal["merged", "branch", "none"]:
        """`verify`, or its default: check the merged tree when any command gate is set."""
        if self.verify is not None:
            return self.verify
        return "merged" if any(g.kind == "command" for g in self.gates) else "branch"

    @property
    def review_source(self) -> SourceLocation | None:
        """Where `review:` is written (the file's first line when it is not)."""
        return SourceLocation(self._source, self._review_line) if self._source else None

    def runner_line(self, name: str) -> int:
        """The line where runner `name` is configured, else where it is chosen (1)."""
        return self._runner_lines.get(name) or self._runner_lines.get("", 1)

    def agent_line(self, name: str) -> int:
        """The line where agent `name` is defined (1 when unknown)."""
        agent = self.agents.get(name)
        return (agent._line or 1) if agent is not None else 1

    def build_tasks(self) -> tuple[Task, ...]:
        """The tasks of this file as `model.Task` values, each with its source line."""
        path = self._source or Path("wavefront.yaml")
        return tuple(_build_task(item, path) for item in self.tasks)


def _build_task(item: TaskConfig, path: Path) -> Task:
    title = item.title or _first_line(item.body) or item.id
    files = tuple(dict.fromkeys([*item.files, *item.deliverables]))
    options = TaskOptions(
        runner=item.runner,
        model=item.model,
        timeout_s=item.timeout,
        retries=item.retries,
        fix_rounds=item.fix_rounds,
        max_turns=item.max_turns,
        max_cost_usd=item.max_cost_usd,
        script=item.script,
    )
    return Task(
        id=item.id,
        title=title,
        source=SourceLocation(path, item._line or 1),
        body=item.body,
        dependencies=tuple(item.depends_on),
        dependencies_source=(
            SourceLocation(path, item._depends_line) if item._depends_line else None
        ),
        status=TaskStatus.from_text(item.status),
        status_text=item.status,
        epic=item.epic,
        agent=item.agent,
        acceptance_criteria=tuple(item.acceptance_criteria),
        deliverables=tuple(item.deliverables),
        files=files,
        context_files=tuple(item.context_files),
        reference_files=tuple(item.reference_files),
        gates=tuple(gate.to_spec(path) for gate in item.gates),
        parallel=item.parallel,
        weight=item.weight or 1.0,
        weight_source="given" if item.weight is not None else "unit",
        estimate=item.estimate,
        tags=tuple(item.tags),
        options=options,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""


def parse_config(doc: YamlDocument) -> ProjectConfig:
    """Validate a loaded `wavefront.yaml`; errors name the file, the line and what was expected."""
    path = doc.path
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, 1, "expected a mapping of settings (version, tasks, agents, ...)")
    duplicates = doc.duplicate_keys()
    if duplicates:
        key, line = duplicates[0]
        raise ConfigError(path, line, f"key {key!r} is written twice in the same mapping")
    data = _as_written(doc, data)
    try:
        config = ProjectConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        raise_validation_error(path, doc, exc, ConfigError, model=ProjectConfig)
    _remember_lines(config, doc)
    return config


def load_config(path: Path) -> ProjectConfig:
    """Read and validate the `wavefront.yaml` at `path`."""
    return parse_config(load_yaml(path))


def _as_written(doc: YamlDocument, data: Mapping[str, Any]) -> dict[str, Any]:
    """The data with task ids and dependencies as the user typed them.

    YAML reads `id: 1.10` as the float 1.1; a task id is text, so the source text is used.
    """
    result = dict(data)
    tasks = result.get("tasks")
    if not isinstance(tasks, list):
        return result
    fixed: list[Any] = []
    for index, task in enumerate(tasks):
        if isinstance(task, Mapping):
            task = dict(task)
            if _is_number(task.get("id")):
                task["id"] = doc.scalar_text("tasks", index, "id")
            depends = task.get("depends_on")
            if _is_number(depends):
                task["depends_on"] = doc.scalar_text("tasks", index, "depends_on")
            elif isinstance(depends, list):
                task["depends_on"] = [
                    doc.scalar_text("tasks", index, "depends_on", j) if _is_number(dep) else dep
                    for j, dep in enumerate(depends)
                ]
        fixed.append(task)
    result["tasks"] = fixed
    return result


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _remember_lines(config: ProjectConfig, doc: YamlDocument) -> None:
    config._source = doc.path
    config._review_line = doc.line_of("review")
    for name in config.runners:
        config._runner_lines[name] = doc.line_of("runners", name)
    if config.defaults.runner:
        config._runner_lines[""] = doc.line_of("defaults", "runner")
    for index, gate in enumerate(config.gates):
        gate._line = doc.line_of("gates", index)
    for name, agent in config.agents.items():
        agent._line = doc.line_of("agents", name)
        for index, gate in enumerate(agent.gates):
            gate._line = doc.line_of("agents", name, "gates", index)
    for index, task in enumerate(config.tasks):
        task._line = doc.line_of("tasks", index)
        if "depends_on" in task.model_fields_set:
            task._depends_line = doc.line_of("tasks", index, "depends_on")
        for gate_index, gate in enumerate(task.gates):
            gate._line = doc.line_of("tasks", index, "gates", gate_index)
