"""Plans checked against tables: graph -> waves, critical path, priorities; and every
graph error with its file and line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wavefront.errors import PlanError
from wavefront.model import SourceLocation, Task, TaskStatus
from wavefront.plan.graph import Plan, PlanOptions, validate_tasks
from wavefront.plan.overlap import FileClaims, files_overlap


def task(
    task_id: str,
    *dependencies: str,
    weight: float = 1.0,
    status: TaskStatus = TaskStatus.PENDING,
    parallel: bool = True,
    files: tuple[str, ...] = (),
) -> Task:
    path = Path(f"docs/stories/{task_id}.md")
    return Task(
        id=task_id,
        title=f"Task {task_id}",
        source=SourceLocation(path, 1),
        dependencies=dependencies,
        dependencies_source=SourceLocation(path, 3) if dependencies else None,
        status=status,
        weight=weight,
        parallel=parallel,
        files=files,
    )


def from_graph(graph: Mapping[str, Sequence[str]], weights: Mapping[str, float]) -> list[Task]:
    return [task(t, *deps, weight=weights.get(t, 1.0)) for t, deps in graph.items()]


# graph (id -> dependencies), weights, expected waves, critical path, priorities
GRAPHS: list[
    tuple[
        str,
        dict[str, list[str]],
        dict[str, float],
        list[list[str]],
        list[str],
        dict[str, float],
    ]
] = [
    ("empty", {}, {}, [], [], {}),
    ("single", {"1.1": []}, {}, [["1.1"]], ["1.1"], {"1.1": 1}),
    (
        "chain",
        {"1.3": ["1.2"], "1.2": ["1.1"], "1.1": []},
        {},
        [["1.1"], ["1.2"], ["1.3"]],
        ["1.1", "1.2", "1.3"],
        {"1.1": 3, "1.2": 2, "1.3": 1},
    ),
    (
        "diamond",
        {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]},
        {},
        [["a"], ["b", "c"], ["d"]],
        ["a", "b", "d"],  # tie between b and c: the first in id order
        {"a": 3, "b": 2, "c": 2, "d": 1},
    ),
    (
        "weights choose the path",
        {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]},
        {"c": 5},
        [["a"], ["b", "c"], ["d"]],
        ["a", "c", "d"],
        {"a": 7, "b": 2, "c": 6, "d": 1},
    ),
    (
        "independent chains, waves by natural id order",
        {"1.10": [], "1.2": [], "1.11b": ["1.10"], "2.1": ["1.2"], "2.2": ["2.1"]},
        {},
        [["1.2", "1.10"], ["1.11b", "2.1"], ["2.2"]],
        ["1.2", "2.1", "2.2"],
        {"1.2": 3, "2.1": 2, "2.2": 1, "1.10": 2, "1.11b": 1},
    ),
    (
        "long heavy task beats a long chain",
        {"x": [], "y": ["x"], "z": ["y"], "big": []},
        {"big": 10},
        [["big", "x"], ["y"], ["z"]],
        ["big"],
        {"x": 3, "y": 2, "z": 1, "big": 10},
    ),
    (
        "a wave is one past the deepest dependency",
        {"a": [], "b": ["a"], "c": ["b"], "d": ["a", "c"]},
        {},
        [["a"], ["b"], ["c"], ["d"]],
        ["a", "b", "c", "d"],
        {"a": 4, "b": 3, "c": 2, "d": 1},
    ),
]


@pytest.mark.parametrize(
    ("graph", "weights", "waves", "critical", "priority"),
    [case[1:] for case in GRAPHS],
    ids=[case[0] for case in GRAPHS],
)
def test_plan_graphs(
    graph: dict[str, list[str]],
    weights: dict[str, float],
    waves: list[list[str]],
    critical: list[str],
    priority: dict[str, float],
) -> None:
    plan = Plan.build(from_graph(graph, weights))
    assert [list(wave) for wave in plan.waves] == waves
    assert list(plan.critical_path) == critical
    assert dict(plan.priority) == priority
    assert {t: plan.wave_of[t] for t in graph} == {
        t: index for index, wave in enumerate(waves) for t in wave
    }
    for task_id, deps in graph.items():
        assert set(plan.dependencies[task_id]) == set(deps)
        for dep in deps:
            assert task_id in plan.dependents[dep]
    assert plan.max_parallelism == max((len(w) for w in waves), default=0)


def test_plan_is_read_only() -> None:
    plan = Plan.build([task("1.1")])
    with pytest.raises(AttributeError):
        plan.tasks = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.dependencies["1.1"] = ()  # type: ignore[index]


# ------------------------------------------------------------------------- errors

ERRORS: list[tuple[str, list[Task], str]] = [
    (
        "duplicate id",
        [task("1.1"), Task(id="1.1", title="again", source=SourceLocation(Path("b.md"), 7))],
        "b.md:7: duplicate task id '1.1' (also declared at docs/stories/1.1.md:1)",
    ),
    (
        "missing dependency",
        [task("1.1"), task("1.2", "9.9"), task("1.3")],
        "docs/stories/1.2.md:3: dependency '9.9' of task '1.2' is not in the backlog "
        "(known: 1.1, 1.2, 1.3)",
    ),
    (
        "self dependency",
        [task("1.1", "1.1")],
        "docs/stories/1.1.md:3: task '1.1' depends on itself",
    ),
    (
        "two-task cycle",
        [task("1.2", "1.4"), task("1.4", "1.2")],
        "dependency cycle 1.2 -> 1.4 -> 1.2; first edge at docs/stories/1.2.md:3: "
        "1.2 depends on 1.4",
    ),
    (
        "three-task cycle starts at the lowest id",
        [task("3", "1"), task("1", "2"), task("2", "3"), task("0")],
        "dependency cycle 1 -> 2 -> 3 -> 1; first edge at docs/stories/1.md:3: 1 depends on 2",
    ),
    (
        "several problems are counted",
        [task("1.1", "1.1"), task("1.2", "7"), task("1.2")],
        "docs/stories/1.2.md:1: duplicate task id '1.2' (also declared at "
        "docs/stories/1.2.md:1) (and 2 more problems)",
    ),
]


@pytest.mark.parametrize(("tasks", "message"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_validation_errors(tasks: list[Task], message: str) -> None:
    with pytest.raises(PlanError) as raised:
        validate_tasks(tasks)
    assert str(raised.value) == message
    with pytest.raises(PlanError):
        Plan.build(tasks)


def test_cycle_error_carries_the_cycle() -> None:
    with pytest.raises(PlanError) as raised:
        validate_tasks([task("1.4", "1.2"), task("1.2", "1.4"), task("1.1")])
    assert raised.value.cycle == ("1.2", "1.4", "1.2")


def test_missing_dependency_in_large_backlog_caps_known_list() -> None:
    tasks = [task(f"1.{n}") for n in range(1, 40)] + [task("2.1", "1.99")]
    with pytest.raises(PlanError) as raised:
        validate_tasks(tasks)
    message = str(raised.value)
    assert message.startswith("docs/stories/2.1.md:3: dependency '1.99' of task '2.1'")
    assert "40 tasks" in message
    assert message.count(",") < 10


# ------------------------------------------------------------------- implied edges

STORIES = ["0.1", "0.2", "1.1", "1.2", "1.2b", "2.1", "2.2"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            PlanOptions(),
            {t: () for t in STORIES},
        ),
        (
            PlanOptions(implicit_dependencies=True),
            {
                "0.1": (),
                "0.2": ("0.1",),
                "1.1": (),
                "1.2": ("1.1",),
                "1.2b": ("1.2",),
                "2.1": (),
                "2.2": ("2.1",),
            },
        ),
        (
            PlanOptions(foundation_dependencies=True),
            {
                "0.1": (),
                "0.2": (),
                **{t: ("0.1", "0.2") for t in ["1.1", "1.2", "1.2b", "2.1", "2.2"]},
            },
        ),
    ],
)
def test_implied_dependencies(options: PlanOptions, expected: dict[str, tuple[str, ...]]) -> None:
    plan = Plan.build([task(t) for t in reversed(STORIES)], options=options)
    assert dict(plan.dependencies) == expected
    for task_id, deps in expected.items():
        assert all(plan.why(task_id, d).startswith("implied") for d in deps)


def test_declared_and_implied_edges_are_not_doubled() -> None:
    plan = Plan.build(
        [task("1.1"), task("1.2", "1.1")], options=PlanOptions(implicit_dependencies=True)
    )
    assert plan.dependencies["1.2"] == ("1.1",)
    assert plan.why("1.2", "1.1") == "declared"


def test_implied_edge_closing_a_cycle_is_explained() -> None:
    with pytest.raises(PlanError) as raised:
        Plan.build(
            [task("1.1", "1.2"), task("1.2")], options=PlanOptions(implicit_dependencies=True)
        )
    assert str(raised.value) == (
        "dependency cycle 1.1 -> 1.2 -> 1.1; first edge at docs/stories/1.1.md:3: "
        "1.1 depends on 1.2"
    )
    assert raised.value.cycle == ("1.1", "1.2", "1.1")


# ------------------------------------------------------------------- out of scope

SCOPED = [
    task("1.1"),
    task("1.2", "1.1"),
    task("1.3", "1.2"),
    task("2.1", "1.3"),
    task("2.2", "2.1"),
    task("2.3"),
    task("3.1", "0.9"),
    task("0.9", status=TaskStatus.DONE),
]


@pytest.mark.parametrize(
    ("policy", "tasks", "skipped", "expanded"),
    [
        ("expand", ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3"], [], ["1.1", "1.2", "1.3"]),
        ("skip", ["2.3"], ["2.1", "2.2"], []),
        ("ask", ["2.1", "2.2", "2.3"], [], []),
    ],
)
def test_out_of_scope_policies(
    policy: str, tasks: list[str], skipped: list[str], expanded: list[str]
) -> None:
    options = PlanOptions(out_of_scope=policy)  # type: ignore[arg-type]
    plan = Plan.build(SCOPED, ["2.*"], options)
    assert [t.id for t in plan.tasks] == tasks
    assert list(plan.skipped) == skipped
    assert list(plan.expanded) == expanded
    assert dict(plan.out_of_scope) == {"2.1": ("1.3",)}
    assert plan.unresolved == (policy == "ask")


def test_out_of_scope_error_names_task_and_dependency() -> None:
    with pytest.raises(PlanError) as raised:
        Plan.build(SCOPED, ["2.1"], PlanOptions(out_of_scope="error"))
    assert str(raised.value).startswith("task 2.1 depends on story 1.3, which is not in the scope")


def test_done_dependency_outside_scope_is_satisfied() -> None:
    plan = Plan.build(SCOPED, ["3.1"], PlanOptions(out_of_scope="error"))
    assert [t.id for t in plan.tasks] == ["3.1"]
    assert plan.out_of_scope == {}
    assert plan.ready(finished=()) == ["3.1"]


def test_unresolved_plan_never_offers_tasks_waiting_outside() -> None:
    plan = Plan.build(SCOPED, ["2.*"])
    assert plan.unresolved
    assert plan.ready(finished=()) == ["2.3"]


# ------------------------------------------------------------------------- ready


def test_ready_orders_by_priority_then_id() -> None:
    tasks = [task("1.1"), task("1.2"), task("1.3"), task("2.1", "1.3"), task("2.2", "2.1")]
    plan = Plan.build(tasks)
    assert plan.ready(()) == ["1.3", "1.1", "1.2"]
    assert plan.ready({"1.3"}) == ["2.1", "1.1", "1.2"]
    assert plan.ready({"1.3"}, busy={"2.1"}) == ["1.1", "1.2"]
    assert plan.ready({"1.1", "1.2", "1.3", "2.1", "2.2"}) == []


def test_next_and_parallel_follow_file_statuses() -> None:
    tasks = [
        task("1.1", status=TaskStatus.DONE),
        task("1.2", "1.1", status=TaskStatus.RUNNING),
        task("1.3", "1.1"),
        task("1.4", "1.1", weight=3),
        task("1.5", "1.2"),
    ]
    plan = Plan.build(tasks)
    assert plan.done_in_files == {"1.1"}
    assert plan.started_in_files == {"1.2"}
    assert plan.next_task() == "1.4"
    assert plan.parallel_tasks() == ["1.4", "1.3"]


@pytest.mark.parametrize(
    ("tasks", "busy", "expected"),
    [
        ([task("a"), task("b"), task("c")], (), ["a", "b", "c"]),
        ([task("a", parallel=False), task("b"), task("c")], (), ["a"]),
        ([task("a"), task("b", parallel=False), task("c")], (), ["a", "c"]),
        ([task("a", parallel=False), task("b")], ("b",), []),
        (
            [task("a", files=("src/x.py",)), task("b", files=("src/x.py",)), task("c")],
            (),
            ["a", "c"],
        ),
        ([task("a", files=("src/",)), task("b", files=("src/y.py",))], (), ["a"]),
        ([task("a", files=("src/x.py",)), task("b", files=("src/*.py",))], ("a",), []),
    ],
)
def test_batch(tasks: list[Task], busy: tuple[str, ...], expected: list[str]) -> None:
    assert Plan.build(tasks).batch((), busy) == expected


# ------------------------------------------------------------------- file overlap

OVERLAPS = [
    ("src/a.py", "src/a.py", True),
    ("./src/a.py", "src/a.py", True),
    ("src/a.py", "src/b.py", False),
    ("src", "src/a.py", True),
    ("src/", "src/pkg/a.py", True),
    ("src/ab", "src/abc.py", False),  # a directory prefix stops at "/"
    ("src/*.py", "src/a.py", True),
    ("src/*.py", "src/a.ts", False),
    ("src/**", "src/deep/a.ts", True),
    ("src/api/*.py", "src/", True),  # a glob inside a directory
    ("src/*.py", "src/*.ts", False),
    ("src/*.py", "src/a*", True),  # unsure: treated as overlapping
    ("docs/*.md", "src/*.md", False),
    ("tests/test_?.py", "tests/test_a.py", True),
    ("a/[bc].py", "a/c.py", True),
    (".", "anything/at/all", True),
]


@pytest.mark.parametrize(("first", "second", "expected"), OVERLAPS)
def test_files_overlap(first: str, second: str, expected: bool) -> None:
    a, b = task("a", files=(first,)), task("b", files=(second,))
    assert files_overlap(a, b) is expected
    assert files_overlap(b, a) is expected  # symmetric


def test_no_files_never_overlap() -> None:
    assert not files_overlap(task("a"), task("b", files=("src/",)))


@pytest.mark.parametrize(("first", "second", "expected"), OVERLAPS)
def test_file_claims_agree_with_files_overlap(first: str, second: str, expected: bool) -> None:
    a, b = task("a", files=(first,)), task("b", files=(second,))
    assert FileClaims([a]).conflicts(b) is expected
    assert FileClaims([b]).conflicts(a) is expected
    bystander = task("c", files=("elsewhere/c.txt",))
    assert FileClaims([bystander, a]).conflicts(b) is (expected or files_overlap(bystander, b))


def test_file_claims_ignore_tasks_without_files() -> None:
    claims = FileClaims([task("a", files=("src/",))])
    assert not claims.conflicts(task("b"))
    assert not FileClaims([task("c")]).conflicts(task("d", files=(".",)))


_PATHS = ["src", "src/a.py", "src/b.py", "src/pkg/c.py", "src/*.py", "docs/*.md", "docs", ".",
          "docs/x.md", "src/pkg/", "tests/test_?.py", "tests/test_a.py"]  # fmt: skip


@given(
    claimed=st.lists(st.lists(st.sampled_from(_PATHS), max_size=3), max_size=4),
    candidate=st.lists(st.sampled_from(_PATHS), max_size=3),
)
def test_file_claims_match_pairwise_overlap(claimed: list[list[str]], candidate: list[str]) -> None:
    holders = [task(f"h{n}", files=tuple(files)) for n, files in enumerate(claimed)]
    newcomer = task("new", files=tuple(candidate))
    expected = any(files_overlap(newcomer, holder) for holder in holders)
    assert FileClaims(holders).conflicts(newcomer) is expected
