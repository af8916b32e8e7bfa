"""wavefront's engine against the issue's speed targets (issue 3, "Speed").

    python benchmarks/bench_engine.py            # the full sizes below (a few minutes)
    python benchmarks/bench_engine.py --quick    # smaller sizes, under a minute
    python benchmarks/bench_engine.py --json     # the results as one JSON document

Sections, each run in a fresh interpreter so its peak RSS is its own:

- makespan: a generated 200-task DAG with heavy-tailed (Pareto) durations, mean 50 ms,
  8 slots, script runner sleeping, no git. Reported as makespan / lower bound, where the
  lower bound is max(critical path, total work / slots), next to the simulated
  barrier-per-wave, first-come and critical-path-first schedules of the same graph.
  Four times: with the durations as the tasks' weights (an oracle); with them as each
  task's `estimate`, weighted by wavefront's own planning (`plan.weights`); with an
  estimate for every other task only (the rest get the median); and with unit weights
  (the graph's shape only, what a backlog without estimates gets).
- noop: 2,000 no-op tasks through the full engine (task flow, script runner, journal on).
- git: 200 tasks with real worktrees, commits and merges, per task next to the summed
  time of the git processes the run started and a bare replay of the git a task needs.
- scale: 10,000 no-op tasks with the journal on; wall time and peak RSS.

Targets: makespan / lower bound <= 1.03; no-op overhead < 1 ms per task; 10,000 tasks in
under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dags import generate, list_schedule, simulate_all  # noqa: E402
from wavefront_driver import (  # noqa: E402
    bare_git_per_task,
    build_tasks,
    run_engine,
    run_engine_git,
)

SLOTS = 8
MEAN_S = 0.05
TARGET_RATIO = 1.03
TARGET_NOOP_US = 1000.0
TARGET_SCALE_MB = 300.0

# Sizes per mode: (makespan tasks, makespan seeds, no-op tasks, git tasks, scale tasks).
SIZES: dict[str, dict[str, int]] = {
    "full": {"makespan": 200, "seeds": 3, "noop": 2000, "git": 200, "scale": 10000},
    "quick": {"makespan": 200, "seeds": 1, "noop": 500, "git": 40, "scale": 2000},
    "smoke": {"makespan": 16, "seeds": 1, "noop": 10, "git": 3, "scale": 20},
}


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- sections (each runs in its own interpreter) -----------------------------------------


def section_makespan(size: dict[str, int], workdir: Path) -> dict[str, Any]:
    # Longer tasks dilute the engine's fixed per-task cost (`--mean-ms`).
    mean = size.get("mean_ms", MEAN_S * 1e3) / 1e3 if size["makespan"] >= 100 else 0.01
    runs = []
    for seed in range(size["seeds"]):
        dag = generate(size["makespan"], seed=seed, mean_s=mean)
        bound = dag.lower_bound(SLOTS)
        row: dict[str, Any] = {
            "seed": seed,
            "tasks": len(dag),
            "lower_bound_s": bound,
            "critical_path_s": dag.critical_path,
            "work_over_slots_s": dag.total_work / SLOTS,
            "simulated": simulate_all(dag, SLOTS),
        }
        # What each priority alone achieves, without the engine's overhead (no load on
        # the machine changes it).
        row["simulated_priority"] = {
            priority: list_schedule(dag, SLOTS, "critical-path", levels={
                task.id: level for task, _a, _r, level, _w in build_tasks(dag, "sleep", priority)
            }) / bound
            for priority in ("durations", "estimates", "half-estimates", "unit")
        }
        for priority in ("durations", "estimates", "half-estimates", "unit"):
            result = run_engine(
                dag, workdir / f"m{seed}-{priority}", slots=SLOTS, kind="sleep", priority=priority
            )
            row[f"engine_{priority}_s"] = result.wall_s
            row[f"engine_{priority}_ratio"] = result.wall_s / bound
        runs.append(row)
    return {"mean_duration_s": mean, "slots": SLOTS, "runs": runs}


def section_noop(size: dict[str, int], workdir: Path) -> dict[str, Any]:
    dag = generate(size["noop"], seed=0, distribution="zero")
    cpu = time.process_time()
    result = run_engine(dag, workdir / "noop", slots=SLOTS, kind="noop")
    cpu = time.process_time() - cpu
    return {
        "tasks": len(dag),
        "wall_s": result.wall_s,
        "us_per_task": result.wall_s / len(dag) * 1e6,
        "cpu_us_per_task": cpu / len(dag) * 1e6,
        "done": result.done,
        "peak_rss_mb": peak_rss_mb(),
    }


def section_git(size: dict[str, int], workdir: Path) -> dict[str, Any]:
    dag = generate(size["git"], seed=0, distribution="zero")
    result = run_engine_git(dag, workdir / "git", slots=SLOTS)
    bare = bare_git_per_task(workdir / "git-bare", max(3, min(size["git"], 50)))
    tasks = len(dag)
    return {
        "tasks": tasks,
        "wall_s": result.wall_s,
        "ms_per_task": result.wall_s / tasks * 1e3,
        "git_calls_per_task": result.git_calls / tasks,
        "git_process_ms_per_task": result.git_s / tasks * 1e3,
        "bare_git_ms_per_task": bare * 1e3,
        "by_command": {
            name: {"calls_per_task": count / tasks, "ms_per_task": s / tasks * 1e3}
            for name, (count, s) in sorted(result.by_command.items(), key=lambda item: -item[1][1])
        },
    }


def section_scale(size: dict[str, int], workdir: Path) -> dict[str, Any]:
    dag = generate(size["scale"], seed=0, distribution="zero")
    result = run_engine(dag, workdir / "scale", slots=SLOTS, kind="noop")
    return {
        "tasks": len(dag),
        "wall_s": result.wall_s,
        "done": result.done,
        "us_per_task": result.wall_s / len(dag) * 1e6,
        "peak_rss_mb": peak_rss_mb(),
    }


SECTIONS: dict[str, Callable[[dict[str, int], Path], dict[str, Any]]] = {
    "makespan": section_makespan,
    "noop": section_noop,
    "git": section_git,
    "scale": section_scale,
}


def run_section_in_child(name: str, mode: str, mean_ms: float) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            *("--child", name, "--mode", mode, "--mean-ms", str(mean_ms)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"section {name} failed:\n{done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- report -------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    lines = []
    if "makespan" in results:
        section = results["makespan"]
        lines.append(
            f"makespan / lower bound ({section['runs'][0]['tasks']} tasks, "
            f"{section['slots']} slots, Pareto durations, mean "
            f"{section['mean_duration_s'] * 1e3:.0f} ms; target <= {TARGET_RATIO}):"
        )
        lines.append(
            "  seed  bound   engine(weights)  (estimates)  (half)  engine(unit)  "
            "sim barrier  sim first-come  sim cp-first"
        )
        for run in section["runs"]:
            sim = run["simulated"]
            lines.append(
                f"  {run['seed']:>4}  {run['lower_bound_s']:5.2f}s  "
                f"{run['engine_durations_ratio']:15.3f}  {run['engine_estimates_ratio']:11.3f}  "
                f"{run['engine_half-estimates_ratio']:6.3f}  {run['engine_unit_ratio']:12.3f}  "
                f"{sim['barrier_per_wave']:11.3f}  {sim['first_come']:14.3f}  "
                f"{sim['critical_path_first']:12.3f}"
            )
        lines.append("  simulated with each priority (no engine overhead):")
        for run in section["runs"]:
            lines.append(f"  {run['seed']:>4}  " + "  ".join(
                f"{name} {ratio:.3f}" for name, ratio in run["simulated_priority"].items()))
    if "noop" in results:
        noop = results["noop"]
        lines.append(
            f"no-op overhead: {noop['tasks']} tasks, {noop['us_per_task']:.0f} us/task "
            f"wall, {noop['cpu_us_per_task']:.0f} us/task CPU "
            f"(target < {TARGET_NOOP_US:.0f} us)"
        )
    if "git" in results:
        git = results["git"]
        lines.append(
            f"git: {git['tasks']} tasks, {git['ms_per_task']:.1f} ms/task wall "
            f"({SLOTS} slots); {git['git_calls_per_task']:.1f} git processes/task "
            f"taking {git['git_process_ms_per_task']:.1f} ms/task summed; "
            f"bare git sequence {git['bare_git_ms_per_task']:.1f} ms/task serial"
        )
        top = list(git["by_command"].items())[:6]
        lines.append(
            "  "
            + ", ".join(
                f"{name} x{v['calls_per_task']:.1f} {v['ms_per_task']:.1f} ms" for name, v in top
            )
        )
    if "scale" in results:
        scale = results["scale"]
        lines.append(
            f"scale: {scale['tasks']} tasks in {scale['wall_s']:.1f} s "
            f"({scale['us_per_task']:.0f} us/task), peak RSS "
            f"{scale['peak_rss_mb']:.0f} MB (target < {TARGET_SCALE_MB:.0f} MB)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help="comma-separated sections (makespan, noop, git, scale)",
    )
    parser.add_argument(
        "--mean-ms", type=float, default=MEAN_S * 1e3, help="mean task duration for makespan"
    )
    parser.add_argument("--child", choices=sorted(SECTIONS), help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="full", choices=sorted(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        with tempfile.TemporaryDirectory(prefix="wavefront-bench-") as tmp:
            size = {**SIZES[args.mode], "mean_ms": int(args.mean_ms)}
            print(json.dumps(SECTIONS[args.child](size, Path(tmp))))
        return 0
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
    results: dict[str, Any] = {"mode": mode}
    for name in chosen:
        results[name] = run_section_in_child(name, mode, args.mean_ms)
    print(json.dumps(results, indent=2) if args.json else report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
