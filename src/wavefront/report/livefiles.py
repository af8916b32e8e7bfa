"""Files kept current while a run goes on, for the tools and people that read them.

- the story workflow's state files (`.agent-orchestration/story-<id>.json` and
  `orchestration-state.json`), when `state_files: true`;
- for task JSON features, the multi-stage workflow's session files
  `.tmp/sessions/<timestamp>-<feature>/context.md` (the context bundle: objective, exit
  criteria, files to read) and `progress.md` (each subtask's status).

Both are a journal listener: each task status change rewrites them from the journal, so
they say what the journal says, and a crash leaves them at the last change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from wavefront.journal.database import Event, Journal, TaskRecord
from wavefront.journal.kinds import EventKind
from wavefront.report.statefiles import STORY_WORKFLOW_STATUS, write_orchestration_dir
from wavefront.report.summary import summarize

__all__ = ["LiveFiles"]

_WATCHED = frozenset({EventKind.TASK_STATUS, EventKind.RUN_CREATED, EventKind.GRAPH_GROWN})


class LiveFiles:
    """A journal listener that rewrites the state and session files on each change."""

    def __init__(self, journal: Journal, run_id: str, root: Path, *,
                 state_dir: Path | None) -> None:
        self.journal = journal
        self.run_id = run_id
        self.root = root
        self.state_dir = state_dir
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._run_start()))
        self.sessions = {feature: root / ".tmp" / "sessions" / f"{stamp}-{feature}"
                         for feature in _features(journal.tasks(run_id))}

    @property
    def needed(self) -> bool:
        """Whether there is anything to keep current."""
        return self.state_dir is not None or bool(self.sessions)

    def __call__(self, event: Event) -> None:
        if event.run_id == self.run_id and event.kind in _WATCHED:
            self.write()

    def write(self) -> None:
        run = self.journal.get_run(self.run_id)
        if run is None:
            return
        records = self.journal.tasks(self.run_id)
        if self.state_dir is not None:
            write_orchestration_dir(self.journal, summarize(self.journal, run), self.state_dir)
        for feature, folder in self.sessions.items():
            own = [r for r in records if r.task.metadata.get("feature") == feature]
            folder.mkdir(parents=True, exist_ok=True)
            context = folder / "context.md"
            if not context.exists():
                context.write_text(_context(feature, own), encoding="utf-8")
            (folder / "progress.md").write_text(_progress(feature, own, run.branch),
                                                encoding="utf-8")

    def _run_start(self) -> float:
        run = self.journal.get_run(self.run_id)
        return run.created_at if run is not None else time.time()


def _features(records: Sequence[TaskRecord]) -> set[str]:
    return {str(r.task.metadata["feature"]) for r in records
            if r.task.backlog_format == "taskjson"
            and r.task.metadata.get("feature")}


def _context(feature: str, records: Sequence[TaskRecord]) -> str:
    first = records[0].task.metadata if records else {}
    lines = [f"# Session context: {first.get('feature_name') or feature}", ""]
    if first.get("objective"):
        lines += ["## Objective", "", str(first["objective"]), ""]
    criteria = first.get("exit_criteria") or []
    if criteria:
        lines += ["## Exit criteria", "", *(f"- {c}" for c in criteria), ""]
    files = dict.fromkeys(path for r in records
                          for path in (*r.task.context_files, *r.task.reference_files))
    if files:
        lines += ["## Read first", "", *(f"- {path}" for path in files), ""]
    lines += ["## Subtasks", "", *(f"- {r.task_id}: {r.task.title}" for r in records), ""]
    return "\n".join(lines)


def _progress(feature: str, records: Sequence[TaskRecord], branch: str) -> str:
    done = sum(r.status.value == "done" for r in records)
    lines = [f"# Progress: {feature}", "",
             f"{done} of {len(records)} subtask{'' if len(records) == 1 else 's'} merged "
             f"into {branch} (updated {time.strftime('%Y-%m-%d %H:%M:%S')})", "",
             "| subtask | title | status | note |", "| --- | --- | --- | --- |"]
    for record in records:
        note = record.reason.replace("|", "/").replace("\n", " ")[:80]
        lines.append(f"| {record.task_id} | {record.task.title} | "
                     f"{STORY_WORKFLOW_STATUS[record.status]} | {note} |")
    return "\n".join(lines) + "\n"
