"""`report.md` from real runs: a small run with every kind of outcome, and the demo project.

Every gate result recorded in the journal must appear in the report, with its pass/fail
mark, its findings, and the tail of a failing command's output.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

import wavefront
from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.journal.database import Journal
from wavefront.report.markdown import render_report, write_report
from wavefront.runs import RunOptions, RunResult, open_journal, start_run

EXAMPLE = Path(wavefront.__file__).parent / "examples" / "bookshelf"
CHECK = (
    "import pathlib, sys\n"
    "if pathlib.Path('broken.txt').exists():\n"
    "    print('broken.txt must not exist')\n"
    "    sys.exit(1)\n"
)


def run(repo: Path, **options: Any) -> RunResult:
    loaded = load_and_plan([], root=repo)
    return start_run(repo, loaded.backlog, loaded.plan, RunOptions(**options))


def gate_lines(report: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith(("- ✅ ", "- ❌ ", "- ⏳ "))]


def all_gate_results(journal: Journal, run_id: str) -> list[tuple[bool, str]]:
    return [
        (g.passed, g.gate)
        for attempt in journal.attempts(run_id)
        for g in journal.gate_results(attempt.id)
    ]


@pytest.fixture
def mixed_run(git_repo: Path, write_backlog: WriteBacklog) -> tuple[Path, RunResult]:
    write_backlog(
        [
            {
                "id": "ok",
                "title": "Plain work",
                "script": {"files": {"ok.txt": "ok\n"}, "deviations": "kept the old file name"},
            },
            {
                "id": "revised",
                "title": "Revised once",
                "gates": ["review"],
                "script": {
                    "rounds": [{"files": {"r.txt": "1\n"}}, {"files": {"r.txt": "2\n"}}],
                    "review": [
                        {"verdict": "request_changes", "findings": ["r.txt must say 2"]},
                        "approve",
                    ],
                },
            },
            {
                "id": "broken",
                "title": "Breaks the check",
                "script": {"files": {"broken.txt": "x\n"}},
            },
            {
                "id": "blocked",
                "title": "Needs the broken one",
                "depends_on": ["broken"],
                "script": {"files": {"b.txt": "b\n"}},
            },
            {
                "id": "waiting",
                "title": "Waits for a person",
                "gates": [{"kind": "human", "prompt": "read the release notes"}],
                "script": {"files": {"w.txt": "w\n"}},
            },
        ],
        gates=[{"kind": "command", "name": "check", "run": [sys.executable, "-c", CHECK]}],
    )
    return git_repo, run(git_repo)


def test_the_report_shows_every_outcome_and_gate(
    mixed_run: tuple[Path, RunResult], tmp_path: Path
) -> None:
    repo, result = mixed_run
    with open_journal(repo) as journal:
        run_record = journal.get_run(result.run_id)
        assert run_record is not None
        path = write_report(journal, run_record, tmp_path / "out" / "report.md")
        recorded = all_gate_results(journal, result.run_id)
    report = path.read_text()

    assert report.startswith(f"# Integration report: run {result.run_id}\n")
    assert "| Tasks | 5: 1 blocked, 2 done, 1 failed, 1 needs-human |" in report
    for heading in (
        "### ok: Plain work — ✅ done",
        "### revised: Revised once — ✅ done",
        "### broken: Breaks the check — ❌ failed",
        "### blocked: Needs the broken one — ⊘ blocked",
        "### waiting: Waits for a person — ✋ needs-human",
    ):
        assert heading in report
    # Every gate result, each once, with its mark.
    marks = [(line.startswith("- ✅"), line) for line in gate_lines(report)]
    assert sorted(passed for passed, _ in marks) == sorted(p for p, _ in recorded)
    assert len(marks) == len(recorded)
    assert "- ❌ check: exit 1" in report
    assert any(line.startswith("- ⏳ human") for line in gate_lines(report))  # waits, not failed
    assert "broken.txt must not exist" in report  # the failing command's output
    assert "- ❌ review: code-reviewer: changes requested" in report
    assert "  - r.txt must say 2" in report  # the finding under its gate
    assert "#### Attempt 2 (agent)" in report
    assert "- **ok**: kept the old file name" in report  # the declared deviation
    attention = report.split("## Needs attention", 1)[1].split("##", 1)[0]
    assert "**broken** (failed)" in attention and "**blocked** (blocked)" in attention
    assert "**waiting** (needs-human): read the release notes" in attention


def test_tasks_done_before_the_run_are_named_together_not_one_by_one(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([
        {"id": "new", "title": "The new work", "script": {"files": {"n.txt": "n\n"}}},
        *({"id": f"old{n}", "title": f"Old work {n}", "status": "done"} for n in range(3)),
    ])
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        run_record = journal.get_run(result.run_id)
        assert run_record is not None
        report = render_report(journal, run_record)
    assert "| Tasks | 4: 1 done, 3 skipped |" in report
    assert "### new: The new work" in report and "### old0" not in report
    assert "| old0 |" not in report
    assert report.endswith("## Skipped\n\n3 tasks not taken up, by reason:\n\n"
                           "- already done in the backlog file: old0, old1, old2\n")


def test_render_reads_only_the_journal(mixed_run: tuple[Path, RunResult]) -> None:
    repo, result = mixed_run
    with open_journal(repo) as journal:
        run_record = journal.get_run(result.run_id)
        assert run_record is not None
        first = render_report(journal, run_record)
        events = len(journal.events(result.run_id))
        second = render_report(journal, run_record)
        assert len(journal.events(result.run_id)) == events  # rendering records nothing
    assert first == second


def test_the_demo_run_report(tmp_path: Path) -> None:
    project = tmp_path / "bookshelf"
    shutil.copytree(EXAMPLE / "project", project)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "bookshelf")
    solutions = {"script": {"solutions_dir": str(EXAMPLE / "solutions")}}

    result = run(project, runner_settings=solutions)

    assert result.exit_code == 0
    with open_journal(project) as journal:
        run_record = journal.get_run(result.run_id)
        assert run_record is not None
        path = write_report(journal, run_record, project / ".wavefront" / "report.md")
        recorded = all_gate_results(journal, result.run_id)
    report = path.read_text()
    assert "| Tasks | 10: 10 done |" in report
    for story in ("0.1", "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "3.1", "3.2"):
        assert f"\n### {story}: " in report
    assert len(gate_lines(report)) == len(recorded)
    assert [line for line in gate_lines(report) if line.startswith("- ❌")] == [
        "- ❌ review: code-reviewer: changes requested (1 finding, round 1)"
    ]
    story = report.split("### 2.2: ", 1)[1].split("\n### ", 1)[0]
    assert "#### Attempt 2 (agent)" in story and "AC 3-5 are not met" in story
    assert "(merged tree): exit 0" in story  # verified on the merged tree before publishing
    assert "__pycache__" not in report  # gate byproducts never become part of the work
