"""The orchestration patterns' configuration shapes, rewritten to the native list of steps.

Seven orchestration patterns, each with a small YAML configuration of its own.
`normalise` accepts those shapes (alone, or the step-list ones together with `steps`) and
returns the native workflow mapping plus, for every step, where it was written, so errors
found later still point at the user's own lines:

- `parallel_execution: true`, `max_concurrent: N`: steps without order, at most N at once;
- `parallel_execution: false` + `handoff_artifacts`: steps in order; artifact i is step i's
  output and step i+1's input, so N steps hand on up to N artifacts, the last one the
  result (a bare name means `.work/handoff/<name>.md`);
- `sync_points`: agentless steps; sync point k waits for the steps of its segment (those not
  `after` a later sync point) and for sync point k-1;
- `primary_agent` + `reviewer_agents`: one step behind a review gate by the reviewers;
- `phases` (`name`, `agent`, `validator`) + `sequential`: one step per phase, in order,
  each behind its validator;
- `fan_out` (`agent`, `tasks`/`stories`/`subtasks`, `parallel`) + `fan_in` (`agent`,
  `task`): a fan-out step and a fan-in step;
- `conditional_logic` (`analyzer`, `branches` of `condition` + `agent`): an analyzer step
  and one step per branch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from wavefront.errors import ConfigError
from wavefront.workflow.schema import StepOrigin, WorkflowSource

__all__ = ["SEED_KEYS", "normalise"]

SEED_KEYS = frozenset({
    "parallel_execution", "handoff_artifacts", "sync_points", "primary_agent",
    "reviewer_agents", "phases", "sequential", "fan_out", "fan_in", "conditional_logic",
})  # fmt: skip

Normalised = tuple[dict[str, Any], list[StepOrigin]]


def normalise(data: Any, source: WorkflowSource) -> Normalised:
    """The native form of `data` and each step's origin (data in native form is kept)."""
    if not isinstance(data, Mapping):
        raise ConfigError(source.path, source.line(),
                          "a workflow is a mapping with 'steps' (or a pattern such as "
                          "'parallel_execution')")
    result = {k: v for k, v in data.items() if k not in SEED_KEYS}
    raw_steps = data.get("steps")
    steps: list[Any] = list(raw_steps) if isinstance(raw_steps, list) else []
    origins = [StepOrigin(("steps", i)) for i in range(len(steps))]
    if not SEED_KEYS & data.keys():
        return result, origins
    own = _Builder(source, steps, origins)
    if "primary_agent" in data or "reviewer_agents" in data:
        own.primary(data)
    if "phases" in data:
        own.phases(data)
    if "fan_out" in data or "fan_in" in data:
        own.fan(data)
    if "conditional_logic" in data:
        own.conditional(data)
    if data.get("parallel_execution") is False:
        own.chain(data.get("handoff_artifacts"))
    elif "handoff_artifacts" in data:
        raise ConfigError(source.path, source.line("handoff_artifacts"),
                          "handoff_artifacts needs parallel_execution: false (a handoff is "
                          "sequential)")
    if "sync_points" in data:
        own.sync_points(data["sync_points"])
    if not own.steps:
        keys = ", ".join(k for k in data if k in SEED_KEYS or k == "max_concurrent")
        raise ConfigError(source.path, source.line(),
                          f"this configuration says how steps run ({keys}) but names no "
                          "steps: add `steps:` with one entry per piece of work, for example "
                          "`steps: [{id: api, agent: backend-developer, prompt: Build the "
                          "API}, {id: ui, agent: frontend-developer, prompt: Build the UI}]`")
    result["steps"] = own.steps
    return result, own.origins


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "step"


class _Builder:
    def __init__(self, source: WorkflowSource, steps: list[Any],
                 origins: list[StepOrigin]) -> None:
        self.source = source
        self.steps = steps
        self.origins = origins

    def _add(self, step: dict[str, Any], origin: StepOrigin) -> None:
        self.steps.append(step)
        self.origins.append(origin)

    def _error(self, keys: tuple[str | int, ...], message: str) -> ConfigError:
        return ConfigError(self.source.path, self.source.line(*keys), message)

    def primary(self, data: Mapping[str, Any]) -> None:
        if "primary_agent" not in data:
            raise self._error(("reviewer_agents",), "reviewer_agents needs a primary_agent")
        step: dict[str, Any] = {
            "id": str(data.get("id", "primary")),
            "agent": data["primary_agent"],
            "reviewers": data.get("reviewer_agents", []),
        }
        for key in ("prompt", "title", "outputs", "inputs", "max_rounds", "script"):
            if key in data:
                step[key] = data[key]
        if "task" in data:
            step["prompt"] = data["task"]
        self._add(step, StepOrigin(("primary_agent",), {
            "agent": ("primary_agent",), "reviewers": ("reviewer_agents",),
            **{key: (key,) for key in ("prompt", "max_rounds", "script", "outputs")}}))

    def phases(self, data: Mapping[str, Any]) -> None:
        phases = data["phases"]
        if not isinstance(phases, list) or not phases:
            raise self._error(("phases",), "phases is a list of {name, agent, validator}")
        sequential = data.get("sequential", True)
        previous: str | None = None
        for index, phase in enumerate(phases):
            if not isinstance(phase, Mapping):
                raise self._error(("phases", index), "a phase is a mapping "
                                                     "{name, agent, validator}")
            step = {("id" if key == "name" else key): value for key, value in phase.items()}
            if previous is not None and sequential is not False:
                step["after"] = [*_as_list(step.get("after")), previous]
            self._add(step, StepOrigin(("phases", index), {"id": ("phases", index, "name")}))
            previous = str(step.get("id"))

    def fan(self, data: Mapping[str, Any]) -> None:
        fan_out = data.get("fan_out")
        if fan_out is None:
            raise self._error(("fan_in",), "fan_in with no fan_out: there is nothing to "
                                           "gather (add a fan_out)")
        if not isinstance(fan_out, Mapping):
            raise self._error(("fan_out",), "fan_out is a mapping {agent, tasks, parallel}")
        out_id = str(fan_out.get("id", "fan_out"))
        for_each = {key: fan_out[key] for key in ("stories", "subtasks") if key in fan_out}
        if "tasks" in fan_out:
            for_each["items"] = fan_out["tasks"]
        step: dict[str, Any] = {"id": out_id, "for_each": for_each}
        for key, value in fan_out.items():
            if key not in ("id", "tasks", "stories", "subtasks", "parallel"):
                step[key] = value
        if fan_out.get("parallel") is False:
            step["max_concurrent"] = 1
        self._add(step, StepOrigin(("fan_out",), {"for_each": ("fan_out",)}))
        fan_in = data.get("fan_in")
        if fan_in is None:
            return
        if not isinstance(fan_in, Mapping):
            raise self._error(("fan_in",), "fan_in is a mapping {agent, task}")
        gather: dict[str, Any] = {"id": str(fan_in.get("task", fan_in.get("id", "fan_in"))),
                                  "fan_in": out_id}
        for key, value in fan_in.items():
            if key not in ("task", "id"):
                gather[key] = value
        self._add(gather, StepOrigin(("fan_in",), {"id": ("fan_in", "task")}))

    def conditional(self, data: Mapping[str, Any]) -> None:
        logic = data["conditional_logic"]
        if not isinstance(logic, Mapping) or "analyzer" not in logic:
            raise self._error(("conditional_logic",),
                              "conditional_logic needs an analyzer and branches")
        branches = logic.get("branches")
        if not isinstance(branches, list) or not branches:
            raise self._error(("conditional_logic", "branches"),
                              "branches is a list of {condition, agent}")
        analyzer_id = str(logic.get("id", "analyze"))
        labels: list[str] = []
        for index, branch in enumerate(branches):
            if not isinstance(branch, Mapping) or "condition" not in branch:
                raise self._error(("conditional_logic", "branches", index),
                                  "a branch is {condition, agent}")
            label = str(branch["condition"])
            if label.lower() in (x.lower() for x in labels):
                raise self._error(("conditional_logic", "branches", index, "condition"),
                                  f"step {analyzer_id!r}: branch label {label!r} is used twice")
            labels.append(label)
        analyzer = logic["analyzer"]
        step: dict[str, Any] = {"id": analyzer_id, "analyzer": {"labels": labels}}
        if isinstance(analyzer, Mapping):
            if "run" in analyzer:
                step["analyzer"]["run"] = analyzer["run"]
            step.update({k: v for k, v in analyzer.items() if k not in ("run", "labels")})
        else:
            step["agent"] = analyzer
        for key in ("prompt", "after", "script", "inputs"):
            if key in logic:
                step[key] = logic[key]
        self._add(step, StepOrigin(("conditional_logic",), {
            "agent": ("conditional_logic", "analyzer"),
            "analyzer": ("conditional_logic", "analyzer")}))
        for index, branch in enumerate(branches):
            keys: tuple[str | int, ...] = ("conditional_logic", "branches", index)
            branch_step = {"id": str(branch.get("id", slug(branch["condition"]))),
                           "when": {analyzer_id: str(branch["condition"])}}
            branch_step.update({k: v for k, v in branch.items() if k not in ("id", "condition")})
            self._add(branch_step, StepOrigin(keys, {"when": (*keys, "condition")}))

    def chain(self, artifacts: Any) -> None:
        """Run the steps in the order written; hand each artifact on to the next step."""
        names = _as_list(artifacts)
        for index, step in enumerate(self.steps):
            if not isinstance(step, dict):
                continue
            if index > 0 and not step.get("after"):
                step["after"] = [str(self.steps[index - 1].get("id"))]
            if index < len(names):
                # Step i writes artifact i; the next step (if any) starts from it.
                path = _artifact_path(str(names[index]))
                step["outputs"] = [*_as_list(step.get("outputs")), path]
                if index + 1 < len(self.steps) and isinstance(self.steps[index + 1], dict):
                    following = self.steps[index + 1]
                    following["inputs"] = [*_as_list(following.get("inputs")), path]
        if not self.steps and names:
            raise self._error(("handoff_artifacts",),
                              "handoff_artifacts are handed from one step to the next: add "
                              f"the {len(names)} steps under `steps:` (step i writes artifact "
                              "i and the next step starts from it)")
        if len(names) > len(self.steps):
            raise self._error(("handoff_artifacts", len(self.steps)),
                              f"{len(names)} handoff artifacts for {len(self.steps)} steps: "
                              "each step writes at most one (artifact i is step i's output "
                              "and step i+1's input); add steps or remove artifacts")

    def sync_points(self, points: Any) -> None:
        if not isinstance(points, list):
            raise self._error(("sync_points",), "sync_points is a list of names or "
                                                "{name, gates}")
        ids: list[str] = []
        for index, point in enumerate(points):
            name = point.get("name", point.get("id")) if isinstance(point, Mapping) else point
            if not isinstance(name, str):
                raise self._error(("sync_points", index), "a sync point needs a name")
            ids.append(slug(name))
        by_name = {**{str(p.get("name", p.get("id")) if isinstance(p, Mapping) else p): i
                      for p, i in zip(points, ids, strict=True)}, **{i: i for i in ids}}
        plain = [s for s in self.steps if isinstance(s, dict)]
        segments: dict[str, list[str]] = {sync_id: [] for sync_id in ids}
        for step in plain:
            # Steps name a sync point as written ("API contract definition") or by its id.
            step["after"] = [by_name.get(a, a) if isinstance(a, str) else a
                             for a in _as_list(step.get("after"))]
            named = [ids.index(a) for a in step["after"] if a in ids]
            segment = max(named) + 1 if named else 0
            if segment < len(ids):
                segments[ids[segment]].append(str(step.get("id")))
        for index, point in enumerate(points):
            extra = ({k: v for k, v in point.items() if k not in ("name", "id")}
                     if isinstance(point, Mapping) else {})
            waits = [*segments[ids[index]], *([ids[index - 1]] if index else [])]
            step = {"id": ids[index], "title": str(point if isinstance(point, str)
                                                   else point.get("name", ids[index])),
                    "sync": True, "after": [*waits, *_as_list(extra.pop("after", None))],
                    **extra}
            self._add(step, StepOrigin(("sync_points", index)))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _artifact_path(name: str) -> str:
    """A handoff artifact named like `migration_script` lives under `.work/handoff/`."""
    if "/" in name or "." in name:
        return name
    return f".work/handoff/{name}.md"
