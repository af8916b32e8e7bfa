"""The `bmad` backlog format: real sprint-status files, story files beside them, key-to-id
rules, bad input, and arbitrary text."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES as SHARED_FIXTURES
from wavefront.backlog import bmad
from wavefront.errors import BacklogError
from wavefront.model import Task, TaskStatus

FIXTURES: Path | None = SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else None
needs_fixtures = pytest.mark.skipif(
    FIXTURES is None, reason="real-project fixtures not found (set WAVEFRONT_FIXTURES)"
)

PULUMI = "bmad-stories/JDetmar__pulumi-webflow"
VIBE = "bmad-stories/JeiKeiLim__vibe-dash"
MID_SPRINT = f"{VIBE}/test/fixtures/bmad-v6-mid-sprint"
UNDERSCORE = f"{VIBE}/test/fixtures/bmad-v6-underscore"


def _fixture(relative: str) -> Path:
    assert FIXTURES is not None
    return FIXTURES / relative


def _by_id(tasks: tuple[Task, ...]) -> dict[str, Task]:
    return {task.id: task for task in tasks}


def _key_line(path: Path, key: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(f"{key}:"))


# --- real sprint-status files --------------------------------------------------------------

FILE_CASES = [
    # (repository folder, task count, {id: (status, epic)})
    (
        PULUMI,
        35,
        {
            "1.1": (TaskStatus.DONE, "1"),
            "5.1": (TaskStatus.DONE, "5"),
            "5.1.1": (TaskStatus.DONE, "5"),
            "6.4": (TaskStatus.DONE, "6"),
        },
    ),
    (
        VIBE,
        136,
        {
            "3.5": (TaskStatus.DONE, "3"),
            "3.5.0": (TaskStatus.DONE, "3.5"),
            "4.5.3": (TaskStatus.DONE, "4.5"),
            "10.1": (TaskStatus.PENDING, "10"),
            "16.7": (TaskStatus.DONE, "16"),
        },
    ),
    (
        MID_SPRINT,
        4,
        {
            "1.2": (TaskStatus.DONE, "1"),
            "2.1": (TaskStatus.RUNNING, "2"),
            "2.2": (TaskStatus.PENDING, "2"),
        },
    ),
    (UNDERSCORE, 0, {}),
]


@needs_fixtures
@pytest.mark.parametrize(("folder", "count", "expected"), FILE_CASES)
def test_sprint_status_files(
    folder: str, count: int, expected: dict[str, tuple[TaskStatus, str]]
) -> None:
    (path,) = bmad.discover(_fixture(folder))
    assert bmad.matches(path)
    backlog = bmad.load(path)
    tasks = _by_id(backlog.tasks)
    assert len(backlog.tasks) == count
    for task_id, (status, epic) in expected.items():
        assert (tasks[task_id].status, tasks[task_id].epic) == (status, epic)
    for task in backlog.tasks:
        key = task.metadata["bmad_key"]
        assert task.source.path == path
        assert task.source.line == _key_line(path, key)
        assert not key.startswith("epic-") and not key.endswith("retrospective")
        assert task.dependencies == ()  # sprint-status declares none
    if count == 0:
        assert any("no stories" in note for note in backlog.notes)


@needs_fixtures
def test_story_file_beside_the_sprint_status_adds_its_text() -> None:
    path = _fixture(f"{VIBE}/docs/sprint-artifacts/sprint-status.yaml")
    tasks = _by_id(bmad.load(path).tasks)
    story = tasks["1.1"]
    assert story.title == "Project Scaffolding"
    assert story.body.startswith("# Story 1.1: Project Scaffolding")
    assert len(story.acceptance_criteria) == 1  # one gherkin block
    assert story.metadata["story_file"].endswith("stories/epic-1/1-1-project-scaffolding.md")
    assert story.metadata["story_status_text"] == "Done"
    assert "cmd/vibe/main.go" in story.files
    # No story file: the title comes from the key.
    assert tasks["1.2"].title == "Domain entities"
    assert tasks["3.5.0"].title == "Cleanup existing storage"


@needs_fixtures
def test_epic_comments_become_tags() -> None:
    tasks = _by_id(bmad.load(_fixture(f"{VIBE}/docs/sprint-artifacts/sprint-status.yaml")).tasks)
    assert tasks["3.5.1"].tags == ("storage-structure-alignment",)
    assert tasks["3.5"].tags == ("dashboard-visualization",)
    assert tasks["1.1"].metadata["epic_status"] == "done"


# --- keys to ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "epics", "stories", "expected"),
    [
        ("1-1-project-scaffolding", set(), set(), ("1.1", "1")),
        ("2-10-golden-path-test-fixtures", set(), set(), ("2.10", "2")),
        ("3-5-0-cleanup-existing-storage", {"3.5"}, {"3.5"}, ("3.5.0", "3.5")),
        ("5-1-1-lint-compliance-cleanup", set(), {"5.1"}, ("5.1.1", "5")),
        ("1-1-404-page", set(), set(), ("1.1", "1")),
        ("4-5-c-sdk-distribution", set(), set(), ("4.5", "4")),
        ("epic-1", set(), set(), None),
        ("setup-ci", set(), set(), None),
    ],
)
def test_task_id_for_key(
    key: str, epics: set[str], stories: set[str], expected: tuple[str, str] | None
) -> None:
    assert bmad.task_id_for_key(key, epics, stories) == expected


# --- hand-made files -----------------------------------------------------------------------


def _sprint(tmp_path: Path, text: str, folder: str = "docs/sprint-artifacts") -> Path:
    path = tmp_path / folder / "sprint-status.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


NESTED = """\
project: demo
development_status:
  # Epic 1: Auth
  epic-1:
    status: in-progress
    stories:
      1-1-login: done
      1-2-logout: review
      epic-1-retrospective: optional
  epic-2:
    status: backlog
    stories:
      2-1-profile: {status: ready-for-dev}
"""


def test_nested_shape(tmp_path: Path) -> None:
    path = _sprint(tmp_path, NESTED, "_bmad-output/implementation-artifacts")
    assert bmad.discover(tmp_path) == [path]
    tasks = _by_id(bmad.load(path).tasks)
    assert [(t.id, t.status, t.source.line) for t in tasks.values()] == [
        ("1.1", TaskStatus.DONE, 7),
        ("1.2", TaskStatus.RUNNING, 8),
        ("2.1", TaskStatus.PENDING, 13),
    ]
    assert tasks["1.1"].tags == ("auth",)
    assert tasks["2.1"].status_text == "ready-for-dev"


def test_story_file_dependencies_point_at_the_story_file(tmp_path: Path) -> None:
    path = _sprint(tmp_path, "development_status:\n  1-1-a: done\n  1-2-b: drafted\n")
    story = path.parent / "stories" / "1-2-b.md"
    story.parent.mkdir()
    story.write_text("# Story 1.2: B\n\nStatus: drafted\n\n**Dependencies**: Story 1.1\n")
    backlog = bmad.load(path.parent)  # the folder works too
    tasks = _by_id(backlog.tasks)
    assert tasks["1.2"].dependencies == ("1.1",)
    assert tasks["1.2"].dependencies_source is not None
    assert tasks["1.2"].dependencies_source.path == story
    assert tasks["1.2"].dependencies_source.line == 5
    assert tasks["1.2"].title == "B"
    assert story in backlog.files


@pytest.mark.parametrize(
    "location",
    ["docs/sprint-artifacts", "_bmad-output/implementation-artifacts", "docs"],
)
def test_discover_locations(tmp_path: Path, location: str) -> None:
    path = _sprint(tmp_path, "development_status:\n  1-1-a: done\n", location)
    assert bmad.discover(tmp_path) == [path]
    assert bmad.matches(path) and bmad.matches(path.parent)


def test_discover_finds_nothing_elsewhere(tmp_path: Path) -> None:
    _sprint(tmp_path, "development_status: {}\n", "elsewhere")
    assert bmad.discover(tmp_path) == []
    assert not bmad.matches(tmp_path / "docs" / "stories")


def test_unknown_status_is_noted(tmp_path: Path) -> None:
    path = _sprint(tmp_path, "development_status:\n  1-1-a: almost\n")
    backlog = bmad.load(path)
    assert backlog.tasks[0].status is TaskStatus.PENDING
    assert any(f"{path}:2:" in note and "almost" in note for note in backlog.notes)


# --- bad input -----------------------------------------------------------------------------

BAD = [
    # (content, line, words in the message)
    ("development_status:\n  1-1-a: done\n  1-2-b: [unclosed\n", 4, "invalid YAML"),
    ("project: x\n", 1, "development_status"),
    ("- just\n- a list\n", 1, "development_status"),
    ("development_status: done\n", 1, "'key: status'"),
    ("development_status:\n  1-1-a: done\n  setup-ci: done\n", 3, "'setup-ci'"),
    ("development_status:\n  1-1-a:\n    - done\n", 3, "expected a status"),
    ("development_status:\n  1-1-a:\n", 2, "expected a status"),
    ("development_status:\n  epic-1:\n    stories: [1, 2]\n", 3, "stories"),
]


@pytest.mark.parametrize(("content", "line", "words"), BAD)
def test_bad_files_name_file_and_line(tmp_path: Path, content: str, line: int, words: str) -> None:
    path = _sprint(tmp_path, content)
    with pytest.raises(BacklogError) as caught:
        bmad.load(path)
    assert caught.value.path == path
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}:")
    assert words in str(caught.value)


def test_folder_without_sprint_status(tmp_path: Path) -> None:
    with pytest.raises(BacklogError, match=r"no sprint-status\.yaml"):
        bmad.load(tmp_path)


# --- arbitrary text ------------------------------------------------------------------------

_YAMLISH = st.text(
    alphabet=st.sampled_from(list("development_status:epic-123 {}[]#\n\t'\"&*!|>-,.?")),
    max_size=300,
) | st.text(max_size=200)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_YAMLISH, prefix=st.booleans())
def test_arbitrary_text_loads_or_raises_backlog_error(text: str, prefix: bool) -> None:
    if prefix:
        text = "development_status:\n  " + text
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sprint-status.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            backlog = bmad.load(path)
        except BacklogError as exc:
            assert str(exc).startswith(str(path))
        else:
            assert all(isinstance(task, Task) for task in backlog.tasks)


def test_next_puts_ready_for_dev_before_backlog(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wavefront.cli import wavefront

    folder = tmp_path / "docs" / "sprint-artifacts"
    folder.mkdir(parents=True)
    (folder / "sprint-status.yaml").write_text(
        "development_status:\n  epic-1: in-progress\n  1-1-first: backlog\n"
        "  1-2-second: ready-for-dev\n  1-3-third: in-progress\n"
    )
    result = CliRunner().invoke(wavefront, ["next", "-C", str(tmp_path), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == ["1.2", "1.1"]
    assert "to resume or review first: 1.3 (in-progress)" in result.stderr
