"""The names the journal stores for events and attempts.

They are `StrEnum`s: the journal keeps their text (old journals read back unchanged), and a
member compares equal to its text, so every reader and writer names them one way.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AGENT_WORK", "AttemptKind", "EventKind"]


class AttemptKind(StrEnum):
    """What an attempt was for."""

    AGENT = "agent"  # the agent doing the task's work (first try, retry, review round)
    CONFLICT = "conflict"  # the agent resolving a merge conflict
    MERGED_FIX = "merged-fix"  # the agent fixing a merged tree that failed its gates
    REVIEW = "review"  # a reviewer agent's verdict
    GATES = "gates"  # gates of a task without an agent (a sync point, a validator)


# Attempts at the work itself, as counted for retries and read for dependents' prompts.
AGENT_WORK = (AttemptKind.AGENT, AttemptKind.CONFLICT, AttemptKind.MERGED_FIX)


class EventKind(StrEnum):
    """What an event in the append-only log records."""

    RUN_CREATED = "run_created"
    RUN_OPTIONS_CHANGED = "run_options_changed"
    GRAPH_GROWN = "graph_grown"
    TASK_STATUS = "task_status"
    ATTEMPT_STARTED = "attempt_started"
    ATTEMPT_FINISHED = "attempt_finished"
    ATTEMPT_ABANDONED = "attempt_abandoned"
    GATE_CHECKED = "gate_checked"
    DECISION = "decision"  # a person's approve / reject / change / answer, with who
    QUESTION = "question"  # an agent asked a person (the question, who asked, when)
    DEVIATION = "deviation"  # an agent reported a deviation through the MCP server
    WRITEBACK_FAILED = "writeback_failed"  # merged, but the backlog file was left alone
    FIX_ROUND = "fix_round"  # a refused attempt went back to its agent with the failure
    APPROVED = "approved"
    ACCEPTED_WITH_FINDINGS = "accepted_with_findings"
    OUTSIDE_WRITES = "outside_writes"
    CLEANUP_FAILED = "cleanup_failed"
    BUDGET_REACHED = "budget_reached"
    HOOKS_DONE = "hooks_done"
    BRANCH_CHOSEN = "branch_chosen"
    ITERATION_LIMIT = "iteration_limit"
    AGENT_PROCESSES = "agent_processes"  # an attempt's process tag, before its agent starts
    AGENT_STARTED = "agent_started"  # the process group its agent started in
    AGENTS_KILLED = "agents_killed"  # what resume killed of a dead engine's attempts
    INTEGRATION_MOVED = "integration_moved"  # someone else moved the branch; put back
    # A batch of merges about to be published (old and new head, each task's commit).
    MERGE_CANDIDATE = "merge_candidate"

    @staticmethod
    def run_state(state: str) -> str:
        """The event recorded when a run enters `state` (`run_running`, `run_finished`, ...)."""
        return f"run_{state}"
