"""The run engine end to end: real git repositories, the script runner, real SQLite.

Order and concurrency are read from the journal's event sequence (event ids), never from
wall-clock timings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.journal.database import Journal
from wavefront.model import TaskStatus
from wavefront.runs import RunOptions, RunResult, open_journal, resume_run, retry_tasks, start_run

SLOT_STATES = {"running", "verifying", "reviewing"}


def run(repo: Path, **options: Any) -> RunResult:
    loaded = load_and_plan([], root=repo)
    return start_run(repo, loaded.backlog, loaded.plan, RunOptions(**options))


def statuses(repo: Path, run_id: str) -> dict[str, TaskStatus]:
    with open_journal(repo) as journal:
        return {r.task_id: r.status for r in journal.tasks(run_id)}


def intervals(journal: Journal, run_id: str) -> dict[str, list[tuple[int, int]]]:
    """Per task, the event-id spans during which it held a slot."""
    spans: dict[str, list[tuple[int, int]]] = {}
    opened: dict[str, int] = {}
    for event in journal.events(run_id, kind="task_status"):
        assert event.task_id is not None
        inside = event.data["status"] in SLOT_STATES
        if inside and event.task_id not in opened:
            opened[event.task_id] = event.id
        elif not inside and event.task_id in opened:
            spans.setdefault(event.task_id, []).append((opened.pop(event.task_id), event.id))
    return spans


def max_concurrency(spans: dict[str, list[tuple[int, int]]], only: set[str] | None = None) -> int:
    points = []
    for task_id, task_spans in spans.items():
        if only is None or task_id in only:
            for start, end in task_spans:
                points += [(start, 1), (end, -1)]
    level = peak = 0
    for _, step in sorted(points):
        level += step
        peak = max(peak, level)
    return peak


def first_event(journal: Journal, run_id: str, task_id: str, status: str) -> int:
    return next(e.id for e in journal.events(run_id, kind="task_status")
                if e.task_id == task_id and e.data["status"] == status)


def test_dependencies_merge_in_order_into_the_integration_branch(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([
        {"id": "a", "title": "A", "script": {"files": {"a.txt": "A\n"}}},
        {"id": "b", "title": "B", "depends_on": ["a"], "script": {"files": {"b.txt": "B\n"}}},
        {"id": "c", "title": "C", "depends_on": ["b"], "script": {"files": {"c.txt": "C\n"}}},
        {"id": "d", "title": "D", "script": {"files": {"d.txt": "D\n"}}},
    ])
    head_before = git(git_repo, "rev-parse", "HEAD")
    status_before = git(git_repo, "status", "--porcelain")

    result = run(git_repo)

    assert result.exit_code == 0
    assert set(statuses(git_repo, result.run_id).values()) == {TaskStatus.DONE}
    tree = git(git_repo, "ls-tree", "--name-only", result.branch).split()
    assert {"a.txt", "b.txt", "c.txt", "d.txt"} <= set(tree)
    with open_journal(git_repo) as journal:
        for dependency, dependent in (("a", "b"), ("b", "c")):
            assert (first_event(journal, result.run_id, dependency, "done")
                    < first_event(journal, result.run_id, dependent, "running"))
        merges = {r.task_id: r.merge_commit for r in journal.tasks(result.run_id)}
    assert all(merges.values())
    # The user's checkout is never touched.
    assert git(git_repo, "rev-parse", "HEAD") == head_before
    assert git(git_repo, "status", "--porcelain") == status_before
    assert git(git_repo, "worktree", "list").count("\n") == 1
    assert not any((git_repo / ".wavefront" / "worktrees" / result.run_id).iterdir())


def test_overall_limit_is_respected_and_used(git_repo: Path,
                                             write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": f"t{i}", "title": f"T{i}",
                    "script": {"sleep": 0.2, "files": {f"t{i}.txt": "x\n"}}}
                   for i in range(6)], limits={"max_parallel": 2})
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        assert max_concurrency(intervals(journal, result.run_id)) == 2


def test_per_runner_limit(git_repo: Path, write_backlog: WriteBacklog) -> None:
    slow = [{"id": f"s{i}", "title": "slow", "runner": "slow",
             "script": {"sleep": 0.2, "files": {f"s{i}.txt": "x\n"}}} for i in range(3)]
    fast = [{"id": f"f{i}", "title": "fast",
             "script": {"sleep": 0.2, "files": {f"f{i}.txt": "x\n"}}} for i in range(3)]
    write_backlog(slow + fast, limits={"max_parallel": 4, "per_runner": {"slow": 1}},
                  runners={"slow": {"kind": "script"}})
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        spans = intervals(journal, result.run_id)
    assert max_concurrency(spans, {"s0", "s1", "s2"}) == 1
    assert max_concurrency(spans) >= 2


def test_tasks_whose_files_overlap_never_run_together(git_repo: Path,
                                                      write_backlog: WriteBacklog) -> None:
    write_backlog([
        {"id": "x", "title": "X", "files": ["shared/**"],
         "script": {"sleep": 0.3, "files": {"shared/x.txt": "x\n"}}},
        {"id": "y", "title": "Y", "files": ["shared/y.txt"],
         "script": {"sleep": 0.3, "files": {"shared/y.txt": "y\n"}}},
        {"id": "z", "title": "Z", "files": ["other.txt"],
         "script": {"sleep": 0.3, "files": {"other.txt": "z\n"}}},
    ], limits={"max_parallel": 3})
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        spans = intervals(journal, result.run_id)
    assert max_concurrency(spans, {"x", "y"}) == 1
    assert max_concurrency(spans) == 2


def test_failure_blocks_dependents_and_retry_releases_them(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([
        {"id": "a", "title": "A", "script": {
            "files": {"a.txt": "A\n"},
            "attempts": [{"behaviour": "fail"}, {"behaviour": "ok"}]}},
        {"id": "b", "title": "B", "depends_on": ["a"], "script": {"files": {"b.txt": "B\n"}}},
        {"id": "c", "title": "C", "depends_on": ["b"], "script": {"files": {"c.txt": "C\n"}}},
        {"id": "i", "title": "independent", "script": {"files": {"i.txt": "I\n"}}},
    ])
    result = run(git_repo)
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        records = {r.task_id: r for r in journal.tasks(result.run_id)}
    assert records["a"].status == TaskStatus.FAILED
    assert "scripted failure" in records["a"].reason
    assert records["b"].status == TaskStatus.BLOCKED and "blocked by a" in records["b"].reason
    assert records["c"].status == TaskStatus.BLOCKED and "blocked by a" in records["c"].reason
    assert records["i"].status == TaskStatus.DONE

    released = retry_tasks(git_repo, ["a"])
    assert set(released) == {"a", "b", "c"}
    resumed = resume_run(git_repo)
    assert resumed.exit_code == 0
    assert set(statuses(git_repo, result.run_id).values()) == {TaskStatus.DONE}


def test_retries_with_backoff_spend_retries(git_repo: Path,
                                            write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": "a", "title": "A", "script": {
        "files": {"a.txt": "A\n"}, "attempts": [{"behaviour": "crash"}, {"behaviour": "ok"}]}}],
        defaults={"retries": 1})
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "a")
        attempts = journal.attempts(result.run_id, "a")
    assert record is not None and record.retries_used == 1
    assert [a.failure for a in attempts] == ["crashed", None]


def test_an_agent_past_its_timeout_is_killed_and_fails(git_repo: Path,
                                                       write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": "h", "title": "hangs", "timeout": 0.5,
                    "script": {"behaviour": "hang"}}])
    result = run(git_repo)
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "h")
    assert record is not None and record.status == TaskStatus.FAILED
    assert "timeout" in record.reason


def test_an_agent_that_changes_nothing_fails(git_repo: Path,
                                             write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": "n", "title": "noop", "script": {"behaviour": "no-change"}}])
    result = run(git_repo)
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "n")
    assert record is not None and record.status == TaskStatus.FAILED
    assert "changed no files" in record.reason


def conflicting(second_round: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": "first", "title": "first", "script": {"files": {"shared.txt": "first\n"}}},
        {"id": "second", "title": "second", "script": {
            "sleep": 0.5, "attempts": [{"files": {"shared.txt": "second\n"}}, second_round]}},
        {"id": "after", "title": "after", "depends_on": ["second"],
         "script": {"files": {"after.txt": "x\n"}}},
    ]


def test_a_merge_conflict_goes_back_to_the_agent_once(git_repo: Path,
                                                      write_backlog: WriteBacklog) -> None:
    write_backlog(conflicting({"files": {"shared.txt": "first\nsecond\n"}}))
    result = run(git_repo)
    assert result.exit_code == 0
    assert git(git_repo, "show", f"{result.branch}:shared.txt") == "first\nsecond\n"
    with open_journal(git_repo) as journal:
        kinds = [a.kind for a in journal.attempts(result.run_id, "second")]
    assert kinds == ["agent", "conflict"]


@pytest.mark.parametrize("style", [None, "diff3", "zdiff3"])
def test_a_conflict_prompt_explains_the_base_section_when_markers_have_one(
        git_repo: Path, write_backlog: WriteBacklog, style: str | None) -> None:
    if style is not None:
        git(git_repo, "config", "merge.conflictStyle", style)
    write_backlog(conflicting({"files": {"shared.txt": "first\nsecond\n"}}))
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        attempt = journal.attempts(result.run_id, "second")[-1]
    assert attempt.kind == "conflict" and attempt.log_path
    prompt = Path(attempt.log_path).with_name(Path(attempt.log_path).stem + ".prompt.md")
    explained = "the common base both started from" in prompt.read_text()
    assert explained is (style is not None)


def test_an_unresolved_conflict_keeps_the_worktree_and_blocks(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog(conflicting({"behaviour": "no-change"}))
    result = run(git_repo)
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        records = {r.task_id: r for r in journal.tasks(result.run_id)}
    assert records["second"].status == TaskStatus.CONFLICT
    assert "shared.txt" in records["second"].reason
    assert records["after"].status == TaskStatus.BLOCKED
    assert git(git_repo, "show", f"{result.branch}:shared.txt") == "first\n"
    assert (git_repo / ".wavefront" / "worktrees" / result.run_id / "second" / ".git").is_dir()


def test_a_rate_limit_pauses_without_spending_a_retry(git_repo: Path,
                                                      write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": "r", "title": "limited", "script": {
        "files": {"r.txt": "r\n"},
        "attempts": [{"behaviour": "rate-limit", "reset_after": 1}, {"behaviour": "ok"}]}}])
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "r")
        reasons = [e.data.get("reason", "") for e in journal.events(result.run_id)
                   if e.task_id == "r"]
    assert record is not None and record.retries_used == 0
    assert any("rate limited" in reason for reason in reasons)


def test_waves_strategy_holds_the_next_wave(git_repo: Path,
                                            write_backlog: WriteBacklog) -> None:
    write_backlog([
        {"id": "slow", "title": "slow", "script": {"sleep": 0.4, "files": {"s.txt": "s\n"}}},
        {"id": "quick", "title": "quick", "script": {"files": {"q.txt": "q\n"}}},
        {"id": "next", "title": "next", "depends_on": ["quick"],
         "script": {"files": {"n.txt": "n\n"}}},
    ])
    with_waves = run(git_repo, strategy="waves")
    with open_journal(git_repo) as journal:
        assert (first_event(journal, with_waves.run_id, "slow", "done")
                < first_event(journal, with_waves.run_id, "next", "running"))
    dependency_driven = run(git_repo)
    with open_journal(git_repo) as journal:
        assert (first_event(journal, dependency_driven.run_id, "next", "running")
                < first_event(journal, dependency_driven.run_id, "slow", "done"))


def test_not_a_git_repository_is_a_clear_error(tmp_path: Path) -> None:
    from wavefront.errors import WorkspaceError

    (tmp_path / "wavefront.yaml").write_text(
        "version: 1\ndefaults: {runner: script}\ntasks: [{id: a}]\n")
    with pytest.raises(WorkspaceError, match="not a git repository"):
        run(tmp_path)


def test_a_task_that_declares_deliverables_must_deliver_them(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": "d", "title": "promises two files", "deliverables": ["a.txt", "b.txt"],
                    "script": {"files": {"a.txt": "only one\n"}}}])
    result = run(git_repo)
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "d")
    assert record is not None and record.status == TaskStatus.FAILED
    assert "b.txt" in record.reason
    assert "a.txt" not in git(git_repo, "ls-tree", "--name-only", result.branch)


def test_outside_writes_can_be_only_warned_about(git_repo: Path,
                                                 write_backlog: WriteBacklog) -> None:
    # The agent edits its own worktree and, four levels up, the user's checkout (no
    # sandbox: what is tested is what the guard sees).
    agent = {"kind": "command", "argv_template": [
        "sh", "-c", "echo work > work.txt; echo mine > ../../../../user-notes.txt"]}
    write_backlog([{"id": "w", "title": "writes both", "runner": "sloppy"}],
                  runners={"sloppy": agent})
    strict = run(git_repo, sandbox="none")
    with open_journal(git_repo) as journal:
        record = journal.task(strict.run_id, "w")
    assert record is not None and record.status == TaskStatus.FAILED
    assert "user-notes.txt" in record.reason

    (git_repo / "user-notes.txt").unlink()
    lenient = run(git_repo, outside_writes="warn", sandbox="none")
    assert lenient.exit_code == 0
    with open_journal(git_repo) as journal:
        warnings = journal.events(lenient.run_id, kind="outside_writes")
    assert len(warnings) == 1 and "user-notes.txt" in warnings[0].data["changes"]


def test_a_task_whose_dependencies_fail_together_is_blocked_once(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    # Agents that fail at once (a command that exits 1): both failures arrive together.
    write_backlog(
        [{"id": f"x{n}", "title": f"X{n}"} for n in range(4)]
        + [{"id": "z", "title": "Z", "depends_on": [f"x{n}" for n in range(4)]},
           {"id": "w", "title": "W", "depends_on": ["z"]}],
        limits={"max_parallel": 4},
        defaults={"runner": "fails"},
        runners={"fails": {"kind": "command", "argv_template": ["false"]}},
    )
    result = run(git_repo)
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        blocked = [e.task_id for e in journal.events(result.run_id, kind="task_status")
                   if e.data["status"] == "blocked"]
    assert sorted(blocked) == ["w", "z"]
