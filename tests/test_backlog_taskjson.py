"""Task JSON (.tmp/tasks/<feature>/): the OpenAgents worked example, bad input, fuzz."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wavefront.backlog.taskjson as taskjson
from conftest import FIXTURES as SHARED_FIXTURES
from wavefront.errors import BacklogError
from wavefront.model import TaskStatus
from wavefront.plan.graph import validate_tasks

FIXTURES = SHARED_FIXTURES / "openagents-tasks"
WORKFLOW_DOCS = sorted(FIXTURES.glob("*/.opencode/docs/workflows/full-project-workflow.md"))

needs_fixtures = pytest.mark.skipif(not WORKFLOW_DOCS, reason="shared fixtures not present")

_EMBEDDED = re.compile(r"\*\*File\*\*: `(\.tmp/tasks/[^`]+\.json)`\s*\n```json\n(.*?)\n```", re.S)


def extract_task_set(doc: Path, root: Path) -> list[Path]:
    """Write every ```json block headed `**File**: `.tmp/tasks/...`` of `doc` under `root`."""
    written = []
    for match in _EMBEDDED.finditer(doc.read_text(encoding="utf-8")):
        target = root / match.group(1)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(match.group(2) + "\n", encoding="utf-8")
        written.append(target)
    return written


@pytest.fixture
def worked_example(tmp_path: Path) -> Path:
    if not WORKFLOW_DOCS:
        pytest.skip("shared fixtures not present")
    written = extract_task_set(WORKFLOW_DOCS[0], tmp_path)
    assert len(written) == 14  # task.json, 12 subtasks, and a contexts.json beside them
    return tmp_path


# The worked example's depends_on, as seq numbers, per subtask.
EXPECTED_DEPENDS = {
    "01": [], "02": ["01"], "03": ["02"], "04": ["02"], "05": ["02"], "06": ["02"],
    "07": ["03", "04", "05"], "08": ["07"], "09": ["06", "07"], "10": ["02"],
    "11": ["08", "09", "10"], "12": ["08"],
}  # fmt: skip


@needs_fixtures
@pytest.mark.parametrize(
    "target",
    [".tmp/tasks", ".tmp/tasks/order-management-mvp", ".tmp/tasks/order-management-mvp/task.json"],
)
def test_worked_example_loads_from_any_entry(worked_example: Path, target: str) -> None:
    path = worked_example / target
    assert taskjson.matches(path)
    backlog = taskjson.load(path)
    by_id = {task.id: task for task in backlog.tasks}
    prefix = "order-management-mvp-"
    assert sorted(by_id) == [prefix + seq for seq in EXPECTED_DEPENDS]
    for seq, deps in EXPECTED_DEPENDS.items():
        assert by_id[prefix + seq].dependencies == tuple(prefix + d for d in deps)
    assert all(t.epic == "order-management-mvp" for t in backlog.tasks)
    validate_tasks(backlog.tasks)
    assert all(t.status is TaskStatus.PENDING and t.agent == "CoderAgent" for t in backlog.tasks)


@needs_fixtures
def test_worked_example_fields(worked_example: Path) -> None:
    backlog = taskjson.load(worked_example / ".tmp/tasks")
    by_id = {task.id: task for task in backlog.tasks}
    second = by_id["order-management-mvp-02"]
    assert second.parallel is False and by_id["order-management-mvp-03"].parallel is True
    assert second.title == "Define TypeScript interfaces and contracts"
    assert "src/contracts/order-service.contract.ts" in second.deliverables
    assert second.files == second.deliverables
    assert second.acceptance_criteria[0] == "Order, LineItem, Product interfaces defined"
    # Feature context is inherited; enhanced {path, lines, reason} entries keep their lines.
    assert second.context_files[:2] == (
        ".opencode/context/core/standards/code-quality.md",
        ".opencode/context/core/standards/security-patterns.md",
    )
    assert "src/api/base.controller.ts" in second.reference_files
    assert {
        "path": ".opencode/context/core/standards/code-quality.md",
        "lines": "53-95",
        "reason": "Pure function and immutability patterns",
    } in second.metadata["file_refs"]
    assert second.metadata["bounded_context"] == "order-management"
    assert second.metadata["related_adrs"][0]["id"] == "ADR-001"
    assert second.metadata["feature_fields"]["rice_score"]["score"] == 106250
    assert second.metadata["exit_criteria"][1] == "Integration tests passing"
    assert "Implement core order placement flow" in second.body
    assert second.source.path.name == "subtask_02.json" and second.source.line == 1
    assert second.dependencies_source is not None and second.dependencies_source.line == 6


@needs_fixtures
def test_discover_lists_feature_folders(worked_example: Path) -> None:
    assert taskjson.discover(worked_example) == [worked_example / ".tmp/tasks/order-management-mvp"]
    assert taskjson.discover(worked_example / ".tmp") == []


def _feature(root: Path, task: object, *subtasks: object | str) -> Path:
    folder = root / ".tmp" / "tasks" / "feat"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.json").write_text(json.dumps(task, indent=2))
    for number, sub in enumerate(subtasks, start=1):
        text = sub if isinstance(sub, str) else json.dumps(sub, indent=2)
        (folder / f"subtask_{number:02d}.json").write_text(text)
    return folder


FEATURE = {"id": "feat", "name": "Feat", "status": "active", "objective": "o"}


def test_statuses_and_seed_fields(tmp_path: Path) -> None:
    folder = _feature(
        tmp_path,
        FEATURE,
        {"id": "feat-01", "seq": "01", "title": "one", "status": "completed",
         "agent_id": "coder-7", "started_at": "2026-02-14T10:00:00Z",
         "completed_at": "2026-02-14T11:00:00Z", "completion_summary": "did it"},
        {"id": "feat-02", "seq": "02", "title": "two", "status": "in_progress",
         "depends_on": ["01"]},
        {"id": "feat-03", "seq": "03", "title": "three", "status": "blocked",
         "depends_on": [1, "feat-02"]},
    )  # fmt: skip
    tasks = taskjson.load(folder).tasks
    assert [t.status for t in tasks] == [TaskStatus.DONE, TaskStatus.RUNNING, TaskStatus.BLOCKED]
    assert tasks[0].metadata["completion_summary"] == "did it"
    assert tasks[0].metadata["agent_id"] == "coder-7"
    assert tasks[2].dependencies == ("feat-01", "feat-02")


BAD = [
    # (subtask text, line, message part)
    ('{\n  "id": "feat-01",\n  "seq": "01"\n  "title": "x"\n}', 4, "invalid JSON"),
    ('{\n  "id": "feat-01",\n  "seq": "01",\n  "title": ["x"]\n}', 4, "title"),
    (
        '{\n  "id": "feat-01",\n  "seq": "01",\n  "title": "x",\n  "depends_on": ["09"]\n}',
        5,
        "depends_on '09' names no subtask",
    ),
    ('{\n  "id": "feat-01",\n  "title": "x",\n  "depends_on": [{"seq": "01"}]\n}', 4, "depends_on"),
    (
        '{\n  "id": "feat-01",\n  "title": "x",\n'
        '  "context_files": [\n    {"lines": "1-2"}\n  ]\n}',
        5,
        "path",
    ),
    ('"just a string"', 1, "expected a JSON object"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_bad_subtask_names_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    folder = _feature(tmp_path, FEATURE, text)
    with pytest.raises(BacklogError) as info:
        taskjson.load(folder)
    assert info.value.path == folder / "subtask_01.json"
    assert info.value.line == line
    assert message in str(info.value)


def test_bad_feature_and_layout(tmp_path: Path) -> None:
    folder = _feature(tmp_path, {"id": "feat", "exit_criteria": "not a list"})
    with pytest.raises(BacklogError, match="exit_criteria") as info:
        taskjson.load(folder)
    assert info.value.line == 3
    orphan = tmp_path / ".tmp" / "tasks" / "orphan"
    orphan.mkdir()
    (orphan / "subtask_01.json").write_text("{}")
    with pytest.raises(BacklogError, match=r"without a task\.json"):
        taskjson.load(tmp_path / ".tmp" / "tasks")
    with pytest.raises(BacklogError, match=r"no task\.json"):
        taskjson.load(tmp_path)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200), which=st.sampled_from(["task.json", "subtask_01.json"]))
def test_fuzz_only_backlog_or_backlog_error(tmp_path: Path, text: str, which: str) -> None:
    folder = _feature(tmp_path, FEATURE, {"id": "feat-01", "title": "t"})
    (folder / which).write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        backlog = taskjson.load(folder)
    except BacklogError as exc:
        assert exc.path.parent == folder
    else:
        assert len(backlog.tasks) == 1


@pytest.mark.parametrize(
    ("status", "expected", "noted"),
    [
        ("pending", TaskStatus.PENDING, False),
        ("in_progress", TaskStatus.RUNNING, False),
        ("completed", TaskStatus.DONE, False),
        ("blocked", TaskStatus.BLOCKED, False),
        # words of other tools: read, with a note, since OpenAgents' task CLI rejects them
        ("done", TaskStatus.DONE, True),
        ("Completed", TaskStatus.DONE, True),
        ("todo", TaskStatus.PENDING, True),
    ],
)
def test_status_words_of_the_schema_and_others(
    tmp_path: Path, status: str, expected: TaskStatus, noted: bool
) -> None:
    folder = _feature(tmp_path, FEATURE, {"id": "feat-01", "seq": "01", "title": "one",
                                          "status": status, "acceptance_criteria": ["a"],
                                          "deliverables": ["a.py"]})  # fmt: skip
    backlog = taskjson.load(folder)
    assert backlog.tasks[0].status is expected
    status_notes = [n for n in backlog.notes if "not a task JSON status" in n]
    assert bool(status_notes) is noted
    if noted:
        assert status_notes[0].startswith(f"{folder / 'subtask_01.json'}:")


def test_unknown_status_is_an_error_with_the_words_allowed(tmp_path: Path) -> None:
    folder = _feature(tmp_path, FEATURE, '{\n  "id": "feat-01",\n  "title": "x",\n'
                      '  "status": "banana"\n}')  # fmt: skip
    with pytest.raises(BacklogError) as info:
        taskjson.load(folder)
    assert info.value.line == 4
    assert "'banana'" in str(info.value)
    assert "pending, in_progress, completed, blocked" in str(info.value)


def test_subtask_without_parallel_runs_alone(tmp_path: Path) -> None:
    folder = _feature(
        tmp_path, FEATURE,
        {"id": "feat-01", "seq": "01", "title": "one"},
        {"id": "feat-02", "seq": "02", "title": "two", "parallel": True},
        {"id": "feat-03", "seq": "03", "title": "three", "parallel": False},
    )  # fmt: skip
    assert [t.parallel for t in taskjson.load(folder).tasks] == [False, True, False]


def test_checks_the_task_cli_makes(tmp_path: Path) -> None:
    folder = _feature(
        tmp_path, FEATURE,
        {"id": "other-01", "seq": "01", "title": "one", "acceptance_criteria": ["a"],
         "deliverables": ["a.py"]},
        {"id": "feat-02", "seq": "02", "title": "two", "acceptance_criteria": [],
         "deliverables": ["b.py"]},
    )  # fmt: skip
    notes = taskjson.load(folder).notes
    assert any("'other-01' does not start with the feature id ('feat-')" in n for n in notes)
    assert any("subtask_02.json" in n and "no acceptance_criteria" in n for n in notes)
    assert not any("no deliverables" in n for n in notes)
