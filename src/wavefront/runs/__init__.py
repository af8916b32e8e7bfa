"""Runs as a library: start, resume, retry, approve, answer, cancel, clean.

The CLI, the dashboard and the MCP server are thin layers over these functions.
"""

from wavefront.runs.decisions import (
    DECISIONS,
    answer_question,
    complete_subtask,
    open_question,
    record_decision,
    retry_tasks,
)
from wavefront.runs.lifecycle import (
    cancel_run,
    clean,
    preview_prompt,
    reconcile,
    resume_run,
    start_run,
)
from wavefront.runs.settings import RunOptions
from wavefront.runs.store import (
    STATE_DIR,
    STATE_FILES_DIR,
    RunResult,
    new_run_id,
    open_journal,
    resolve_run,
)

__all__ = [
    "DECISIONS",
    "STATE_DIR",
    "STATE_FILES_DIR",
    "RunOptions",
    "RunResult",
    "answer_question",
    "cancel_run",
    "clean",
    "complete_subtask",
    "new_run_id",
    "open_journal",
    "open_question",
    "preview_prompt",
    "reconcile",
    "record_decision",
    "resolve_run",
    "resume_run",
    "retry_tasks",
    "start_run",
]
