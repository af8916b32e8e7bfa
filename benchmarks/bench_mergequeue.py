"""The merge queue on real git: batches under a slow test gate, and the merge lock.

    python benchmarks/bench_mergequeue.py             # 32 tasks, gate 2 s, 3 runs each
    python benchmarks/bench_mergequeue.py --quick     # gate 0.5 s, 1 run each
    python benchmarks/bench_mergequeue.py --json

Sections (`benchmarks/compare.py` runs them too, beside the engines):

- batch: 32 tasks that finish together (32 slots, no-op script agents, one file each),
  `verify: merged` with a command gate that sleeps `--gate-s` on the merged tree; the
  integration time (first task entering the queue to the last one done, from the
  journal's timestamps) in gate runs of wall time, and how many times the gate ran.
- culprit: the same with one task whose file turns every candidate that holds it red
  (it passes alone: the gate runs on merged trees only). Reported: gate runs until the
  31 others were merged, whether the culprit went back to its agent, and whether every
  first-parent commit of the integration branch passes the gate.
- lock: 8 slots, no gate; the time the merge lock is held (each task's merge-tree and
  commit-tree, the batch's compare-and-swap update-ref) per merged task, and the git
  processes per task of the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dags import generate  # noqa: E402
from wavefront.engine.loop import Engine  # noqa: E402
from wavefront.engine.pool import RunnerPool  # noqa: E402
from wavefront.engine.settings import RunSettings  # noqa: E402
from wavefront.engine.taskflow import TaskFlow  # noqa: E402
from wavefront.journal.database import Journal  # noqa: E402
from wavefront.journal.kinds import EventKind  # noqa: E402
from wavefront.model import GateSpec, TaskStatus  # noqa: E402
from wavefront.workspace.worktrees import GitRepo, GitWorkspaces  # noqa: E402
from wavefront_driver import _timed_git, build_tasks, init_repo  # noqa: E402

# The gate: sleeps, then fails on a tree holding a non-empty `poison`; each run is a line.
GATE = """\
import pathlib, sys, time
with open(sys.argv[1], "a") as runs:
    runs.write(f"{time.time()}\\n")
time.sleep(float(sys.argv[2]))
poison = pathlib.Path("poison")
sys.exit(1 if poison.exists() and poison.read_text().strip() else 0)
"""


def integrate(workdir: Path, tasks: int, gate_s: float, culprit: bool) -> dict[str, Any]:
    repo = GitRepo(init_repo(workdir / "repo"))
    state = repo.root / ".wavefront"
    gate_file, runs_file = workdir / "gate.py", workdir / "gate-runs"
    gate_file.write_text(GATE)
    dag = generate(tasks, seed=0, distribution="zero", width=tasks)
    rows = build_tasks(dag, "git", "unit")
    if culprit:
        task, agent, runner, priority, wave = rows[tasks // 2]
        files = dict((task.options.script or {})["files"])
        script = {"files": {**files, "poison": "bad\n"}}
        rows[tasks // 2] = (replace(task, options=replace(task.options, script=script)),
                            agent, runner, priority, wave)
    gate = GateSpec("command", {"run": [sys.executable, str(gate_file), str(runs_file),
                                        str(gate_s)], "on": "merged", "timeout": 600})
    with Journal.open(state / "journal.db") as journal:
        workspaces = GitWorkspaces(repo, "bench", state)
        base = repo.head_commit()
        journal.create_run("bench", repo=repo.root, base_commit=base,
                           branch=workspaces.integration_branch, options={}, tasks=rows)
        workspaces.create_integration_branch(base)
        settings = RunSettings(max_parallel=tasks, timeout_s=None, default_runner="script",
                               verify="merged", gates=(gate,))
        flow = TaskFlow(journal, "bench", workspaces, RunnerPool(), {}, settings,
                        state / "logs" / "bench")
        asyncio.run(Engine(journal, "bench", flow, settings).run())
        events = journal.events("bench", kind=EventKind.TASK_STATUS)
        records = {r.task_id: r for r in journal.tasks("bench")}
        fixes = journal.count_attempts("bench", rows[tasks // 2][0].id, ("merged-fix",))
    entered = min(e.at for e in events if e.data.get("status") == "merging")
    done_at = sorted(e.at for e in events if e.data.get("status") == "done")
    merged = len(done_at)
    good = tasks - 1 if culprit else tasks
    last_good = done_at[good - 1] if merged >= good else float("nan")
    starts = [float(line) for line in runs_file.read_text().split()]
    history = subprocess.run(["git", "-C", str(repo.root), "rev-list", "--first-parent",
                              f"{base}..wavefront/bench"], capture_output=True, text=True,
                             check=True).stdout.split()
    green = all(_passes(repo.root, commit) for commit in history)
    return {
        "tasks": tasks,
        "gate_s": gate_s,
        "merged": sum(r.status == TaskStatus.DONE for r in records.values()),
        "integration_s": last_good - entered,
        "integration_in_gate_runs": (last_good - entered) / gate_s,
        "gate_runs": sum(start <= last_good for start in starts),
        "gate_runs_total": len(starts),
        "culprit_sent_back": bool(fixes) if culprit else None,
        "integration_green_at_every_commit": green,
    }


def _passes(root: Path, commit: str) -> bool:
    done = subprocess.run(["git", "-C", str(root), "cat-file", "blob", f"{commit}:poison"],
                          capture_output=True, text=True)
    return done.returncode != 0 or not done.stdout.strip()


def _timed(call: Any, into: list[float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)
    return timed


def merge_lock(workdir: Path, tasks: int, slots: int = 8) -> dict[str, Any]:
    """Time inside `merge_batch` per merged task, and git processes per task."""
    repo = GitRepo(init_repo(workdir / "repo"))
    state = repo.root / ".wavefront"
    dag = generate(tasks, seed=0, distribution="zero")
    calls: list[tuple[str, float]] = []
    held: list[float] = []
    with Journal.open(state / "journal.db") as journal, _timed_git(calls):
        workspaces = GitWorkspaces(repo, "bench", state)
        base = repo.head_commit()
        journal.create_run("bench", repo=repo.root, base_commit=base,
                           branch=workspaces.integration_branch, options={},
                           tasks=build_tasks(dag, "git", "unit"))
        workspaces.create_integration_branch(base)
        # The merge lock's calls: reading the head, each merge-tree + commit-tree, the
        # compare-and-swap. The batch's checks before them (two for-each-ref) are outside.
        for name in ("compute_merge", "publish"):
            setattr(workspaces, name, _timed(getattr(workspaces, name), held))
        calls.clear()
        settings = RunSettings(max_parallel=slots, timeout_s=None, default_runner="script")
        flow = TaskFlow(journal, "bench", workspaces, RunnerPool(), {}, settings,
                        state / "logs" / "bench")
        started = time.perf_counter()
        asyncio.run(Engine(journal, "bench", flow, settings).run())
        wall = time.perf_counter() - started
        done = sum(r.status == TaskStatus.DONE for r in journal.tasks("bench"))
        journal_candidates = journal.events("bench", kind=EventKind.MERGE_CANDIDATE)
    by_command: dict[str, int] = {}
    for name, _ in calls:
        by_command[name] = by_command.get(name, 0) + 1
    return {
        "tasks": tasks,
        "done": done,
        "wall_s": wall,
        "batches": len(journal_candidates),
        "lock_ms_per_task": sum(held) / max(done, 1) * 1e3,
        "lock_share_of_wall": sum(held) / wall,
        "git_calls_per_task": len(calls) / tasks,
        "git_calls_by_command": {k: v / tasks for k, v in sorted(by_command.items())},
    }


# mode -> (tasks of a batch, gate seconds, tasks of the merge-lock run)
SIZES = {"full": (32, 2.0, 200), "quick": (32, 0.5, 40), "smoke": (4, 0.05, 4)}


def run_all(mode: str, runs: int) -> dict[str, Any]:
    tasks, gate_s, lock_tasks = SIZES[mode]
    results: dict[str, list[dict[str, Any]]] = {"batch": [], "culprit": [], "lock": []}
    for number in range(runs):
        with tempfile.TemporaryDirectory(prefix="wavefront-mq-") as tmp:
            root = Path(tmp)
            results["batch"].append(integrate(root / f"b{number}", tasks, gate_s, False))
            results["culprit"].append(integrate(root / f"c{number}", tasks, gate_s, True))
            results["lock"].append(merge_lock(root / f"l{number}", lock_tasks))
    return {name: {"runs": rows, **_medians(rows)} for name, rows in results.items()}


def _medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in rows[0].items() if isinstance(v, (int, float))
            and not isinstance(v, bool)]
    return {f"median_{k}": statistics.median(row[k] for row in rows) for k in keys}


def _times(count: float) -> str:
    return "once" if count == 1 else f"{count:.0f} times"


def report(results: dict[str, Any]) -> str:
    batch, culprit, lock = results["batch"], results["culprit"], results["lock"]
    runs = len(batch["runs"])
    gate = batch["runs"][0]["gate_s"]
    return "\n".join([
        f"merge queue (medians of {runs} run{'s' if runs != 1 else ''}, gate {gate:g} s):",
        f"  {batch['runs'][0]['tasks']} green tasks: integrated in "
        f"{batch['median_integration_s']:.1f} s = "
        f"{batch['median_integration_in_gate_runs']:.2f} gate runs of wall time (target "
        f"<= 3); the gate ran {_times(batch['median_gate_runs'])}",
        f"  1 culprit of {culprit['runs'][0]['tasks']}: the others merged after "
        f"the gate ran {_times(culprit['median_gate_runs'])} (target <= 7), "
        f"{culprit['median_integration_in_gate_runs']:.2f} gate runs of wall time; "
        f"culprit sent back: {all(r['culprit_sent_back'] for r in culprit['runs'])}; "
        f"green at every commit: "
        f"{all(r['integration_green_at_every_commit'] for r in culprit['runs'])}",
        f"  merge lock: {lock['median_lock_ms_per_task']:.1f} ms per task "
        f"({lock['runs'][0]['tasks']} tasks, 8 slots; target <= 20); "
        f"{lock['median_git_calls_per_task']:.1f} git processes per task (target <= 15)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="gate 0.5 s, one run")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--runs", type=int, default=None, help="runs per section (3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    runs = args.runs or (3 if mode == "full" else 1)
    results = run_all(mode, runs)
    print(json.dumps(results, indent=2) if args.json else report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
