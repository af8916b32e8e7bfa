"""Task Master tasks.json: every fixture, tag choice, dependency semantics, bad input, fuzz."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wavefront.backlog.taskmaster as taskmaster
from conftest import FIXTURES as SHARED_FIXTURES
from wavefront.errors import BacklogError
from wavefront.model import TaskStatus
from wavefront.plan.graph import validate_tasks

FIXTURES = SHARED_FIXTURES / "taskmaster"

needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not present")

# fixture, units, tag read, {id: dependencies} samples, {status: count}
CASES = [
    (
        "5dlabs__toolman/.taskmaster/tasks/tasks.json",
        96,
        "master",
        {
            "1.1": (),
            "1.2": ("1.1",),
            "12.3": (
                "4.1",
                "4.2",
                "4.3",
                "4.4",
                "4.5",
                "5.1",
                "5.2",
                "5.3",
                "5.4",
                "5.5",
                "6.1",
                "6.2",
                "6.3",
                "6.4",
                "6.5",
                "12.2",
            ),
        },
        {TaskStatus.DONE: 42, TaskStatus.PENDING: 54},
    ),
    (
        "AleksNeStu__keyproxy/.taskmaster/tasks/tasks.json",
        34,
        "master",
        {"2": ("1",), "31.1": ("3",), "20": ("17",)},
        {TaskStatus.DONE: 21, TaskStatus.PENDING: 12, TaskStatus.RUNNING: 1},
    ),
    (
        "Alivanroy__Typosentinel/.taskmaster/tasks/tasks.json",
        43,
        "master",
        {
            "22": ("21",),
            "29.1": ("28",),
            "31.311": ("30.1", "30.2", "30.3", "30.4", "30.5", "30.6"),
        },
        {TaskStatus.DONE: 30, TaskStatus.PENDING: 12, TaskStatus.RUNNING: 1},
    ),
    (
        "Cardow-Co__conciergus.ai/tasks/tasks.json",
        94,
        None,
        {"1.4": ("1.2", "1.3"), "13.9": ("13.6", "13.7", "13.8"), "13.6": ()},
        {TaskStatus.DONE: 94},
    ),
]


@needs_fixtures
@pytest.mark.parametrize(("name", "count", "tag", "samples", "statuses"), CASES)
def test_fixture_loads(
    name: str,
    count: int,
    tag: str | None,
    samples: dict[str, tuple[str, ...]],
    statuses: dict[TaskStatus, int],
) -> None:
    path = FIXTURES / name
    assert taskmaster.matches(path)
    backlog = taskmaster.load(path)
    by_id = {task.id: task for task in backlog.tasks}
    assert len(backlog.tasks) == len(by_id) == count
    for task_id, deps in samples.items():
        assert by_id[task_id].dependencies == deps, task_id
    validate_tasks(backlog.tasks)  # no duplicates, missing dependencies or cycles
    counted = {s: sum(1 for t in backlog.tasks if t.status is s) for s in statuses}
    assert counted == statuses
    if tag is None:
        assert "legacy" in backlog.notes[0]
    else:
        assert f"tag {tag!r}" in backlog.notes[0]
        assert all(t.tags == (tag,) for t in backlog.tasks)
    # Every unit points at its own object in the file.
    lines = path.read_text().splitlines()
    for task in backlog.tasks:
        assert task.source.path == path
        assert lines[task.source.line - 1].strip().startswith("{")


@needs_fixtures
def test_parent_with_subtasks_is_not_a_unit_and_dependents_fan_out() -> None:
    backlog = taskmaster.load(FIXTURES / "Cardow-Co__conciergus.ai/tasks/tasks.json")
    by_id = {task.id: task for task in backlog.tasks}
    assert "16" not in by_id and "20" not in by_id
    subtasks_of_20 = tuple(sorted(i for i in by_id if i.startswith("20.")))
    # Task 16 names "20" (a string, a forward reference): each subtask of 16 waits for all of 20.
    first_of_16 = by_id["16.1"]
    assert set(subtasks_of_20) <= set(first_of_16.dependencies)
    # Non-contiguous subtask ids stay as written.
    assert sorted(i for i in by_id if i.startswith("13.")) == sorted(
        ["13.1", "13.2", "13.6", "13.7", "13.8", "13.9", "13.10"]
    )
    sub = by_id["1.2"]
    assert sub.epic == "1"
    assert sub.metadata["test_strategy"]
    assert sub.metadata["priority"] == "high"
    assert "Test strategy:" in sub.body


@needs_fixtures
def test_load_tag_reads_other_tag_and_dotted_dependencies() -> None:
    path = FIXTURES / "5dlabs__toolman/.taskmaster/tasks/tasks.json"
    assert taskmaster.tag_names(path) == ["master", "verification"]
    backlog = taskmaster.load_tag(path, "verification")
    by_id = {task.id: task for task in backlog.tasks}
    assert len(by_id) == 103
    assert "13" not in by_id and "13.8" in by_id  # 13 has subtasks only in this tag
    assert by_id["12.3"].dependencies[-1] == "12.2"  # "12.2" written as a dotted string
    with pytest.raises(BacklogError, match="no tag 'nope'"):
        taskmaster.load_tag(path, "nope")


def _write(root: Path, data: object, text: str | None = None) -> Path:
    path = root / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else json.dumps(data, indent=2))
    return path


TAGGED = {
    "master": {"tasks": [{"id": 1, "title": "a", "dependencies": [], "status": "done"}]},
    "feature-x": {
        "tasks": [
            {"id": 1, "title": "b", "status": "review"},
            {"id": 2, "title": "c", "dependencies": [1], "status": "deferred"},
        ]
    },
}


def test_state_json_current_tag_chooses_tag(tmp_path: Path) -> None:
    path = _write(tmp_path, TAGGED)
    assert [t.title for t in taskmaster.load(path).tasks] == ["a"]
    (tmp_path / ".taskmaster" / "state.json").write_text(json.dumps({"currentTag": "feature-x"}))
    backlog = taskmaster.load(path)
    assert [t.id for t in backlog.tasks] == ["1", "2"]
    assert [t.status for t in backlog.tasks] == [TaskStatus.REVIEWING, TaskStatus.SKIPPED]
    assert "currentTag" in backlog.notes[0]
    (tmp_path / ".taskmaster" / "state.json").write_text('{\n  "currentTag": "gone"\n}')
    with pytest.raises(BacklogError, match="currentTag 'gone'") as info:
        taskmaster.load(path)
    assert info.value.line == 2


def test_notes_name_the_state_and_report_files_as_the_backlog_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, TAGGED)
    (tmp_path / ".taskmaster" / "state.json").write_text(json.dumps({"currentTag": "master"}))
    (tmp_path / ".taskmaster" / "reports").mkdir()
    (tmp_path / ".taskmaster" / "reports" / "task-complexity-report.json").write_text(
        json.dumps({"complexityAnalysis": [{"taskId": 1, "complexityScore": 3}]}))
    monkeypatch.chdir(tmp_path)
    notes = taskmaster.load(Path(".taskmaster/tasks/tasks.json")).notes
    assert notes == (
        ".taskmaster/tasks/tasks.json: read tag 'master' (currentTag in .taskmaster/state.json)",
        ".taskmaster/reports/task-complexity-report.json: complexity scores of 1 task read as "
        "estimates",
    )


def test_only_tag_is_used_without_master(tmp_path: Path) -> None:
    path = _write(tmp_path, {"solo": TAGGED["feature-x"]})
    assert len(taskmaster.load(path).tasks) == 2
    path = _write(tmp_path, {"a": TAGGED["feature-x"], "b": TAGGED["master"]})
    with pytest.raises(BacklogError, match="several tags"):
        taskmaster.load(path)


def test_discover(tmp_path: Path) -> None:
    assert taskmaster.discover(tmp_path) == []
    path = _write(tmp_path, TAGGED)
    assert taskmaster.discover(tmp_path) == [path]


BAD = [
    # (file text, line, message part)
    ('{\n  "tasks": [\n    {"id": 1, "title": "a",}\n  ]\n}', 3, "invalid JSON"),
    ('{\n  "tasks": [\n    {"id": 1,\n     "title": 5}\n  ]\n}', 4, "title"),
    (
        '{\n  "tasks": [\n    {"id": 1, "title": "a",\n     "dependencies": ["soon"]}\n  ]\n}',
        4,
        "dependency 'soon' is not a task id",
    ),
    ('{\n  "tasks": [\n    {"id": 1, "title": "a"},\n    {"title": "b"}\n  ]\n}', 4, "'id'"),
    ("[1, 2]", 1, "expected a JSON object"),
    ('{"other": 1}', 1, "expected"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_bad_input_names_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _write(tmp_path, None, text)
    with pytest.raises(BacklogError) as info:
        taskmaster.load(path)
    assert info.value.path == path
    assert info.value.line == line
    assert message in str(info.value)


def test_schema_error_in_tag_names_line(tmp_path: Path) -> None:
    text = '{\n "master": {\n  "tasks": [\n   {"id": 1,\n    "title": null}\n  ]\n }\n}'
    path = _write(tmp_path, None, text)
    with pytest.raises(BacklogError, match="title") as info:
        taskmaster.load(path)
    assert info.value.line == 5


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["tasks", "master", "id", "title", "dependencies", "subtasks", "status"]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | json_values.map(json.dumps))
def test_fuzz_only_backlog_or_backlog_error(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, None, "")
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        backlog = taskmaster.load(path)
    except BacklogError as exc:
        assert exc.path == path
    else:
        assert all(task.id for task in backlog.tasks)


def test_status_words_outside_task_masters_are_noted_or_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"tasks": [
        {"id": 1, "title": "a", "status": "completed"},
        {"id": 2, "title": "b", "status": "todo"},
        {"id": 3, "title": "c", "status": "cancelled"},
    ]})  # fmt: skip
    backlog = taskmaster.load(path)
    assert [t.status for t in backlog.tasks] == [
        TaskStatus.DONE, TaskStatus.PENDING, TaskStatus.CANCELLED
    ]
    noted = [n for n in backlog.notes if "is not a Task Master status" in n]
    assert len(noted) == 2
    assert "'completed'" in noted[0] and "read as done" in noted[0]
    _write(tmp_path, None, '{"tasks": [\n  {"id": 1, "title": "a",\n   "status": "banana"}\n]}')
    with pytest.raises(BacklogError, match="'banana' is not a Task Master status") as info:
        taskmaster.load(path)
    assert info.value.line == 3


def test_subtask_depending_on_itself_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, {"tasks": [{"id": 1, "title": "a", "subtasks": [
        {"id": 1, "title": "s1", "dependencies": [1]},
        {"id": 2, "title": "s2", "dependencies": [1]},
    ]}]})  # fmt: skip
    backlog = taskmaster.load(path)
    assert {t.id: t.dependencies for t in backlog.tasks} == {"1.1": (), "1.2": ("1.1",)}
    assert any("subtask 1.1 depends on itself" in n and "[SELF]" in n for n in backlog.notes)


def test_next_follows_task_masters_order(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wavefront.cli import wavefront

    # Task Master: a subtask of a task in progress first, then priority, then fewer
    # dependencies; the longest critical path (wavefront's own choice) would pick 1.
    _write(tmp_path, {"tasks": [
        {"id": 1, "title": "long chain start", "status": "pending", "priority": "low"},
        {"id": 2, "title": "after 1", "status": "pending", "dependencies": [1]},
        {"id": 3, "title": "after 2", "status": "pending", "dependencies": [2]},
        {"id": 4, "title": "urgent", "status": "pending", "priority": "high"},
        {"id": 5, "title": "started", "status": "in-progress", "priority": "low",
         "subtasks": [{"id": 1, "title": "next piece", "status": "pending"}]},
        {"id": 6, "title": "done", "status": "done"},
        {"id": 7, "title": "high, one dependency", "status": "pending", "priority": "high",
         "dependencies": [6]},
    ]})  # fmt: skip
    result = CliRunner().invoke(wavefront, ["next", "-C", str(tmp_path), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == ["5.1", "4", "7", "1"]
    assert "first by Task Master's order" in result.stderr
