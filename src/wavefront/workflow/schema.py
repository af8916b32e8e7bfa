"""Workflow files: the steps of a workflow and how they connect, validated with pydantic.

A workflow is the `workflow:` section of `wavefront.yaml` or a `*.workflow.yaml` file. Its
native shape is a list of steps; the orchestration patterns' configuration shapes
(`parallel_execution`, `phases`, `fan_out`, ...) are rewritten to it by `patterns.py` first.
Every step keeps the place in the file it came from, so each mistake is reported as
`file:line: step 'x': ...`.

```yaml
workflow:
  max_concurrent: 4                     # at most this many workflow tasks at once
  steps:
    - id: requirements
      agent: product-manager
      prompt: Write the user stories.
      outputs: [docs/stories/]          # artifacts this step must deliver
    - id: design
      agent: architect
      inputs: [docs/stories/]           # artifacts it reads: waits for their producer
      outputs: [docs/ARCHITECTURE.md]
      gates: [{kind: contract, paths: [docs/ARCHITECTURE.md]}]
    - id: implement
      agent: full-stack-engineer
      for_each: {stories: docs/stories} # one task per story, found at run time
      after: [design]
      max_concurrent: 3
    - id: integrate
      fan_in: implement                 # waits for every task of the fan-out
      reviewers: [code-reviewer]
```

`check_workflow` does the checks that need the whole workflow (unknown agents, artifacts
nothing produces, fan-in without fan-out, branch labels, loop bounds, cycles).
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr

from wavefront.config import GateConfig, Text, TextList
from wavefront.errors import ConfigError
from wavefront.yamlsource import YamlDocument

__all__ = [
    "Analyzer",
    "ForEach",
    "Loop",
    "Step",
    "Validator",
    "Workflow",
    "WorkflowSource",
    "artifact_covers",
    "check_workflow",
    "parse_workflow",
]

Keys = tuple[str | int, ...]


@dataclass(frozen=True)
class WorkflowSource:
    """Where a workflow was written: the document, and the keys that lead to it."""

    doc: YamlDocument
    prefix: Keys = ()

    @property
    def path(self) -> Path:
        return self.doc.path

    def line(self, *keys: str | int) -> int:
        return self.doc.line_of(*self.prefix, *keys)


@dataclass(frozen=True)
class StepOrigin:
    """Where one (normalised) step sits in the file, and what its fields were called there."""

    keys: Keys
    fields: Mapping[str, Keys] = field(default_factory=dict)

    def field_keys(self, name: str | int) -> Keys:
        if isinstance(name, str) and name in self.fields:
            return self.fields[name]
        return (*self.keys, name)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _bare_agent(value: Any) -> Any:
    return {"agent": value} if isinstance(value, str) else value


def _bare_items(value: Any) -> Any:
    return {"items": value} if isinstance(value, list) else value


class ForEach(_Strict):
    """What a fan-out step runs over: a fixed list, or what an earlier step wrote."""

    items: TextList | None = None
    stories: Text | None = None
    subtasks: Text | None = None
    keep_dependencies: bool = True
    # A file an earlier step wrote (a DEPENDENCIES.md) whose order adds dependencies.
    order_from: Text | None = None

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> ForEach:
        given = [name for name in ("items", "stories", "subtasks") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("for_each needs exactly one of: items (a list), stories (a "
                             "directory of story files), subtasks (a task-JSON folder)")
        return self

    @property
    def at_run_time(self) -> bool:
        return self.items is None

    @property
    def source_path(self) -> str | None:
        return self.stories or self.subtasks


class Analyzer(_Strict):
    """An analyzer answers one label from `labels`; `run` makes a command answer it."""

    labels: Annotated[TextList, Field(min_length=1)]
    run: str | list[str] | None = None


class Validator(_Strict):
    """What must pass before the next phase: a validator agent's review or a command."""

    agent: str | None = None
    run: str | list[str] | None = None
    max_rounds: Annotated[int, Field(ge=1)] | None = None

    @pydantic.model_validator(mode="after")
    def _one_kind(self) -> Validator:
        if (self.agent is None) == (self.run is None):
            raise ValueError("a validator is an agent name or {run: <command>}")
        return self


class Loop(_Strict):
    """Go back to `back_to` while the analyzer answers `on_answer`, at most `max_iterations`
    times in all."""

    back_to: Text
    on_answer: Text
    max_iterations: Annotated[int, Field(ge=1)] | None = None


def _when(value: Any) -> Any:
    """`when: {analyze: big}` or `when: "analyze=big"` -> {"analyze": "big"}."""
    if isinstance(value, str) and "=" in value:
        step, _, label = value.replace("==", "=").partition("=")
        return {step.strip(): label.strip()}
    return value


class Step(_Strict):
    """One step of a workflow (see the module docstring)."""

    id: Annotated[Text, Field(min_length=1)]
    title: Text | None = None
    agent: str | None = None
    prompt: str = ""
    inputs: TextList = []
    outputs: TextList = []
    after: TextList = []
    fan_in: Text | None = None
    gates: list[GateConfig] = []
    when: Annotated[dict[str, Text], BeforeValidator(_when)] | None = None
    sync: bool = False
    for_each: Annotated[ForEach, BeforeValidator(_bare_items)] | None = None
    analyzer: Analyzer | None = None
    reviewers: TextList = []
    max_rounds: Annotated[int, Field(ge=1)] | None = None
    validator: Annotated[Validator, BeforeValidator(_bare_agent)] | None = None
    loop: Loop | None = None
    max_concurrent: Annotated[int, Field(gt=0)] | None = None
    acceptance_criteria: TextList = []
    files: TextList = []
    allow_no_changes: bool = False
    runner: str | None = None
    model: str | None = None
    timeout: Annotated[float, Field(gt=0)] | None = None
    retries: Annotated[int, Field(ge=0)] | None = None
    max_turns: Annotated[int, Field(gt=0)] | None = None
    script: dict[str, Any] | None = None
    # EVIDENCE files (globs) whose Deviations sections go into this step's prompt.
    deviations_from: TextList = []
    _origin: StepOrigin = PrivateAttr(default_factory=lambda: StepOrigin(()))

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Step:
        if self.when is not None and len(self.when) != 1:
            raise ValueError("when names one analyzer step and one label, e.g. "
                             "{analyze: high_complexity}")
        if self.sync and (self.agent or self.for_each or self.analyzer):
            raise ValueError("a sync point has no agent, for_each or analyzer: it only "
                             "waits for its inputs and checks its gates")
        if self.analyzer and self.for_each:
            raise ValueError("an analyzer step cannot also fan out")
        return self

    @property
    def depends_on(self) -> list[str]:
        """The steps named in `after`, `fan_in` and `when` (artifacts are added later)."""
        named = [*self.after]
        if self.fan_in:
            named.append(self.fan_in)
        if self.when:
            named.extend(self.when)
        return list(dict.fromkeys(named))

    @property
    def branch(self) -> tuple[str, str] | None:
        """(analyzer step, label) when this step runs only on that answer."""
        if not self.when:
            return None
        ((analyzer, label),) = self.when.items()
        return analyzer, label

    @property
    def origin(self) -> StepOrigin:
        return self._origin


class Workflow(_Strict):
    """A whole workflow in the native shape."""

    name: Text | None = None
    description: str | None = None
    max_concurrent: Annotated[int, Field(gt=0)] | None = None
    steps: Annotated[list[Step], Field(min_length=1)]
    _source: WorkflowSource | None = PrivateAttr(default=None)

    @property
    def source(self) -> WorkflowSource:
        assert self._source is not None, "parse_workflow sets the source"
        return self._source

    def by_id(self) -> dict[str, Step]:
        return {step.id: step for step in self.steps}

    def error(self, step: Step | None, message: str, field_name: str | None = None,
              *more: str | int) -> ConfigError:
        """A `ConfigError` at the step's line (or its field's), naming the step."""
        source = self.source
        if step is None:
            return ConfigError(source.path, source.line(), message)
        keys = step.origin.field_keys(field_name) if field_name else step.origin.keys
        return ConfigError(source.path, source.line(*keys, *more),
                           f"step {step.id!r}: {message}")


# -- parsing ------------------------------------------------------------------------------


def parse_workflow(data: Any, source: WorkflowSource,
                   origins: Sequence[StepOrigin] | None = None) -> Workflow:
    """Validate a native workflow mapping; errors name the file, line and step.

    `origins` (from `patterns.normalise`) say where each step was written when the data
    was rewritten from one of the orchestration patterns' shapes; by default step i is `steps[i]`.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(source.path, source.line(),
                          "a workflow is a mapping with 'steps' (or a pattern such as "
                          "'parallel_execution')")
    steps = data.get("steps")
    count = len(steps) if isinstance(steps, list) else 0
    if origins is None:
        origins = [StepOrigin(("steps", index)) for index in range(count)]
    try:
        workflow = Workflow.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _located(exc, data, source, origins) from None
    workflow._source = source
    for step, origin in zip(workflow.steps, origins, strict=False):
        step._origin = origin
        for index, gate in enumerate(step.gates):
            gate._line = source.line(*origin.field_keys("gates"), index)
    return workflow


def _located(exc: pydantic.ValidationError, data: Mapping[str, Any], source: WorkflowSource,
             origins: Sequence[StepOrigin]) -> ConfigError:
    first = exc.errors(include_url=False)[0]
    loc = [part for part in first["loc"] if isinstance(part, (str, int))]
    # Drop the names pydantic adds for validators and unions: they are not in the file.
    loc = [part for part in loc if not (isinstance(part, str) and "[" in part)]
    message = _reworded(first)
    step_id = None
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        index = loc[1]
        steps = data.get("steps")
        if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], Mapping):
            raw_id = steps[index].get("id")
            step_id = str(raw_id) if raw_id is not None else None
        origin = origins[index] if index < len(origins) else StepOrigin(("steps", index))
        rest = loc[2:]
        keys = origin.field_keys(rest[0]) + tuple(rest[1:]) if rest else origin.keys
        if first["type"] == "extra_forbidden" and rest:
            message = f"unknown key {rest[-1]!r} (expected one of: {', '.join(Step.model_fields)})"
        elif first["type"] == "missing" and rest:
            message = f"missing required key {rest[-1]!r}"
        line = source.line(*keys)
    else:
        if first["type"] == "extra_forbidden" and loc:
            message = (f"unknown key {loc[-1]!r} (expected one of: "
                       f"{', '.join(Workflow.model_fields)})")
        line = source.line(*loc)
    prefix = f"step {step_id!r}: " if step_id else ""
    where = ".".join(str(part) for part in loc[2:] if isinstance(part, str)) if step_id else ""
    detail = f"{where}: {message}" if where and not message.startswith(("unknown", "missing"))\
        else message
    return ConfigError(source.path, line, prefix + detail)


def _reworded(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ")
    value = error.get("input")
    if value is not None and not isinstance(value, (Mapping, list)) and "got" not in message:
        message += f", got {value!r}"
    return message


# -- whole-workflow checks ------------------------------------------------------------------


def artifact_covers(output: str, wanted: str) -> bool:
    """Whether an output path (file, `dir/` or glob) provides the artifact `wanted`."""
    from fnmatch import fnmatch

    out = output.strip().rstrip("/")
    want = wanted.strip().rstrip("/")
    if out == want or want.startswith(out + "/") or out.startswith(want + "/"):
        return True
    return any(ch in out for ch in "*?[") and fnmatch(want, out)


def producers(workflow: Workflow) -> dict[str, list[str]]:
    """For every input and fan-out source, the steps whose outputs provide it."""
    found: dict[str, list[str]] = {}
    for step in workflow.steps:
        wanted = [*step.inputs]
        if step.for_each and step.for_each.source_path:
            wanted.append(step.for_each.source_path)
        for artifact in wanted:
            found[artifact] = [other.id for other in workflow.steps if other is not step
                               and any(artifact_covers(o, artifact) for o in other.outputs)]
    return found


def check_workflow(workflow: Workflow, known_agents: Collection[str],
                   exists: Callable[[str], bool]) -> dict[str, tuple[str, ...]]:
    """Check what needs the whole workflow; return each step's dependencies (step ids).

    `exists(path)` says whether an input is already in the repository (then no step
    needs to produce it).
    """
    steps = workflow.by_id()
    seen: dict[str, Step] = {}
    for step in workflow.steps:
        if step.id in seen:
            raise workflow.error(step, f"the id is used twice (first at line "
                                       f"{workflow.source.line(*seen[step.id].origin.keys)})",
                                 "id")
        seen[step.id] = step
    made_by = producers(workflow)
    graph: dict[str, tuple[str, ...]] = {}
    for step in workflow.steps:
        _check_agents(workflow, step, known_agents)
        _check_references(workflow, step, steps)
        deps = list(step.depends_on)
        for index, artifact in enumerate(step.inputs):
            makers = made_by.get(artifact, [])
            if not makers and not exists(artifact):
                raise workflow.error(step, f"input {artifact!r} is produced by no step "
                                           "(list it under some step's outputs) and is not "
                                           "in the repository", "inputs", index)
            deps.extend(makers)
        if step.for_each and step.for_each.source_path:
            path = step.for_each.source_path
            makers = made_by.get(path, [])
            if not makers and not exists(path):
                raise workflow.error(step, f"for_each reads {path!r}, which no step's outputs "
                                           "produce", "for_each")
            deps.extend(makers)
        graph[step.id] = tuple(dict.fromkeys(deps))
    _check_cycles(workflow, graph)
    return graph


def _check_agents(workflow: Workflow, step: Step, known: Collection[str]) -> None:
    named: list[tuple[str, str]] = []
    if step.agent:
        named.append((step.agent, "agent"))
    named += [(reviewer, "reviewers") for reviewer in step.reviewers]
    if step.validator and step.validator.agent:
        named.append((step.validator.agent, "validator"))
    for agent, field_name in named:
        if agent not in known:
            close = sorted(known)
            raise workflow.error(step, f"unknown agent {agent!r} (known: {', '.join(close)})",
                                 field_name)


def _check_references(workflow: Workflow, step: Step, steps: Mapping[str, Step]) -> None:
    for name in step.after:
        if name not in steps:
            raise workflow.error(step, f"after: no step {name!r} (steps: "
                                       f"{', '.join(steps)})", "after")
    if step.fan_in is not None:
        source = steps.get(step.fan_in)
        if source is None or source.for_each is None:
            what = "no step" if source is None else "a step that does not fan out"
            raise workflow.error(step, f"fan_in names {what} ({step.fan_in!r}); fan_in must "
                                       "name a step with for_each", "fan_in")
    if step.analyzer is not None:
        labels = [label.lower() for label in step.analyzer.labels]
        for index, label in enumerate(labels):
            if label in labels[:index]:
                raise workflow.error(step, f"branch label {step.analyzer.labels[index]!r} is "
                                           "used twice", "analyzer")
    branch = step.branch
    if branch is not None:
        analyzer_id, label = branch
        analyzer = steps.get(analyzer_id)
        if analyzer is None or analyzer.analyzer is None:
            raise workflow.error(step, f"when: {analyzer_id!r} is not an analyzer step", "when")
        if label.lower() not in (x.lower() for x in analyzer.analyzer.labels):
            raise workflow.error(step, f"when: {label!r} is not one of {analyzer_id}'s labels "
                                       f"({', '.join(analyzer.analyzer.labels)})", "when")
    if step.loop is not None:
        if step.analyzer is None:
            raise workflow.error(step, "a loop belongs on an analyzer step (it answers whether "
                                       "to go round again)", "loop")
        if step.loop.max_iterations is None:
            raise workflow.error(step, "the loop has no bound: set loop.max_iterations",
                                 "loop")
        if step.loop.back_to not in steps:
            raise workflow.error(step, f"loop.back_to: no step {step.loop.back_to!r}", "loop")
        if step.loop.on_answer.lower() not in (x.lower() for x in step.analyzer.labels):
            raise workflow.error(step, f"loop.on_answer: {step.loop.on_answer!r} is not one "
                                       "of the labels", "loop")


def _check_cycles(workflow: Workflow, graph: Mapping[str, tuple[str, ...]]) -> None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = [str(node) for node in exc.args[1]]
        step = workflow.by_id()[cycle[0]]
        raise workflow.error(step, "the steps form a cycle: " + " -> ".join(cycle)) from None
