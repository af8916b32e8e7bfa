"""The benchmark scripts run (tiniest sizes, real subprocesses) and their simulators hold up.

No timing is asserted here: only the shape of the output and the ordering facts that hold
for any schedule (waves barrier >= list schedule >= lower bound).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


dags = _load("dags")


def _run(script: str, *args: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- the generator ---------------------------------------------------------------------


@pytest.mark.parametrize("distribution", ["pareto", "lognormal", "constant", "zero"])
def test_generated_graph_is_seeded_acyclic_and_scaled(distribution: str) -> None:
    first = dags.generate(120, seed=7, mean_s=0.05, distribution=distribution)
    again = dags.generate(120, seed=7, mean_s=0.05, distribution=distribution)
    other = dags.generate(120, seed=8, mean_s=0.05, distribution=distribution)

    assert (first.ids, dict(first.deps), dict(first.durations)) == (
        again.ids,
        dict(again.deps),
        dict(again.durations),
    )
    assert dict(first.deps) != dict(other.deps)
    seen: set[str] = set()
    for task_id in first.ids:  # ids come in topological order
        assert set(first.deps[task_id]) <= seen
        seen.add(task_id)
    assert all(d >= 0 for d in first.durations.values())
    expected_mean = 0.0 if distribution == "zero" else 0.05
    assert first.total_work / len(first) == pytest.approx(expected_mean)


def test_heavy_tail_has_a_long_task_but_no_runaway() -> None:
    graph = dags.generate(500, seed=3, mean_s=1.0, distribution="pareto")
    durations = sorted(graph.durations.values())
    median = durations[len(durations) // 2]
    assert durations[-1] > 5 * median  # heavy-tailed
    assert durations[-1] <= dags.TAIL_CAP * 2  # capped (relative to the pre-scaling mean)


def test_every_task_after_the_first_layer_has_a_dependency() -> None:
    graph = dags.generate(200, seed=1)
    first_wave = set(graph.waves[0])
    assert len(graph.waves) > 2
    for task_id in graph.ids:
        assert (task_id in first_wave) == (not graph.deps[task_id])


# -- bounds and simulators (table-driven) ---------------------------------------------------

CHAINS = [
    ([1.0], 1),
    ([1.0, 2.0, 3.0], 4),
    ([0.5] * 10, 8),
]


@pytest.mark.parametrize(("durations", "slots"), CHAINS)
def test_chain_critical_path_is_the_total_work(durations: list[float], slots: int) -> None:
    graph = dags.chain(durations)
    assert graph.critical_path == pytest.approx(sum(durations))
    assert graph.lower_bound(slots) == pytest.approx(sum(durations))
    for order in ("first-come", "critical-path"):
        assert dags.list_schedule(graph, slots, order) == pytest.approx(sum(durations))
    assert dags.barrier_schedule(graph, slots) == pytest.approx(sum(durations))
    assert len(graph.waves) == len(durations)


def _independent(durations: list[float]) -> object:
    ids = tuple(f"i{n}" for n in range(len(durations)))
    return dags.Dag(ids, {t: () for t in ids}, dict(zip(ids, durations, strict=True)))


@pytest.mark.parametrize(
    ("durations", "slots", "makespan"),
    [
        ([1.0] * 8, 8, 1.0),  # one round
        ([1.0] * 9, 8, 2.0),  # one task left over
        ([3.0, 1.0, 1.0, 1.0], 2, 3.0),  # the long one alone on a slot
        ([2.0, 2.0, 2.0], 1, 6.0),  # one slot: the sum
    ],
)
def test_independent_tasks(durations: list[float], slots: int, makespan: float) -> None:
    graph = _independent(durations)
    assert dags.list_schedule(graph, slots, "first-come") == pytest.approx(makespan)
    assert graph.lower_bound(slots) == pytest.approx(max(max(durations), sum(durations) / slots))


def test_critical_path_first_beats_first_come_on_a_known_graph() -> None:
    # a, b and x (1 s each) are ready at once, c (5 s) waits for x. On two slots first-come
    # starts a and b, then x at 1, c at 2: 7 s. Critical-path-first starts x at once: 6 s.
    ids = ("a", "b", "x", "c")
    graph = dags.Dag(
        ids, {"a": (), "b": (), "x": (), "c": ("x",)}, {"a": 1.0, "b": 1.0, "x": 1.0, "c": 5.0}
    )
    assert graph.bottom_levels == {"a": 1.0, "b": 1.0, "x": 6.0, "c": 5.0}
    assert dags.list_schedule(graph, 2, "first-come") == pytest.approx(7.0)
    assert dags.list_schedule(graph, 2, "critical-path") == pytest.approx(6.0)
    assert graph.lower_bound(2) == pytest.approx(6.0)
    assert dags.barrier_schedule(graph, 2) == pytest.approx(7.0)  # wave 1 takes 2 s


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("slots", [1, 3, 8])
def test_waves_barrier_at_least_list_schedule_at_least_lower_bound(seed: int, slots: int) -> None:
    graph = dags.generate(80, seed=seed, mean_s=1.0)
    bound = graph.lower_bound(slots)
    barrier = dags.barrier_schedule(graph, slots)
    for order in ("first-come", "critical-path"):
        makespan = dags.list_schedule(graph, slots, order)
        assert makespan >= bound - 1e-9
        # Any list schedule is within 2x of optimal (Graham), so within 2x the bound.
        assert makespan <= 2 * bound + 1e-9
    # The barrier schedule is one valid list schedule of a stricter graph.
    assert barrier >= bound - 1e-9
    ratios = dags.simulate_all(graph, slots)
    assert set(ratios) == {"barrier_per_wave", "first_come", "critical_path_first"}
    assert all(value >= 1 - 1e-9 for value in ratios.values())


def test_one_slot_every_schedule_is_the_total_work() -> None:
    graph = dags.generate(50, seed=2)
    for makespan in (
        dags.list_schedule(graph, 1, "first-come"),
        dags.list_schedule(graph, 1, "critical-path"),
        dags.barrier_schedule(graph, 1),
    ):
        assert makespan == pytest.approx(graph.total_work)


# -- the scripts, as real subprocesses --------------------------------------------------


@pytest.mark.slow
def test_bench_engine_smoke_output_shape() -> None:
    result = _run("bench_engine.py", "--smoke", "--json")

    assert result["mode"] == "smoke"
    makespan = result["makespan"]["runs"][0]
    assert makespan["engine_durations_ratio"] > 0 and makespan["engine_unit_ratio"] > 0
    assert set(makespan["simulated"]) == {"barrier_per_wave", "first_come", "critical_path_first"}
    assert makespan["engine_estimates_ratio"] > 0
    assert makespan["engine_half-estimates_ratio"] > 0
    simulated = makespan["simulated_priority"]
    assert set(simulated) == {"durations", "estimates", "half-estimates", "unit"}
    # Every duration given as an estimate: wavefront's planning orders as the truth does.
    assert simulated["estimates"] == simulated["durations"]
    assert result["noop"]["done"] == result["noop"]["tasks"] > 0
    assert result["noop"]["us_per_task"] > 0
    git = result["git"]
    assert git["tasks"] > 0 and git["git_calls_per_task"] > 0
    assert git["bare_git_ms_per_task"] > 0
    assert {"init", "checkout", "fetch", "merge-tree", "update-ref"} <= set(git["by_command"])
    assert result["scale"]["done"] == result["scale"]["tasks"] > 0
    assert result["scale"]["peak_rss_mb"] > 0


@pytest.mark.slow
def test_compare_smoke_lists_every_engine() -> None:
    # Only the engines that need nothing extra are run; the others must still be listed.
    result = _run("compare.py", "--smoke", "--json", "--engines", "wavefront,threadpool")

    engines = result["engines"]
    for name in ("wavefront", "threadpool"):
        row = engines[name]
        assert set(row) >= {
            "overhead_us_per_task",
            "subprocess_us_per_task",
            "makespan_over_lb",
            "peak_rss_mb",
        }
        assert row["overhead_us_per_task"] > 0 and row["makespan_over_lb"] > 0
    for name in ("simulated barrier-per-wave", "simulated first-come"):
        assert engines[name]["makespan_over_lb"] >= 1 - 1e-9


def test_compare_marks_a_missing_engine_as_skipped(tmp_path: Path) -> None:
    # A child interpreter that cannot import the engine reports "skipped", not an error.
    script = (
        "import sys, json, importlib.util\n"
        f"sys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'ray' else real(name, *a)\n"
        "import compare\n"
        "print(json.dumps(compare.child('ray', 'smoke')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert "ray is not installed" in row["skipped"]


@pytest.mark.slow
def test_merge_queue_benchmark_smoke() -> None:
    result = _run("bench_mergequeue.py", "--smoke", "--json")
    batch, culprit, lock = (result[name]["runs"][0] for name in ("batch", "culprit", "lock"))
    assert batch["merged"] == 4 and batch["integration_green_at_every_commit"]
    assert 1 <= batch["gate_runs"] <= 4
    assert culprit["merged"] == 3 and culprit["culprit_sent_back"]
    assert culprit["integration_green_at_every_commit"]
    assert lock["done"] == 4 and lock["git_calls_per_task"] > 0


def test_bench_workspace_times_each_way() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_workspace.py"), "--files", "20", "--runs", "1"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    for way in ("git worktree add", "git clone --shared", "init + alternates (new)",
                "released one reset (reuse)"):
        assert way in done.stdout


def test_bench_startup_times_each_command() -> None:
    result = _run("bench_startup.py", "--rounds", "1", "--json")
    assert set(result) == {"bare python", "import click", "wavefront --help",
                           "wavefront --help, 60 columns"}
    assert all(figures["median_ms"] >= figures["fastest_ms"] > 0
               for figures in result.values())
