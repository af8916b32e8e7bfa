"""The review after every story: which tasks of a run get one that no file asked for.

`review:` in `wavefront.yaml` (see `config.ReviewPolicy`) says who reviews. By default
(`auto`) every story of a story backlog is reviewed by an agent, but only where an agent can
review it: the reviewer profile's own runner, else the story's implementer's. A `command` or
`script` runner runs a program, not a model, so a run that has only those reviews nothing
by default and says so once, rather than parking every story for a person. An explicit
`review:` always wins. A task whose gates already review it (a `review` or `human` gate of
the run, its agent or its own) gets nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from wavefront.agents.runners import NOT_AGENTS
from wavefront.config import ProjectConfig, ReviewPolicy
from wavefront.engine.settings import RunSettings
from wavefront.gates.review import DEFAULT_REVIEWER
from wavefront.model import AgentProfile, GateSpec, Task
from wavefront.words import plural

__all__ = ["STORY_FORMATS", "DefaultReview", "default_review", "review_gates"]

# The backlog formats whose tasks are stories, reviewed by default.
STORY_FORMATS = frozenset({"stories", "bmad"})
_REVIEWING_KINDS = frozenset({"review", "human"})
_HUMAN_REVIEW = "a person's review"


@dataclass(frozen=True)
class DefaultReview:
    """The tasks given a review, with that review as a gate; and what to tell the user."""

    tasks: tuple[Task, ...]
    note: str | None = None


def default_review(config: ProjectConfig | None, assigned: Sequence[tuple[Task, str, str]],
                   settings: RunSettings, profiles: Mapping[str, AgentProfile]
                   ) -> DefaultReview:
    """`assigned` (each task with its agent and runner) with the review the run's policy
    adds to each; the note says which stories no agent of the run can review."""
    policy = config.review if config is not None else ReviewPolicy()
    tasks = [task for task, _agent, _runner in assigned]
    if policy.mode == "off":
        return DefaultReview(tuple(tasks))
    reviewers = list(policy.agents) or [DEFAULT_REVIEWER]
    source = config.review_source if config is not None else None
    explicit = policy.mode != "auto"
    unable: list[str] = []
    added = 0
    for index, (task, agent, runner) in enumerate(assigned):
        if task.options.agentless or (
                not explicit and task.backlog_format not in STORY_FORMATS):
            continue
        if any(spec.kind in _REVIEWING_KINDS for spec in settings.gates_for(task, agent)):
            continue
        if policy.mode == "human":
            gate = GateSpec("human", {"name": _HUMAN_REVIEW,
                                      "prompt": f"a person must review task {task.id}"},
                            source)
        elif explicit or all(_can_review(reviewer, runner, settings, profiles)
                             for reviewer in reviewers):
            gate = GateSpec("review", {"agents": reviewers}, source)
        else:
            unable.append(task.id)
            continue
        tasks[index] = replace(task, gates=(*task.gates, gate))
        added += 1
    return DefaultReview(tuple(tasks), _note(unable, added) if unable else None)


def _can_review(reviewer: str, implementer_runner: str, settings: RunSettings,
                profiles: Mapping[str, AgentProfile]) -> bool:
    """Whether `reviewer` would run through an agent CLI: its profile's runner, else the
    implementer's (as the review gate runs it)."""
    profile = profiles.get(reviewer)
    runner = profile.runner if profile is not None and profile.runner else implementer_runner
    kind = str(settings.runner_settings.get(runner, {}).get("kind", runner))
    return kind not in NOT_AGENTS


def _note(unable: Sequence[str], reviewed: int) -> str:
    """One line (within 80 columns for a few ids) on what is not reviewed, and why."""
    if not reviewed:
        return "review: off, no agent of this run can review (review: human asks a person)"
    shown = ", ".join(unable[:3]) + (", ..." if len(unable) > 3 else "")
    return (f"review: off for {plural(len(unable), 'story', 'stories')} no agent of this "
            f"run can review: {shown}")


def review_gates(review: DefaultReview, assigned: Sequence[tuple[Task, str, str]]
                 ) -> list[GateSpec]:
    """The gates `default_review` added (one of each), to be checked before the run."""
    added: dict[str, GateSpec] = {}
    for task, (before, _agent, _runner) in zip(review.tasks, assigned, strict=True):
        for spec in task.gates[len(before.gates):]:
            added.setdefault(spec.kind, spec)
    return list(added.values())
