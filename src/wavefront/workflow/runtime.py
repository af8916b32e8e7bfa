"""The workflow's done-hook: what happens after a workflow task is merged.

- A fan-out placeholder (`grows_at_run_time`) reads what earlier steps wrote, from the
  merged commit (`git ls-tree`/`git show`, never the user's checkout), loads it with the
  backlog loaders (stories or task JSON) and adds one task per item. The fan-in and every
  other dependent of the placeholder gains the new tasks as dependencies, in the same
  journal transaction, so a resume sees the same graph. Ids come from the items
  (`implement:1.2`): a hook that runs again after a crash adds nothing twice.
- An analyzer's answer picks its branch: the label is read from its final text (`ANSWER:
  <label>`, or a command's one-word output); the branches not taken are `skipped` with
  their exclusive descendants. An answer outside the declared labels fails the analyzer.
- A loop (`loop: {back_to, on, max_iterations}` on an analyzer) adds the next iteration's
  copy of the steps from `back_to` to the analyzer, at most `max_iterations` in all.

The engine starts a done task's dependents only after this hook ran, so none of them can
start before the graph in front of it has grown.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from wavefront.engine.taskflow import DoneContext
from wavefront.errors import WavefrontError
from wavefront.journal.database import Journal, TaskRecord
from wavefront.journal.kinds import EventKind
from wavefront.model import SourceLocation, Task, TaskStatus
from wavefront.workflow.compile import Item, item_task
from wavefront.workflow.order import read_order
from wavefront.workspace.git import GitRepo

__all__ = ["ItemLoader", "WorkflowHook", "parse_answer", "read_items"]

_ANSWER = re.compile(
    r"^[ \t>*_`#-]*(?:answer|label)[*_`]*[ \t]*[:=][ \t]*(?P<label>[^\n]*?)[ \t.]*$",
    re.IGNORECASE | re.MULTILINE)
_STARTABLE = frozenset({TaskStatus.PENDING, TaskStatus.READY})


# Reads the items of a fan-out (stories, subtasks) from a folder, as the backlog loaders do.
ItemLoader = Callable[[Path], Sequence[Task]]


class WorkflowHook:
    """The done-hook for runs with workflow tasks (see the module docstring).

    `loaders` reads a fan-out's items by kind (`stories`, `subtasks`); the caller passes the
    backlog loaders, which sit above this package.
    """

    def __init__(self, loaders: Mapping[str, ItemLoader]) -> None:
        self.loaders = loaders

    async def __call__(self, context: DoneContext) -> None:
        info = context.task.options.workflow
        if not isinstance(info, Mapping):
            return
        if isinstance(info.get("expand"), Mapping):
            await _expand(context, info["expand"], self.loaders)
        if info.get("labels"):
            _choose_branch(context, info)


# -- fan-out ---------------------------------------------------------------------------------


async def _expand(
    context: DoneContext, expand: Mapping[str, Any], loaders: Mapping[str, ItemLoader]
) -> None:
    journal, run_id, task = context.journal, context.run_id, context.task
    repo_root = context.workspaces.repo_root
    if repo_root is None or not context.commit:
        _fail(journal, run_id, task.id, "cannot read what earlier steps wrote: no git commit")
        return
    load = loaders.get(str(expand["kind"]))
    if load is None:
        _fail(journal, run_id, task.id, f"no reader for {expand['kind']!r} items")
        return
    try:
        items = await asyncio.to_thread(read_items, repo_root, context.commit,
                                        str(expand["path"]), load)
    except WavefrontError as exc:
        _fail(journal, run_id, task.id, f"fan-out over {expand['path']}: {exc}")
        return
    if not items:
        _fail(journal, run_id, task.id, f"fan-out found no {expand['kind']} in "
                                        f"{expand['path']} at {context.commit[:10]}")
        return
    template = expand["template"]
    record = journal.task(run_id, task.id)
    assert record is not None
    # A later iteration takes only the items not done yet: neither merged by an earlier
    # iteration's copy of this step nor marked done in their own file.
    finished = _done_items(journal.tasks(run_id), str(template["step"]))
    items = [item for item in items if item.id not in finished and not item.done]
    if not items:
        return  # every item is done: nothing to add, the fan-in goes on
    if expand.get("order_from"):
        items = await asyncio.to_thread(_ordered, repo_root, context.commit,
                                        str(expand["order_from"]), items)
    ids = [item.id for item in items]
    new = [item_task(template, item, (task.id,), task.source, ids, grown_from=task.id)
           for item in items]
    existing = {r.task_id: r for r in journal.tasks(run_id)}
    missing = [t for t in new if t.id not in existing]
    if not missing:
        return  # added before a crash; the same transaction extended the dependents
    extend = {r.task_id: [t.id for t in new] for r in existing.values()
              if task.id in r.task.dependencies and r.status in _STARTABLE}
    journal.add_tasks(run_id, [_row(t, record) for t in missing],
                      reason=f"fan-out of {task.id} over {len(new)} {expand['kind']} in "
                             f"{expand['path']}", extend_dependencies=extend)


def _ordered(repo_root: Path, commit: str, path: str, items: list[Item]) -> list[Item]:
    """`items` with the order written in `path` (at `commit`) added to their dependencies;
    a rule that would close a cycle is left out, and a missing file changes nothing."""
    done = GitRepo(repo_root).run_result("show", f"{commit}:{path.strip().strip('/')}")
    if done.returncode != 0:
        return items
    order = read_order(done.stdout, [item.id for item in items])
    deps = {item.id: list(item.dependencies) for item in items}
    for item_id, before in order.items():
        for dep in before:
            if dep not in deps[item_id] and not _reaches(deps, dep, item_id):
                deps[item_id].append(dep)
    return [replace(item, dependencies=tuple(deps[item.id])) for item in items]


def _reaches(deps: Mapping[str, Sequence[str]], start: str, target: str) -> bool:
    """Whether `start` already waits (directly or not) for `target`."""
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(deps.get(node, ()))
    return False


def _done_items(records: Sequence[TaskRecord], step: str) -> set[str]:
    """The items an earlier iteration of `step` (`implement`, `implement@2`...) merged."""
    base = step.split("@")[0]
    done = set()
    for record in records:
        info = record.task.options.workflow
        if (record.status == TaskStatus.DONE and isinstance(info, Mapping)
                and info.get("kind") == "fan_out_item"
                and str(info.get("step", "")).split("@")[0] == base):
            done.add(str(info.get("item")))
    return done


def _row(task: Task, like: TaskRecord) -> tuple[Task, str | None, str | None, float, int]:
    runner = task.options.runner or like.runner
    return (task, task.agent or like.agent, runner, like.priority, like.wave + 1)


def read_items(
    repo_root: Path, commit: str, path: str, load: Callable[[Path], Sequence[Task]]
) -> list[Item]:
    """The stories or subtasks at `path` in `commit`, read with the backlog loader `load`."""
    repo = GitRepo(repo_root)
    clean = path.strip().strip("/")
    names = [n for n in repo.run("ls-tree", "-r", "--name-only", "-z", commit, "--",
                                 clean).split("\0") if n]
    if not names:
        return []
    with tempfile.TemporaryDirectory(prefix="wavefront-fanout-") as tmp:
        base = Path(tmp)
        for name in names:
            target = base / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(repo.run("show", f"{commit}:{name}"), encoding="utf-8")
        return [_item(task, base) for task in load(base / clean)]


def _item(task: Task, base: Path) -> Item:
    source = task.source
    with contextlib.suppress(ValueError):  # a loader may name a file outside the copy
        source = SourceLocation(source.path.relative_to(base), source.line)
    return Item(id=task.id, title=task.title, body=task.body, dependencies=task.dependencies,
                acceptance_criteria=task.acceptance_criteria, deliverables=task.deliverables,
                context_files=task.context_files, agent=task.agent, source=source,
                done=task.status == TaskStatus.DONE)


# -- branches --------------------------------------------------------------------------------


def parse_answer(text: str, labels: Sequence[str]) -> tuple[str | None, str]:
    """(the label answered or None, what was answered): an `ANSWER: x` line (the last one),
    or a reply that is one word. Never a guess: anything else is no answer."""
    found = list(_ANSWER.finditer(text))
    if found:
        answer = found[-1].group("label")
    else:
        stripped = text.strip()
        answer = stripped if stripped and len(stripped.split()) == 1 else ""
    answer = answer.strip().strip("`*_\"'").strip()
    for label in labels:
        if answer.lower() == label.lower():
            return label, answer
    return None, answer


def _choose_branch(context: DoneContext, info: Mapping[str, Any]) -> None:
    journal, run_id, task = context.journal, context.run_id, context.task
    labels = [str(label) for label in info["labels"]]
    label, answer = parse_answer(context.final_text, labels)
    if label is None:
        said = f"answered {answer!r}" if answer else "gave no answer"
        _fail(journal, run_id, task.id, f"the analyzer {said}; expected one of: "
                                        f"{', '.join(labels)} (as a line 'ANSWER: <label>')")
        return
    step = str(info["step"])
    records = journal.tasks(run_id)
    roots = {r.task_id for r in records
             if (branch := _branch_of(r.task)) is not None and branch[0] == step
             and branch[1] != label.lower()}
    skipped = _with_exclusive_descendants(roots, records)
    journal.append_event(run_id, EventKind.BRANCH_CHOSEN, task.id, label=label,
                         skipped=sorted(skipped))
    for record in records:
        if record.task_id in skipped and record.status in _STARTABLE:
            journal.set_status(run_id, record.task_id, TaskStatus.SKIPPED,
                               f"branch not taken: {step} answered {label}")
    loop = info.get("loop")
    if isinstance(loop, Mapping) and str(loop["on_answer"]).lower() == label.lower():
        _next_iteration(context, info, loop, records)


def _branch_of(task: Task) -> tuple[str, str] | None:
    info = task.options.workflow
    branch = info.get("branch") if isinstance(info, Mapping) else None
    if not isinstance(branch, Mapping):
        return None
    return str(branch["analyzer"]), str(branch["label"]).lower()


def _with_exclusive_descendants(roots: set[str], records: Sequence[TaskRecord]) -> set[str]:
    """`roots` plus every task all of whose dependencies are in the set (to a fixpoint)."""
    skipped = set(roots)
    changed = True
    while changed:
        changed = False
        for record in records:
            deps = record.task.dependencies
            if record.task_id not in skipped and deps and all(d in skipped for d in deps):
                skipped.add(record.task_id)
                changed = True
    return skipped


# -- loops -----------------------------------------------------------------------------------


def _next_iteration(context: DoneContext, info: Mapping[str, Any], loop: Mapping[str, Any],
                    records: Sequence[TaskRecord]) -> None:
    journal, run_id, analyzer = context.journal, context.run_id, context.task
    iteration = int(info.get("iteration", 1))
    limit = int(loop["max_iterations"])
    if iteration >= limit:
        journal.append_event(run_id, EventKind.ITERATION_LIMIT, analyzer.id, iterations=iteration,
                             max_iterations=limit)
        return
    suffix = f"@{iteration + 1}"
    by_id = {r.task_id: r for r in records}
    start = [r.task_id for r in records if _step_of(r.task) == f"{loop['back_to']}"
             + (f"@{iteration}" if iteration > 1 else "")]
    body = _between(start, analyzer.id, records)
    if not body or any(f"{t}{suffix}" in by_id for t in body):
        return  # nothing to copy, or added before a crash
    rows = []
    for task_id in body:
        record = by_id[task_id]
        copy = _copy(record.task, body, suffix, analyzer.id, iteration + 1,
                     entry=task_id in start)
        rows.append((copy, record.agent, record.runner, record.priority, record.wave))
    # What waited for this analyzer now waits for the next iteration's.
    next_analyzer = f"{analyzer.id.split('@')[0]}{suffix}"
    outside = {r.task_id: [next_analyzer] for r in records
               if analyzer.id in r.task.dependencies and r.task_id not in body
               and r.status in _STARTABLE}
    journal.add_tasks(run_id, rows, reason=f"iteration {iteration + 1} of {limit} "
                                           f"({analyzer.id} answered {loop['on_answer']})",
                      extend_dependencies=outside)


def _step_of(task: Task) -> str:
    info = task.options.workflow
    return str(info.get("step", "")) if isinstance(info, Mapping) else ""


def _between(start: Sequence[str], end: str, records: Sequence[TaskRecord]) -> list[str]:
    """Tasks on a path from `start` to `end` (both included), in run order; tasks a fan-out
    grew are left out: the copied placeholder grows its own."""
    children: dict[str, list[str]] = {r.task_id: [] for r in records}
    for record in records:
        for dep in record.task.dependencies:
            children.setdefault(dep, []).append(record.task_id)
    reach: set[str] = set()
    stack = list(start)
    while stack:
        node = stack.pop()
        if node not in reach:
            reach.add(node)
            stack.extend(children.get(node, ()))
    parents = {r.task_id: r.task.dependencies for r in records}
    back: set[str] = set()
    stack = [end]
    while stack:
        node = stack.pop()
        if node not in back:
            back.add(node)
            stack.extend(parents.get(node, ()))
    grown = {r.task_id for r in records if _grown(r.task)}
    return [r.task_id for r in records if r.task_id in reach & back and r.task_id not in grown]


def _grown(task: Task) -> bool:
    info = task.options.workflow
    return isinstance(info, Mapping) and "grown_from" in info


def _copy(task: Task, body: Sequence[str], suffix: str, previous: str, iteration: int,
          *, entry: bool) -> Task:
    base = task.id.split("@")[0]
    deps = [f"{d.split('@')[0]}{suffix}" if d in body else d for d in task.dependencies]
    if entry:
        deps.append(previous)
    info = dict(task.options.workflow or {})
    info["iteration"] = iteration
    info["step"] = f"{str(info.get('step', base)).split('@')[0]}{suffix}"
    if isinstance(info.get("expand"), Mapping):
        expand = dict(info["expand"])
        expand["template"] = {**expand["template"], "step": info["step"]}
        info["expand"] = expand
    return replace(task, id=f"{base}{suffix}", dependencies=tuple(dict.fromkeys(deps)),
                   options=replace(task.options, workflow=info))


def _fail(journal: Journal, run_id: str, task_id: str, reason: str) -> None:
    """A workflow step whose outcome cannot be used fails (its dependents are blocked)."""
    journal.set_status(run_id, task_id, TaskStatus.FAILED, reason)
