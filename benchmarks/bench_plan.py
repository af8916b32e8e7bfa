"""Load + validate + plan a large generated backlog; report the time and the peak memory.

    python benchmarks/bench_plan.py              # 10,000 tasks, stories and task JSON
    python benchmarks/bench_plan.py --tasks 2000 --profile

Targets: 10,000 tasks planned in under 1 s, peak RSS under 200 MB.
Each form is measured in a fresh interpreter so its peak RSS is its own; the time is the
best of `--repeat` rounds. `--profile` prints where one round spends its time.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.0
TARGET_MB = 200.0
STORIES_PER_EPIC = 50
SUBTASKS_PER_FEATURE = 50

# How many dependencies a task declares: mostly one or two, like the seeds' stories.
DEPENDENCY_COUNTS = (0, 1, 2, 3, 4)
DEPENDENCY_WEIGHTS = (25, 35, 25, 10, 5)

WORDS = (
    "user",
    "account",
    "session",
    "token",
    "cache",
    "index",
    "query",
    "schema",
    "endpoint",
    "handler",
    "worker",
    "queue",
    "event",
    "retry",
    "timeout",
    "config",
    "report",
    "export",
    "import",
    "search",
    "filter",
    "page",
)


def _sentence(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length)).capitalize()


def _dependencies(
    rng: random.Random, earlier_same: list[str], earlier_other: list[str]
) -> list[str]:
    count = rng.choices(DEPENDENCY_COUNTS, DEPENDENCY_WEIGHTS)[0]
    chosen: set[str] = set()
    for _ in range(count):
        # Most dependencies point at earlier work of the same epic, some across epics.
        pool = (
            earlier_same
            if earlier_same and (not earlier_other or rng.random() < 0.7)
            else earlier_other
        )
        if pool:
            chosen.add(rng.choice(pool[-20:] if pool is earlier_same else pool))
    return sorted(chosen)


def generate_stories(root: Path, count: int, seed: int) -> Path:
    """`docs/stories/<epic>.<story>.<slug>.md` files in the seeds' form."""
    rng = random.Random(seed)
    folder = root / "docs" / "stories"
    folder.mkdir(parents=True)
    done: list[str] = []
    for index in range(count):
        epic, story = divmod(index, STORIES_PER_EPIC)
        story_id = f"{epic + 1}.{story + 1}"
        same = [d for d in done[-story:]] if story else []
        deps = _dependencies(rng, same, done[: len(done) - story])
        title = _sentence(rng, 4)
        slug = "-".join(title.lower().split()[:3])
        criteria = "\n".join(f"{n}. {_sentence(rng, 9)}" for n in range(1, 5))
        tasks = "\n".join(f"- [ ] {_sentence(rng, 6)} (AC: {n})" for n in range(1, 4))
        text = (
            f"# Story {story_id}: {title}\n\n"
            f"## Status\n\n{'Done' if rng.random() < 0.1 else 'Draft'}\n\n"
            f"**Dependencies**: {', '.join(deps) if deps else 'None'}\n\n"
            f"## Story\n\n**As a** user,\n**I want** {_sentence(rng, 8).lower()},\n"
            f"**so that** {_sentence(rng, 8).lower()}.\n\n"
            f"## Acceptance Criteria\n\n{criteria}\n\n"
            f"## Tasks / Subtasks\n\n{tasks}\n\n"
            f"## Dev Notes\n\n{_sentence(rng, 40)}.\n\n"
            f"Files: `src/{slug.replace('-', '_')}.py`, "
            f"`tests/test_{story_id.replace('.', '_')}.py`\n"
        )
        (folder / f"{story_id}.{slug}.md").write_text(text, encoding="utf-8")
        done.append(story_id)
    return folder


def generate_taskjson(root: Path, count: int, seed: int) -> Path:
    """`.tmp/tasks/<feature>/task.json` + `subtask_NN.json` (dependencies stay in a feature)."""
    rng = random.Random(seed)
    base = root / ".tmp" / "tasks"
    features = (count + SUBTASKS_PER_FEATURE - 1) // SUBTASKS_PER_FEATURE
    made = 0
    for number in range(features):
        feature = f"feature-{number + 1:04d}"
        folder = base / feature
        folder.mkdir(parents=True)
        size = min(SUBTASKS_PER_FEATURE, count - made)
        (folder / "task.json").write_text(
            json.dumps(
                {
                    "id": feature,
                    "name": _sentence(rng, 3),
                    "status": "active",
                    "objective": _sentence(rng, 12),
                    "context_files": [".opencode/context/core/standards/code-quality.md"],
                    "exit_criteria": [_sentence(rng, 6), _sentence(rng, 6)],
                    "subtask_count": size,
                    "created_at": "2025-01-12T14:00:00Z",
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        seqs: list[str] = []
        for position in range(size):
            seq = f"{position + 1:02d}"
            deps = _dependencies(rng, seqs, [])
            subtask = {
                "id": f"{feature}-{seq}",
                "seq": seq,
                "title": _sentence(rng, 5),
                "status": "completed" if rng.random() < 0.1 else "pending",
                "depends_on": deps,
                "parallel": rng.random() < 0.8,
                "suggested_agent": rng.choice(
                    ["CoderAgent", "TestEngineer", "OpenFrontendSpecialist"]
                ),
                "acceptance_criteria": [_sentence(rng, 7) for _ in range(3)],
                "deliverables": [f"src/{feature}/{seq}.ts", f"src/{feature}/{seq}.test.ts"],
                "reference_files": [f"src/{feature}/index.ts"],
            }
            (folder / f"subtask_{seq}.json").write_text(
                json.dumps(subtask, indent=2), encoding="utf-8"
            )
            seqs.append(seq)
        made += size
    return base


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure(path: Path, backlog_format: str, repeat: int, profile: bool) -> dict[str, float]:
    """Best-of-`repeat` seconds for load, plan (validate included) and both; peak RSS."""
    from wavefront.backlog import load_backlog
    from wavefront.plan.graph import Plan, PlanOptions

    options = PlanOptions(out_of_scope="error")
    best = {"load": float("inf"), "plan": float("inf"), "total": float("inf")}
    tasks = waves = 0
    for _ in range(repeat):
        start = time.perf_counter()
        backlog = load_backlog(path, format=backlog_format)
        loaded = time.perf_counter()
        plan = Plan.build(backlog.tasks, (), options)
        planned = time.perf_counter()
        best["load"] = min(best["load"], loaded - start)
        best["plan"] = min(best["plan"], planned - loaded)
        best["total"] = min(best["total"], planned - start)
        tasks, waves = len(plan.tasks), len(plan.waves)
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        Plan.build(load_backlog(path, format=backlog_format).tasks, (), options)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    return {**best, "peak_mb": _peak_mb(), "tasks": tasks, "waves": waves}


def _measure_in_child(
    path: Path, backlog_format: str, repeat: int, profile: bool
) -> dict[str, float]:
    command = [sys.executable, __file__, "--measure", str(path), "--format", backlog_format]
    command += ["--repeat", str(repeat)] + (["--profile"] if profile else [])
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks", type=int, default=10_000, help="tasks to generate (default 10000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--forms", default="stories,taskjson", help="comma list of forms to run")
    parser.add_argument("--keep", type=Path, help="generate here and keep it (default: a temp dir)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one round")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, args.format, args.repeat, args.profile)))
        return

    generators = {"stories": generate_stories, "taskjson": generate_taskjson}
    forms = [form.strip() for form in args.forms.split(",") if form.strip()]
    with tempfile.TemporaryDirectory(prefix="wavefront-bench-") as scratch:
        root = args.keep or Path(scratch)
        rows = []
        for form in forms:
            path = generators[form](root / form, args.tasks, args.seed)
            figures = _measure_in_child(path, form, args.repeat, args.profile)
            rows.append((form, figures))

    print(f"wavefront plan benchmark: {args.tasks} tasks, best of {args.repeat}")
    columns = ("tasks", "waves", "load s", "plan s", "total s", "peak MB")
    header = f"{'form':<10} " + " ".join(f"{c:>8}" for c in columns) + "  verdict"
    print(header)
    print("-" * len(header))
    for form, f in rows:
        ok = f["total"] < TARGET_SECONDS and f["peak_mb"] < TARGET_MB
        verdict = "ok" if ok else f"over target ({TARGET_SECONDS:g} s, {TARGET_MB:g} MB)"
        print(
            f"{form:<10} {int(f['tasks']):>8} {int(f['waves']):>8} {f['load']:>8.3f} "
            f"{f['plan']:>8.3f} {f['total']:>8.3f} {f['peak_mb']:>8.1f}  {verdict}"
        )


if __name__ == "__main__":
    main()
