"""wavefront against Task Master itself: a tasks.json that the real Task Master CLI wrote
(tests/data/taskmaster-real, made by its make.sh), Task Master's own answers on it, and
wavefront's write-back read back by the real `task-master list` (installed by
scripts/setup.d/35-task-master.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components import need
from conftest import git
from wavefront.backlog.load import load_and_plan
from wavefront.model import TaskStatus
from wavefront.runs import RunOptions, start_run

DATA = Path(__file__).parent / "data" / "taskmaster-real"
TASKS = ".taskmaster/tasks/tasks.json"
CACHE = Path(os.environ.get("WAVEFRONT_TASK_MASTER")
             or Path.home() / ".cache" / "wavefront-task-master")
AGENT = ("import re, sys; name = re.sub(r'\\W', '-', sys.argv[1]); "
         "open(f'out-{name}.txt', 'w').write('done\\n'); print('Summary: done')")


def task_master() -> str:
    executable = CACHE / "node_modules" / ".bin" / "task-master"
    found = str(executable) if executable.is_file() else shutil.which("task-master")
    need(found is not None, "task-master is not installed: run "
                            "scripts/setup.d/35-task-master.sh")
    assert found is not None
    return found


def repo_with_the_file(repo: Path) -> Path:
    target = repo / TASKS
    target.parent.mkdir(parents=True)
    shutil.copy(DATA / "tasks.json", target)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Task Master's tasks")
    return target


def wavefront(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_wavefront_reads_what_task_master_wrote(git_repo: Path) -> None:
    repo_with_the_file(git_repo)
    tasks = {t.id: t for t in load_and_plan([], root=git_repo).backlog.tasks}
    # A parent with subtasks is its subtasks ("1.1", as Task Master names them); string
    # ids, which Task Master writes, are read as its numbers.
    assert list(tasks) == ["1.1", "1.2", "2.1", "3", "4", "5"]
    assert {i: t.status for i, t in tasks.items()} == {
        "1.1": TaskStatus.DONE, "1.2": TaskStatus.REVIEWING, "2.1": TaskStatus.PENDING,
        "3": TaskStatus.PENDING, "4": TaskStatus.CANCELLED, "5": TaskStatus.SKIPPED}
    assert tasks["1.2"].dependencies == ("1.1",)
    # A dependency on a parent is one on each of its subtasks; on a subtask ("1.2"), on it;
    # on a cancelled task, on nothing (Task Master counts it out of the way).
    assert tasks["2.1"].dependencies == ("1.1", "1.2")
    assert tasks["3"].dependencies == ("1.2",)


def test_next_answers_as_task_masters_ready_list(git_repo: Path) -> None:
    repo_with_the_file(git_repo)
    ready = json.loads((DATA / "ready.json").read_text())["tasks"]
    # Task Master offers only task 1, in progress: its open work is subtask 1.2, in review.
    assert [(t["id"], t["status"]) for t in ready] == [("1", "in-progress")]
    listed = json.loads((DATA / "list.json").read_text())["tasks"]
    open_work = [f"1.{s['id']}" for s in listed[0]["subtasks"] if s["status"] != "done"]
    assert open_work == ["1.2"]
    shown = wavefront(git_repo, "next")
    assert shown.returncode == 0, shown.stderr
    assert "to resume or review first: 1.2 (review)\n" in shown.stderr
    # Cancelled and deferred tasks are not offered, by Task Master nor here.
    assert "set aside in the backlog files: 4 (cancelled), 5 (deferred)" in shown.stderr
    assert shown.stdout == ""


@pytest.mark.slow
def test_task_master_reads_wavefronts_write_back(git_repo: Path, tmp_path: Path) -> None:
    executable = task_master()
    repo_with_the_file(git_repo)
    loaded = load_and_plan([str(git_repo / TASKS), "1.2", "2.1"], root=git_repo)
    options = RunOptions(run_id="tm", runner="command", runner_settings={
        "command": {"argv_template": [sys.executable, "-c", AGENT, "{task_id}"]}})
    assert start_run(git_repo, loaded.backlog, loaded.plan, options).exit_code == 0

    # The integration branch's file, where Task Master looks for it in a project of its own.
    project = tmp_path / "project"
    (project / ".taskmaster" / "tasks").mkdir(parents=True)
    (project / TASKS).write_text(git(git_repo, "show", f"wavefront/tm:{TASKS}"))
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1"}
    listed = subprocess.run([executable, "list", "--with-subtasks", "--json"], cwd=project,
                            env=env, capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert listed.returncode == 0, listed.stderr
    # Its JSON may be followed by a notice box: read the first document only.
    document, _ = json.JSONDecoder().raw_decode(listed.stdout.lstrip())
    tasks = {t["id"]: t for t in document["tasks"]}
    statuses = {i: t["status"] for i, t in tasks.items()}
    subtasks = {f"{i}.{s['id']}": s["status"] for i, t in tasks.items()
                for s in t.get("subtasks") or []}
    # Task Master's own words: the merged subtasks and their parents are done, the rest
    # as Task Master left them, every id as it was.
    assert statuses == {"1": "done", "2": "done", "3": "pending", "4": "cancelled",
                        "5": "deferred"}
    assert subtasks == {"1.1": "done", "1.2": "done", "2.1": "done"}
