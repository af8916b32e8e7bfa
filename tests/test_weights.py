"""Duration estimates as the scheduler's default weights, read from real backlogs.

The stories are a real project's (the shared fixtures); the Task Master backlog is a real
project's tasks.json with a complexity report beside it; the measured durations come
from a real `wavefront run` and its journal.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaos.harness import make_repo, run_cli, write_backlog
from conftest import FIXTURES, needs_shared_fixtures
from wavefront.backlog.load import load_and_plan
from wavefront.cli import wavefront
from wavefront.estimates import parse_estimate
from wavefront.model import SourceLocation, Task, WeightSource
from wavefront.plan.weights import default_weights

ESTIMATES = [
    ("3h", 3.0),
    ("2 days", 16.0),
    ("1.5 weeks", 60.0),
    ("30m", 0.5),
    ("2 hours", 2.0),
    ("~6.5 hours", 6.5),
    ("14-18 hours", 16.0),
    ("2 to 3 days", 20.0),
    ("4 development sessions (14-18 hours)", 16.0),  # the time unit wins
    ("5", 5.0),
    ("5 points", 5.0),
    ("3 story points", 3.0),
    ("8 SP", 8.0),
    ("M", None),
    ("0", None),
    ("unknown", None),
]


@pytest.mark.parametrize(("text", "hours"), ESTIMATES)
def test_estimates_are_read_as_hours_or_points(text: str, hours: float | None) -> None:
    assert parse_estimate(text) == hours


def task(task_id: str, estimate: float | None = None, weight: float | None = None) -> Task:
    source: WeightSource = "given" if weight is not None else "unit"
    return Task(task_id, task_id, SourceLocation(Path("backlog.yaml"), 1), estimate=estimate,
                weight=weight or 1.0, weight_source=source)


def weights(tasks: list[Task], measured: dict[str, float]) -> dict[str, tuple[float, str]]:
    return {t.id: (round(t.weight, 3), t.weight_source)
            for t in default_weights(tasks, measured)}


WEIGHTINGS = [
    # nothing known: weight 1 for all, as before
    ([task("a"), task("b")], {}, {"a": (1.0, "unit"), "b": (1.0, "unit")}),
    # estimates, and the median for the task without one
    ([task("a", 2), task("b", 8), task("c", 4), task("d")], {},
     {"a": (2.0, "estimate"), "b": (8.0, "estimate"), "c": (4.0, "estimate"),
      "d": (4.0, "median")}),
    # a given weight wins over everything, and counts towards the median
    ([task("a", 2, weight=10), task("b", 4), task("c")], {"a": 60},
     {"a": (10.0, "given"), "b": (4.0, "estimate"), "c": (7.0, "median")}),
    # measured seconds (as hours) win over the estimate, and scale the other estimates:
    # "a" was estimated at 2 h and took 0.5 h, so "b"'s 8 h estimate counts as 2 h
    ([task("a", 2), task("b", 8)], {"a": 1800}, {"a": (0.5, "measured"), "b": (2.0, "estimate")}),
    # measured tasks with no estimate scale by medians: estimates of 10 points, work 1 h
    ([task("a"), task("b", 10), task("c", 30)], {"a": 3600},
     {"a": (1.0, "measured"), "b": (0.5, "estimate"), "c": (1.5, "estimate")}),
]


@pytest.mark.parametrize(("tasks", "measured", "expected"), WEIGHTINGS)
def test_default_weights(tasks: list[Task], measured: dict[str, float],
                         expected: dict[str, tuple[float, str]]) -> None:
    assert weights(tasks, measured) == expected


@needs_shared_fixtures
def test_a_projects_story_estimates_weight_its_plan(tmp_path: Path) -> None:
    stories = FIXTURES / "stories-with-deps" / "salacoste__openapi-mcp-swagger" / "docs"
    shutil.copytree(stories, tmp_path / "docs")
    # Two stories share id 9.1 there: the plan sets them aside, as `wavefront plan` does.
    plan = load_and_plan(paths=[tmp_path / "docs" / "stories"], root=tmp_path,
                         sound_only=True).plan
    by_id = plan.by_id
    assert by_id["4.2"].weight == 22.0  # "**Effort**: 5-6 development sessions (20-24 hours)"
    assert by_id["2.2"].weight == 10.0  # "(8-12 hours)"
    sources = {t.weight_source for t in plan.tasks}
    assert sources == {"estimate", "median"}
    median = {t.weight for t in plan.tasks if t.weight_source == "median"}
    assert len(median) == 1
    assert plan.critical_length == sum(by_id[t].weight for t in plan.critical_path)
    assert plan.critical_length > 100  # hours: not the count of stories on the path

    shown = CliRunner().invoke(wavefront, ["plan", "-C", str(tmp_path), "-b",
                                           str(tmp_path / "docs" / "stories")])
    assert shown.exit_code == 0, shown.output
    assert f"(length {plan.critical_length:g})" in shown.output
    assert "from estimates" in shown.output and "with no estimate (the median)" in shown.output


@needs_shared_fixtures
def test_task_master_complexity_scores_are_estimates(tmp_path: Path) -> None:
    project = FIXTURES / "taskmaster" / "5dlabs__toolman"
    shutil.copytree(project / ".taskmaster", tmp_path / ".taskmaster")
    reports = tmp_path / ".taskmaster" / "reports"
    reports.mkdir()
    (reports / "task-complexity-report.json").write_text(json.dumps({
        "meta": {"generatedAt": "2025-06-01T00:00:00Z", "tasksAnalyzed": 2},
        "complexityAnalysis": [
            {"taskId": 1, "taskTitle": "first", "complexityScore": 2},
            {"taskId": 7, "taskTitle": "seventh", "complexityScore": 10},
        ],
    }))
    loaded = load_and_plan(root=tmp_path)
    by_id = {t.id: t for t in loaded.backlog.tasks}
    assert by_id["7.1"].estimate == 2.0  # its task's 10, shared by its 5 subtasks
    assert by_id["1.1"].estimate == 0.4
    assert by_id["2.1"].estimate is None
    assert any("complexity scores of 2 tasks" in note for note in loaded.backlog.notes)
    plan = loaded.plan
    assert plan.by_id["7.1"].weight_source == "estimate"
    assert {t.weight_source for t in plan.tasks if not t.id.startswith(("1.", "7."))} == {
        "median"}


def test_an_estimate_in_wavefront_yaml_and_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "wavefront.yaml").write_text(
        "version: 1\n"
        "tasks:\n"
        "  - {id: a, title: A, estimate: 2h}\n"
        "  - {id: b, title: B, depends_on: [a], estimate: 1 day}\n"
        "  - {id: c, title: C, estimate: 3}\n"
        "  - {id: d, title: D, weight: 30}\n")
    plan = load_and_plan(root=tmp_path).plan
    assert [(t.id, t.weight, t.weight_source) for t in plan.tasks] == [
        ("a", 2.0, "estimate"), ("b", 8.0, "estimate"), ("c", 3.0, "estimate"),
        ("d", 30.0, "given")]
    assert plan.critical_path == ("d",)

    (tmp_path / "wavefront.yaml").write_text(
        "version: 1\ntasks:\n  - {id: a, title: A}\n  - {id: b, title: B, estimate: soon}\n")
    shown = CliRunner().invoke(wavefront, ["plan", "-C", str(tmp_path)])
    assert shown.exit_code == 2
    assert "wavefront.yaml:4" in shown.output
    assert "expected a duration such as 3h or 2 days" in shown.output
    assert "Traceback" not in shown.output


def test_durations_measured_in_a_run_weight_the_next_plan(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    write_backlog(root, [
        {"id": "slow", "title": "slow", "estimate": "1h",
         "script": {"files": {"slow.txt": "x\n"}, "sleep": 1.0}},
        {"id": "quick", "title": "quick", "estimate": "1h",
         "script": {"files": {"quick.txt": "x\n"}}},
        {"id": "new", "title": "new", "estimate": "4h"},
    ])
    before = load_and_plan(root=root).plan
    assert before.by_id["slow"].weight == before.by_id["quick"].weight == 1.0
    done = run_cli(root, "run", "--no-progress", "--sandbox", "none", "slow", "quick")
    assert done.returncode == 0, done.stderr

    after = load_and_plan(root=root).plan
    slow, quick, new = (after.by_id[name] for name in ("slow", "quick", "new"))
    assert slow.weight_source == quick.weight_source == "measured"
    assert slow.weight > quick.weight
    assert slow.weight >= 1.0 / 3600
    # "new" has no measurement: its 4 h estimate is scaled by how long 1 h estimates took.
    assert new.weight_source == "estimate"
    assert new.weight == pytest.approx(4 * (slow.weight + quick.weight) / 2)
