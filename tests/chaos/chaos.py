"""The chaos driver: kill `wavefront` with SIGKILL at random moments, resume, and check.

A generated backlog (50 tasks by default: random dependencies, scripted agents with random
durations, some that fail, some that fail their gates, some that crash or fail once and
then succeed) runs in a real git repository. The engine process is killed again and again,
at a random delay or at a chosen phase (dispatch, agent, gate, merge queue, the start of a
run), and resumed each time. When the run completes, every invariant is checked against
git and the journal (`invariants.py`). Rounds repeat with fresh repositories until the
requested number of kills is reached.

    python -m tests.chaos.chaos --short          # about 10 kills (what CI runs)
    python -m tests.chaos.chaos --long           # 200 kills
    python -m tests.chaos.chaos --kills 500 --tasks 80 --seed 7

It prints the kills survived, per phase, and every violated invariant; the exit status is
0 only when every invariant held after every round.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wavefront.words import plural

from .harness import (
    JournalWatch,
    WavefrontProcess,
    git,
    make_repo,
    run_cli,
    status_event,
    wavefront_env,
    write_backlog,
)
from .invariants import check_invariants

# Where a kill lands. "delay" is a random moment; the others wait for the journal (or, in
# the merge queue and at the start, for the git wrapper) to reach the phase.
PHASES: tuple[str, ...] = (
    "delay",
    "delay",
    "dispatch",
    "agent",
    "gate",
    "merging",
    "merge-before",
    "merge-after",
    "start-before",
    "start-after",
)
_WATCHED: dict[str, Callable[[str, str | None, str], bool]] = {
    "dispatch": status_event("running", "dispatched"),
    "agent": lambda kind, task_id, data: kind == "attempt_started",
    "gate": status_event("verifying"),
    "merging": status_event("merging"),
}
# Kills per round before the run is let to finish (each kill loses the work in flight).
MAX_KILLS_PER_ROUND = 30


@dataclass
class Stats:
    kills: int = 0
    rounds: int = 0
    commands: int = 0
    by_phase: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)


def generate_backlog(count: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """`count` scripted tasks and the final status each must reach."""
    tasks: list[dict[str, Any]] = []
    expected: dict[str, str] = {}
    kinds = ["ok"] * 30 + ["gate"] * 6 + ["flaky"] * 3 + ["crash-once"] * 2
    kinds += ["fail", "gate-fail", "no-change"] + ["process"] * 4
    for index in range(count):
        task_id = f"t{index:03d}"
        earlier = [t["id"] for t in tasks[max(0, index - 12) :]]
        depends = sorted(rng.sample(earlier, k=min(len(earlier), rng.choice([0, 0, 1, 1, 2]))))
        kind = rng.choice(kinds)
        script: dict[str, Any] = {
            "sleep": [0.02, rng.choice([0.2, 0.5, 1.0])],
            "seed": rng.randrange(10**6),
            "files": {f"work/{task_id}.txt": f"{task_id} {kind}\n"},
        }
        task: dict[str, Any] = {"id": task_id, "title": f"{kind} task {index}", "script": script}
        if depends:
            task["depends_on"] = depends
        if kind == "gate":
            task["gates"] = [{"kind": "command", "run": f"sleep {rng.choice([0.1, 0.3])}"}]
        elif kind == "gate-fail":
            task["gates"] = [{"kind": "command", "run": "sh -c 'echo no >&2; exit 3'"}]
        elif kind == "flaky":
            script["attempts"] = [{"behaviour": "fail"}, {"behaviour": "ok"}]
        elif kind == "crash-once":
            script["attempts"] = [{"behaviour": "crash"}, {"behaviour": "ok"}]
        elif kind in ("fail", "no-change"):
            script["behaviour"] = kind
        elif kind == "process":
            task["runner"] = "process"  # a real agent process, with a child that lingers
        tasks.append(task)
        if any(expected[d] != "done" for d in depends):
            expected[task_id] = "blocked"  # never runs, whatever it would have done
        elif kind in ("fail", "gate-fail", "no-change"):
            expected[task_id] = "failed"
        else:
            expected[task_id] = "done"
    return tasks, expected


# An agent that is a real process and leaves a `setsid` child behind that writes into its
# workspace later: a kill while it runs must not let that write reach the integration branch.
PROCESS_AGENT = {
    "kind": "command",
    "argv_template": [
        "sh", "-c",
        't=$(basename "$PWD"); mkdir -p work; echo "$t process" > "work/$t.txt";'
        " setsid sh -c 'sleep 3; echo late > late.txt' </dev/null >/dev/null 2>&1 &"
        " sleep 0.3",
        "agent",
    ],
}


def _run_ids(repo: Path) -> list[str]:
    import sqlite3

    path = repo / ".wavefront" / "journal.db"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute("SELECT id FROM runs ORDER BY created_at")]
    except sqlite3.Error:
        return []
    finally:
        db.close()


def _kill_once(
    process: WavefrontProcess, phase: str, chaos_dir: Path, repo: Path, rng: random.Random
) -> str | None:
    """SIGKILL the engine, in `phase` if it gets there; where the kill landed, or None when
    the process ended by itself first."""
    landed = "delay"
    if phase in ("merge-before", "merge-after", "start-before", "start-after"):
        step, _, when = phase.partition("-")
        trigger = chaos_dir / f"kill-{step}-{when}"
        fired = trigger.with_name(trigger.name + ".done")
        fired.unlink(missing_ok=True)
        trigger.write_text("")
        deadline = time.monotonic() + rng.uniform(2.0, 8.0)
        while process.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        trigger.unlink(missing_ok=True)
        if fired.exists():
            landed = phase
    elif phase in _WATCHED:
        watch = JournalWatch(repo)
        watch.new_events()  # only what happens from now on
        if watch.wait_for(_WATCHED[phase], process, timeout=10.0, poll_s=0.005):
            landed = phase
        watch.close()
    else:
        deadline = time.monotonic() + rng.uniform(0.2, 4.0)
        while process.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
    if process.alive():
        process.send(signal.SIGKILL)
    finished = process.wait(120.0)
    return landed if finished.returncode == -signal.SIGKILL else None


def chaos_round(
    workdir: Path,
    tasks_count: int,
    rng: random.Random,
    kills_wanted: int,
    stats: Stats,
    log: Callable[[str], None],
) -> None:
    """One repository, one backlog, killed up to `kills_wanted` times, then completed."""
    repo = make_repo(workdir / "repo")
    chaos_dir = workdir / "chaos"
    env = wavefront_env(chaos_dir)
    tasks, expected = generate_backlog(tasks_count, rng)
    write_backlog(repo, tasks, defaults={"retries": 1}, limits={"max_parallel": 4}, verify="branch",
                  runners={"process": PROCESS_AGENT})
    kills = 0
    while True:
        command: Sequence[str] = (
            ("resume", "--no-progress") if _run_ids(repo) else ("run", "--no-progress")
        )
        process = WavefrontProcess(repo, command, env=env, logs=workdir / "logs")
        stats.commands += 1
        if kills < kills_wanted:
            phase = rng.choice(PHASES)
            if phase.startswith("start-") and command[0] != "run":
                phase = "delay"
            landed = _kill_once(process, phase, chaos_dir, repo, rng)
            if landed is not None:
                kills += 1
                stats.kills += 1
                stats.by_phase[landed] += 1
                continue
        finished = process.wait(600.0)
        if finished.returncode in (0, 1) and "Traceback" not in finished.stderr:
            break
        if "Traceback" in finished.stderr or finished.returncode not in (3, -signal.SIGKILL):
            stats.violations.append(
                f"round {stats.rounds + 1}: `wavefront {command[0]}` "
                f"exited {finished.returncode}: {finished.stderr[-2000:]}"
            )
            return
    run_id = _run_ids(repo)[0]
    problems = check_invariants(repo, run_id, expected)
    merged = git(repo, "ls-tree", "-r", "--name-only", f"wavefront/{run_id}").split()
    problems += [f"a lingering agent's write was merged: {path}" for path in merged
                 if path.endswith("late.txt")]
    cleaned = run_cli(repo, "clean")
    worktrees = git(repo, "worktree", "list").strip().splitlines()
    if cleaned.returncode != 0 or len(worktrees) != 1:
        problems.append(
            f"after `wavefront clean`: exit {cleaned.returncode}, worktrees {worktrees[1:]}"
        )
    stats.rounds += 1
    done = sum(s == "done" for s in expected.values())
    log(
        f"round {stats.rounds}: {kills} kills survived, {done}/{len(expected)} tasks done as "
        f"expected, {len(problems)} invariant violations"
    )
    stats.violations += [f"round {stats.rounds}: {p}" for p in problems]


def run_chaos(
    kills: int,
    tasks_count: int = 50,
    seed: int | None = None,
    workdir: Path | None = None,
    log: Callable[[str], None] = print,
    kills_per_round: int = MAX_KILLS_PER_ROUND,
) -> Stats:
    """Kill and resume runs until `kills` kills are survived (or an invariant breaks)."""
    seed = seed if seed is not None else random.randrange(10**6)
    log(f"chaos: seed {seed}, {kills} kills wanted, {tasks_count} tasks per round")
    rng = random.Random(seed)
    stats = Stats()
    base = Path(tempfile.mkdtemp(prefix="wavefront-chaos-", dir=workdir))
    try:
        while stats.kills < kills and not stats.violations:
            round_dir = base / f"round-{stats.rounds + 1}"
            chaos_round(
                round_dir, tasks_count, rng, min(kills - stats.kills, kills_per_round), stats, log
            )
            if not stats.violations:
                shutil.rmtree(round_dir, ignore_errors=True)
    finally:
        if not stats.violations:
            shutil.rmtree(base, ignore_errors=True)
        else:
            log(f"kept the failing round's repository under {base}")
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos.chaos", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--kills", type=int, help="kills to survive (default 10)")
    parser.add_argument("--short", action="store_true", help="about 10 kills (CI)")
    parser.add_argument("--long", action="store_true", help="200 kills")
    parser.add_argument("--tasks", type=int, default=50, help="tasks per generated backlog")
    parser.add_argument("--seed", type=int, help="random seed (printed, for a replay)")
    parser.add_argument("--workdir", type=Path, help="where the repositories go (default tmp)")
    args = parser.parse_args(argv)
    kills = args.kills or (200 if args.long else 10)
    started = time.monotonic()
    stats = run_chaos(kills, args.tasks, args.seed, args.workdir)
    elapsed = time.monotonic() - started
    phases = ", ".join(f"{phase} {n}" for phase, n in sorted(stats.by_phase.items()))
    print(
        f"kills survived: {stats.kills} in {plural(stats.rounds, 'round')} of "
        f"{plural(args.tasks, 'task')}, "
        f"{stats.commands} wavefront processes, {elapsed:.0f}s ({phases})"
    )
    for violation in stats.violations:
        print(f"VIOLATION {violation}")
    print(
        "every invariant held"
        if not stats.violations
        else f"{len(stats.violations)} invariant violation(s)"
    )
    return 0 if not stats.violations else 1


if __name__ == "__main__":
    sys.exit(main())
