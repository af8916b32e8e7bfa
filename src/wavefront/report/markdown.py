"""`report.md`: what a run did, for a person, like the phased workflow's integration report.

Read from the journal only: per task its status, agent, attempts, every gate result with
its findings, what the agent reported doing, the files it changed, the deviations it
declared, cost and time; then the run's totals. Nothing here changes the run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavefront.journal.database import AttemptRecord, Event, Journal, RunRecord, TaskRecord
from wavefront.journal.kinds import AttemptKind, EventKind
from wavefront.model import GateAction, GateResult, TaskStatus
from wavefront.words import plural

__all__ = ["render_report", "write_report"]

_ICON = {
    TaskStatus.DONE: "✅",
    TaskStatus.FAILED: "❌",
    TaskStatus.CONFLICT: "⚠️",
    TaskStatus.BLOCKED: "⊘",
    TaskStatus.NEEDS_HUMAN: "✋",
    TaskStatus.SKIPPED: "↷",
    TaskStatus.CANCELLED: "✖",
}
_ATTENTION = (
    TaskStatus.FAILED,
    TaskStatus.CONFLICT,
    TaskStatus.NEEDS_HUMAN,
    TaskStatus.BLOCKED,
    TaskStatus.CANCELLED,
)
_TEXT_LINES = 15  # of an agent's report and of a failed gate's output


@dataclass(frozen=True)
class _TaskView:
    record: TaskRecord
    attempts: tuple[AttemptRecord, ...]
    gates: dict[int, list[GateResult]]
    events: tuple[Event, ...]

    @property
    def work(self) -> list[AttemptRecord]:
        return [a for a in self.attempts if a.kind != AttemptKind.REVIEW]

    @property
    def reviews(self) -> list[AttemptRecord]:
        return [a for a in self.attempts if a.kind == AttemptKind.REVIEW]

    @property
    def all_gates(self) -> list[GateResult]:
        return [g for a in self.attempts for g in self.gates.get(a.id, [])]

    @property
    def cost(self) -> float:
        return sum(a.cost_usd or 0.0 for a in self.attempts)

    @property
    def seconds(self) -> float:
        stamps = [e.at for e in self.events if e.kind == EventKind.TASK_STATUS]
        started = [
            e.at
            for e in self.events
            if e.kind == EventKind.TASK_STATUS and e.data.get("status") == "running"
        ]
        return max(stamps) - min(started) if started else 0.0

    @property
    def deviations(self) -> list[str]:
        return [d for a in self.work for d in a.deviations]


def write_report(journal: Journal, run: RunRecord, path: Path) -> Path:
    """Write the report of `run` to `path` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(journal, run), encoding="utf-8")
    return path


def render_report(journal: Journal, run: RunRecord) -> str:
    """The report of `run` as markdown. Tasks skipped without an attempt (done before the
    run) are named together at the end rather than given a row and a section each: in a
    long backlog they would be most of the report."""
    every = _views(journal, run)
    untouched = [v.record for v in every if v.record.status == TaskStatus.SKIPPED
                 and not v.attempts]
    left_out = {record.task_id for record in untouched}
    views = [v for v in every if v.record.task_id not in left_out]
    lines = [f"# Integration report: run {run.id}", ""]
    lines += _overview(journal, run, every)
    lines += [
        "",
        "## Tasks",
        "",
        "| Task | Title | Status | Agent | Attempts | Gates | Cost | Time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for view in views:
        record = view.record
        gates = view.all_gates
        passed = sum(g.passed for g in gates)
        lines.append(
            f"| {_cell(record.task_id)} | {_cell(record.task.title)} | {_status(record)} | "
            f"{_cell(record.agent or '-')} | {len(view.work)} | "
            f"{passed}/{len(gates)} passed | {_money(view.cost)} | {view.seconds:.1f}s |"
        )
    attention = [v for v in views if v.record.status in _ATTENTION]
    if attention:
        lines += ["", "## Needs attention", ""]
        lines += [
            f"- **{v.record.task_id}** ({v.record.status.value}): "
            f"{_one_line(v.record.reason) or 'no reason recorded'}"
            for v in attention
        ]
    open_findings = list(_open_findings(views))
    if open_findings:
        lines += [
            "",
            "## Open findings",
            "",
            "Findings that did not stop the merge (accepted at the review limit, or "
            "minor remarks on an approval):",
            "",
        ]
        lines += [f"- **{task_id}**: {_one_line(finding)}" for task_id, finding in open_findings]
    said = [(v.record.task_id, line) for v in views for line in _conversation(v.events)]
    if said:
        lines += ["", "## Questions and decisions", ""]
        lines += [f"- **{task_id}**: {line}" for task_id, line in said]
    deviations = [(v.record.task_id, d) for v in views for d in v.deviations]
    lines += ["", "## Deviations", ""]
    lines += [f"- **{task_id}**: {_one_line(d)}" for task_id, d in deviations] or ["None declared."]
    lines += ["", "## Task details"]
    for view in views:
        lines += ["", *_details(view)]
    if untouched:
        lines += ["", "## Skipped", "",
                  f"{plural(len(untouched), 'task')} not taken up, by reason:", ""]
        by_reason: dict[str, list[str]] = defaultdict(list)
        for record in untouched:
            by_reason[_one_line(record.reason) or "no reason recorded"].append(record.task_id)
        lines += [f"- {reason}: {', '.join(ids)}" for reason, ids in by_reason.items()]
    return "\n".join(lines).rstrip() + "\n"


def _views(journal: Journal, run: RunRecord) -> list[_TaskView]:
    attempts: dict[str, list[AttemptRecord]] = defaultdict(list)
    for attempt in journal.attempts(run.id):
        attempts[attempt.task_id].append(attempt)
    events: dict[str, list[Event]] = defaultdict(list)
    for event in journal.events(run.id):
        if event.task_id is not None:
            events[event.task_id].append(event)
    views = []
    for record in journal.tasks(run.id):
        mine = attempts.get(record.task_id, [])
        views.append(
            _TaskView(
                record,
                tuple(mine),
                {a.id: journal.gate_results(a.id) for a in mine},
                tuple(events.get(record.task_id, [])),
            )
        )
    return views


def _overview(journal: Journal, run: RunRecord, views: Sequence[_TaskView]) -> list[str]:
    totals = journal.totals(run.id)
    events = journal.events(run.id)
    end = run.finished_at or (events[-1].at if events else run.created_at)
    counts: dict[str, int] = {}
    for view in views:
        counts[view.record.status.value] = counts.get(view.record.status.value, 0) + 1
    gates = [g for v in views for g in v.all_gates]
    kinds: dict[str, int] = {}
    for view in views:
        for attempt in view.attempts:
            kinds[attempt.kind] = kinds.get(attempt.kind, 0) + 1
    approx = "~" if totals["cost_estimated"] else ""
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return [
        "| | |",
        "| --- | --- |",
        f"| Branch | `{run.branch}` |",
        f"| Base commit | `{run.base_commit[:12]}` |",
        f"| State | {run.state} |",
        f"| Started | {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.created_at))} |",
        f"| Time | {end - run.created_at:.1f}s |",
        f"| Tasks | {len(views)}: {by_status or 'none'} |",
        f"| Attempts | {', '.join(f'{n} {k}' for k, n in sorted(kinds.items())) or 'none'} |",
        f"| Gates | {len(gates)} checked: {sum(g.passed for g in gates)} passed, "
        f"{sum(not g.passed for g in gates)} not passed |",
        f"| Cost | {approx}{_money(totals['cost_usd'])} ({int(totals['tokens_in']):,} tokens "
        f"in, {int(totals['tokens_out']):,} out) |",
    ]


def _details(view: _TaskView) -> list[str]:
    record = view.record
    task = record.task
    lines = [f"### {record.task_id}: {task.title} — {_status(record)}", ""]
    status = record.status.value
    if record.merge_commit:
        status += f", merged as `{record.merge_commit[:12]}`"
    if record.reason:
        status += f" — {_one_line(record.reason)}"
    lines.append(f"- **Status**: {status}")
    lines.append(f"- **Agent**: {record.agent or '-'} (runner {record.runner or '-'})")
    lines.append(
        f"- **Attempts**: {len(view.work)} at the work, {plural(len(view.reviews), 'review')}; "
        f"**cost** {_money(view.cost)}; **time** {view.seconds:.1f}s"
    )
    if task.acceptance_criteria:
        lines.append(f"- **Acceptance criteria**: {len(task.acceptance_criteria)}")
    lines += [f"- {line}" for line in _conversation(view.events)]
    for event in view.events:
        if event.kind == EventKind.ACCEPTED_WITH_FINDINGS:
            lines.append("- **Accepted at the review limit with open findings**")
        elif event.kind == EventKind.FIX_ROUND:
            lines.append(f"- **Fix round {event.data.get('round')} of "
                         f"{event.data.get('limit')}** after `{event.data.get('gate')}`: "
                         f"{_one_line(str(event.data.get('summary', '')))}")
    followed: dict[int, list[AttemptRecord]] = defaultdict(list)
    for review in view.reviews:
        # A review belongs to the last piece of work started before it.
        before = [a for a in view.work if a.id < review.id]
        if before:
            followed[before[-1].id].append(review)
    for attempt in view.work:
        lines += [
            "",
            *_attempt(attempt, view.gates.get(attempt.id, []), followed.get(attempt.id, [])),
        ]
    return lines


_DECIDED = {"approve": "approved", "reject": "failed it", "change": "asked for a change",
            "answer": "answered"}


def _conversation(events: Iterable[Event]) -> list[str]:
    """What the task's agent asked and what people decided, with who and when, in order."""
    lines = []
    for event in events:
        when = time.strftime("%H:%M:%S", time.localtime(event.at))
        if event.kind == EventKind.QUESTION:
            who = event.data.get("who") or "the agent"
            lines.append(f"{who} asked ({when}): "
                         f"{_one_line(str(event.data.get('question', '')))}")
        elif event.kind == EventKind.DECISION:
            decision = str(event.data.get("decision", ""))
            note = _one_line(str(event.data.get("note") or ""))
            who = event.data.get("who") or "a person"
            lines.append(f"{who} {_DECIDED.get(decision, decision)} ({when})"
                         + (f": {note}" if note else ""))
    return lines


def _attempt(
    attempt: AttemptRecord, gates: Sequence[GateResult], reviews: Sequence[AttemptRecord]
) -> list[str]:
    outcome = (
        attempt.state
        if attempt.ok is not False
        else (
            f"{attempt.state}: {attempt.failure or 'error'}"
            + (f" ({_one_line(attempt.reason)})" if attempt.reason else "")
        )
    )
    lines = [
        f"#### Attempt {attempt.number} ({attempt.kind}) — {outcome}, "
        f"{attempt.duration_s:.1f}s, {_money(attempt.cost_usd or 0.0)}",
        "",
    ]
    reported = _tail(attempt.text)
    if reported:
        lines += ["Reported:", "", *[f"> {line}" if line else ">" for line in reported], ""]
    if attempt.changed_files:
        lines.append("Files changed: " + ", ".join(f"`{f}`" for f in attempt.changed_files))
    lines.append("Deviations: " + ("; ".join(attempt.deviations) or "none declared"))
    if gates:
        lines += ["", "Gates:", ""]
        for gate in gates:
            mark = "✅" if gate.passed else "⏳" if gate.action is GateAction.WAIT else "❌"
            lines.append(f"- {mark} {_one_line(gate.gate)}: {_one_line(gate.summary)}")
            lines += [f"  - {_one_line(f)}" for f in gate.findings]
            if not gate.passed and gate.details and not gate.findings:
                lines += [
                    "",
                    "  ```text",
                    *[f"  {line}" for line in _tail(gate.details)],
                    "  ```",
                    "",
                ]
    if reviews:
        lines.append("")
        lines += [
            f"Review {r.number} by {r.agent or '-'}: {r.state}, {r.duration_s:.1f}s, "
            f"{_money(r.cost_usd or 0.0)}"
            for r in reviews
        ]
    return lines


def _open_findings(views: Iterable[_TaskView]) -> Iterable[tuple[str, str]]:
    for view in views:
        if view.record.status != TaskStatus.DONE:
            continue
        last = view.work[-1] if view.work else None
        for gate in view.gates.get(last.id, []) if last else []:
            if gate.passed:
                for finding in gate.findings:
                    yield view.record.task_id, finding


def _status(record: TaskRecord) -> str:
    return f"{_ICON.get(record.status, '·')} {record.status.value}"


def _money(value: float) -> str:
    return f"${value:.2f}"


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tail(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if len(lines) > _TEXT_LINES:
        return ["…", *lines[-_TEXT_LINES:]]
    return lines
