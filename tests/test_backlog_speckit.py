"""spec-kit tasks.md: every fixture, the phase/[P] graph, notes in the file, paths, fuzz."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wavefront.backlog.speckit as speckit
from conftest import FIXTURES as SHARED_FIXTURES
from wavefront.errors import BacklogError
from wavefront.model import TaskStatus
from wavefront.plan.graph import validate_tasks

FIXTURES = SHARED_FIXTURES / "speckit-tasks"

needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not present")

# fixture, task count, {status: count}, {id: dependencies}, number of notes
CASES = [
    (
        "21-DOT-DEV__subtree/specs/001-cli-bootstrap/tasks.md",
        54,
        {TaskStatus.DONE: 54},
        {
            "001/T001": (),
            "001/T006": ("001/T003", "001/T004", "001/T005"),  # Phase 2 waits for Phase 1
            "001/T011": ("001/T009",),  # "T010, T011 can be developed in parallel"
            "001/T012": ("001/T010", "001/T011"),
            "001/T020": ("001/T016",),  # "Phase 6: Depends on Phase 4"
            "001/T021": ("001/T019", "001/T020"),  # "Phase 7: Depends on Phases 5+6"
            "001/T027": tuple(f"001/T0{n}" for n in range(21, 27)),
        },
        0,
    ),
    (
        "21-DOT-DEV__subtree/specs/008-extract-command/tasks.md",
        185,
        {TaskStatus.DONE: 178, TaskStatus.SKIPPED: 6, TaskStatus.PENDING: 1},
        {"008/T005": ("008/T004",), "008/T012": tuple(f"008/T0{n:02d}" for n in range(5, 12))},
        0,
    ),
    (
        "goaikit__aikit/specs/002-rust-spec-kit-complete/tasks.md",
        137,
        {TaskStatus.DONE: 133, TaskStatus.PENDING: 4},
        {"002/T013": tuple(f"002/T0{n:02d}" for n in range(3, 13)), "002/T014": ("002/T013",)},
        0,
    ),
    (
        "goaikit__aikit/specs/003-aikit-generalize/tasks.md",
        75,  # T001-T074 plus a second T024
        {TaskStatus.DONE: 54, TaskStatus.PENDING: 21},
        {
            # Phase 4 "**Dependencies**: Phase 2 complete": parallel with Phase 3.
            "003/T040": tuple(f"003/T0{n:02d}" for n in range(9, 25)),
            "003/T024-2": tuple(f"003/T0{n:02d}" for n in range(9, 25)),
        },
        1,
    ),
]


@needs_fixtures
@pytest.mark.parametrize(("name", "count", "statuses", "samples", "notes"), CASES)
def test_fixture_loads(
    name: str,
    count: int,
    statuses: dict[TaskStatus, int],
    samples: dict[str, tuple[str, ...]],
    notes: int,
) -> None:
    path = FIXTURES / name
    assert speckit.matches(path)
    backlog = speckit.load(path)
    by_id = {task.id: task for task in backlog.tasks}
    assert len(backlog.tasks) == len(by_id) == count
    assert {s: sum(1 for t in backlog.tasks if t.status is s) for s in statuses} == statuses
    for task_id, deps in samples.items():
        assert by_id[task_id].dependencies == deps, task_id
    validate_tasks(backlog.tasks)  # no duplicates, missing dependencies or cycles
    assert len(backlog.notes) == notes
    lines = path.read_text().splitlines()
    for task in backlog.tasks:
        local = task.id.split("/")[1].split("-")[0]
        assert local in lines[task.source.line - 1]
        assert all(dep in by_id for dep in task.dependencies)


@needs_fixtures
def test_fixture_fields() -> None:
    backlog = speckit.load(FIXTURES / "21-DOT-DEV__subtree/specs/001-cli-bootstrap/tasks.md")
    by_id = {task.id: task for task in backlog.tasks}
    stub = by_id["001/T021"]
    assert stub.tags == ("US2",) and stub.metadata["parallel_marker"] is True
    assert stub.metadata["user_story"] == "US2"
    assert stub.epic == "001/Phase 7" and stub.metadata["phase"] == "7"
    assert stub.files == ("Sources/SubtreeLib/Commands/InitCommand.swift",)
    assert stub.title.startswith("Create InitCommand stub")
    assert by_id["001/T004"].files == (".gitignore", ".build/", ".swiftpm/")
    skipped = speckit.load(FIXTURES / "21-DOT-DEV__subtree/specs/008-extract-command/tasks.md")
    texts = {t.id: t.status_text for t in skipped.tasks}
    assert texts["008/T182"] == "DEFERRED" and texts["008/T183"] == "COVERED"
    assert texts["008/T179"] == " " and texts["008/T001"] == "x"


@needs_fixtures
def test_discover_and_load_all_features(tmp_path: Path) -> None:
    root = FIXTURES / "goaikit__aikit"
    found = speckit.discover(root)
    assert [p.parent.name for p in found] == ["002-rust-spec-kit-complete", "003-aikit-generalize"]
    everything = speckit.load(root / "specs")
    assert len(everything.tasks) == 137 + 75
    assert len({t.id for t in everything.tasks}) == 137 + 75


def _tasks_md(root: Path, text: str, feature: str = "004-demo") -> Path:
    path = root / "specs" / feature / "tasks.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GRAPH = """# Tasks

## Phase 1: Setup

- [ ] T001 Create src/app/__init__.py
- [ ] T002 [P] Write docs/guide.md
- [ ] T003 [P] [US1] Add tests/test_app.py
- [ ] T004 Wire it up

## Phase 2: Core

- [x] T005 [P] [US1] Model in src/app/model.py
- [X] T006 [P] [US2] View in src/app/view.py

```text
T006 after T005
```

## Phase 3: Polish

**Dependencies**: Phase 1 complete

- [ ] T007 Update README.md (SKIPPED - later)

## Notes

- T006 after T005 (the view needs the model)
- T001 after T007
"""


def test_phase_and_parallel_rules(tmp_path: Path) -> None:
    path = _tasks_md(tmp_path, GRAPH)
    backlog = speckit.load(path)
    deps = {t.id.removeprefix("004/"): tuple(d.removeprefix("004/") for d in t.dependencies)
            for t in backlog.tasks}  # fmt: skip
    assert deps == {
        "T001": (),
        "T002": ("T001",),
        "T003": ("T001",),
        "T004": ("T002", "T003"),
        "T005": ("T004",),
        "T006": ("T004", "T005"),  # from the note, not from the code block
        "T007": ("T004",),  # Phase 3 names Phase 1, so it does not wait for Phase 2
    }
    assert [t.status for t in backlog.tasks][4:] == [
        TaskStatus.DONE, TaskStatus.DONE, TaskStatus.SKIPPED,
    ]  # fmt: skip
    assert len(backlog.notes) == 1 and "T001 after T007" in backlog.notes[0]
    assert backlog.tasks[0].files == ("src/app/__init__.py",)


def test_ids_without_specs_folder_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "tasks.md"
    path.write_text("## Phase 1: A\n\n- [ ] T001 one\n- [ ] T001 again\n")
    backlog = speckit.load(path)
    assert [t.id for t in backlog.tasks] == ["T001", "T001-2"]
    assert "declared again" in backlog.notes[0]


def test_empty_and_missing(tmp_path: Path) -> None:
    path = _tasks_md(tmp_path, "# Tasks\n\n- [ ] no id here\n")
    backlog = speckit.load(path)
    assert backlog.tasks == () and "no tasks found" in backlog.notes[0]
    with pytest.raises(BacklogError, match="no such file"):
        speckit.load(tmp_path / "specs" / "004-demo" / "nope.md")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BacklogError, match=r"no tasks\.md"):
        speckit.load(empty)
    (tmp_path / "bad.md").write_bytes(b"- [ ] T001 \xff\n")
    with pytest.raises(BacklogError, match="not UTF-8"):
        speckit.load(tmp_path / "bad.md")


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("Create src/x.py and `tests/test_x.py`", ("src/x.py", "tests/test_x.py")),
        ("Edit Package.swift, e.g. version 6.1.0", ("Package.swift",)),
        ("See https://example.com/a.md and stdout/stderr", ()),
        ("Folders Sources/App/ and .gitignore.", ("Sources/App/", ".gitignore")),
    ],
)
def test_extract_paths(text: str, paths: tuple[str, ...]) -> None:
    assert speckit.extract_paths(text) == paths


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=300)
    | st.lists(
        st.sampled_from(
            ["## Phase 1: A", "## Phase 2: B", "- [ ] T001 x", "- [x] T002 [P] y", "- [ ] T001 z",
             "**Dependencies**: Phase 2", "- T002 after T001", "- **Phase 1**: Depends on Phase 2",
             "```", "- [ ] T003 [US1] [P] src/a.py", "", "T001-T999999 in parallel"]
        ),
        max_size=12,
    ).map("\n".join)
)  # fmt: skip
def test_fuzz_only_backlog_or_backlog_error(tmp_path: Path, text: str) -> None:
    path = _tasks_md(tmp_path, "")
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        backlog = speckit.load(path)
    except BacklogError as exc:
        assert exc.path == path
    else:
        ids = {t.id for t in backlog.tasks}
        assert all(dep in ids for t in backlog.tasks for dep in t.dependencies)
