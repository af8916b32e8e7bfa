"""Looking into recorded runs: `runs` (every run of this repository), `status` (each task
of a run), `show ID` (one task: what it is, where it stands, its attempts, gates and files)
and `log ID` (an attempt's log). They read the journal."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wavefront.cli.group import wavefront
from wavefront.cli.options import root_option, run_option
from wavefront.words import plural

if TYPE_CHECKING:  # the journal is imported only when a command runs
    from wavefront.journal.database import TaskRecord

__all__: list[str] = []


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


@wavefront.command()
@root_option
def runs(root: Path) -> None:
    """List the runs recorded in this repository, newest first."""
    from wavefront.runs import STATE_DIR, open_journal

    rows = []
    on_branches = False
    if not (root / STATE_DIR / "journal.db").is_file():  # nothing to list, nothing to make
        click.echo("no runs yet in this repository (`wavefront run` starts one)", err=True)
        return
    with open_journal(root, create=False) as journal:
        for run in sorted(journal.runs(), key=lambda r: r.created_at, reverse=True):
            tasks = journal.tasks(run.id)
            done = sum(1 for t in tasks if t.status.value == "done")
            took = (run.finished_at or time.time()) - run.created_at
            rows.append((run.id, run.state, _when(run.created_at), _duration(took),
                         f"{done}/{len(tasks)} done"))
            on_branches = on_branches or bool(run.branch)
    if not rows:
        click.echo("no runs yet in this repository (`wavefront run` starts one)", err=True)
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                   .rstrip())
    if on_branches:  # said once rather than on each line, which it would take past 80
        click.echo("each run's work is on the branch wavefront/<run>", err=True)


@wavefront.command()
@click.argument("task_id", metavar="ID")
@root_option
@click.option("--run", "run_id", metavar="RUN", help="Which run (default: the latest).")
def show(task_id: str, root: Path, run_id: str | None) -> None:
    """What a task is and where it stands: state, attempts, gates, files, worktree."""
    from wavefront.errors import WavefrontError
    from wavefront.journal.kinds import AttemptKind
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
    reviews = sum(attempt.kind == AttemptKind.REVIEW for attempt in attempts)
    counted = plural(len(attempts) - reviews, "attempt")
    lines.append(f"{counted} and {plural(reviews, 'review')}:" if reviews else f"{counted}:")
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


@wavefront.command()
@click.argument("run_id", required=False, metavar="[RUN|FEATURE]")
@root_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--orchestration-dir", type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR",
              help="Also write state files for other tools (story-<id>.json and "
                   "orchestration-state.json) into DIR, e.g. .agent-orchestration.")
def status(run_id: str | None, root: Path, as_json: bool, orchestration_dir: Path | None
           ) -> None:
    """Each task's state, reason, attempts and cost in a run.

    RUN may also be a task JSON feature's name (`wavefront status auth`): its tasks in
    the latest run, or, before any run took them, their statuses as its files say.
    """
    from rich.console import Console

    from wavefront.backlog.taskcli import feature_folder
    from wavefront.report.statefiles import status_json, write_orchestration_dir
    from wavefront.report.summary import render_status, summarize
    from wavefront.runs import STATE_DIR, open_journal, resolve_run

    folder = feature_folder(root, run_id) if run_id else None
    if folder is not None and not (root / STATE_DIR / "journal.db").is_file():
        _feature_status(root, folder, as_json)  # no run yet: what its files say
        return
    with open_journal(root, create=False) as journal:
        only = None
        if folder is not None and journal.get_run(run_id or "") is None:
            run_id = None
            inside = folder.resolve()

            def only(record: TaskRecord) -> bool:
                return Path(record.task.source.path).resolve().parent == inside

            latest = journal.latest_run()
            if latest is None or not any(only(r) for r in journal.tasks(latest.id)):
                _feature_status(root, folder, as_json)
                return
        summary = summarize(journal, resolve_run(journal, run_id), only)
        if orchestration_dir is not None:
            write_orchestration_dir(journal, summary, orchestration_dir)
    if as_json:
        click.echo(json.dumps(status_json(summary), indent=2, ensure_ascii=False))
    else:
        console = Console(highlight=False)
        console.print(render_status(summary, width=console.width))


def _feature_status(root: Path, folder: Path, as_json: bool) -> None:
    """A feature no run has taken yet: its subtasks as its files say."""
    from wavefront.backlog.load import load_and_plan

    loaded = load_and_plan(paths=[folder], root=root, integrated=True)
    rows = [{"id": t.id, "title": t.title, "status": t.status_text or t.status.value}
            for t in loaded.plan.tasks]
    if as_json:
        click.echo(json.dumps({"feature": folder.name, "tasks": rows}, indent=2,
                              ensure_ascii=False))
        return
    done = sum(1 for t in loaded.plan.tasks if t.id in loaded.plan.done_in_files)
    click.echo(f"feature {folder.name}: {done} of {plural(len(rows), 'task')} done "
               "(no run has taken it yet)")
    for row in rows:
        click.echo(f"  {row['id']:<14} {row['status']:<12} {row['title']}")


@wavefront.command()
@click.argument("task_id", metavar="ID")
@root_option
@run_option
@click.option("--attempt", type=int, metavar="N",
              help="Which attempt, numbered as `wavefront show ID` lists them (default: the "
                   "last).")
@click.option("--gates", is_flag=True,
              help="Also print the workspace setup and the attempt's gate logs.")
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing what is written until the attempt ends.")
def log(task_id: str, root: Path, run_id: str | None, attempt: int | None, gates: bool,
        follow: bool) -> None:
    """Print the agent log of a task's attempt (and with --gates, its setup and gate logs)."""
    from wavefront.errors import WavefrontError
    from wavefront.runs import open_journal, resolve_run

    with open_journal(root, create=False) as journal:
        run = resolve_run(journal, run_id)
        attempts = journal.attempts(run.id, task_id)
    if not attempts:
        raise WavefrontError(f"task {task_id!r} has no attempts in run {run.id}")
    numbered = [a for a in attempts if a.number == attempt] if attempt is not None else attempts
    chosen = next((a for a in reversed(numbered) if a.kind == "agent"), None) or (
        numbered[-1] if numbered else None)
    if chosen is None or not chosen.log_path or not Path(chosen.log_path).exists():
        known = ", ".join(str(a.number) for a in attempts)
        raise WavefrontError(f"no log for attempt {attempt} of {task_id} (attempts: {known})")
    log_path = Path(chosen.log_path)
    click.echo(f"# {task_id} attempt {chosen.number} ({chosen.kind}, {chosen.state}): "
               f"{log_path}", err=True)
    if gates:
        setup = log_path.parent / "setup.log"
        others = [setup] if setup.is_file() else []
        others += sorted(log_path.parent.glob(f"gate-*-{chosen.number}.log"))
        for path in others:
            click.echo(f"# {path.name}", err=True)
            click.echo(path.read_text(encoding="utf-8", errors="replace"), nl=False)
        click.echo(f"# {log_path.name}", err=True)
    offset = _print_from(log_path, 0)
    while follow:
        with open_journal(root, create=False) as journal:
            current = next((a for a in journal.attempts(run.id, task_id) if a.id == chosen.id),
                           chosen)
        offset = _print_from(log_path, offset)
        if current.finished_at is not None:
            _print_from(log_path, offset)
            break
        time.sleep(0.5)


def _print_from(path: Path, offset: int) -> int:
    """Print `path` from byte `offset` on; the new offset."""
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    if data:
        click.echo(data.decode("utf-8", errors="replace"), nl=False)
    return offset + len(data)
