"""Looking into recorded runs: `runs` (every run of this repository) and `show ID` (one
task: what it is, where it stands, its attempts, gates and files). They read the journal."""

from __future__ import annotations

import time
from pathlib import Path

import click

from wavefront.cli.group import wavefront
from wavefront.words import plural


def _root_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option("-C", "--dir", "root", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("."), show_default="current directory",
                        help="Repository root.")(function)


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


@wavefront.command()
@_root_option
def runs(root: Path) -> None:
    """List the runs recorded in this repository, newest first."""
    from wavefront.runs import STATE_DIR, open_journal

    rows = []
    if not (root / STATE_DIR / "journal.db").is_file():  # nothing to list, nothing to make
        click.echo("no runs yet in this repository (`wavefront run` starts one)", err=True)
        return
    with open_journal(root, create=False) as journal:
        for run in sorted(journal.runs(), key=lambda r: r.created_at, reverse=True):
            tasks = journal.tasks(run.id)
            done = sum(1 for t in tasks if t.status.value == "done")
            took = (run.finished_at or time.time()) - run.created_at
            rows.append((run.id, run.state, _when(run.created_at), _duration(took),
                         f"{done}/{len(tasks)} done", run.branch))
    if not rows:
        click.echo("no runs yet in this repository (`wavefront run` starts one)", err=True)
        return
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[5]]).rstrip())


@wavefront.command()
@click.argument("task_id", metavar="ID")
@_root_option
@click.option("--run", "run_id", metavar="RUN", help="Which run (default: the latest).")
def show(task_id: str, root: Path, run_id: str | None) -> None:
    """What a task is and where it stands: state, attempts, gates, files, worktree."""
    from wavefront.errors import WavefrontError
    from wavefront.runs import open_journal, resolve_run

    with open_journal(root, create=False) as journal:
        run = resolve_run(journal, run_id)
        record = journal.task(run.id, task_id)
        if record is None:
            known = ", ".join(t.task_id for t in journal.tasks(run.id)[:8])
            raise WavefrontError(f"no task {task_id!r} in run {run.id} (tasks: {known}, ...)")
        attempts = journal.attempts(run.id, task_id)
        gates = {a.id: journal.gate_results(a.id) for a in attempts}
    task = record.task
    lines = [f"{task.id}: {task.title}", f"  from       {task.source}"]
    lines.append(f"  state      {record.status.value}" + (f" — {record.reason}"
                                                         if record.reason else ""))
    lines.append(f"  agent      {record.agent or '-'} (runner {record.runner or '-'})")
    if task.dependencies:
        lines.append(f"  depends on {', '.join(task.dependencies)}")
    if task.files:
        lines.append(f"  files      {', '.join(task.files)}")
    if record.merge_commit:
        lines.append(f"  merged as  {record.merge_commit[:12]} on {run.branch}")
    lines.append(f"  run        {run.id}")
    lines.append(f"{plural(len(attempts), 'attempt')}:")
    for attempt in attempts:
        cost = f", ${attempt.cost_usd:.2f}" if attempt.cost_usd else ""
        lines.append(f"  {attempt.number} {attempt.kind:<8} {attempt.state:<9} "
                     f"{_duration(attempt.duration_s)}{cost}"
                     + (f" — {attempt.reason}" if attempt.reason else ""))
        for result in gates[attempt.id]:
            mark = "passed" if result.passed else "FAILED"
            lines.append(f"      gate {result.gate}: {mark} — {result.summary}")
        if attempt.log_path:
            lines.append(f"      log       {attempt.log_path}")
        if attempt.workspace:
            kept = "" if Path(attempt.workspace).exists() else " (removed)"
            lines.append(f"      worktree  {attempt.workspace}{kept}")
    click.echo("\n".join(lines))
