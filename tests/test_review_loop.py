"""Review rounds end to end: real git, the engine, and reviewers that answer with verdicts.

The first test runs a stand-in agent program through the real `command` runner (the
stand-in replaces a model CLI, which cannot run here): the reviewer judges the diff it is
shown, and the implementer acts on the findings it is sent, so the test sees the prompts
that actually travel. The others use the script runner's scripted verdicts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.model import TaskStatus
from wavefront.runs import RunOptions, RunResult, open_journal, start_run

AGENT = """\
import pathlib, sys
prompt = pathlib.Path(sys.argv[-1]).read_text()
if prompt.startswith("# Review of task"):
    if "+hello world" in prompt:
        print('Looks right.\\n```json\\n{"verdict": "approve", "findings": []}\\n```')
    else:
        print('One problem.\\n```json\\n{"verdict": "request_changes", "findings": ['
              '{"severity": "major", "file": "greeting.txt", "line": 1, '
              '"message": "it must say hello world"}]}\\n```')
else:
    fixed = "it must say hello world" in prompt
    pathlib.Path("greeting.txt").write_text("hello world\\n" if fixed else "hello\\n")
    print("Wrote greeting.txt.\\nDeviations: none")
"""


def run(repo: Path, **options: Any) -> RunResult:
    loaded = load_and_plan([], root=repo)
    return start_run(repo, loaded.backlog, loaded.plan, RunOptions(**options))


def logs(repo: Path, run_id: str, task_id: str) -> Path:
    return repo / ".wavefront" / "logs" / run_id / task_id



def test_status_and_the_report_count_the_same_attempts(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    import json
    import subprocess

    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    write_backlog(
        [{"id": "greet", "title": "Write the greeting", "gates": ["review"],
          "acceptance_criteria": ["greeting.txt says hello world"]}],
        defaults={"runner": "command"},
        runners={"command": {"argv_template": [sys.executable, str(agent)], "prompt_via": "file"}},
    )
    result = run(git_repo)
    assert result.exit_code == 0

    def wavefront(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(git_repo)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    shown = json.loads(wavefront("status", "--json"))
    line = next(t for t in shown["tasks"] if t["id"] == "greet")
    assert (line["attempts"], line["reviews"]) == (2, 2)  # two rounds, each reviewed
    wavefront("report")
    report = next((git_repo / ".wavefront").rglob("report.md")).read_text()
    assert "- **Attempts**: 2 at the work, 2 reviews;" in report
    # The numbers the report gives the work are those `log --attempt` takes.
    headings = [h.split()[2] for h in report.splitlines() if h.startswith("#### Attempt ")]
    assert headings == ["1", "2"]
    logged = subprocess.run([sys.executable, "-m", "wavefront", "log", "greet", "--attempt",
                             "2", "-C", str(git_repo)], capture_output=True, text=True)
    assert "# greet attempt 2 (agent" in logged.stderr


def test_a_change_request_goes_back_and_the_second_round_passes(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    write_backlog(
        [
            {
                "id": "greet",
                "title": "Write the greeting",
                "acceptance_criteria": ["greeting.txt says hello world"],
                "gates": ["review"],
            }
        ],
        defaults={"runner": "command"},
        runners={"command": {"argv_template": [sys.executable, str(agent)], "prompt_via": "file"}},
    )

    result = run(git_repo)

    assert result.exit_code == 0
    assert git(git_repo, "show", f"{result.branch}:greeting.txt") == "hello world\n"
    with open_journal(git_repo) as journal:
        attempts = journal.attempts(result.run_id, "greet")
        gates = [journal.gate_results(a.id) for a in attempts if a.kind == "agent"]
    assert [a.kind for a in attempts] == ["agent", "review", "agent", "review"]
    assert [[(g.passed, g.findings) for g in round_] for round_ in gates] == [
        [(False, ("[major] greeting.txt:1: it must say hello world",))],
        [(True, ())],
    ]
    folder = logs(git_repo, result.run_id, "greet")
    first_review = (folder / "review-code-reviewer-1.prompt.md").read_text()
    assert "1. greeting.txt says hello world" in first_review  # the acceptance criteria
    assert "+hello" in first_review and '"verdict"' in first_review  # the diff, the format
    second_round = (folder / "attempt-2.prompt.md").read_text()
    assert "it must say hello world" in second_round  # the findings went back


def always_requests_changes() -> dict[str, Any]:
    return {
        "rounds": [{"files": {"a.txt": "one\n"}}, {"files": {"a.txt": "two\n"}}],
        "review": [{"verdict": "request_changes", "findings": ["still wrong"]}],
    }


@pytest.mark.parametrize(
    ("on_limit", "status", "merged", "exit_code"),
    [("needs-human", TaskStatus.NEEDS_HUMAN, False, 3), ("accept", TaskStatus.DONE, True, 0)],
)
def test_the_round_limit_ends_as_configured(
    git_repo: Path,
    write_backlog: WriteBacklog,
    on_limit: str,
    status: TaskStatus,
    merged: bool,
    exit_code: int,
) -> None:
    write_backlog(
        [{"id": "t", "title": "T", "gates": ["review"], "script": always_requests_changes()}],
        review={"max_rounds": 2, "on_limit": on_limit},
    )

    result = run(git_repo)

    assert result.exit_code == exit_code
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "t")
        kinds = [a.kind for a in journal.attempts(result.run_id, "t")]
        accepted = journal.events(result.run_id, kind="accepted_with_findings")
    assert record is not None and record.status == status
    assert kinds == ["agent", "review", "agent", "review"]
    tree = git(git_repo, "ls-tree", "--name-only", result.branch).split()
    assert ("a.txt" in tree) is merged
    if merged:
        assert [e.data["findings"] for e in accepted] == [["still wrong"]]
    else:
        assert accepted == []
        assert "wavefront approve t" in record.reason


def test_a_gate_can_lower_the_limit_and_accept_with_findings(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    gate = {"kind": "review", "max_rounds": 1, "on_limit": "accept"}
    write_backlog([{"id": "t", "title": "T", "gates": [gate], "script": always_requests_changes()}])

    result = run(git_repo)

    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        attempts = journal.attempts(result.run_id, "t")
        gates = journal.gate_results(attempts[0].id)
    assert [a.kind for a in attempts] == ["agent", "review"]
    assert [(g.passed, g.findings) for g in gates] == [(True, ("still wrong",))]
    assert "open finding" in gates[0].summary


def test_an_unreadable_verdict_is_never_an_approval(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    write_backlog(
        [
            {
                "id": "t",
                "title": "T",
                "gates": ["review"],
                "script": {"files": {"a.txt": "a\n"}, "review": ["garbage"]},
            }
        ]
    )

    result = run(git_repo)

    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "t")
        attempts = journal.attempts(result.run_id, "t")
        gates = journal.gate_results(attempts[0].id)
    assert record is not None and record.status == TaskStatus.FAILED
    assert "no readable verdict" in record.reason
    assert [g.passed for g in gates] == [False]
    review = attempts[1]
    assert review.kind == "review" and "{verdict:" in review.text  # the raw text is kept
    assert "{verdict:" in gates[0].details
    assert "a.txt" not in git(git_repo, "ls-tree", "--name-only", result.branch).split()


def test_every_reviewer_must_approve(git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog(
        [{"id": "t", "title": "T"}],
        runners={
            "script": {
                "script": {"rounds": [{"files": {"a.txt": "1\n"}}, {"files": {"a.txt": "2\n"}}]}
            },
            "strict": {
                "kind": "script",
                "script": {
                    "review": [{"verdict": "request_changes", "findings": ["needs 2"]}, "approve"]
                },
            },
            "lenient": {"kind": "script", "script": {"review": ["approve"]}},
        },
        agents={
            "strict-reviewer": {"profile": "code-reviewer", "runner": "strict"},
            "lenient-reviewer": {"profile": "code-reviewer", "runner": "lenient"},
        },
        gates=[{"kind": "review", "agents": ["lenient-reviewer", "strict-reviewer"]}],
    )

    result = run(git_repo)

    assert result.exit_code == 0
    assert git(git_repo, "show", f"{result.branch}:a.txt") == "2\n"
    with open_journal(git_repo) as journal:
        attempts = journal.attempts(result.run_id, "t")
        work = [a for a in attempts if a.kind == "agent"]
        verdicts = [[(g.passed, g.findings) for g in journal.gate_results(a.id)] for a in work]
    assert sorted(a.agent or "" for a in attempts if a.kind == "review") == [
        "lenient-reviewer",
        "lenient-reviewer",
        "strict-reviewer",
        "strict-reviewer",
    ]
    assert verdicts == [[(False, ("strict-reviewer: needs 2",))], [(True, ())]]
