"""What a person and a task's agent said to each other, read back from the journal.

An agent asks (`question` events), a person answers or asks for a change (`decision`
events, with who); every later round of the task gets the questions with their answers,
and continues the agent CLI's own session where the last round reported one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wavefront.engine.feedback import CONTINUE_AFTER_ANSWER, answer_note, change_request
from wavefront.journal.database import Journal
from wavefront.journal.kinds import EventKind
from wavefront.words import shell_words

__all__ = ["Note", "answers", "ask", "asked_reason", "deviations_since", "last_session",
           "note_for", "unanswered"]


@dataclass(frozen=True)
class Note:
    """What goes back to the agent in the next round's prompt, under its own heading."""

    heading: str
    text: str


def ask(journal: Journal, run_id: str, task_id: str, question: str, who: str,
        via: str = "reply") -> None:
    """Journal a question; `via` says how it came (its reply's block, or the MCP server)."""
    journal.append_event(run_id, EventKind.QUESTION, task_id, question=question, who=who,
                         at=time.time(), via=via)


def asked_reason(task_id: str, question: str) -> str:
    """The status reason of a task whose agent asked (what `status` shows a person)."""
    return (f"the agent asks: {question.splitlines()[0]}; answer with "
            f"`wavefront answer {shell_words([task_id])} \"...\"`")


def unanswered(journal: Journal, run_id: str, task_id: str) -> str | None:
    """The question the task's agent asked that no decision followed yet, or None."""
    asked = journal.events(run_id, kind=EventKind.QUESTION, task_id=task_id)
    if not asked:
        return None
    decided = journal.events(run_id, since_id=asked[-1].id, kind=EventKind.DECISION,
                             task_id=task_id)
    return None if decided else str(asked[-1].data.get("question", ""))


def deviations_since(journal: Journal, run_id: str, task_id: str, since: float) -> list[str]:
    """The deviations the task's agent reported through the MCP server since `since`."""
    return [str(e.data.get("text", ""))
            for e in journal.events(run_id, kind=EventKind.DEVIATION, task_id=task_id)
            if e.at >= since]


def note_for(journal: Journal, run_id: str, task_id: str, decision: str, text: str) -> Note:
    """The next round's note for a person's `answer` or `change` decision."""
    decided = journal.events(run_id, kind=EventKind.DECISION, task_id=task_id)
    who = (str(decided[-1].data.get("who") or "") if decided else "") or "A person"
    if decision == "change":
        return Note("Changes requested", change_request(text, who))
    return Note("Go on", CONTINUE_AFTER_ANSWER)


def answers(journal: Journal, run_id: str, task_id: str) -> list[str]:
    """Every question the task's agent asked with the answer it got, oldest first."""
    found: list[str] = []
    question: str | None = None
    for event in journal.events(run_id, task_id=task_id,
                                kinds=(EventKind.QUESTION, EventKind.DECISION)):
        if event.kind == EventKind.QUESTION:
            question = str(event.data.get("question", ""))
        elif (event.kind == EventKind.DECISION and question is not None
              and event.data.get("decision") == "answer"):
            found.append(answer_note(question, str(event.data.get("note", "")),
                                     str(event.data.get("who") or "A person")))
            question = None
    return found


def last_session(journal: Journal, run_id: str, task_id: str) -> str | None:
    """The agent CLI session of the task's last round, to continue it (None if none)."""
    for event in reversed(journal.events(run_id, kind=EventKind.ATTEMPT_FINISHED,
                                         task_id=task_id)):
        if event.data.get("session_id"):
            return str(event.data["session_id"])
    return None
