"""The `review` gate: reviewer agents read the task and the diff and answer with a verdict.

The verdict is a JSON object anywhere in the reviewer's final text (a ```json block or
bare): `{"verdict": "approve" | "request_changes", "findings": [...]}`. A change request
goes back to the implementer (`GateAction.REVISE`; the task flow counts the rounds). An
answer that cannot be read is never an approval: the gate fails with the raw text kept.
Several reviewers ("primary with reviewers") run side by side and must all approve.

`max_rounds`/`on_limit` on the gate lower the run's review policy for this gate: at the
limit the gate itself asks a person (`WAIT`) or accepts with its findings recorded.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from wavefront.gates.base import GateContext
from wavefront.model import AgentProfile, AgentResult, GateAction, GateResult, Task
from wavefront.words import plural

__all__ = [
    "DEFAULT_REVIEWER",
    "ReviewGate",
    "Verdict",
    "is_approval",
    "parse_verdict",
    "review_problem",
    "review_prompt",
]

DEFAULT_REVIEWER = "code-reviewer"
_ON_LIMIT = ("needs-human", "accept")
_DIFF_LIMIT = 60_000
_RAW_LIMIT = 8_000
_FENCED_JSON = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)```", re.DOTALL)
_APPROVE = frozenset({"approve", "approved", "accept", "accepted", "lgtm", "pass"})
_CHANGES = frozenset(
    {
        "request_changes",
        "changes_requested",
        "request_change",
        "needs_changes",
        "reject",
        "rejected",
        "changes",
    }
)


@dataclass(frozen=True)
class Verdict:
    """A reviewer's readable answer."""

    approved: bool
    findings: tuple[str, ...] = ()


class _Finding(BaseModel):
    model_config = ConfigDict(extra="allow")

    severity: str | None = None
    file: str | None = None
    line: int | str | None = None
    message: str | None = None
    description: str | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")

    verdict: str
    findings: list[_Finding | str] = []


def parse_verdict(text: str) -> Verdict | None:
    """The last verdict object in `text`, or None when there is none that can be read."""
    for candidate in reversed(_json_objects(text)):
        if not isinstance(candidate, dict) or "verdict" not in candidate:
            continue
        try:
            answer = _Answer.model_validate(candidate)
        except pydantic.ValidationError:
            continue
        word = re.sub(r"[\s-]+", "_", answer.verdict.strip().lower())
        if word not in _APPROVE and word not in _CHANGES:
            continue
        findings = tuple(f for f in (_finding_text(item) for item in answer.findings) if f)
        return Verdict(word in _APPROVE, findings)
    return None


def _json_objects(text: str) -> list[Any]:
    """JSON objects found in `text`, in order: fenced blocks, then bare objects."""
    found: list[tuple[int, Any]] = []
    for match in _FENCED_JSON.finditer(text):
        try:
            found.append((match.start(), json.loads(match.group(1))))
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    # Only the last openings are tried: a verdict ends the answer, and each try is linear.
    starts = [m.start() for m in re.finditer(r"\{", text)][-200:]
    for start in starts:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        found.append((start, value))
    return [value for _, value in sorted(found, key=lambda item: item[0])]


def _finding_text(item: _Finding | str) -> str:
    if isinstance(item, str):
        return item.strip()
    message = (
        item.message
        or item.description
        or ", ".join(f"{k}: {v}" for k, v in (item.model_extra or {}).items())
    )
    where = item.file or ""
    if where and item.line not in (None, ""):
        where += f":{item.line}"
    head = f"[{item.severity}] " if item.severity else ""
    return f"{head}{where + ': ' if where else ''}{message}".strip()


_PROMPT = """\
# Review of task {task_id}: {title}

Another agent implemented this task in the working copy you are in. Decide whether the
change may be merged. Read and run what you need; do not edit any file.

## The task

{body}
{sections}
## Files changed

{files}

## The change

{diff}

{round_note}## Your answer

Check the acceptance criteria one by one, then correctness, tests, contracts and security.
Request changes only for problems that matter (an unmet criterion, a bug, a missing test, a
broken contract, a security issue); put style remarks in findings with severity "minor".
End your reply with exactly one JSON object and nothing after it:

```json
{{"verdict": "approve", "findings": []}}
```

or

```json
{{"verdict": "request_changes", "findings": [
  {{"severity": "major", "file": "path/to/file.py", "line": 42,
   "message": "what is wrong and what to do instead"}}
]}}
```

`verdict` is "approve" or "request_changes"; each finding has `severity` ("blocker",
"major" or "minor"), `message`, and `file` and `line` when they apply.
"""


def review_prompt(task: Task, diff: str, changed_files: Sequence[str], round_: int) -> str:
    """What a reviewer is asked: the task, its criteria, the diff and the verdict format."""
    sections = ""
    if task.acceptance_criteria:
        sections += (
            "\n## Acceptance criteria\n\n"
            + "\n".join(f"{n}. {c}" for n, c in enumerate(task.acceptance_criteria, 1))
            + "\n"
        )
    strategy = task.metadata.get("test_strategy")
    if isinstance(strategy, str) and strategy.strip():
        sections += f"\n## Test strategy\n\n{strategy.strip()}\n"
    if task.deliverables:
        sections += "\n## Deliverables\n\n" + "\n".join(f"- {d}" for d in task.deliverables) + "\n"
    shown = (
        diff
        if len(diff) <= _DIFF_LIMIT
        else (
            diff[:_DIFF_LIMIT] + f"\n... ({len(diff) - _DIFF_LIMIT} more characters; read the "
            "files in the working copy)\n"
        )
    )
    fence = "```"
    while fence in shown:
        fence += "`"
    round_note = (
        ""
        if round_ <= 1
        else (
            f"## Round {round_}\n\nThe implementer revised the change after an earlier review. "
            "Check that every earlier finding is addressed.\n\n"
        )
    )
    return _PROMPT.format(
        task_id=task.id,
        title=task.title,
        body=task.body.strip() or task.title,
        sections=sections,
        files="\n".join(f"- {f}" for f in changed_files) or "(none)",
        diff=f"{fence}diff\n{shown.rstrip()}\n{fence}" if shown.strip() else "(no diff)",
        round_note=round_note,
    )


class ReviewGate:
    """One or more reviewer agents must approve the change."""

    kind = "review"

    def __init__(
        self,
        agents: Sequence[str] = (DEFAULT_REVIEWER,),
        name: str | None = None,
        max_rounds: int | None = None,
        on_limit: str | None = None,
    ) -> None:
        self.agents = tuple(agents) or (DEFAULT_REVIEWER,)
        self.name = name or f"review: {', '.join(self.agents)}"
        self.max_rounds = max_rounds
        self.on_limit = on_limit or "needs-human"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ReviewGate:
        agents = options.get("agents") or [DEFAULT_REVIEWER]
        rounds = options.get("max_rounds")
        return cls(
            [agents] if isinstance(agents, str) else list(agents),
            options.get("name"),
            int(rounds) if rounds is not None else None,
            options.get("on_limit"),
        )

    async def check(self, context: GateContext) -> GateResult:
        if context.run_reviewer is None:
            return GateResult(self.name, False, "no reviewer can be run here")
        prompt = review_prompt(context.task, context.diff, context.changed_files, context.round)
        call = context.run_reviewer
        results = await asyncio.gather(
            *(call(agent, prompt, context.round) for agent in self.agents)
        )
        return self._judge(dict(zip(self.agents, results, strict=True)), context.round)

    def _judge(self, answers: Mapping[str, AgentResult], round_: int) -> GateResult:
        labelled = len(answers) > 1
        unreadable: list[str] = []
        raw: list[str] = []
        wanted: list[str] = []
        notes: list[str] = []
        for agent, result in answers.items():
            verdict = parse_verdict(result.text) if result.ok else None
            if verdict is None:
                why = (
                    f"{result.failure or 'error'}: {result.reason}"
                    if not result.ok
                    else "no readable verdict"
                )
                unreadable.append(f"{agent} ({why})")
                raw.append(f"--- {agent} ---\n{result.text[-_RAW_LIMIT:]}")
                continue
            prefix = f"{agent}: " if labelled else ""
            target = notes if verdict.approved else wanted
            target.extend(prefix + f for f in verdict.findings)
            if not verdict.approved and not verdict.findings:
                wanted.append(prefix + "changes requested without findings")
        if unreadable:
            # Never an approval: the work may be fine, but nobody has said so.
            return GateResult(
                self.name,
                False,
                "review failed: " + "; ".join(unreadable),
                "\n".join(raw),
                tuple(wanted + notes),
            )
        if not wanted:
            summary = "approved" + (f" with {plural(len(notes), 'minor finding')}"
                                    if notes else "")
            return GateResult(self.name, True, summary, "\n".join(notes), tuple(notes))
        summary = f"changes requested ({plural(len(wanted), 'finding')}, round {round_})"
        if self.max_rounds is not None and round_ >= self.max_rounds:
            if self.on_limit == "accept":
                return GateResult(
                    self.name,
                    True,
                    f"accepted with {plural(len(wanted), 'open finding')} after "
                    f"{plural(round_, 'round')}",
                    "\n".join(wanted),
                    tuple(wanted + notes),
                )
            return GateResult(
                self.name,
                False,
                f"review not approved after {plural(round_, 'round')}",
                "\n".join(wanted),
                tuple(wanted + notes),
                action=GateAction.WAIT,
            )
        return GateResult(
            self.name,
            False,
            summary,
            "\n".join(wanted),
            tuple(wanted + notes),
            action=GateAction.REVISE,
        )


def is_approval(result: GateResult) -> bool:
    """A review gate's result that approved the change (not one accepted at its limit
    with findings still open)."""
    return result.passed and result.summary.startswith("approved")


def review_problem(options: Mapping[str, Any], profiles: Mapping[str, AgentProfile]) -> str | None:
    """What is wrong with a review gate's options, or None."""
    agents = options.get("agents", [DEFAULT_REVIEWER])
    names = [agents] if isinstance(agents, str) else agents
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        return "'agents' must be a list of agent names"
    unknown = [name for name in names or [DEFAULT_REVIEWER] if name not in profiles]
    if unknown:
        known = ", ".join(sorted(profiles)) or "none"
        return f"reviewer {unknown[0]!r} is not an agent profile (known: {known})"
    rounds = options.get("max_rounds")
    if rounds is not None and (
        isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0
    ):
        return f"'max_rounds' must be a whole number of rounds (0 or more), got {rounds!r}"
    on_limit = options.get("on_limit")
    if on_limit is not None and on_limit not in _ON_LIMIT:
        return f"'on_limit' must be one of {', '.join(_ON_LIMIT)}, got {on_limit!r}"
    return None
