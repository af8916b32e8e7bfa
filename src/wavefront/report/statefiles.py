"""A run's status as data: `wavefront status --json`, and the story workflow's state files.

The story workflow keeps orchestration state in `.agent-orchestration/` (`story-<id>.json` per story
and `orchestration-state.json`); tools that read those files can be pointed at a directory
this module writes from the journal.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from wavefront.journal.database import Journal
from wavefront.model import TaskStatus
from wavefront.report.summary import RunSummary
from wavefront.workspace.git import safe_name

__all__ = ["status_json", "write_orchestration_dir"]

# The story workflow's words for the journal's statuses.
STORY_WORKFLOW_STATUS = {
    TaskStatus.PENDING: "Not Started",
    TaskStatus.READY: "Not Started",
    TaskStatus.RUNNING: "In Progress",
    TaskStatus.VERIFYING: "In Progress",
    TaskStatus.REVIEWING: "Ready for Review",
    TaskStatus.MERGING: "Ready for Review",
    TaskStatus.NEEDS_HUMAN: "Ready for Review",
    TaskStatus.DONE: "Approved",
    TaskStatus.FAILED: "Failed",
    TaskStatus.CONFLICT: "Failed",
    TaskStatus.BLOCKED: "Blocked",
    TaskStatus.SKIPPED: "Skipped",
    TaskStatus.CANCELLED: "Cancelled",
}


def status_json(summary: RunSummary) -> dict[str, Any]:
    run = summary.run
    return {
        "run": {"id": run.id, "state": run.state, "branch": run.branch,
                "base_commit": run.base_commit, "created_at": run.created_at},
        "totals": {"tasks": len(summary.tasks),
                   **{status.value: n for status, n in summary.counts.items()},
                   "cost_usd": round(summary.cost_usd, 6),
                   "cost_estimated": summary.cost_estimated,
                   "tokens_in": summary.tokens_in, "tokens_out": summary.tokens_out,
                   "elapsed_s": round(summary.elapsed_s, 3),
                   "cost_by_agent": {a: round(c, 6) for a, c in summary.cost_by_agent.items()}},
        "tasks": [{"id": t.task_id, "title": t.title, "status": t.status.value,
                   "reason": t.reason, "agent": t.agent, "runner": t.runner,
                   "attempts": t.attempts, "reviews": t.reviews,
                   "cost_usd": round(t.cost_usd, 6),
                   "cost_estimated": t.cost_estimated, "tokens_in": t.tokens_in,
                   "tokens_out": t.tokens_out, "merge_commit": t.merge_commit}
                  for t in summary.tasks],
    }


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def write_orchestration_dir(journal: Journal, summary: RunSummary, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    records = {r.task_id: r for r in journal.tasks(summary.run.id)}
    attempts = journal.attempts(summary.run.id)
    counts = summary.counts
    for line in summary.tasks:
        own = [a for a in attempts if a.task_id == line.task_id]
        record = records[line.task_id]
        state = {
            "storyId": line.task_id,
            "status": STORY_WORKFLOW_STATUS[line.status],
            "agent": line.agent,
            "worktree": own[-1].workspace if own else None,
            "dependencies": list(record.task.dependencies),
            "startTime": _iso(own[0].started_at if own else None),
            "lastUpdate": _iso(record.updated_at),
        }
        path = directory / f"story-{safe_name(line.task_id)}.json"
        path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    in_progress = {TaskStatus.RUNNING, TaskStatus.VERIFYING, TaskStatus.REVIEWING,
                   TaskStatus.MERGING}
    open_waves = [records[t.task_id].wave for t in summary.tasks if not t.status.is_final]
    overall = {
        "totalStories": len(summary.tasks),
        "completed": counts.get(TaskStatus.DONE, 0),
        "inProgress": sum(counts.get(s, 0) for s in in_progress),
        "pending": counts.get(TaskStatus.PENDING, 0) + counts.get(TaskStatus.READY, 0),
        "failed": sum(counts.get(s, 0) for s in (TaskStatus.FAILED, TaskStatus.CONFLICT)),
        "blocked": counts.get(TaskStatus.BLOCKED, 0),
        "currentWave": min(open_waves) if open_waves else None,
        "startTime": _iso(summary.run.created_at),
    }
    (directory / "orchestration-state.json").write_text(json.dumps(overall, indent=2) + "\n",
                                                        encoding="utf-8")
