"""The review after every story, and the story workflow's status words.

Real git repositories, real `wavefront` processes and the script runner (whose reviewer
answers with scripted verdicts). A run whose only runners are scripts has no agent that
can review, so by default it reviews nothing and says so once; `review: agent` and
`review: human` review every story, and the write-back marks a reviewed story Approved,
which the stories format reads back as done. BMAD's stories keep Approved as "approved for
development".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import git
from wavefront.agents import load_profiles
from wavefront.backlog import stories
from wavefront.backlog.base import Backlog
from wavefront.backlog.load import load_and_plan
from wavefront.backlog.statuswords import story_status
from wavefront.config import parse_config
from wavefront.model import GateSpec, SourceLocation, Task, TaskOptions, TaskStatus
from wavefront.runs import RunOptions, open_journal, record_decision, resume_run, start_run
from wavefront.runs.review import default_review
from wavefront.runs.settings import run_settings
from wavefront.yamlsource import parse_yaml

STORY = ("# Story {id}: {title}\n\n## Status\n\n{status}\n\n{deps}"
         "## Acceptance Criteria\n\n- {id} works\n")
FIRST, SECOND = "docs/stories/1.1.first.md", "docs/stories/1.2.second.md"
NOTE = "review: off, no agent of this run can review"


def project(repo: Path, review: Any = None, first_status: str = "Not Started") -> None:
    """Two stories (1.2 after 1.1) done by script agents; `review:` as given."""
    files = {
        FIRST: STORY.format(id="1.1", title="First", status=first_status, deps=""),
        SECOND: STORY.format(id="1.2", title="Second", status="Not Started",
                             deps="**Dependencies**: 1.1\n\n"),
    }
    script = {"tasks": {"1.1": {"files": {"one.txt": "1\n"}},
                        "1.2": {"files": {"two.txt": "2\n"}}},
              # What a reviewer answers, when a run has one: approve, with a remark.
              "review": [{"verdict": "approve", "findings": ["[minor] one.txt: say more"]}]}
    settings: dict[str, Any] = {"version": 1, "defaults": {"runner": "script", "retries": 0},
                                "runners": {"script": {"script": script}}}
    if review is not None:
        settings["review"] = review
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    (repo / "wavefront.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "stories")


def wavefront(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)


def branch_of(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/wavefront/"
               ).split()[-1]


def review_attempts(repo: Path) -> list[str]:
    with open_journal(repo) as journal:
        run = journal.runs()[-1]
        return [a.task_id for a in journal.attempts(run.id) if a.kind == "review"]


@pytest.mark.parametrize(("review", "says"), [(None, True), ("off", False)])
def test_script_agents_alone_review_nothing_and_the_run_says_so_once(
        git_repo: Path, review: str | None, says: bool) -> None:
    project(git_repo, review)

    done = wavefront(git_repo, "run", "--no-progress")

    assert done.returncode == 0, done.stdout + done.stderr
    shown = done.stdout + done.stderr
    assert shown.count(NOTE) == (1 if says else 0)
    assert review_attempts(git_repo) == []
    text = git(git_repo, "show", f"{branch_of(git_repo)}:{FIRST}")
    assert "## Status\n\nDone\n" in text and "Review results" not in text


def test_review_agent_reviews_every_story_and_the_story_says_approved(
        git_repo: Path) -> None:
    project(git_repo, "agent")

    done = wavefront(git_repo, "run", "--no-progress")

    assert done.returncode == 0, done.stdout + done.stderr
    assert NOTE not in done.stdout + done.stderr
    assert sorted(review_attempts(git_repo)) == ["1.1", "1.2"]
    text = git(git_repo, "show", f"{branch_of(git_repo)}:{FIRST}")
    assert "## Status\n\nApproved\n" in text
    assert "**Verdict**: approved with 1 minor finding (code-reviewer)\n" in text
    assert "- [minor] one.txt: say more\n" in text
    # Approved is the story workflow's last state: nothing is offered or run again.
    after = wavefront(git_repo, "next")
    assert after.stdout == ""
    assert "nothing to do: all 2 tasks in scope are done" in after.stderr
    loaded = load_and_plan([], root=git_repo, integrated=True)
    assert {t.id: t.status for t in loaded.plan.tasks} == {"1.1": TaskStatus.DONE,
                                                           "1.2": TaskStatus.DONE}


def test_review_human_waits_for_a_person_whose_approval_the_story_records(
        git_repo: Path) -> None:
    project(git_repo, "human")
    loaded = load_and_plan(["1.1"], root=git_repo)

    first = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(run_id="r"))

    assert first.exit_code == 3  # paused: the story waits for a person
    with open_journal(git_repo) as journal:
        (record,) = journal.tasks("r")
    assert record.status == TaskStatus.NEEDS_HUMAN
    assert "a person must review task 1.1" in record.reason
    record_decision(git_repo, "1.1", "approve", note="read it", run_id="r")
    assert resume_run(git_repo, "r").exit_code == 0
    text = git(git_repo, "show", f"wavefront/r:{FIRST}")
    assert "## Status\n\nApproved\n" in text
    assert "**Verdict**: approved by a person\n" in text


def test_a_story_that_says_approved_is_done_and_a_bmad_story_that_says_so_is_offered(
        git_repo: Path) -> None:
    project(git_repo, first_status="Approved")
    # The same word on BMAD's story template means "approved for development".
    bmad_story = (STORY.format(id="2.1", title="Third", status="Approved", deps="")
                  + "\n## Dev Notes\n\nUse the API.\n\n## Dev Agent Record\n\n## QA Results\n")
    (git_repo / "docs/stories/2.1.third.md").write_text(bmad_story)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "a BMAD story")

    offered = wavefront(git_repo, "next", "-o", "json")

    assert offered.returncode == 0, offered.stderr
    # 1.1 is done, so 1.2 may start; 2.1 is ready to start.
    assert sorted(t["id"] for t in json.loads(offered.stdout)) == ["1.2", "2.1"]
    tasks = {t.id: t for t in stories.load(git_repo / "docs/stories").tasks}
    assert (tasks["1.1"].status, tasks["2.1"].status) == (TaskStatus.DONE, TaskStatus.PENDING)
    loaded = load_and_plan(["1.1"], root=git_repo)
    assert start_run(git_repo, loaded.backlog, loaded.plan,
                     RunOptions(run_id="again")).exit_code == 0
    with open_journal(git_repo) as journal:
        assert journal.attempts("again") == []  # not redone
        assert [r.status for r in journal.tasks("again")] == [TaskStatus.SKIPPED]


@pytest.mark.parametrize(("text", "bmad", "expected"), [
    ("Approved", False, TaskStatus.DONE),
    ("✅ Approved", False, TaskStatus.DONE),
    ("**Approved** (2025-01-02)", False, TaskStatus.DONE),
    ("Approved for development", False, TaskStatus.PENDING),
    ("Approved", True, TaskStatus.PENDING),
    ("Done", True, TaskStatus.DONE),
    ("Ready for Review", False, TaskStatus.RUNNING),
    ("Not Started", False, TaskStatus.PENDING),
])
def test_story_status_words(text: str, bmad: bool, expected: TaskStatus) -> None:
    assert story_status(text, bmad=bmad) is expected


def story(task_id: str, format_name: str = "stories", **fields: Any) -> Task:
    return Task(id=task_id, title=task_id, source=SourceLocation(Path(f"{task_id}.md")),
                backlog_format=format_name, **fields)


def decided(config_text: str, assigned: list[tuple[Task, str]]) -> tuple[list[str], str | None]:
    """Which gates the default review adds to each task (by its runner), and the note."""
    config = parse_config(parse_yaml("version: 1\n" + config_text, Path("wavefront.yaml")))
    backlog = Backlog(tasks=tuple(t for t, _ in assigned), files=(), formats=("stories",),
                      config=config)
    settings = run_settings(backlog, RunOptions(runner="script"))
    review = default_review(config, [(t, "full-stack-engineer", r) for t, r in assigned],
                            settings, load_profiles(None, config))
    added = [",".join(g.kind for g in t.gates) for t in review.tasks]
    return added, review.note


DEFAULT_CASES = [
    # (wavefront.yaml, [(task, its runner)], gates added to each, what the run says)
    ("", [(story("1.1"), "claude"), (story("1.2"), "codex")], ["review", "review"], None),
    ("", [(story("1.1"), "script"), (story("1.2"), "command")], ["", ""],
     "review: off, no agent of this run can review (review: human asks a person)"),
    ("", [(story("1.1"), "claude"), (story("1.2"), "script")], ["review", ""],
     "review: off for 1 story no agent of this run can review: 1.2"),
    ("", [(story("a", "native"), "claude"), (story("b", "taskjson"), "claude")], ["", ""],
     None),
    ("", [(story("1.1", "bmad"), "gemini")], ["review"], None),
    ("review: agent\n", [(story("a", "native"), "script")], ["review"], None),
    ("review: human\n", [(story("1.1"), "script")], ["human"], None),
    ("review: off\n", [(story("1.1"), "claude")], [""], None),
    # The reviewer's own runner decides; a named runner is its kind.
    ("agents: {code-reviewer: {runner: claude}}\n", [(story("1.1"), "script")], ["review"],
     None),
    ("runners: {mine: {kind: command, argv_template: [x]}}\n", [(story("1.1"), "mine")],
     [""], "review: off, no agent of this run can review (review: human asks a person)"),
    # Already reviewed by its own gate, or no agent at all: nothing added.
    ("", [(story("1.1", gates=(GateSpec("human", {}),)), "claude")], ["human"], None),
    ("", [(story("1.1", options=TaskOptions(agentless=True)), "claude")], [""], None),
]


@pytest.mark.parametrize(("config", "assigned", "added", "note"), DEFAULT_CASES)
def test_which_tasks_the_default_review_covers(config: str, assigned: list[tuple[Task, str]],
                                               added: list[str], note: str | None) -> None:
    assert decided(config, assigned) == (added, note)
