"""The same generated DAGs through wavefront and other schedulers, side by side (issue 6).

    pip install -e '.[bench]'                  # Ray, Dask distributed, Prefect (optional)
    python benchmarks/compare.py               # full sizes
    python benchmarks/compare.py --quick       # under two minutes
    python benchmarks/compare.py --json        # {"engines": {NAME: {...}}}

Engines: wavefront's engine (journal on; once with the durations as task weights, once
with the default unit weights), a plain thread pool over `graphlib` (first-come), Ray,
Dask distributed and Prefect; each in its own interpreter so its peak RSS is its own
(the process and everything it started: Ray's and Dask's daemons count). An engine that
is not installed is listed as skipped. The simulated barrier-per-wave, first-come and
critical-path-first schedules of the same graph are listed too (makespan only).

Per engine:
- overhead_us_per_task: wall time of the no-op DAG (2,000 tasks) / tasks, 8 slots;
- subprocess_us_per_task: the same for a 200-task DAG whose tasks each run `true`;
- makespan_over_lb: a 200-task heavy-tailed DAG (Pareto, mean 50 ms, tasks sleep) on
  8 slots, divided by max(critical path, total work / slots);
- startup_s: time to start the engine (Ray/Dask clusters, Prefect's server), not counted
  above; peak_rss_mb.

Then wavefront's merge queue on real git (`bench_mergequeue.py`: 32 tasks finishing
together under a slow merged-tree gate, with and without a culprit, and the merge lock),
which the other engines have no counterpart for; `--no-merge-queue` leaves it out.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dags import Dag, generate, simulate_all  # noqa: E402
from wavefront_driver import Priority, TaskKind  # noqa: E402

SLOTS = 8
MEAN_S = 0.05
SIZES: dict[str, dict[str, int]] = {
    "full": {"noop": 2000, "subprocess": 200, "makespan": 200},
    "quick": {"noop": 300, "subprocess": 50, "makespan": 200},
    "smoke": {"noop": 10, "subprocess": 4, "makespan": 12},
}
ENGINES = ("wavefront", "wavefront-unit-weights", "threadpool", "ray", "dask", "prefect")
# The module each engine needs; absent means "skipped", never silently left out.
REQUIRES = {"ray": "ray", "dask": "distributed", "prefect": "prefect"}
TRUE = "/bin/true" if Path("/bin/true").exists() else "true"

Workloads = dict[str, Dag]
TaskFn = Callable[[float], None]


def workloads(size: dict[str, int]) -> Workloads:
    mean = MEAN_S if size["makespan"] >= 100 else 0.01
    return {
        "noop": generate(size["noop"], seed=0, distribution="zero"),
        "subprocess": generate(size["subprocess"], seed=0, distribution="zero"),
        "makespan": generate(size["makespan"], seed=0, mean_s=mean),
    }


def noop(_: float) -> None:
    return None


def run_true(_: float) -> None:
    subprocess.run([TRUE], check=True)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


TASKS: dict[str, TaskFn] = {"noop": noop, "subprocess": run_true, "makespan": sleep}


# -- engines: each returns the wall time of one DAG ------------------------------------


def threadpool_run(dag: Dag, fn: TaskFn) -> float:
    """graphlib's ready/done loop over a thread pool: first-come, no journal."""
    started = time.perf_counter()
    sorter = TopologicalSorter({t: dag.deps[t] for t in dag.ids})
    sorter.prepare()
    with ThreadPoolExecutor(max_workers=SLOTS) as pool:
        running: dict[Future[None], str] = {}
        while sorter.is_active():
            for task_id in sorter.get_ready():
                running[pool.submit(fn, dag.durations[task_id])] = task_id
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()
                sorter.done(running.pop(future))
    return time.perf_counter() - started


def run_threadpool(loads: Workloads) -> dict[str, Any]:
    return {name: threadpool_run(dag, TASKS[name]) for name, dag in loads.items()}


def run_wavefront(loads: Workloads, priority: Priority) -> dict[str, Any]:
    from wavefront_driver import run_engine

    kinds: dict[str, TaskKind] = {"noop": "noop", "subprocess": "command", "makespan": "sleep"}
    times: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="wavefront-compare-") as tmp:
        for name, dag in loads.items():
            result = run_engine(
                dag, Path(tmp) / name, slots=SLOTS, kind=kinds[name], priority=priority
            )
            times[name] = result.wall_s
    return times


def run_ray(loads: Workloads) -> dict[str, Any]:
    import ray

    started = time.perf_counter()
    # A cluster of its own even when another one runs on this machine (Ray would join it).
    ray.init(
        address="local", num_cpus=SLOTS, include_dashboard=False, log_to_driver=False,
        logging_level=logging.ERROR,
    )
    times: dict[str, Any] = {"startup_s": time.perf_counter() - started}
    try:
        for name, dag in loads.items():
            fn = TASKS[name]

            @ray.remote(num_cpus=1)
            def step(seconds: float, *_deps: Any, fn: TaskFn = fn) -> None:
                fn(seconds)

            step.remote(0.0).future().result()  # warm one worker before timing
            begin = time.perf_counter()
            refs: dict[str, Any] = {}
            for task_id in dag.ids:
                refs[task_id] = step.remote(
                    dag.durations[task_id], *[refs[d] for d in dag.deps[task_id]]
                )
            ray.get(list(refs.values()))
            times[name] = time.perf_counter() - begin
    finally:
        ray.shutdown()
    return times


def run_dask(loads: Workloads) -> dict[str, Any]:
    from dask.distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=SLOTS,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    client = Client(cluster)
    times: dict[str, Any] = {"startup_s": time.perf_counter() - started}
    try:
        for name, dag in loads.items():
            fn = TASKS[name]

            def step(seconds: float, *_deps: Any, fn: TaskFn = fn) -> None:
                fn(seconds)

            begin = time.perf_counter()
            futures: dict[str, Any] = {}
            for task_id in dag.ids:
                futures[task_id] = client.submit(
                    step,
                    dag.durations[task_id],
                    *[futures[d] for d in dag.deps[task_id]],
                    key=f"{name}-{task_id}",
                    pure=False,
                )
            client.gather(list(futures.values()))
            times[name] = time.perf_counter() - begin
    finally:
        client.close()
        cluster.close()
    return times


def run_prefect(loads: Workloads) -> dict[str, Any]:
    from prefect import flow, task
    from prefect.task_runners import ThreadPoolTaskRunner

    times: dict[str, Any] = {}
    started = time.perf_counter()

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=SLOTS), log_prints=False)
    def warm() -> None:
        return None

    warm()  # starts Prefect's temporary API server
    times["startup_s"] = time.perf_counter() - started
    for name, dag in loads.items():
        fn = TASKS[name]

        @task(persist_result=False)
        def step(seconds: float, fn: TaskFn = fn) -> None:
            fn(seconds)

        @flow(task_runner=ThreadPoolTaskRunner(max_workers=SLOTS), log_prints=False)
        def whole(dag: Dag = dag) -> None:
            futures: dict[str, Any] = {}
            for task_id in dag.ids:
                futures[task_id] = step.submit(
                    dag.durations[task_id], wait_for=[futures[d] for d in dag.deps[task_id]]
                )
            for future in futures.values():
                future.result()

        begin = time.perf_counter()
        whole()
        times[name] = time.perf_counter() - begin
    return times


def run_engine_named(name: str, loads: Workloads) -> dict[str, Any]:
    if name == "wavefront":
        return run_wavefront(loads, "durations")
    if name == "wavefront-unit-weights":
        return run_wavefront(loads, "unit")
    if name == "threadpool":
        return run_threadpool(loads)
    if name == "ray":
        return run_ray(loads)
    if name == "dask":
        return run_dask(loads)
    return run_prefect(loads)


# -- one engine per interpreter -----------------------------------------------------------


def child(name: str, mode: str) -> dict[str, Any]:
    module = REQUIRES.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        return {"skipped": f"{module} is not installed (pip install -e '.[bench]')"}
    loads = workloads(SIZES[mode])
    times = run_engine_named(name, loads)
    result: dict[str, Any] = {
        "overhead_us_per_task": times["noop"] / len(loads["noop"]) * 1e6,
        "subprocess_us_per_task": times["subprocess"] / len(loads["subprocess"]) * 1e6,
        "makespan_over_lb": times["makespan"] / loads["makespan"].lower_bound(SLOTS),
        "startup_s": times.get("startup_s", 0.0),
    }
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["self_peak_rss_mb"] = own
    return result


@contextmanager
def tree_rss_sampler(pid: int) -> Iterator[list[float]]:
    """Peak RSS (MB) of `pid` and all its descendants, sampled every 50 ms (needs psutil;
    without it the list stays empty and the child's own peak is used)."""
    peak: list[float] = []
    stop = threading.Event()
    try:
        import psutil
    except ImportError:
        yield peak
        return

    def sample() -> None:
        best = 0.0
        while not stop.is_set():
            try:
                root = psutil.Process(pid)
                members = [root, *root.children(recursive=True)]
                total = 0
                for member in members:
                    try:
                        total += member.memory_info().rss
                    except psutil.Error:
                        continue
                best = max(best, total / 2**20)
            except psutil.Error:
                pass
            stop.wait(0.05)
        peak.append(best)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def measure(name: str, mode: str, timeout_s: float) -> dict[str, Any]:
    env = {
        **os.environ,
        "PREFECT_LOGGING_LEVEL": "ERROR",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "RAY_USAGE_STATS_ENABLED": "0",
        "PYTHONWARNINGS": "ignore",
    }
    with tempfile.TemporaryDirectory(prefix="wavefront-compare-home-") as home:
        env.setdefault("PREFECT_HOME", home)
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", name, "--mode", mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        with tree_rss_sampler(process.pid) as peak:
            try:
                out, err = process.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.communicate()
                return {"skipped": f"did not finish within {timeout_s:.0f} s"}
    if process.returncode != 0:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {process.returncode}: {last}"}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if "skipped" not in result:
        own = result.pop("self_peak_rss_mb")
        result["peak_rss_mb"] = max([own, *peak])
    return result


def simulated(mode: str) -> dict[str, dict[str, Any]]:
    dag = workloads(SIZES[mode])["makespan"]
    names = {
        "barrier_per_wave": "simulated barrier-per-wave",
        "first_come": "simulated first-come",
        "critical_path_first": "simulated critical-path-first",
    }
    return {
        names[key]: {
            "overhead_us_per_task": None,
            "subprocess_us_per_task": None,
            "makespan_over_lb": value,
            "peak_rss_mb": None,
        }
        for key, value in simulate_all(dag, SLOTS).items()
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    def cell(value: Any, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        f"{'engine':32} {'no-op us/task':>14} {'subproc us/task':>16} "
        f"{'makespan/LB':>12} {'peak RSS MB':>12} {'startup s':>10}"
    ]
    for name, row in results.items():
        if "skipped" in row or "error" in row:
            lines.append(f"{name:32} {row.get('skipped') or row.get('error')}")
            continue
        lines.append(
            f"{name:32} {cell(row['overhead_us_per_task'], 0):>14} "
            f"{cell(row['subprocess_us_per_task'], 0):>16} "
            f"{cell(row['makespan_over_lb'], 3):>12} "
            f"{cell(row['peak_rss_mb'], 0):>12} {cell(row.get('startup_s'), 1):>10}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under two minutes")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated subset of {', '.join(ENGINES)}",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per engine")
    parser.add_argument("--no-merge-queue", dest="merge_queue", action="store_false",
                        help="leave out the merge-queue benchmark (bench_mergequeue.py)")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="full", choices=sorted(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.mode)))
        return 0
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    chosen = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in ENGINES]
    if unknown:
        parser.error(f"unknown engine {', '.join(unknown)} (known: {', '.join(ENGINES)})")
    results = {name: measure(name, mode, args.timeout) for name in chosen}
    results.update(simulated(mode))
    size = SIZES[mode]
    # The merge queue has no counterpart in the other engines: wavefront's alone, on git.
    queue = merge_queue(mode) if args.merge_queue and mode != "smoke" else None
    if args.json:
        print(json.dumps({"mode": mode, "slots": SLOTS, "sizes": size, "engines": results,
                          "merge_queue": queue}, indent=2))
    else:
        print(
            f"{mode}: {size['noop']} no-op tasks, {size['subprocess']} subprocess tasks, "
            f"{size['makespan']}-task heavy-tailed DAG, {SLOTS} slots"
        )
        print(table(results))
        if queue is not None:
            from bench_mergequeue import report as merge_queue_report

            print(merge_queue_report(queue))
    return 0


def merge_queue(mode: str) -> dict[str, Any]:
    """`bench_mergequeue.py` in an interpreter of its own (one run in quick mode)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_mergequeue.py"), "--json",
         *(["--quick"] if mode == "quick" else [])],
        capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
