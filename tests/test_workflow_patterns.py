"""The seven orchestration patterns, each run from its shipped example workflow with the
script runner through real worktrees; order and parallelism are read from the journal's
event sequence (event ids), never from timings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wavefront.agents.prompt import build_prompt
from wavefront.backlog.load import load_and_plan
from wavefront.journal.database import Journal
from wavefront.runs import RunOptions, RunResult, open_journal, start_run
from wavefront.workflow.init import init_template

SLOT_STATES = {"running", "verifying", "reviewing"}


def run_template(repo: Path, name: str, scripts: dict[str, Any] | None = None,
                 fix_rounds: int | None = None) -> RunResult:
    """Write template `name` (scripted) into `repo` and run it; `scripts` overrides the
    scripted agent per task id."""
    init_template(name, repo, scripted=True)
    loaded = load_and_plan([], root=repo)
    options = RunOptions(runner_settings={"script": {"script": {"tasks": scripts}}}
                         if scripts else {}, fix_rounds=fix_rounds)
    return start_run(repo, loaded.backlog, loaded.plan, options)


def statuses(journal: Journal, run_id: str) -> dict[str, str]:
    return {r.task_id: r.status.value for r in journal.tasks(run_id)}


def first(journal: Journal, run_id: str, task_id: str, status: str) -> int:
    return next(e.id for e in journal.events(run_id, kind="task_status")
                if e.task_id == task_id and e.data["status"] == status)


def never(journal: Journal, run_id: str, task_id: str, status: str) -> bool:
    return not any(e.task_id == task_id and e.data["status"] == status
                   for e in journal.events(run_id, kind="task_status"))


def peak(journal: Journal, run_id: str, only: set[str]) -> int:
    """The most tasks of `only` holding a slot at the same point of the event sequence."""
    level = best = 0
    inside: set[str] = set()
    for event in journal.events(run_id, kind="task_status"):
        if event.task_id not in only:
            continue
        holding = event.data["status"] in SLOT_STATES
        if holding and event.task_id not in inside:
            inside.add(event.task_id)
        elif not holding and event.task_id in inside:
            inside.discard(event.task_id)
        level = len(inside)
        best = max(best, level)
    return best


def test_parallel_independent_respects_its_concurrency_limit(git_repo: Path) -> None:
    result = run_template(git_repo, "parallel")
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        assert set(statuses(journal, result.run_id).values()) == {"done"}
        assert peak(journal, result.run_id, {"backend", "frontend", "docs"}) == 2


def test_sequential_handoff_waits_for_artifacts_and_names_them(git_repo: Path) -> None:
    result = run_template(git_repo, "handoff")
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        run = result.run_id
        assert first(journal, run, "migration", "done") < first(journal, run, "api", "running")
        assert first(journal, run, "api", "done") < first(journal, run, "frontend", "running")
        api = journal.task(run, "api")
        assert api is not None
    prompt = build_prompt(api.task, None)
    assert "db/migrations/002_roles.sql" in prompt.split("## Read first")[1]
    assert "api/roles.ts" in prompt.split("## Deliverables")[1]


def test_a_missing_handoff_artifact_stops_the_next_step(git_repo: Path) -> None:
    # The migration step writes something else: its declared artifact is missing.
    result = run_template(git_repo, "handoff", {"migration": {
        "behaviour": "partial", "files": {"db/notes.md": "not the migration\n"},
        "only": ["db/notes.md"]}})
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        run = result.run_id
        assert statuses(journal, run) == {"migration": "failed", "api": "blocked",
                                          "frontend": "blocked"}
        assert never(journal, run, "api", "running")
        migration = journal.task(run, "migration")
        assert migration is not None and "deliverables" in migration.reason


def test_sync_points_wait_for_all_inputs_and_gate_the_next_part(git_repo: Path) -> None:
    result = run_template(git_repo, "sync-points")
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        run = result.run_id
        agreed = first(journal, run, "contract-agreed", "done")
        assert first(journal, run, "contract", "done") < first(journal, run, "contract-agreed",
                                                                "running")
        assert agreed < first(journal, run, "backend", "running")
        assert agreed < first(journal, run, "frontend", "running")
        assert peak(journal, run, {"backend", "frontend"}) == 2
        sync = first(journal, run, "both-sides-done", "running")
        assert first(journal, run, "backend", "done") < sync
        assert first(journal, run, "frontend", "done") < sync
        assert (first(journal, run, "both-sides-done", "done")
                < first(journal, run, "integration-tests", "running"))
        gates = [e.data["gate"] for e in journal.events(run, kind="gate_checked")
                 if e.task_id == "contract-agreed"]
    assert gates == ["contract"]


def test_a_sync_point_gate_failure_stops_what_comes_after(git_repo: Path) -> None:
    # No fix rounds: the refusal itself must stop what comes after.
    result = run_template(git_repo, "sync-points", {"contract": {"files": {
        "docs/notifications-contract.md": "# Contract\n\n## Events\n\nTBD\n"}}},
        fix_rounds=0)
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        run = result.run_id
        found = statuses(journal, run)
        assert found["contract"] == "done"
        assert found["contract-agreed"] == "failed"
        assert {found[t] for t in ("backend", "frontend", "integration-tests")} == {"blocked"}
        assert never(journal, run, "backend", "running")


def test_primary_with_reviewers_goes_back_once_then_merges(git_repo: Path) -> None:
    result = run_template(git_repo, "reviewers")
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        attempts = journal.attempts(result.run_id, "payments")
    agent_attempts = [a for a in attempts if a.kind == "agent"]
    reviewers = sorted(a.agent or "" for a in attempts if a.kind == "review")
    assert len(agent_attempts) == 2  # the first version got a change request
    assert reviewers == ["architect", "architect", "sdet", "sdet"]  # both, in both rounds

def test_phases_start_only_after_the_validator_passed(git_repo: Path) -> None:
    result = run_template(git_repo, "phases")
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        run = result.run_id
        assert (first(journal, run, "users-module", "done")
                < first(journal, run, "tasks-module", "running"))
        validators = {a.agent for a in journal.attempts(run, "users-module") if a.kind == "review"}
    assert validators == {"sdet"}


def test_a_validator_that_keeps_failing_ends_at_its_limit(git_repo: Path) -> None:
    result = run_template(git_repo, "phases", {"users-module": {"review": [
        {"verdict": "request_changes", "findings": ["resolvers return nothing"]}]}})
    assert result.exit_code == 3  # waiting for a person, resumable
    with open_journal(git_repo) as journal:
        run = result.run_id
        assert statuses(journal, run) == {"users-module": "needs-human",
                                          "tasks-module": "pending"}
        assert never(journal, run, "tasks-module", "running")
        rounds = [a for a in journal.attempts(run, "users-module") if a.kind == "agent"]
    assert len(rounds) == 2


def test_fan_out_grows_the_graph_from_the_stories_and_fans_in(git_repo: Path) -> None:
    result = run_template(git_repo, "fan-out")
    assert result.exit_code == 0
    items = {"update:1.1", "update:1.2", "update:1.3"}
    with open_journal(git_repo) as journal:
        run = result.run_id
        assert set(statuses(journal, run)) == {"plan", "update", "integration", *items}
        (grown,) = journal.events(run, kind="graph_grown")
        assert set(grown.data["tasks"]) == items
        assert grown.data["dependencies_added"] == {"integration": sorted(items)}
        assert first(journal, run, "plan", "done") < grown.id
        assert all(grown.id < first(journal, run, item, "running") for item in items)
        gathered = first(journal, run, "integration", "running")
        assert all(first(journal, run, item, "done") < gathered for item in items)
        assert peak(journal, run, items) == 2  # the step's max_concurrent
        story = journal.task(run, "update:1.2")
    assert story is not None
    assert "docs/stories/1.2.user-service.md" in story.task.context_files
    assert story.task.title == "Update authentication in this service.: User service"


def test_conditional_branching_skips_the_branch_not_taken(git_repo: Path) -> None:
    result = run_template(git_repo, "branching")
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        run = result.run_id
        assert statuses(journal, run) == {"analyze": "done", "refactor": "done",
                                          "tidy-comments": "skipped", "report": "done"}
        (chosen,) = journal.events(run, kind="branch_chosen")
        assert chosen.data == {"label": "high_complexity", "skipped": ["tidy-comments"]}
        assert chosen.id < first(journal, run, "refactor", "running")
        assert never(journal, run, "tidy-comments", "running")
        assert first(journal, run, "refactor", "done") < first(journal, run, "report",
                                                                "running")


def test_an_answer_outside_the_labels_fails_the_analyzer(git_repo: Path) -> None:
    result = run_template(git_repo, "branching", {"analyze": {"say": "ANSWER: medium"}})
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        run = result.run_id
        found = statuses(journal, run)
        analyzer = journal.task(run, "analyze")
    assert found == {"analyze": "failed", "refactor": "blocked", "tidy-comments": "blocked",
                     "report": "blocked"}
    assert analyzer is not None and "'medium'" in analyzer.reason
    assert "high_complexity, simple_cleanup" in analyzer.reason
