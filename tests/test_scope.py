"""Scope expressions and the natural order of task ids, checked against tables."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from wavefront.errors import PlanError
from wavefront.model import SourceLocation, Task
from wavefront.plan.scope import id_sort_key, select_scope, split_arguments, split_scope


def task(task_id: str, epic: str | None = None, tags: tuple[str, ...] = ()) -> Task:
    return Task(
        id=task_id,
        title=f"Task {task_id}",
        source=SourceLocation(Path(f"docs/stories/{task_id}.md")),
        epic=epic,
        tags=tags,
    )


NATURAL = ["0.1", "1.1", "1.2", "1.2b", "1.9", "1.10", "1.11", "1.11b", "1.11c", "2.1", "10.1"]


def test_natural_order_of_dotted_ids_with_letter_suffixes() -> None:
    shuffled = NATURAL[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=id_sort_key) == NATURAL


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["T010", "T2", "T001"], ["T001", "T2", "T010"]),
        (["setup", "1", "10", "2"], ["1", "2", "10", "setup"]),
        (["12.1", "12", "3"], ["3", "12", "12.1"]),
        (["Auth-2", "auth-10", "auth-1"], ["auth-1", "Auth-2", "auth-10"]),
    ],
)
def test_natural_order_other_id_shapes(ids: list[str], expected: list[str]) -> None:
    assert sorted(ids, key=id_sort_key) == expected


BACKLOG = [
    task("0.1", epic="0"),
    task("1.1", epic="auth"),
    task("1.2", epic="auth"),
    task("1.2b", epic="auth"),
    task("1.5", epic="Auth"),
    task("1.10", epic="auth"),
    task("2.1", epic="billing", tags=("payments",)),
    task("2.2", epic="billing"),
    task("ops-1", tags=("AUTH",)),
    *(task(f"014/T{n:03d}", epic="014") for n in range(23, 43)),
    task("015/T001", epic="015"),
]

SCOPES: list[tuple[list[str], list[str]]] = [
    ([], [t.id for t in BACKLOG]),
    (["1.2"], ["1.2"]),
    (["1.1 1.5"], ["1.1", "1.5"]),
    (["1.1", "2.2"], ["1.1", "2.2"]),
    (["1.1,2.2"], ["1.1", "2.2"]),
    (["1.1-1.5"], ["1.1", "1.2", "1.2b", "1.5"]),
    (["1.2-2.1"], ["1.2", "1.2b", "1.5", "1.10", "2.1"]),
    (["epic:auth"], ["1.1", "1.2", "1.2b", "1.5", "1.10", "ops-1"]),  # epic or tag, any case
    (["epic:payments"], ["2.1"]),
    (["1.*"], ["1.1", "1.2", "1.2b", "1.5", "1.10"]),
    (["1.?"], ["1.1", "1.2", "1.5"]),
    (["*b"], ["1.2b"]),
    (["2.*", "0.1"], ["0.1", "2.1", "2.2"]),
    (["1.1-1.2", "1.2b"], ["1.1", "1.2", "1.2b"]),
    (["ops-1"], ["ops-1"]),  # a known id with a hyphen is not a range
    # spec-kit ids carry their feature: the second end of a range may leave it out
    (["014/T023-T027"], [f"014/T{n:03d}" for n in range(23, 28)]),
    (["014/T040-014/T042"], ["014/T040", "014/T041", "014/T042"]),
]


@pytest.mark.parametrize(("expressions", "expected"), SCOPES)
def test_select_scope(expressions: list[str], expected: list[str]) -> None:
    assert select_scope(BACKLOG, expressions) == expected


@pytest.mark.parametrize(
    ("expressions", "message"),
    [
        (["9.9"], "scope '9.9' matches no task"),
        (["1.2", "epic:nothing"], "scope 'epic:nothing' matches no task"),
        (["3.*"], "scope '3.*' matches no task"),
        (["1.5-1.1"], "scope '1.5-1.1': the range runs backwards (write 1.1-1.5)"),
        (["1.11"], "did you mean"),
        (["1.3-1.9"], "scope '1.3-1.9': the range end '1.3' is not a task id"),
        (["014/T023-XYZ"], "the range end '014/XYZ' is not a task id"),
        (["014/T023-T099"], "the range end '014/T099' is not a task id (did you mean"),
    ],
)
def test_scope_errors_name_the_expression(expressions: list[str], message: str) -> None:
    with pytest.raises(PlanError) as raised:
        select_scope(BACKLOG, expressions)
    assert message in str(raised.value)


def test_split_scope_accepts_commas_and_spaces() -> None:
    assert split_scope(["1.1, 1.2", "epic:x"]) == ["1.1", "1.2", "epic:x"]


def test_split_arguments_tells_paths_from_scope(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "tasks.json").write_text("{}")
    paths, scope = split_arguments(["docs", "1.1-1.3", "tasks.json", "epic:auth"], tmp_path)
    assert paths == [tmp_path / "docs", tmp_path / "tasks.json"]
    assert scope == ["1.1-1.3", "epic:auth"]
