"""Real public backlogs the loaders were not written against (tests/data/heldback, see its
SOURCES.md): what each yields, through the library and the CLI."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from wavefront.backlog import bmad, speckit, taskmaster
from wavefront.cli import wavefront
from wavefront.model import TaskStatus

HELD_BACK = Path(__file__).parent / "data" / "heldback"
SPECTRA = HELD_BACK / "liorfranko__Spectra"
SYNC = HELD_BACK / "5dlabs__taskmaster-sync"
DESKPULSE = HELD_BACK / "EmekaOkaforTech__deskpulse"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(wavefront, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_speckit_feature_with_every_task_checked() -> None:
    backlog = speckit.load(SPECTRA / "specs" / "008-projspec-test-commands" / "tasks.md")
    by_id = {task.id: task for task in backlog.tasks}
    assert list(by_id) == [f"008/T{n:03d}" for n in range(1, 19)]
    assert {task.status for task in backlog.tasks} == {TaskStatus.DONE}  # all "- [X]"
    assert by_id["008/T009"].dependencies == tuple(f"008/T{n:03d}" for n in range(3, 9))
    assert by_id["008/T018"].dependencies == ("008/T017",)
    code, _out, err = cli("next", "-C", str(SPECTRA))
    assert code == 0 and "all 18 tasks in scope are done" in err


def test_task_master_file_whose_ids_are_words() -> None:
    backlog = taskmaster.load(SYNC / ".taskmaster" / "tasks" / "tasks.json")
    by_id = {task.id: task for task in backlog.tasks}
    assert len(by_id) == 40
    assert Counter(task.status for task in backlog.tasks) == {
        TaskStatus.PENDING: 26, TaskStatus.DONE: 10, TaskStatus.RUNNING: 4}
    # a parent named by its word id stands for all its subtasks
    assert by_id["rust-data-models.rust-taskmaster-reader"].dependencies == (
        "rust-conversion-core.rust-cli-setup", "rust-conversion-core.rust-error-types")
    code, out, _err = cli("validate", "-C", str(SYNC))
    assert code == 0 and out.startswith("ok: 40 tasks in 1 file")


def test_bmad_sprint_status_without_story_files() -> None:
    backlog = bmad.load(DESKPULSE / "docs" / "sprint-artifacts" / "sprint-status.yaml")
    assert len(backlog.tasks) == 51
    statuses = Counter(task.status_text for task in backlog.tasks)
    assert statuses == {"done": 35, "backlog": 14, "review": 2}
    assert [t.id for t in backlog.tasks if t.status_text == "review"] == ["4.4", "4.6"]
    code, out, err = cli("next", "-C", str(DESKPULSE), "-o", "id")
    assert code == 0 and out.strip() == "5.1"
    # stories under review are what BMAD would take up first: named, not left out silently
    assert "to resume or review first: 4.4 (review), 4.6 (review)" in err
