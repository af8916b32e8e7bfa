"""The run commands as a user types them: real `python -m wavefront` processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import WriteBacklog, git
from wavefront.agents.runners import RUNNERS


def wavefront(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_run_status_log_and_state_files(git_repo: Path, write_backlog: WriteBacklog,
                                        tmp_path: Path) -> None:
    write_backlog([
        {"id": "1.1", "title": "one", "script": {"files": {"one.txt": "1\n"}}},
        {"id": "1.2", "title": "two", "depends_on": ["1.1"],
         "script": {"files": {"two.txt": "2\n"}}},
        {"id": "1.3", "title": "three", "script": {"behaviour": "fail"}},
    ])
    done = wavefront(git_repo, "run", "--no-progress")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "1.3: three (failed: agent error" in done.stdout
    assert re.search(r"`wavefront retry( -C \S+)? 1\.3`", done.stdout)  # what to do next

    status = wavefront(git_repo, "status", "--json",
                       "--orchestration-dir", str(tmp_path / "orch"))
    data = json.loads(status.stdout)
    by_id = {t["id"]: t for t in data["tasks"]}
    assert by_id["1.1"]["status"] == "done" and by_id["1.1"]["merge_commit"]
    assert by_id["1.3"]["status"] == "failed"
    assert data["totals"]["done"] == 2 and data["totals"]["failed"] == 1
    story = json.loads((tmp_path / "orch" / "story-1.2.json").read_text())
    assert story["status"] == "Approved" and story["dependencies"] == ["1.1"]
    overall = json.loads((tmp_path / "orch" / "orchestration-state.json").read_text())
    assert overall["totalStories"] == 3 and overall["completed"] == 2
    assert overall["failed"] == 1

    log = wavefront(git_repo, "log", "1.3")
    assert log.returncode == 0
    assert "scripted failure" in log.stdout

    branch = data["run"]["branch"]
    assert git(git_repo, "show", f"{branch}:two.txt") == "2\n"
    table = subprocess.run([sys.executable, "-m", "wavefront", "status", "-C", str(git_repo)],
                           capture_output=True, text=True, timeout=120, check=True,
                           env={**os.environ, "COLUMNS": "80"}).stdout.splitlines()
    assert table[0] == f"run {data['run']['id']} (finished) → {branch}"
    assert all(len(line) <= 80 for line in table), table
    assert any("1.3" in line and "failed" in line and "agent error" in line for line in table)

    not_waiting = wavefront(git_repo, "approve", "1.1", "--note", "fine")
    assert not_waiting.returncode == 2
    assert "task 1.1 is done, not waiting for a person" in not_waiting.stderr
    reject = wavefront(git_repo, "reject", "1.3")
    assert reject.returncode == 2 and "--note" in reject.stderr  # a reason is required


def test_run_outside_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "wavefront.yaml").write_text(
        "version: 1\ndefaults: {runner: script}\ntasks: [{id: a}]\n")
    done = wavefront(tmp_path, "run", "--no-progress")
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "not a git repository" in last
    assert "Traceback" not in done.stderr


def test_a_broken_backlog_stops_before_anything_runs(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text(
        "version: 1\ndefaults: {runner: script}\ntasks:\n  - id: a\n    depends_on: [zz]\n")
    done = wavefront(git_repo, "run", "--no-progress")
    assert done.returncode == 2
    assert "wavefront.yaml:5" in done.stderr and "'zz'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (git_repo / ".wavefront" / "journal.db").exists()


def test_no_runner_chosen_is_a_clear_error(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text("version: 1\ntasks: [{id: a}]\n")
    done = wavefront(git_repo, "run", "--no-progress")
    assert done.returncode == 2
    assert "no runner chosen" in done.stderr
    assert all(name in done.stderr for name in RUNNERS), done.stderr


def test_the_runner_option_names_every_runner() -> None:
    helped = subprocess.run([sys.executable, "-m", "wavefront", "run", "--help"],
                            capture_output=True, text=True, timeout=60, check=True)
    text = " ".join(helped.stdout.split())
    named = re.search(r"--runner NAME Runner for tasks that do not name one: ([^(]*)", text)
    assert named is not None, text
    assert set(re.split(r", | or ", named.group(1).strip())) == set(RUNNERS)


def test_resume_without_a_run_is_a_clear_error(git_repo: Path) -> None:
    done = wavefront(git_repo, "resume", "--no-progress")
    assert done.returncode == 2
    assert "no run in" in done.stderr


def test_a_workflow_file_is_planned_with_the_workflow_option(tmp_path: Path) -> None:
    flow = tmp_path / "release.yaml"
    flow.write_text(
        "version: 1\nworkflow:\n  name: release\n  steps:\n"
        "    - {id: notes, agent: documentation-writer, prompt: Write notes., "
        "outputs: [NOTES.md]}\n"
        "    - {id: tag, agent: devops-engineer, prompt: Tag it., inputs: [NOTES.md]}\n")
    done = subprocess.run([sys.executable, "-m", "wavefront", "plan", "--workflow", str(flow),
                           "-o", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    by_id = {t["id"]: t for t in data["tasks"]}
    assert set(by_id) == {"notes", "tag"}
    assert by_id["tag"]["dependencies"] == ["notes"]  # the handoff of NOTES.md
    mixed = subprocess.run([sys.executable, "-m", "wavefront", "plan", "--workflow", str(flow),
                            "-b", str(flow)], capture_output=True, text=True, timeout=120)
    assert mixed.returncode == 2 and "--workflow FILE is the whole backlog" in mixed.stderr


def test_a_command_runner_without_its_command_stops_before_any_task(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text("version: 1\ntasks: [{id: a}, {id: b}]\n")
    done = wavefront(git_repo, "run", "--no-progress", "--runner", "command")
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and "runners.command: missing argv_template" in line
    assert "settings expected: argv_template (required), prompt_via" in line
    assert "Traceback" not in done.stderr and "__init__" not in done.stderr
    resume = wavefront(git_repo, "resume", "--no-progress")  # no run was recorded
    assert resume.returncode == 2 and "no run in" in resume.stderr


def test_a_wrong_runner_key_is_found_by_validate_and_plan(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text(
        "version: 1\ndefaults: {runner: mine}\nrunners:\n  mine:\n    kind: command\n"
        "    cmd: my-agent\ntasks: [{id: a}]\n")
    for command in ("validate", "plan"):
        done = wavefront(git_repo, command)
        assert done.returncode == 2, done.stdout
        error = done.stderr.strip().splitlines()[-1]
        assert error.startswith(f"error: {git_repo / 'wavefront.yaml'}:4: runners.mine")
        assert "unknown setting 'cmd'" in error and "argv_template (required)" in error


def in_folder(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`wavefront ARGS` typed in `folder`, with no -C."""
    return subprocess.run([sys.executable, "-m", "wavefront", *args], cwd=folder,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_commands_typed_in_a_subfolder_find_the_repositorys_backlog_and_runs(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": "1.1", "title": "one", "script": {"files": {"one.txt": "1\n"}}}])
    deep = git_repo / "src" / "deep"
    deep.mkdir(parents=True)
    started = in_folder(deep, "run", "--no-progress")
    assert started.returncode == 0, started.stdout + started.stderr
    assert (git_repo / ".wavefront" / "journal.db").is_file()  # the run is the repository's
    assert not (deep / ".wavefront").exists()
    status = in_folder(deep, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert [task["status"] for task in json.loads(status.stdout)["tasks"]] == ["done"]
    assert in_folder(deep, "validate").returncode == 0
    # A subfolder with a backlog of its own (a project in a larger repository) is its own.
    project = git_repo / "tools"
    (project / "docs" / "stories").mkdir(parents=True)
    (project / "docs" / "stories" / "2.1.tool.md").write_text(
        "# Story 2.1: A tool\n\n## Status\n\nDraft\n")
    planned = in_folder(project, "plan", "-o", "json")
    assert [task["id"] for task in json.loads(planned.stdout)["tasks"]] == ["2.1"]


def test_outside_a_repository_the_folder_typed_in_is_the_root(tmp_path: Path) -> None:
    lone = tmp_path / "lone" / "inner"
    lone.mkdir(parents=True)
    (tmp_path / "lone" / "wavefront.yaml").write_text("version: 1\ntasks: [{id: a}]\n")
    found = in_folder(lone, "validate")
    assert found.returncode == 2 and "no backlog found" in found.stderr
