"""The `stories` backlog format: real story folders and epics files, hand-made stories in
the seed's format, bad input, and arbitrary text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components import need
from conftest import FIXTURES as SHARED_FIXTURES
from wavefront.backlog import stories
from wavefront.errors import BacklogError
from wavefront.model import Task, TaskStatus

FIXTURES: Path | None = SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else None
needs_fixtures = pytest.mark.skipif(
    FIXTURES is None, reason="real-project fixtures not found (set WAVEFRONT_FIXTURES)"
)

IAM = "bmad-stories/docg1701__iam-dashboard/docs/stories"
EVENTS = "bmad-stories/pradok__events-scheduler/docs/stories"
SWAGGER = "stories-with-deps/salacoste__openapi-mcp-swagger/docs/stories"
EPICS = "stories-with-deps/JeiKeiLim__vibe-dash/docs/epics.md"


def _fixture(relative: str) -> Path:
    assert FIXTURES is not None
    return FIXTURES / relative


def _by_id(tasks: tuple[Task, ...]) -> dict[str, Task]:
    return {task.id: task for task in tasks}


# --- whole folders -------------------------------------------------------------------------


@needs_fixtures
@pytest.mark.parametrize(
    ("folder", "count", "first_ids"),
    [
        (IAM, 5, ["1.1", "1.2", "1.3", "1.4", "1.5"]),
        (
            EVENTS,
            34,
            [
                "1.1",
                "1.2",
                "1.3",
                "1.4",
                "1.5",
                "1.6",
                "1.7",
                "1.7b",
                "1.8",
                "1.9",
                "1.10",
                "1.11",
                "1.11b",
                "1.11c",
                "2.1",
            ],
        ),
        (SWAGGER, 26, ["1.1", "1.2", "1.3", "1.4", "1.5", "2.1"]),
    ],
)
def test_every_story_file_of_a_folder_loads_in_numeric_order(
    folder: str, count: int, first_ids: list[str]
) -> None:
    backlog = stories.load(_fixture(folder))
    story_files = [p for p in _fixture(folder).glob("*.md") if stories.matches(p)]
    assert len(backlog.tasks) == count == len(story_files)
    assert [t.id for t in backlog.tasks][: len(first_ids)] == first_ids
    assert backlog.formats == ("stories",)
    assert all(t.title and t.body and t.source.path.is_file() for t in backlog.tasks)


@needs_fixtures
def test_review_summary_with_a_hyphen_is_not_a_story() -> None:
    backlog = stories.load(_fixture(EVENTS))
    assert "4.5-review-summary.md" not in {p.name for p in backlog.files}
    fours = [t for t in backlog.tasks if t.id == "4.5"]
    assert [t.source.path.name for t in fours] == [
        "4.5.configurable-delivery-time-override.story.md"
    ]
    assert not stories.matches(_fixture(EVENTS) / "4.5-review-summary.md")


@needs_fixtures
def test_duplicate_ids_are_kept_for_the_plan_to_report() -> None:
    backlog = stories.load(_fixture(SWAGGER))
    assert [t.status for t in backlog.tasks if t.id == "9.1"] == [
        TaskStatus.BLOCKED,
        TaskStatus.PENDING,
    ]


# --- single files: id, title, status, dependencies, criteria ------------------------------

STORY_CASES = [
    # (file, id, title, status, status text starts with, dependencies, AC count)
    (
        f"{IAM}/1.1.project-setup.md",
        "1.1",
        "Project Setup and Development Environment",
        TaskStatus.DONE,
        "Done",
        (),
        8,
    ),
    (
        f"{IAM}/1.5.user-account-management.md",
        "1.5",
        "User Account Management",
        TaskStatus.PENDING,
        "Approved",
        (),
        8,
    ),
    (
        f"{EVENTS}/1.1.project-setup.md",
        "1.1",
        "Project Setup & Monorepo Foundation",
        TaskStatus.DONE,
        "Done",
        (),
        8,
    ),
    (
        f"{EVENTS}/1.5.timezone-service.md",
        "1.5",
        "Timezone Service",
        TaskStatus.DONE,
        "Done ✅ (QA Approved",
        (),
        18,
    ),
    (
        f"{EVENTS}/1.7b.reorganize-bounded-context-folder-structure.md",
        "1.7b",
        "Reorganize to Bounded Context Folder Structure",
        TaskStatus.DONE,
        "Done",
        ("1.7",),
        10,
    ),
    (
        f"{EVENTS}/1.9.user-created-event-handler.md",
        "1.9",
        "UserCreated Event Handler",
        TaskStatus.DONE,
        "Done",
        ("1.8",),
        11,
    ),
    (
        f"{EVENTS}/1.10.create-user-use-case.md",
        "1.10",
        "Refactor Create User Use Case with Domain Events",
        TaskStatus.DONE,
        "Done",
        ("1.8", "1.9"),
        10,
    ),
    (
        f"{EVENTS}/1.11.user-crud-rest-api.story.md",
        "1.11",
        "User CRUD Use Cases & REST API",
        TaskStatus.DONE,
        "Done - Implementation Complete",
        (),
        17,
    ),
    (
        f"{EVENTS}/1.11b.refactor-bounded-context-violations.story.md",
        "1.11b",
        "Refactor Bounded Context Violations",
        TaskStatus.DONE,
        "Done",
        (),
        18,
    ),
    (
        f"{EVENTS}/2.3.eventbridge-scheduler-trigger.story.md",
        "2.3",
        "EventBridge Scheduler Trigger",
        TaskStatus.DONE,
        "✅ Done (QA Approved)",
        (),
        8,
    ),
    (
        f"{EVENTS}/2.5.event-executor-use-case.story.md",
        "2.5",
        "Event Executor Use Case",
        TaskStatus.RUNNING,
        "Ready for Review",
        (),
        8,
    ),
    (
        f"{EVENTS}/3.4.basic-end-to-end-smoke-test.story.md",
        "3.4",
        "Basic End-to-End Smoke Test",
        TaskStatus.PENDING,
        "Approved",
        (),
        8,
    ),
    (
        f"{EVENTS}/4.3.localstack-desktop-setup.story.md",
        "4.3",
        "LocalStack Desktop & VSCode Extension Setup",
        TaskStatus.DONE,
        "Complete ✅",
        (),
        8,
    ),
    (
        f"{EVENTS}/4.5.configurable-delivery-time-override.story.md",
        "4.5",
        None,
        TaskStatus.DONE,
        "Done ✅",
        (),
        29,
    ),
    (f"{SWAGGER}/1.1.project-setup.md", "1.1", None, TaskStatus.RUNNING, "Ready for Review", (), 6),
    # A bulleted "- **Dependencies**: ... (Story 1.3)" in the notes is not a dependency.
    (f"{SWAGGER}/1.2.stream-parser.md", "1.2", None, TaskStatus.RUNNING, "Ready for Review", (), 6),
    (
        f"{SWAGGER}/2.1.mcp-protocol-foundation.md",
        "2.1",
        "MCP Protocol Foundation Setup",
        TaskStatus.RUNNING,
        "✅ Ready for Review - Core MCP",
        ("1.4", "1.5"),
        9,
    ),
    (
        f"{SWAGGER}/2.4.get-example-method.md",
        "2.4",
        None,
        TaskStatus.RUNNING,
        "✅ Ready",
        ("2.1", "2.3", "1.4", "1.3"),
        9,
    ),
    (
        f"{SWAGGER}/3.1.search-infrastructure.md",
        "3.1",
        None,
        TaskStatus.PENDING,
        None,
        ("1.3", "1.4", "2.2"),
        9,
    ),
    (
        f"{SWAGGER}/4.3.server-management.md",
        "4.3",
        None,
        TaskStatus.RUNNING,
        "✅ Ready",
        ("4.1", "4.2", "2.6"),
        9,
    ),
    (
        f"{SWAGGER}/9.1.add-mcp-tool-decorator-validation.md",
        "9.1",
        None,
        TaskStatus.BLOCKED,
        "BLOCKED - Needs Investigation",
        (),
        12,
    ),
    (
        f"{SWAGGER}/10.1.current-state-investigation-documentation.md",
        "10.1",
        None,
        TaskStatus.DONE,
        "Done",
        (),
        8,
    ),
]


@needs_fixtures
@pytest.mark.parametrize(
    ("relative", "task_id", "title", "status", "status_start", "dependencies", "ac_count"),
    STORY_CASES,
    ids=[case[0].rsplit("/", 1)[1] for case in STORY_CASES],
)
def test_story_file_fields(
    relative: str,
    task_id: str,
    title: str | None,
    status: TaskStatus,
    status_start: str | None,
    dependencies: tuple[str, ...],
    ac_count: int,
) -> None:
    backlog = stories.load(_fixture(relative))
    (task,) = backlog.tasks
    assert task.id == task_id
    assert task.epic == task_id.split(".")[0]
    if title is not None:
        assert task.title == title
    assert task.status is status
    if status_start is None:
        assert task.status_text is None
    else:
        assert task.status_text is not None and task.status_text.startswith(status_start)
    assert task.dependencies == dependencies
    assert len(task.acceptance_criteria) == ac_count
    assert task.source.line == 1  # the H1
    assert task.body == _fixture(relative).read_text(encoding="utf-8")


@needs_fixtures
def test_dependency_line_is_recorded_for_messages() -> None:
    (task,) = stories.load(_fixture(f"{EVENTS}/1.10.create-user-use-case.md")).tasks
    assert task.dependencies_source is not None
    assert task.dependencies_source.line == 11
    line = task.source.path.read_text(encoding="utf-8").splitlines()[10]
    assert line.startswith("**Dependencies:** Stories 1.8")


@needs_fixtures
def test_dependencies_section_counts_depends_on_not_blocks() -> None:
    # "## Dependencies / - **Depends on:** None / - **Blocks:** Story 1.9, Story 1.10"
    (task,) = stories.load(_fixture(f"{EVENTS}/1.8.domain-event-bus.md")).tasks
    assert task.dependencies == ()
    assert task.dependencies_source is not None  # it did say "None"


@needs_fixtures
def test_whole_epic_dependencies_expand_over_the_folder() -> None:
    tasks = _by_id(stories.load(_fixture(SWAGGER)).tasks)
    epic_one = [i for i in tasks if i.startswith("1.")]
    # "**Dependencies**: 2 (Story 1.1, Epic 1 completion)"
    assert tasks["4.1"].dependencies == tuple(epic_one)
    # "**Dependencies**: 4 (Story 4.1, Epic 1, Epic 2, Epic 3)"
    expected = ["4.1", *[i for i in tasks if i.split(".")[0] in {"1", "2", "3"}]]
    assert tasks["4.2"].dependencies == tuple(expected)
    assert tasks["4.2"].metadata["epic_dependencies"] == ("1", "2", "3")


@needs_fixtures
def test_whole_epic_dependencies_of_a_single_file_become_a_note() -> None:
    backlog = stories.load(_fixture(f"{SWAGGER}/4.1.cli-framework.md"))
    (task,) = backlog.tasks
    assert task.dependencies == ("1.1",)
    assert any("epic 1" in note and "4.1.cli-framework.md" in note for note in backlog.notes)


@needs_fixtures
def test_epic_title_becomes_a_tag() -> None:
    tasks = _by_id(stories.load(_fixture(SWAGGER)).tasks)
    assert "cli-tool-developer-experience" in tasks["4.1"].tags
    assert "search-discovery-engine" in tasks["3.2"].tags
    assert tasks["1.1"].tags == ()  # the story does not name its epic


@needs_fixtures
def test_file_list_paths() -> None:
    (task,) = stories.load(_fixture(f"{SWAGGER}/2.1.mcp-protocol-foundation.md")).tasks
    assert task.files == (
        "src/swagger_mcp_server/server/mcp_server_v2.py",
        "src/swagger_mcp_server/server/mcp_server_simple.py",
        "src/tests/unit/test_mcp_server.py",
        "src/swagger_mcp_server/server/__init__.py",
        "src/swagger_mcp_server/config/settings.py",
    )
    (linked,) = stories.load(_fixture(f"{EVENTS}/2.5.event-executor-use-case.story.md")).tasks
    assert "src/modules/event-scheduling/application/use-cases/ExecuteEventUseCase.ts" in (
        linked.files
    )


# --- epics.md ------------------------------------------------------------------------------


@needs_fixtures
def test_epics_file_stories_and_prerequisites() -> None:
    path = _fixture(EPICS)
    assert stories.matches(path)
    backlog = stories.load(path)
    tasks = _by_id(backlog.tasks)
    assert len(backlog.tasks) == 66
    assert tasks["1.1"].dependencies == ()  # "None (first story)"
    assert tasks["1.1"].source.line == 182
    assert tasks["1.1"].title == "Project Scaffolding"
    assert tasks["2.3"].dependencies == ("2.1", "2.2")
    assert tasks["9.7"].dependencies == ("9.3", "9.4", "9.5")  # "Stories 9.3, 9.4, 9.5"
    # "Story 4.5" (epic 4) and "Story 4.5-1" (epic 4.5) are different stories.
    assert tasks["4.5"].epic == "4" and tasks["4.5-1"].epic == "4.5"
    assert tasks["4.5-2"].dependencies == ("4.5-1",)
    # "Epic 2 (MethodDetector interface exists)": every story of epic 2.
    assert tasks["4.5-1"].dependencies == tuple(i for i in tasks if i.startswith("2."))
    assert "bmad-method-v6-state-detection" in tasks["4.5-1"].tags
    assert len(tasks["1.1"].acceptance_criteria) == 1  # one gherkin block


@needs_fixtures
def test_epics_file_prerequisite_behind_an_unbalanced_fence_is_found() -> None:
    # Story 9.4 nests ```yaml inside ```gherkin, so its Prerequisites line sits in what
    # CommonMark calls a code block.
    tasks = _by_id(stories.load(_fixture(EPICS)).tasks)
    assert tasks["9.4"].dependencies == ("9.3",)
    assert tasks["9.5"].source.line == 3245


# --- the seed's format, hand-made ----------------------------------------------------------

SEED_STORY = """\
# Story 1.2: Login form

**Dependencies**: 0.1, 1.1
**Agent**: react-developer
**Epic**: Epic 1 - Auth

## Status
In Progress

## Acceptance Criteria
- [ ] The form validates the e-mail
- [x] Errors are shown inline
  - nested detail is part of the item above

## Dev Notes
- **Dependencies**: zod 3.22 (a library, not a story 9.9)

```
**Dependencies**: 7.7
```

## File List
- `src/login/Form.tsx` - the form
- src/login/validate.ts, src/login/index.ts (new)
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "docs" / "stories" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_story_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, "1.2.login-form.md", SEED_STORY)
    (task,) = stories.load(path).tasks
    assert (task.id, task.epic, task.title) == ("1.2", "1", "Login form")
    assert task.dependencies == ("0.1", "1.1")
    assert task.dependencies_source is not None and task.dependencies_source.line == 3
    assert task.agent == "react-developer"
    assert task.tags == ("auth",)
    assert (task.status, task.status_text) == (TaskStatus.RUNNING, "In Progress")
    assert task.acceptance_criteria == ("The form validates the e-mail", "Errors are shown inline")
    assert task.files == ("src/login/Form.tsx", "src/login/validate.ts", "src/login/index.ts")


@pytest.mark.parametrize(
    ("name", "task_id"),
    [
        ("0.0.project-initialization.md", "0.0"),
        ("1.11b.refactor-x.story.md", "1.11b"),
        ("2.3.dashboard-widgets.story.md", "2.3"),
        ("10.1.md", "10.1"),
        ("1.2.story.md", "1.2"),
        # BMAD sub-stories, and a document about one that is not a story
        ("4.3.1.story.md", "4.3.1"),
        ("4.3.2.story.md", "4.3.2"),
        ("4.3.12.offline-cache.story.md", "4.3.12"),
        ("4.3.1-course-correction-request.md", None),
        ("4.3.md", "4.3"),
        ("README.md", None),
        ("4.5-review-summary.md", None),
        ("epic-1.md", None),
        ("1.2.notes.txt", None),
    ],
)
def test_story_id_from_file_name(name: str, task_id: str | None) -> None:
    assert stories.story_id_from_name(name) == task_id


def test_folder_skips_non_stories_and_discover_finds_it(tmp_path: Path) -> None:
    _write(tmp_path, "1.2.b.md", "# Story 1.2: B\n\n**Dependencies**: 1.10\n")
    _write(tmp_path, "1.10.a.md", "# Story 1.10: A\n")
    _write(tmp_path, "README.md", "# Stories\n")
    assert stories.discover(tmp_path) == [tmp_path / "docs" / "stories"]
    backlog = stories.load(tmp_path / "docs" / "stories")
    assert [(t.id, t.dependencies) for t in backlog.tasks] == [("1.2", ("1.10",)), ("1.10", ())]


def test_discover_falls_back_to_an_epics_file(tmp_path: Path) -> None:
    assert stories.discover(tmp_path) == []
    epics = tmp_path / "docs" / "epics.md"
    epics.parent.mkdir(parents=True)
    epics.write_text("## Epic 1: Auth\n\n### Story 1.1: Login\n\n**Prerequisites:** None\n")
    assert stories.discover(tmp_path) == [epics]
    (task,) = stories.load(epics).tasks
    assert (task.id, task.title, task.tags, task.source.line) == ("1.1", "Login", ("auth",), 3)


def test_front_matter_fields_win(tmp_path: Path) -> None:
    text = '---\ntitle: From front matter\nstatus: done\ndependencies: ["1.1"]\n---\n# Story\n'
    (task,) = stories.load(_write(tmp_path, "1.3.x.md", text)).tasks
    assert (task.title, task.status, task.dependencies) == (
        "From front matter",
        TaskStatus.DONE,
        ("1.1",),
    )


# --- bad input -----------------------------------------------------------------------------

BAD_FILES = [
    # (file name, content, expected line, words in the message)
    ("notes.md", "# Story 1.1: X\n", 1, "<epic>.<story>.<slug>.md"),
    ("1.1.bad-front-matter.md", "---\ntitle: [unclosed\nstatus: x\n---\n# X\n", 3, "front matter"),
    ("1.1.list-front-matter.md", "---\n- a\n- b\n---\n# X\n", 2, "key: value"),
    ("epics.md", "# Epics\n\nNo stories here.\n", None, "### Story N.M"),
]


@pytest.mark.parametrize(("name", "content", "line", "words"), BAD_FILES)
def test_bad_files_name_file_and_line(
    tmp_path: Path, name: str, content: str, line: int | None, words: str
) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(BacklogError) as caught:
        stories.load(path)
    assert caught.value.path == path
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}:" if line else f"{path}:")
    assert words in str(caught.value)


def test_undecodable_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "1.1.binary.md"
    path.write_bytes(b"# Story 1.1: X\n\nok\n\xff\xfe bad\n")
    with pytest.raises(BacklogError) as caught:
        stories.load(path)
    assert caught.value.line == 4
    assert "UTF-8" in str(caught.value)


def test_unreadable_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "1.1.secret.md", "# Story 1.1: X\n")
    path.chmod(0)
    try:
        if os.geteuid() != 0:
            with pytest.raises(BacklogError) as caught:
                stories.load(path)
            message = str(caught.value)
        else:  # root reads anything: load it as another user (bubblewrap's user namespace)
            need(shutil.which("bwrap") is not None,
                 "bubblewrap is not installed (scripts/setup.d/40-bubblewrap.sh)")
            code = ("import sys; from pathlib import Path; from wavefront.backlog import stories\n"
                    "from wavefront.errors import BacklogError\n"
                    "try:\n    stories.load(Path(sys.argv[1]))\n"
                    "except BacklogError as e:\n    print(e)")
            done = subprocess.run(["bwrap", "--unshare-user", "--uid", "1000", "--gid", "1000",
                                   "--dev-bind", "/", "/", sys.executable, "-c", code,
                                   str(path)], capture_output=True, text=True, timeout=60)
            message = done.stdout.strip()
        assert message.startswith(str(path)), message
        assert "cannot read" in message
    finally:
        path.chmod(0o600)


def test_dangling_link_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "1.1.gone.md"
    path.symlink_to(tmp_path / "nowhere.md")
    with pytest.raises(BacklogError) as caught:
        stories.load(path)
    assert str(caught.value).startswith(f"{path}: cannot read the file")


def test_folder_without_stories(tmp_path: Path) -> None:
    folder = tmp_path / "docs" / "stories"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("# nothing\n")
    with pytest.raises(BacklogError, match="no story files"):
        stories.load(folder)


# --- arbitrary text ------------------------------------------------------------------------

_MARKDOWNISH = st.text(
    alphabet=st.sampled_from(list("#*-_`>[]():.,0123456789 abcSTDNe\n\t|~!✅")), max_size=400
) | st.text(max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_MARKDOWNISH, name=st.sampled_from(["1.2.fuzz.md", "epics.md", "3.4b.x.story.md"]))
def test_arbitrary_text_loads_or_raises_backlog_error(text: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        try:
            backlog = stories.load(path)
        except BacklogError as exc:
            assert str(exc).startswith(str(path))
        else:
            assert all(isinstance(task, Task) for task in backlog.tasks)


@pytest.mark.parametrize(
    ("dependencies", "expected", "unclear"),
    [
        # "Blocks" points at later stories: 0.1 does not wait for 1.4
        ("## Dependencies\n\nBlocks stories 1.4 and beyond\n", (), ()),
        ("**Dependencies**: Stories 1.1 and 1.2 must be completed first.\n", ("1.1", "1.2"), ()),
        ("## Dependencies\n\nStories 1.1 and 1.2 must be completed first.\n", ("1.1", "1.2"), ()),
        ("## Dependencies\n\n- Requires Story 1.1\n- Enables Story 2.1\n", ("1.1",), ()),
        ("**Dependencies**: after 1.1; before 2.1\n", ("1.1",), ()),
        ("## Dependencies\n\nBlocked by 1.1. Blocks 2.1.\n", ("1.1",), ()),
        ("**Dependencies**: Story 1.1 must be done before this one starts\n", ("1.1",), ()),
        ("**Dependencies**: 1.1, 1.2\n", ("1.1", "1.2"), ()),
        ("**Dependencies**: Enables Epic 2\n", (), ()),
        ("## Dependencies\n\nRelated to 1.1 and 2.2\n", (), ("Related to 1.1 and 2.2",)),
    ],
)
def test_dependency_prose_is_read_for_direction(
    tmp_path: Path, dependencies: str, expected: tuple[str, ...], unclear: tuple[str, ...]
) -> None:
    path = tmp_path / "0.1.story.md"
    path.write_text(f"# Story 0.1: Base\n\n## Status\n\nDraft\n\n{dependencies}")
    backlog = stories.load(path)
    (task,) = backlog.tasks
    assert task.dependencies == expected
    assert task.dependencies_source is not None  # a declaration was found
    for phrase in unclear:
        assert any(phrase in note and "which way" in note for note in backlog.notes)
    if not unclear:
        assert not any("which way" in note for note in backlog.notes)
