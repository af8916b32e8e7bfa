"""The tools for an agent inside a run, bound to its own task: ask a person, report a
deviation, read its task's context. The server of a task (`wavefront mcp --task ID`) offers
only these, so an agent can neither ask about nor act on any other task.

`ask_human` journals the question and puts the task in `needs-human`, as a `QUESTION:`
block does, then waits a bounded time for `wavefront answer` (from any process). An answer
in time is the tool's result and the same session goes on; otherwise the agent is told to
end its round, and the run gives it the answer in the next one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wavefront import runs
from wavefront.engine.conversation import answers, ask, asked_reason
from wavefront.errors import WavefrontError
from wavefront.journal.database import Journal
from wavefront.journal.kinds import AGENT_WORK, EventKind
from wavefront.mcp.planning import task_data
from wavefront.model import TaskStatus

__all__ = ["NO_ANSWER_YET", "TaskScope"]

NO_ANSWER_YET = ("No answer yet; the task now waits for a person. Stop here: end your reply "
                 "without finishing the work. Your next round starts with your question and "
                 "its answer, in this same worktree.")
POLL_S = 0.5


@dataclass(frozen=True)
class TaskScope:
    """One task of one run: what the agent-facing tools act on, and nothing else."""

    root: Path
    task_id: str
    run_id: str | None = None
    answer_wait_s: float = 600.0

    def _open(self) -> tuple[Journal, str]:
        journal = runs.open_journal(self.root, create=False)
        try:
            run = runs.resolve_run(journal, self.run_id)
            if journal.task(run.id, self.task_id) is None:
                raise WavefrontError(f"run {run.id} has no task {self.task_id!r}")
        except BaseException:
            journal.close()
            raise
        return journal, run.id

    def task_context(self) -> dict[str, Any]:
        """The task, its acceptance criteria, what its dependencies delivered, and the
        questions asked so far with their answers."""
        journal, run_id = self._open()
        with journal:
            record = journal.task(run_id, self.task_id)
            assert record is not None
            task = record.task
            reports = journal.dependency_reports(run_id, task.dependencies, AGENT_WORK)
            delivered = [{"id": dep, "title": reports[dep][0], "summary": reports[dep][1],
                          "changed_files": list(reports[dep][2])}
                         for dep in task.dependencies if dep in reports]
            return {"run": run_id, "task": {**task_data(task), "body": task.body},
                    "status": record.status.value, "agent": record.agent,
                    "dependencies_delivered": delivered,
                    "answers": answers(journal, run_id, self.task_id)}

    def report_deviation(self, text: str) -> str:
        """Journal a deviation from the task as written; it is shown in `report`."""
        if not text.strip():
            raise WavefrontError("the deviation is empty; say what you did differently and why")
        journal, run_id = self._open()
        with journal:
            journal.append_event(run_id, EventKind.DEVIATION, self.task_id, text=text.strip())
        return f"deviation recorded for {self.task_id}"

    def ask_human(self, question: str) -> str:
        """Ask a person; the answer if it comes within the wait, else `NO_ANSWER_YET`."""
        question = question.strip()
        if not question:
            raise WavefrontError("the question is empty; say what you need decided")
        journal, run_id = self._open()
        with journal:
            record = journal.task(run_id, self.task_id)
            assert record is not None
            if record.status != TaskStatus.RUNNING:
                raise WavefrontError(f"task {self.task_id} is {record.status.value}, not "
                                     "running; only its agent at work can ask")
            ask(journal, run_id, self.task_id, question, record.agent or "agent", via="mcp")
            journal.set_status(run_id, self.task_id, TaskStatus.NEEDS_HUMAN,
                               asked_reason(self.task_id, question))
            deadline = time.monotonic() + self.answer_wait_s
            while True:
                reply = journal.take_answer(run_id, self.task_id)
                if reply is not None:
                    journal.set_status(run_id, self.task_id, TaskStatus.RUNNING,
                                       "answered by a person")
                    return f"Answer: {reply}"
                if time.monotonic() >= deadline:
                    return NO_ANSWER_YET
                time.sleep(POLL_S)
