"""Agents ask a person: the QUESTION: block, `wavefront answer` from another process, and
`reject --note` as a change request.

The run goes on in a real child process (`wavefront run --wait-for-approval`); the test
answers with the real CLI from a second process, as a person in another terminal would.
The agent is a stand-in program run by the `command` runner: it reads its prompt.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import WriteBacklog, git
from wavefront.agents.questions import BadQuestion, parse_question
from wavefront.model import TaskStatus
from wavefront.runs import open_journal

# Asks until it has an answer; then writes the answer it got (and any change asked for).
AGENT = """\
import pathlib, sys
prompt = pathlib.Path(sys.argv[-1]).read_text()
if "## Answers you were given" not in prompt:
    pathlib.Path("draft.txt").write_text("started\\n")
    print("I started the API.\\n\\nQUESTION: Should the API be REST or GraphQL?\\n"
          "It decides the router.")
else:
    answer = prompt.split("answered:\\n", 1)[1].split("\\n", 1)[0]
    text = f"api: {answer}\\n"
    if "## Changes requested" in prompt:
        text += "change: " + prompt.split("asked for a change:\\n", 1)[1].split("\\n", 1)[0] + "\\n"
    pathlib.Path("api.txt").write_text(text)
    print("Summary: wrote api.txt.\\nDeviations: none")
"""
DEADLINE_S = 60.0


def wavefront(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def backlog(write_backlog: WriteBacklog, tmp_path: Path, **task: Any) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    write_backlog(
        [{"id": "api", "title": "Build the API", **task}],
        defaults={"runner": "command"},
        runners={"command": {"argv_template": [sys.executable, str(agent)],
                             "prompt_via": "file"}},
    )


def start(repo: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wavefront", "run", "--run-id", "ask", "--wait-for-approval",
         "--no-progress", "-C", str(repo)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(repo: Path, status: TaskStatus, reason_part: str = "", rounds: int = 1) -> str:
    """Wait until the task is in `status` after at least `rounds` agent rounds."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if (repo / ".wavefront" / "journal.db").exists():
            with open_journal(repo) as journal:
                record = journal.task("ask", "api")
                done = [a for a in journal.attempts("ask", "api") if a.state != "running"]
            if (record is not None and record.status == status
                    and reason_part in record.reason and len(done) >= rounds):
                return record.reason
        time.sleep(0.1)
    raise AssertionError(f"task api never became {status.value}")


def finish(child: subprocess.Popen[str]) -> int:
    try:
        child.communicate(timeout=DEADLINE_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return child.returncode


def prompts(repo: Path) -> list[str]:
    folder = repo / ".wavefront" / "logs" / "ask" / "api"
    return [p.read_text() for p in sorted(folder.glob("attempt-*.prompt.md"))]


def test_an_agent_asks_a_person_answers_from_another_process_and_it_is_merged(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    backlog(write_backlog, tmp_path)
    child = start(git_repo)
    try:
        reason = wait_for(git_repo, TaskStatus.NEEDS_HUMAN)
        assert "the agent asks: Should the API be REST or GraphQL?" in reason
        assert 'wavefront answer api "..."' in reason
        approve = wavefront(git_repo, "approve", "api")
        assert approve.returncode == 2 and "asks a question" in approve.stderr
        done = wavefront(git_repo, "answer", "api", "REST, with JSON bodies")
        assert done.returncode == 0, done.stderr
        assert "answer recorded for api" in done.stdout
    finally:
        code = finish(child)

    assert code == 0
    branch = "wavefront/ask"
    assert git(git_repo, "show", f"{branch}:api.txt") == "api: REST, with JSON bodies\n"
    assert git(git_repo, "show", f"{branch}:draft.txt") == "started\n"  # the worktree was kept
    second = prompts(git_repo)[1]
    assert "> Should the API be REST or GraphQL?\n> It decides the router." in second
    with open_journal(git_repo) as journal:
        asked = journal.events("ask", kind="question")
        decided = journal.events("ask", kind="decision")
        record = journal.task("ask", "api")
    assert [e.data["question"] for e in asked] == [
        "Should the API be REST or GraphQL?\nIt decides the router."]
    assert [(e.data["decision"], e.data["note"]) for e in decided] == [
        ("answer", "REST, with JSON bodies")]
    assert decided[0].data["who"] and decided[0].at >= asked[0].at
    assert record is not None and record.status == TaskStatus.DONE


def test_reject_with_a_note_gives_the_agent_another_round_with_the_note(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    backlog(write_backlog, tmp_path, gates=[{"kind": "human", "prompt": "check the API"}])
    child = start(git_repo)
    try:
        wait_for(git_repo, TaskStatus.NEEDS_HUMAN, "asks")
        assert wavefront(git_repo, "answer", "api", "REST").returncode == 0
        wait_for(git_repo, TaskStatus.NEEDS_HUMAN, "check the API", rounds=2)
        again = wavefront(git_repo, "answer", "api", "more")
        assert again.returncode == 2 and "asks no question" in again.stderr
        bare = wavefront(git_repo, "reject", "api")
        assert bare.returncode == 2 and "--note" in bare.stderr and "--fail" in bare.stderr
        change = wavefront(git_repo, "reject", "api", "--note", "Version the routes")
        assert change.returncode == 0 and "change request recorded" in change.stdout
        wait_for(git_repo, TaskStatus.NEEDS_HUMAN, "check the API", rounds=3)
        assert wavefront(git_repo, "approve", "api").returncode == 0
    finally:
        code = finish(child)

    assert code == 0
    assert git(git_repo, "show", "wavefront/ask:api.txt") == (
        "api: REST\nchange: Version the routes\n")
    assert "Version the routes" in prompts(git_repo)[-1]
    # The report lists the question and every decision, with who, in order.
    report = wavefront(git_repo, "report")
    assert report.returncode == 0, report.stderr
    text = Path(report.stdout.removeprefix("wrote ").strip()).read_text()
    said = text.split("## Questions and decisions\n\n")[1].split("\n\n")[0].splitlines()
    assert len(said) == 4 and all(line.startswith("- **api**: ") for line in said)
    assert " asked (" in said[0] and "REST or GraphQL?" in said[0]
    assert " answered (" in said[1] and said[1].endswith(": REST")
    assert " asked for a change (" in said[2] and said[2].endswith(": Version the routes")
    assert " approved (" in said[3]


def test_reject_fail_fails_the_task(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    backlog(write_backlog, tmp_path)
    child = start(git_repo)
    try:
        wait_for(git_repo, TaskStatus.NEEDS_HUMAN)
        done = wavefront(git_repo, "reject", "api", "--fail", "--note", "out of scope")
        assert done.returncode == 0
    finally:
        code = finish(child)

    assert code == 1
    with open_journal(git_repo) as journal:
        record = journal.task("ask", "api")
    assert record is not None and record.status == TaskStatus.FAILED
    assert record.reason == "rejected by a person: out of scope"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Done.\nDeviations: none", None),
        ("Stuck.\nQUESTION: Which port?", "Which port?"),
        ("**QUESTION**: Which port?\nThe docs say 80 and 8080.\n\nSummary: half",
         "Which port?\nThe docs say 80 and 8080."),
        ("## QUESTION:\n\nWhich port?\n", "Which port?"),
        ("Summary: done\nQUESTION: none", None),
        ("Not a question: QUESTION: inline", None),
    ],
)
def test_the_question_block(text: str, question: str | None) -> None:
    assert parse_question(text) == question


def test_an_empty_question_block_is_a_clear_failure() -> None:
    with pytest.raises(BadQuestion, match="asks nothing"):
        parse_question("Summary: stuck\nQUESTION:\n")
