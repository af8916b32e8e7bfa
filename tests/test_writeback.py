"""Write-back: after a run, the integration branch's backlog files say what was merged, in
each format's own words; the user's checkout is untouched.

Real git repositories, the real `command` runner running a small program as the agent,
each format's real loader reading the files back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import git
from wavefront.backlog.load import load_and_plan
from wavefront.errors import WavefrontError
from wavefront.runs import RunOptions, RunResult, open_journal, start_run

# Writes one file named after its task and reports a summary.
AGENT = ("import re, sys; name = re.sub(r'\\W', '-', sys.argv[1]); "
         "open(f'out-{name}.txt', 'w').write('done\\n'); "
         "print(f'Summary: built {sys.argv[1]}.\\nDeviations: none')")


def write(repo: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "backlog")


def run(repo: Path, path: str) -> RunResult:
    loaded = load_and_plan([repo / path], root=repo)
    options = RunOptions(run_id="wb", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", AGENT, "{task_id}"]}})
    return start_run(repo, loaded.backlog, loaded.plan, options)


def on_branch(repo: Path, path: str) -> str:
    return git(repo, "show", f"wavefront/wb:{path}")


STORY = ("# Story {id}: {title}\n\n## Status\n\nNot Started\n\n{deps}"
         "## Acceptance Criteria\n\n- works\n")


def stories(repo: Path) -> str:
    write(repo, {
        "docs/stories/1.1.first.md": STORY.format(id="1.1", title="First", deps=""),
        "docs/stories/1.2.second.md": STORY.format(id="1.2", title="Second",
                                                   deps="**Dependencies**: 1.1\n\n"),
    })
    return "docs/stories"


def check_stories(repo: Path) -> None:
    for path in ("docs/stories/1.1.first.md", "docs/stories/1.2.second.md"):
        text = on_branch(repo, path)
        assert "## Status\n\nDone\n" in text
        assert "Not Started" in (repo / path).read_text()  # the checkout is untouched


def taskjson(repo: Path) -> str:
    header = {"id": "auth", "name": "Auth", "status": "active", "objective": "Log in",
              "subtask_count": 2, "completed_count": 0}

    def sub(seq: str, deps: list[str]) -> str:
        return json.dumps({"id": f"auth-{seq}", "seq": seq, "title": f"Step {seq}",
                           "status": "pending", "depends_on": deps, "agent_id": None,
                           "started_at": None, "completed_at": None,
                           "completion_summary": None}, indent=2)

    write(repo, {".tmp/tasks/auth/task.json": json.dumps(header, indent=2),
                 ".tmp/tasks/auth/subtask_01.json": sub("01", []),
                 ".tmp/tasks/auth/subtask_02.json": sub("02", ["01"])})
    return ".tmp/tasks/auth"


def check_taskjson(repo: Path) -> None:
    header = json.loads(on_branch(repo, ".tmp/tasks/auth/task.json"))
    assert header["completed_count"] == 2 and header["status"] == "completed"
    first = json.loads(on_branch(repo, ".tmp/tasks/auth/subtask_01.json"))
    assert first["status"] == "completed"
    assert first["agent_id"] and first["started_at"] and first["completed_at"]
    assert first["completed_at"].endswith("Z")
    assert first["completion_summary"].startswith("built ")
    assert json.loads((repo / ".tmp/tasks/auth/task.json").read_text())["completed_count"] == 0


def taskmaster(repo: Path) -> str:
    doc = {"master": {"tasks": [
        {"id": 1, "title": "One", "status": "pending", "dependencies": []},
        {"id": 2, "title": "Two", "status": "pending", "dependencies": [1],
         "subtasks": [{"id": 1, "title": "Two a", "status": "pending", "dependencies": []}]},
    ]}}
    write(repo, {".taskmaster/tasks/tasks.json": json.dumps(doc, indent=2)})
    return ".taskmaster/tasks/tasks.json"


def check_taskmaster(repo: Path) -> None:
    tasks = json.loads(on_branch(repo, ".taskmaster/tasks/tasks.json"))["master"]["tasks"]
    assert [t["status"] for t in tasks] == ["done", "done"]
    assert tasks[1]["subtasks"][0]["status"] == "done"


def speckit(repo: Path) -> str:
    write(repo, {"specs/001-shelf/tasks.md":
                 "# Tasks\n\n## Phase 1: Setup\n\n- [ ] T001 Create the model\n"
                 "- [ ] T002 Create the view\n"})
    return "specs/001-shelf/tasks.md"


def check_speckit(repo: Path) -> None:
    text = on_branch(repo, "specs/001-shelf/tasks.md")
    assert "- [X] T001 Create the model\n- [X] T002 Create the view\n" in text


def bmad(repo: Path) -> str:
    write(repo, {"docs/sprint-artifacts/sprint-status.yaml":
                 "development_status:\n  epic-1: in-progress\n  1-1-first: ready-for-dev  "
                 "# keep this comment\n  1-2-second: backlog\n"})
    return "docs/sprint-artifacts/sprint-status.yaml"


def check_bmad(repo: Path) -> None:
    text = on_branch(repo, "docs/sprint-artifacts/sprint-status.yaml")
    assert "  1-1-first: done  # keep this comment\n  1-2-second: done\n" in text
    assert "  epic-1: done\n" in text  # with its last story


def test_a_task_master_parent_is_in_progress_with_its_first_merged_subtask(
        git_repo: Path) -> None:
    doc = {"master": {"tasks": [{"id": 1, "title": "One", "status": "pending", "subtasks": [
        {"id": 1, "title": "One a", "status": "pending", "dependencies": []},
        {"id": 2, "title": "One b", "status": "pending", "dependencies": []}]}]}}
    path = ".taskmaster/tasks/tasks.json"
    write(git_repo, {path: json.dumps(doc, indent=2)})
    loaded = load_and_plan([git_repo / path, "1.1"], root=git_repo)
    options = RunOptions(run_id="wb", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", AGENT, "{task_id}"]}})
    assert start_run(git_repo, loaded.backlog, loaded.plan, options).exit_code == 0
    parent = json.loads(on_branch(git_repo, path))["master"]["tasks"][0]
    assert parent["status"] == "in-progress"
    assert [sub["status"] for sub in parent["subtasks"]] == ["done", "pending"]


def test_a_bmad_epic_moves_on_from_backlog_with_its_first_merged_story(git_repo: Path) -> None:
    status = "docs/sprint-artifacts/sprint-status.yaml"
    write(git_repo, {status: "development_status:\n  epic-1: backlog\n  1-1-first: backlog\n"
                             "  1-2-second: backlog\n  epic-2: backlog\n  2-1-other: done\n"})
    loaded = load_and_plan([git_repo / status, "1.1"], root=git_repo)
    options = RunOptions(run_id="wb", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", AGENT, "{task_id}"]}})
    assert start_run(git_repo, loaded.backlog, loaded.plan, options).exit_code == 0
    assert on_branch(git_repo, status) == (
        "development_status:\n  epic-1: in-progress\n  1-1-first: done\n"
        "  1-2-second: backlog\n  epic-2: backlog\n  2-1-other: done\n")


FORMATS: list[tuple[Callable[[Path], str], Callable[[Path], None]]] = [
    (stories, check_stories), (taskjson, check_taskjson), (taskmaster, check_taskmaster),
    (speckit, check_speckit), (bmad, check_bmad)]


@pytest.mark.parametrize(("make", "check"), FORMATS, ids=[m.__name__ for m, _ in FORMATS])
def test_merged_work_is_written_back_in_the_merge_commit(
    git_repo: Path, make: Callable[[Path], str], check: Callable[[Path], None]
) -> None:
    path = make(git_repo)
    before = git(git_repo, "rev-parse", "HEAD")

    result = run(git_repo, path)

    assert result.exit_code == 0, result
    check(git_repo)
    assert git(git_repo, "rev-parse", "HEAD") == before
    assert git(git_repo, "status", "--porcelain", "--untracked-files=no") == ""
    # Each write-back is inside its task's merge commit: no commit of its own.
    merges = git(git_repo, "rev-list", "--merges", "--count", f"{before.strip()}..wavefront/wb")
    total = git(git_repo, "rev-list", "--first-parent", "--count",
                f"{before.strip()}..wavefront/wb")
    assert merges == total
    with open_journal(git_repo) as journal:
        assert journal.events("wb", kind="writeback_failed") == []


def test_a_backlog_file_that_changed_shape_is_left_alone_and_the_work_still_merges(
    git_repo: Path,
) -> None:
    path = "specs/001-shelf/tasks.md"
    write(git_repo, {path: "# Tasks\n\n## Phase 1: Setup\n\n- [ ] T001 Create the model\n"})
    # The agent rewrites the task list so the task's checkbox line is gone.
    breaker = ("import pathlib, sys; pathlib.Path('specs/001-shelf/tasks.md').write_text("
               "'# Tasks\\n'); open('out.txt', 'a').write(sys.argv[1]); print('Summary: ok')")
    loaded = load_and_plan([git_repo / path], root=git_repo)
    options = RunOptions(run_id="wb", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", breaker, "{task_id}"]}})

    result = start_run(git_repo, loaded.backlog, loaded.plan, options)

    assert result.exit_code == 0
    assert on_branch(git_repo, "specs/001-shelf/tasks.md") == "# Tasks\n"
    with open_journal(git_repo) as journal:
        failed = journal.events("wb", kind="writeback_failed")
    assert failed and "tasks.md" in failed[0].data["reason"]
    assert "no unchecked `- [ ] T001` line" in failed[0].data["reason"]


def test_writeback_false_leaves_the_backlog_as_it_was(git_repo: Path) -> None:
    path = speckit(git_repo)
    (git_repo / "wavefront.yaml").write_text(
        f"version: 1\nbacklog: [{path}]\nwriteback: false\n")

    loaded = load_and_plan([], root=git_repo)
    options = RunOptions(run_id="wb", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", AGENT, "{task_id}"]}})
    result = start_run(git_repo, loaded.backlog, loaded.plan, options)

    assert result.exit_code == 0
    assert "- [ ] T001" in on_branch(git_repo, "specs/001-shelf/tasks.md")


@pytest.mark.parametrize(("make", "check"), FORMATS, ids=[m.__name__ for m, _ in FORMATS])
def test_next_offers_nothing_merged_and_a_second_run_redoes_nothing(
    git_repo: Path, make: Callable[[Path], str], check: Callable[[Path], None]
) -> None:
    path = make(git_repo)
    before = wavefront_cli(git_repo, "next", path)
    assert before.returncode == 0 and before.stdout.strip()  # something to start
    first = run(git_repo, path)
    assert first.exit_code == 0

    after = wavefront_cli(git_repo, "next", path)
    assert after.returncode == 0, after.stderr
    assert after.stdout == ""
    assert after.stderr.startswith("nothing to do: all ") and "are done" in after.stderr

    loaded = load_and_plan([git_repo / path], root=git_repo, integrated=True)
    options = RunOptions(run_id="again", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", "raise SystemExit(1)"]}})
    second = start_run(git_repo, loaded.backlog, loaded.plan, options)

    assert second.exit_code == 0
    with open_journal(git_repo) as journal:
        assert journal.attempts("again") == []
        reasons = {r.reason for r in journal.tasks("again")}
    assert reasons == {"already merged on wavefront/wb"}
    # The new branch starts where the merged work is.
    assert git(git_repo, "rev-parse", "wavefront/again") == git(git_repo, "rev-parse",
                                                                 "wavefront/wb")


def test_a_task_done_before_the_run_and_opened_again_since_is_not_merged_work(
        git_repo: Path) -> None:
    done_before = STORY.format(id="1.1", title="First", deps="").replace("Not Started", "Done")
    write(git_repo, {"docs/stories/1.1.first.md": done_before,
                     "docs/stories/1.2.second.md": STORY.format(id="1.2", title="Second",
                                                                deps="")})
    assert run(git_repo, "docs/stories").exit_code == 0  # 1.2 merged, 1.1 skipped
    write(git_repo, {"docs/stories/1.1.first.md": STORY.format(id="1.1", title="First",
                                                               deps="")})  # opened again
    loaded = load_and_plan([git_repo / "docs/stories"], root=git_repo, integrated=True)
    by_id = {task.id: task.status.value for task in loaded.backlog.tasks}
    assert by_id == {"1.1": "pending", "1.2": "done"}


def again(repo: Path, path: str) -> RunResult:
    """A second run, with an agent that fails: nothing merged may be done again."""
    loaded = load_and_plan([repo / path], root=repo, integrated=True)
    options = RunOptions(run_id="again", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", "raise SystemExit(1)"]}})
    return start_run(repo, loaded.backlog, loaded.plan, options)


def test_a_run_after_head_moved_on_starts_from_both_head_and_the_merged_work(
        git_repo: Path) -> None:
    path = stories(git_repo)
    assert run(git_repo, path).exit_code == 0
    write(git_repo, {"NOTES.md": "the user's own commit on main\n"})  # HEAD moves on
    assert again(git_repo, path).exit_code == 0
    with open_journal(git_repo) as journal:
        assert journal.attempts("again") == []
    merged = set(git(git_repo, "ls-tree", "--name-only", "wavefront/again").split())
    assert {"NOTES.md", "out-1-1.txt", "out-1-2.txt"} <= merged
    assert git(git_repo, "rev-parse", "HEAD").strip() in git(
        git_repo, "rev-list", "--parents", "-n", "1", "wavefront/again")


def test_merged_work_that_conflicts_with_head_stops_the_run_with_what_to_do(
        git_repo: Path) -> None:
    path = stories(git_repo)
    assert run(git_repo, path).exit_code == 0
    story = git_repo / "docs/stories/1.1.first.md"  # its status line, changed on both sides
    write(git_repo, {"docs/stories/1.1.first.md":
                     story.read_text().replace("Not Started", "Needs a rethink")})
    with pytest.raises(WavefrontError) as raised:
        again(git_repo, path)
    message = str(raised.value)
    assert "wavefront/wb holds the merged work of 2 tasks this run skips (1.1, 1.2)" in message
    assert "docs/stories/1.1.first.md" in message and "`git merge wavefront/wb`" in message
    assert git(git_repo, "branch", "--list", "wavefront/again") == ""  # nothing was started


def wavefront_cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
