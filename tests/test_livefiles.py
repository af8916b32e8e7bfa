"""State and session files kept current during a run.

The agent (a small program run by the real `command` runner) copies what the files say
while it works into its change, so the test sees them as they were during the run.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from conftest import git
from wavefront.backlog.load import load_and_plan
from wavefront.runs import RunOptions, start_run

# Copies every file under argv[2] (a folder of the user's checkout) into seen-<task>/.
AGENT = """\
import pathlib, re, sys
task, folder = sys.argv[1], pathlib.Path(sys.argv[2])
out = pathlib.Path("seen-" + re.sub(r"\\W", "-", task))
out.mkdir()
for path in sorted(folder.rglob("*")):
    if path.is_file():
        (out / path.name).write_text(path.read_text())
print("Summary: looked.")
"""


def run(repo: Path, backlog: str, folder: Path) -> None:
    agent = repo.parent / "agent.py"
    agent.write_text(AGENT)
    loaded = load_and_plan([repo / backlog] if backlog else [], root=repo)
    options = RunOptions(run_id="live", runner="command", max_parallel=1, runner_settings={
        "command": {"argv_template": [sys.executable, str(agent), "{task_id}", str(folder)]}})
    result = start_run(repo, loaded.backlog, loaded.plan, options)
    assert result.exit_code == 0, result


def seen(repo: Path, task: str, name: str) -> str:
    folder = "seen-" + re.sub(r"\W", "-", task)
    return git(repo, "show", f"wavefront/live:{folder}/{name}")


def test_story_state_files_are_current_during_the_run(git_repo: Path) -> None:
    (git_repo / "docs" / "stories").mkdir(parents=True)
    for story, deps in (("1.1", ""), ("1.2", "**Dependencies**: 1.1\n\n")):
        (git_repo / "docs" / "stories" / f"{story}.s.md").write_text(
            f"# Story {story}: S\n\n## Status\n\nNot Started\n\n{deps}")
    (git_repo / "wavefront.yaml").write_text(
        "version: 1\nbacklog: [docs/stories]\nstate_files: true\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "stories")

    run(git_repo, "", git_repo / ".agent-orchestration")

    second = json.loads(seen(git_repo, "1.2", "story-1.2.json"))
    assert second["status"] == "In Progress"
    first = json.loads(seen(git_repo, "1.2", "story-1.1.json"))
    assert first["status"] == "Approved"
    overall = json.loads(seen(git_repo, "1.2", "orchestration-state.json"))
    assert overall["completed"] == 1 and overall["inProgress"] == 1
    assert overall["blocked"] == 0
    final = json.loads((git_repo / ".agent-orchestration" / "orchestration-state.json")
                       .read_text())
    assert final["completed"] == 2
    assert git(git_repo, "status", "--porcelain") == ""  # excluded, not the user's files


def test_task_json_session_files_are_written_and_kept_current(git_repo: Path) -> None:
    folder = git_repo / ".tmp" / "tasks" / "auth"
    folder.mkdir(parents=True)
    (folder / "task.json").write_text(json.dumps({
        "id": "auth", "name": "Auth", "objective": "Users log in",
        "exit_criteria": ["login works"], "subtask_count": 1}))
    (folder / "subtask_01.json").write_text(json.dumps({
        "id": "auth-01", "seq": "01", "title": "Form", "status": "pending",
        "context_files": ["docs/standards.md"]}))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "tasks")

    run(git_repo, ".tmp/tasks", git_repo / ".tmp" / "sessions")

    context = seen(git_repo, "auth-01", "context.md")
    assert "## Objective\n\nUsers log in" in context and "- login works" in context
    assert "- docs/standards.md" in context
    progress = seen(git_repo, "auth-01", "progress.md")
    assert "0 of 1 subtask merged" in progress and "| auth-01 | Form | In Progress |" in progress
    sessions = list((git_repo / ".tmp" / "sessions").iterdir())
    assert len(sessions) == 1 and sessions[0].name.endswith("-auth")
    assert "1 of 1 subtask merged" in (sessions[0] / "progress.md").read_text()
