"""The one prompt every runner sends: who the agent is, what to do, what to read first, what
its dependencies delivered, which gates its work will face, and how to report back.

`PROMPT_TEMPLATE` is the whole text with one slot per section; `build_prompt` fills the
slots and leaves out sections that would be empty. The report ends with a `Deviations:`
section (the deviation protocol of the story workflow), which `parse_deviations` reads back.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from wavefront.agents.runners.base import Runner
from wavefront.model import AgentProfile, GateSpec, Task

__all__ = [
    "PROMPT_TEMPLATE",
    "DependencyDelivery",
    "agent_prompt",
    "build_prompt",
    "gate_commands",
    "parse_deviations",
    "parse_summary",
]

PROMPT_TEMPLATE = """\
{role}# Task {task_id}: {title}

{body}{criteria}{reading}{dependencies}{gates}{answers}{extra}\
## When you are done

Work only inside this repository. Do not commit; wavefront commits and merges your work.
End your reply with a short report:

Summary: what you did, in a few sentences.
Files changed: the paths you created or edited.
Deviations: every place where you departed from the task, the acceptance criteria or the
architecture documents, why, and what it affects. Write "Deviations: none" if there were
none.

{asking}"""

_ASK_BY_LINE = """
If you cannot go on without a decision from a person, stop and end your reply with a line
that starts with "QUESTION:" followed by your question (it may go on over the next lines).
Your changes so far are kept, and the answer comes back to you here.
"""
_ASK_BY_TOOL = """
If you cannot go on without a decision from a person, call the `ask_human` tool of the
`wavefront` MCP server with your question and wait: its result is the answer. Where you
cannot call it, stop and end your reply with a line that starts with "QUESTION:" followed
by your question; your changes so far are kept, and the answer comes back to you here.
"""

_ROLE = "## Your role: {name}\n\n{text}\n\n"
_SECTION = "## {heading}\n\n{lines}\n\n"


@dataclass(frozen=True)
class DependencyDelivery:
    """What a finished dependency handed on: its summary and the files it changed."""

    task_id: str
    title: str
    summary: str = ""
    changed_files: tuple[str, ...] = ()


def agent_prompt(
    task: Task,
    profile: AgentProfile | None,
    runner: Runner,
    *,
    dependencies: Sequence[DependencyDelivery] = (),
    gates: Sequence[GateSpec] = (),
    answers: Sequence[str] = (),
    extra: str = "",
    extra_heading: str = "Notes",
    deviations: Sequence[str] = (),
    ask_tool: bool = False,
) -> str:
    """The prompt `runner` is given for an attempt at `task`: what a run sends and what
    `wavefront prompt` shows, built in this one place."""
    return build_prompt(task, profile, dependencies=dependencies, gates=gates,
                        answers=answers, extra=extra, extra_heading=extra_heading,
                        persona=not runner.passes_persona(profile), deviations=deviations,
                        ask_tool=ask_tool)


def build_prompt(
    task: Task,
    profile: AgentProfile | None,
    *,
    dependencies: Sequence[DependencyDelivery] = (),
    gates: Sequence[GateSpec] = (),
    answers: Sequence[str] = (),
    extra: str = "",
    extra_heading: str = "Notes",
    persona: bool = True,
    deviations: Sequence[str] = (),
    ask_tool: bool = False,
) -> str:
    """The prompt for one attempt at `task` by `profile`.

    `persona=False` leaves the profile's role text out (its name stays) for runners that
    hand it to the CLI themselves (`CliRunner.passes_persona`), so it is not said twice.
    `gates` defaults to the task's own gates when empty. `extra` is what goes back to the
    agent for another round (a failed check, findings, a change request), under
    `extra_heading`; `answers` are the questions the agent asked and the answers it got;
    `deviations` are the deviations other agents reported, for the agent who reconciles them.
    `ask_tool` says the agent has wavefront's MCP server, whose `ask_human` asks a person.
    """
    return PROMPT_TEMPLATE.format(
        role=_role(profile, persona),
        task_id=task.id,
        title=task.title,
        body=(task.body.strip() or "(no description beyond the title)") + "\n\n",
        criteria=_section("Acceptance criteria", [f"- {c}" for c in task.acceptance_criteria]),
        reading=_reading(task),
        dependencies=_section(
            "What your dependencies delivered (already merged into your branch)",
            [_delivery(d) for d in dependencies],
        ) + _section("Deviations the engineers reported (reconcile each one)",
                     [f"- {d}" for d in deviations]),
        gates=_section(
            "Checks your work must pass before it is merged",
            [f"- {_gate(g)}" for g in (gates or task.gates)],
        ),
        answers=_section("Answers you were given", ["\n\n".join(answers)]),
        extra=_section(extra_heading, [extra.strip()]) if extra.strip() else "",
        asking=_ASK_BY_TOOL if ask_tool else _ASK_BY_LINE,
    )


def _role(profile: AgentProfile | None, persona: bool) -> str:
    if profile is None:
        return ""
    text = profile.prompt.strip() if persona else ""
    if not text:
        text = profile.description.strip() or f"Act as {profile.name}."
    return _ROLE.format(name=profile.name, text=text)


def _section(heading: str, lines: Sequence[str]) -> str:
    lines = [line for line in lines if line.strip()]
    return _SECTION.format(heading=heading, lines="\n".join(lines)) if lines else ""


def _reading(task: Task) -> str:
    files = [*task.context_files, *(f for f in task.reference_files if f not in task.context_files)]
    reading = ["Read these before you change anything:", *(f"- {path}" for path in files)]
    delivering = ["Your work must create or update these paths:"]
    delivering += [f"- {path}" for path in task.deliverables]
    return _section("Read first", reading if files else []) + _section(
        "Deliverables", delivering if task.deliverables else []
    )


def _delivery(dep: DependencyDelivery) -> str:
    text = f"- {dep.task_id} ({dep.title})"
    if dep.summary.strip():
        text += ": " + " ".join(dep.summary.split())
    if dep.changed_files:
        text += "\n  changed: " + ", ".join(dep.changed_files)
    return text


def gate_commands(gates: Sequence[GateSpec]) -> tuple[str, ...]:
    """The shell commands of the command gates, as the prompt names them to the agent."""
    commands: list[str] = []
    for gate in gates:
        run = gate.options.get("run") if gate.kind == "command" else None
        if isinstance(run, list | tuple):
            run = shlex.join(str(part) for part in run)
        if isinstance(run, str) and run.strip() and run.strip() not in commands:
            commands.append(run.strip())
    return tuple(commands)


def _gate(gate: GateSpec) -> str:
    options = gate.options
    detail = options.get("run") or options.get("paths") or options.get("documents") or ""
    if isinstance(detail, list | tuple):
        detail = ", ".join(str(item) for item in detail)
    return f"{gate.kind}: {detail}" if detail else gate.kind


_DEVIATIONS = re.compile(
    r"^[ \t]*(?:#+[ \t]*|\*\*)?deviations?(?:\*\*)?[ \t]*:?(?:\*\*)?[ \t]*(?P<rest>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_BULLET = re.compile(r"^[ \t]*(?:[-*+•]|\d+[.)])[ \t]+(?P<item>.+)$")
_NONE = re.compile(r"^(?:none|no deviations?|n/?a|nothing)\b[.!]?", re.IGNORECASE)
_NEXT_SECTION = re.compile(r"^(?:#+\s|\*\*[^*]+\*\*\s*:?\s*$|[A-Z][A-Za-z ]{1,30}:\s)")


def parse_deviations(text: str) -> list[str]:
    """The deviations an agent reported in the last `Deviations:` section of `text`.

    Accepts `Deviations: none`, an inline `Deviations: changed X because Y`, and a heading
    (`## Deviations`, `**Deviations**:`) followed by bullet or numbered items or plain
    lines, up to the next blank line after the list or the next heading.
    """
    matches = list(_DEVIATIONS.finditer(text))
    if not matches:
        return []
    last = matches[-1]
    rest = last.group("rest").strip().strip("*").strip()
    if rest:
        return [] if _NONE.match(rest) else [rest]
    items: list[str] = []
    for line in text[last.end() :].splitlines()[1:]:
        if not line.strip():
            if items:
                break
            continue
        if _NEXT_SECTION.match(line.strip()) and not _BULLET.match(line):
            break
        bullet = _BULLET.match(line)
        if bullet:
            items.append(bullet.group("item").strip())
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()  # continuation of the previous item
        else:
            items.append(line.strip())
    return [item for item in items if not _NONE.match(item)]


_SUMMARY = re.compile(
    r"^[ \t]*(?:#+[ \t]*|\*\*)?summary(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*(?P<rest>.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def parse_summary(text: str) -> str:
    """The agent's `Summary:` (the last one in `text`), or its reply's last paragraph."""
    matches = list(_SUMMARY.finditer(text))
    if matches:
        rest = matches[-1].group("rest").strip()
        if rest:
            return rest
        after = text[matches[-1].end():].strip().split("\n\n", 1)[0]
        return " ".join(after.split())
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return " ".join(paragraphs[-1].split()) if paragraphs else ""
