"""The Ray executor against the local one: the same backlog of sleeping script agents.

`python benchmarks/bench_ray.py --tasks 200 --sleep 1` runs `wavefront run` (a real
coordinator process: git, SQLite journal, merge queue) twice over the same kind of
repository: once with agents here (`-j` slots), once over a local Ray cluster of two
worker nodes offering half the slots each. It prints, for each:

- makespan (the coordinator process, start to exit) and the per-task overhead, the time
  a slot is held beyond the agent's sleep: makespan x slots / tasks - sleep;
- the coordinator's CPU time per task (its own and its git children's), the merge
  queue's busy time per merged task and the journal's events per task: the serial costs that set
  how many tasks per second one coordinator can take, whatever the cluster's size.

Then it scales those measured costs to 10,000 tasks over 50 nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import yaml

from raycluster import RAY_AVAILABLE, LocalCluster

_IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.invalid")


def make_project(root: Path, tasks: int, sleep: float) -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "-C", str(root), "init", "-q", "-b", "main"], check=True)
    (root / "README.md").write_text("bench\n")
    subprocess.run(["git", "-C", str(root), "add", "README.md"], check=True)
    subprocess.run(["git", "-C", str(root), *_IDENTITY, "commit", "-q", "-m", "start"],
                   check=True)
    backlog = {"version": 1, "defaults": {"runner": "script", "retries": 0},
               "tasks": [{"id": f"t{i}", "title": f"task {i}",
                          "script": {"sleep": sleep, "files": {f"out/t{i}.txt": f"{i}\n"}}}
                         for i in range(tasks)]}
    (root / "wavefront.yaml").write_text(yaml.safe_dump(backlog, sort_keys=False))
    return root


def run_coordinator(root: Path, slots: int, extra: list[str]) -> dict[str, Any]:
    """One `wavefront run`, timed, with its CPU time read when it is reaped."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "wavefront", "run", "--no-progress", "-j", str(slots), *extra],
        cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    _, status, usage = os.wait4(process.pid, 0)
    makespan = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(f"wavefront run failed ({process.returncode}): "
                         f"{process.stderr.read().decode()[-2000:]}")
    return {"makespan_s": makespan, "cpu_s": usage.ru_utime + usage.ru_stime,
            **journal_costs(root)}


def journal_costs(root: Path) -> dict[str, Any]:
    """The merge queue's busy time per task (the union of the times tasks spent in
    `merging`: batches overlap, so this is the queue's serial cost) and events per task."""
    db = sqlite3.connect(root / ".wavefront" / "journal.db")
    try:
        rows = db.execute("SELECT at, task_id, kind, data FROM events ORDER BY id").fetchall()
        done = db.execute("SELECT COUNT(*) FROM tasks WHERE status = 'done'").fetchone()[0]
    finally:
        db.close()
    merging: dict[str, float] = {}
    spans = []
    for at, task_id, kind, data in rows:
        if kind != "task_status" or task_id is None:
            continue
        status = json.loads(data).get("status")
        if status == "merging":
            merging[task_id] = at
        elif status == "done" and task_id in merging:
            spans.append((merging.pop(task_id), at))
    busy, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return {"done": done, "events_per_task": len(rows) / max(done, 1),
            "merge_s": busy / max(len(spans), 1)}


def summarize(name: str, figures: dict[str, Any], tasks: int, slots: int,
              sleep: float) -> dict[str, Any]:
    overhead = figures["makespan_s"] * slots / tasks - sleep
    row = {"executor": name, "tasks": tasks, "slots": slots, "sleep_s": sleep,
           "makespan_s": round(figures["makespan_s"], 1),
           "ideal_s": round(tasks * sleep / slots, 1),
           "overhead_ms_per_task": round(overhead * 1000),
           "coordinator_cpu_ms_per_task": round(figures["cpu_s"] / tasks * 1000),
           "merge_ms": round(figures["merge_s"] * 1000),
           "events_per_task": round(figures["events_per_task"], 1),
           "done": figures["done"]}
    print(json.dumps(row), flush=True)
    return row


def at_scale(row: dict[str, Any], tasks: int = 10_000, nodes: int = 50,
             slots_per_node: int = 4, agent_s: float = 600.0) -> dict[str, Any]:
    """What one coordinator can take, from the serial costs measured in `row`."""
    cpu = row["coordinator_cpu_ms_per_task"] / 1000
    merge = row["merge_ms"] / 1000
    coordinator_rate = 1 / cpu if cpu else float("inf")
    merge_rate = 1 / merge if merge else float("inf")
    demand = nodes * slots_per_node / agent_s
    limit = min(coordinator_rate, merge_rate)
    rate = min(demand, limit)  # what the run gets: the agents' pace or the coordinator's
    result = {"tasks": tasks, "nodes": nodes, "slots": nodes * slots_per_node,
              "agent_s": agent_s, "demand_tasks_per_s": round(demand, 3),
              "coordinator_cpu_limit_tasks_per_s": round(coordinator_rate, 2),
              "merge_queue_limit_tasks_per_s": round(merge_rate, 2),
              "bound_by": "agents" if demand <= limit else "coordinator",
              "makespan_s": round(tasks / rate),
              "shortest_agent_s_before_saturation": round(nodes * slots_per_node / limit, 1)}
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--sleep", type=float, default=1.0)
    parser.add_argument("--slots", type=int, default=4, help="agents at once (both runs)")
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    if not RAY_AVAILABLE:
        raise SystemExit("Ray is not installed: pip install -e '.[ray]'")
    with tempfile.TemporaryDirectory(prefix="wavefront-bench-ray-") as scratch:
        base = Path(scratch)
        rows = []
        if not args.skip_local:
            local = make_project(base / "local", args.tasks, args.sleep)
            rows.append(summarize("local", run_coordinator(local, args.slots, []),
                                  args.tasks, args.slots, args.sleep))
        cluster = LocalCluster(base / "workers", workers=2, slots=args.slots // 2)
        try:
            remote = make_project(base / "ray", args.tasks, args.sleep)
            figures = run_coordinator(remote, args.slots,
                                      ["--executor", "ray", "--address", cluster.address])
            rows.append(summarize("ray, 2 worker nodes", figures, args.tasks, args.slots,
                                  args.sleep))
        finally:
            cluster.shutdown()
        for row in rows:
            at_scale(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
