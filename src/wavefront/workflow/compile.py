"""Steps to tasks: a checked workflow becomes plain `model.Task`s for the one engine.

Nothing here runs anything. A step becomes one task (a fixed fan-out one per item); its
dependencies, gates and `TaskOptions` say everything the engine and the done-hook need:

- `agentless`: a sync point, or the placeholder of a fan-out that grows at run time;
- `allow_no_changes`: an analyzer (it answers, it need not edit files);
- `grows_at_run_time`: the placeholder whose done-hook adds one task per story/subtask;
- `concurrency`: `[[group, limit], ...]`, limits the engine keeps per group;
- `workflow`: the step id and kind, the analyzer's labels, the branch a step belongs to,
  the loop, and for a placeholder the template its grown tasks are made from.

Ids of grown tasks come from their source (`implement:1.2`), so compiling and expanding
twice gives the same graph.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wavefront.model import GateSpec, SourceLocation, Task, TaskOptions
from wavefront.workflow.schema import Step, Workflow

__all__ = [
    "ANSWER_INSTRUCTIONS",
    "CompiledWorkflow",
    "Item",
    "command_runner_name",
    "compile_workflow",
    "item_task",
    "template_options",
]

ANSWER_INSTRUCTIONS = (
    "You are the analyzer of this workflow: decide which branch comes next. Answer with "
    "exactly one of these labels: {labels}. End your reply with the line\n"
    "ANSWER: <label>"
)
WORKFLOW_GROUP = "workflow"
TITLE_WIDTH = 72  # a step title taken from its prompt is cut at a word within this


@dataclass(frozen=True)
class CompiledWorkflow:
    """The tasks of a workflow, plus the command runners its command steps need."""

    tasks: tuple[Task, ...]
    runners: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """One thing a fan-out runs over: a list entry, a story, a subtask."""

    id: str
    title: str
    body: str = ""
    dependencies: tuple[str, ...] = ()
    acceptance_criteria: tuple[str, ...] = ()
    deliverables: tuple[str, ...] = ()
    context_files: tuple[str, ...] = ()
    agent: str | None = None
    source: SourceLocation | None = None
    done: bool = False  # its own file says it is done (a story marked Done)


def command_runner_name(step_id: str) -> str:
    """The runner a command analyzer or validator of `step_id` is run by."""
    return f"workflow-command:{step_id}"


def compile_workflow(workflow: Workflow, graph: Mapping[str, Sequence[str]]) -> CompiledWorkflow:
    """The tasks of `workflow`, given each step's dependencies from `check_workflow`."""
    path = workflow.source.path
    exits: dict[str, tuple[str, ...]] = {}
    tasks: list[Task] = []
    runners: dict[str, dict[str, Any]] = {}
    order = _in_dependency_order(workflow, graph)
    for step in order:
        source = SourceLocation(path, workflow.source.line(*step.origin.keys))
        deps = tuple(dict.fromkeys(t for dep in graph[step.id] for t in exits[dep]))
        template = _template(workflow, step, runners)
        if step.for_each is not None and step.for_each.items is not None:
            items = [Item(id=str(x), title=str(x)) for x in step.for_each.items]
            if not items:
                raise workflow.error(step, "for_each.items is empty", "for_each")
            grown = [item_task(template, item, deps, source) for item in items]
            tasks.extend(grown)
            exits[step.id] = tuple(t.id for t in grown)
            continue
        task = _step_task(step, template, deps, source)
        tasks.append(task)
        exits[step.id] = (task.id,)
    return CompiledWorkflow(tasks=tuple(tasks), runners=runners)


def _in_dependency_order(workflow: Workflow, graph: Mapping[str, Sequence[str]]) -> list[Step]:
    import graphlib

    by_id = workflow.by_id()
    order = graphlib.TopologicalSorter({k: tuple(v) for k, v in graph.items()}).static_order()
    return [by_id[step_id] for step_id in order]


def _template(workflow: Workflow, step: Step, runners: dict[str, dict[str, Any]]
              ) -> dict[str, Any]:
    """Everything a task of this step is made from, as plain (JSON-ready) data."""
    gates = [{"kind": gate.kind, "options": gate.options} for gate in step.gates]
    if (step.outputs or step.for_each) and not any(g["kind"] == "deliverables" for g in gates):
        # The handoff rule: a step's artifacts must exist before anything after it starts.
        gates.insert(0, {"kind": "deliverables", "options": {}})
    if step.reviewers:
        options: dict[str, Any] = {"agents": list(step.reviewers)}
        if step.max_rounds is not None:
            options["max_rounds"] = step.max_rounds
        gates.append({"kind": "review", "options": options})
    # The step's task options, spelled as `TaskOptions.KEYS` (the template is JSON-ready).
    task_options: dict[str, Any] = {
        key: value for key, value in (
            ("runner", step.runner), ("model", step.model), ("timeout", step.timeout),
            ("retries", step.retries), ("max_turns", step.max_turns), ("script", step.script))
        if value is not None}
    validator = step.validator
    if validator is not None and validator.agent is not None:
        options = {"agents": [validator.agent], "name": f"validator {validator.agent}"}
        if validator.max_rounds is not None:
            options["max_rounds"] = validator.max_rounds
        gates.append({"kind": "review", "options": options})
    elif validator is not None and validator.run is not None:
        gates.append({"kind": "command", "options": {"run": validator.run,
                                                     "name": "validator"}})
        # A command validator's loop is the task's retries: at most max_rounds tries.
        task_options.setdefault("retries", (validator.max_rounds or 1) - 1)
    prompt = step.prompt.strip()
    info: dict[str, Any] = {"step": step.id, "kind": _kind(step)}
    if step.deviations_from:
        info["deviations_from"] = list(step.deviations_from)
    if step.analyzer is not None:
        labels = list(step.analyzer.labels)
        info["labels"] = labels
        task_options["allow_no_changes"] = True
        if step.analyzer.run is not None:
            name = command_runner_name(step.id)
            runners[name] = {"kind": "command", "argv_template": step.analyzer.run,
                             "prompt_via": "stdin"}
            task_options["runner"] = name
        prompt = "\n\n".join(p for p in (prompt, ANSWER_INSTRUCTIONS.format(
            labels=", ".join(labels))) if p)
    if step.allow_no_changes:
        task_options["allow_no_changes"] = True
    if step.branch is not None:
        info["branch"] = {"analyzer": step.branch[0], "label": step.branch[1]}
    if step.loop is not None:
        info["loop"] = step.loop.model_dump()
    concurrency = [[WORKFLOW_GROUP, workflow.max_concurrent]] if workflow.max_concurrent else []
    if step.for_each is not None and step.max_concurrent is not None:
        concurrency.append([step.id, step.max_concurrent])
    if concurrency:
        task_options["concurrency"] = concurrency
    task_options["workflow"] = info
    return {
        "step": step.id,
        "title": step.title or _title(step),
        "prompt": prompt,
        "agent": step.agent,
        "inputs": list(step.inputs),
        "outputs": list(step.outputs),
        "files": list(step.files),
        "acceptance_criteria": list(step.acceptance_criteria),
        "gates": gates,
        "options": task_options,
        "keep_dependencies": bool(step.for_each.keep_dependencies) if step.for_each else True,
    }


def _kind(step: Step) -> str:
    if step.sync:
        return "sync"
    if step.analyzer is not None:
        return "analyzer"
    if step.for_each is not None:
        return "fan_out"
    return "agent"


def _title(step: Step) -> str:
    """The prompt's first line, cut at a word (a title is read in a table)."""
    for line in step.prompt.splitlines():
        if line.strip():
            first = line.strip().lstrip("#").strip()
            if len(first) <= TITLE_WIDTH:
                return first
            return first[:TITLE_WIDTH - 1].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return step.id.replace("-", " ").replace("_", " ").capitalize()


def _fill_each(text: str, noun: str) -> str:
    """A fan-out placeholder's title: it stands for every item, not one."""
    named = re.sub(rf"\b{noun} \{{item(?:_title)?\}}", f"each {noun}", text)
    return re.sub(r"\{item(?:_title)?\}", f"each {noun}", named)


def _item_title(template_title: str, item: Item) -> str:
    """A fan-out item's title: the step's title with the item filled in, followed by the
    item's own title unless the step's title already names it."""
    title = _fill(template_title, item)
    if "{item_title}" in template_title or item.title in (item.id, ""):
        return title
    return f"{title}: {item.title}"


def _step_task(step: Step, template: Mapping[str, Any], deps: tuple[str, ...],
               source: SourceLocation) -> Task:
    task_options = template_options(template)
    title = template["title"]
    body = template["prompt"]
    if step.sync:
        task_options["agentless"] = True
    if step.for_each is not None:  # grows at run time: a placeholder holds the template
        kind = "stories" if step.for_each.stories else "subtasks"
        task_options.update(agentless=True, grows_at_run_time=True)
        task_options["workflow"] = {**task_options["workflow"], "expand": {
            "kind": kind, "path": step.for_each.source_path, "template": dict(template),
            **({"order_from": step.for_each.order_from} if step.for_each.order_from
               else {})}}
        noun = "story" if kind == "stories" else "subtask"
        title = (f"{_fill_each(title, noun)} (one task per {noun} in "
                 f"{step.for_each.source_path})")
        body = (f"Placeholder: when this step starts, one task per {noun} found in "
                f"{step.for_each.source_path} is added to the run.\n\n{body}").strip()
    outputs = tuple(template["outputs"])
    return Task(
        id=step.id,
        title=title,
        source=source,
        body=body,
        dependencies=deps,
        agent=step.agent,
        acceptance_criteria=tuple(template["acceptance_criteria"]),
        deliverables=() if step.for_each is not None else outputs,
        files=tuple(dict.fromkeys([*template["files"], *outputs])) if step.for_each is None
        else (),
        context_files=tuple(template["inputs"]),
        gates=() if step.for_each is not None else _gates(template, source),
        options=TaskOptions.split(task_options)[0],
    )


def template_options(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a template's task options (journals of older versions say `metadata`)."""
    return dict(template.get("options") or template.get("metadata") or {})


def _gates(template: Mapping[str, Any], source: SourceLocation | None) -> tuple[GateSpec, ...]:
    return tuple(GateSpec(g["kind"], dict(g["options"]), source) for g in template["gates"])


def _fill(text: str, item: Item) -> str:
    return text.replace("{item}", item.id).replace("{item_title}", item.title)


def item_task(template: Mapping[str, Any], item: Item, deps: Sequence[str],
              source: SourceLocation, sibling_ids: Sequence[str] = (),
              grown_from: str | None = None) -> Task:
    """The task of one fan-out item: `<step>:<item id>`, made from the step's template.

    `sibling_ids` are the other items' ids: an item's own dependencies on them become
    dependencies on their tasks when the step keeps dependencies. `grown_from` names the
    placeholder that added the task at run time.
    """
    step_id = template["step"]
    own_deps = [f"{step_id}:{dep}" for dep in item.dependencies
                if template.get("keep_dependencies", True) and dep in sibling_ids]
    task_options = template_options(template)
    task_options["workflow"] = {**task_options["workflow"], "kind": "fan_out_item", "item": item.id,
                            **({"grown_from": grown_from} if grown_from else {})}
    outputs = tuple(_fill(o, item) for o in template["outputs"])
    deliverables = tuple(dict.fromkeys([*item.deliverables, *outputs]))
    parts = [_fill(template["prompt"], item)]
    if item.body.strip():
        parts += [f"## {item.title}", item.body.strip()]
    else:
        parts.append(f"This task is for: {item.title}")
    body = "\n\n".join(part for part in parts if part)
    reading = [*(_fill(i, item) for i in template["inputs"]), *item.context_files]
    if item.source is not None:
        reading.append(str(item.source.path))
    return Task(
        id=f"{step_id}:{item.id}",
        title=_item_title(template["title"], item),
        source=item.source or source,
        body=body,
        dependencies=tuple(dict.fromkeys([*deps, *own_deps])),
        agent=template["agent"] or item.agent,
        acceptance_criteria=(*template["acceptance_criteria"], *item.acceptance_criteria),
        deliverables=deliverables,
        files=tuple(dict.fromkeys([*template["files"], *deliverables])),
        context_files=tuple(dict.fromkeys(reading)),
        gates=_gates(template, source),
        options=TaskOptions.split(task_options)[0],
    )

