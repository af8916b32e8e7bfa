"""A person's decisions on a run's tasks: `approve`, `reject`, `answer`, and `complete` for
a task JSON subtask done by hand. Each works while the run goes on."""

from __future__ import annotations

from pathlib import Path

import click

from wavefront.cli.group import wavefront
from wavefront.cli.options import root_option, run_option

__all__: list[str] = []


def _record_decision(task_id: str, decision: str, note: str, root: Path,
                     run_id: str | None) -> None:
    from wavefront.runs import record_decision

    run = record_decision(root, task_id, decision, note, run_id)
    what = {"approve": "approval", "change": "change request",
            "reject": "rejection"}[decision]
    click.echo(f"{what} recorded for {task_id} in run {run}; the run applies it "
               "(or `wavefront resume` does, if it is not running)")


@wavefront.command()
@click.argument("task_id", metavar="ID")
@click.option("--note", default="", help="Why (kept in the journal and report).")
@root_option
@run_option
def approve(task_id: str, note: str, root: Path, run_id: str | None) -> None:
    """Approve a task waiting for a person; works while the run goes on."""
    _record_decision(task_id, "approve", note, root, run_id)


@wavefront.command()
@click.argument("task_id", metavar="ID")
@click.option("--note", default="",
              help="What to change: sent back to the task's agent for another round.")
@click.option("--fail", "fail_task", is_flag=True,
              help="Fail the task instead of asking for a change (--note is the reason).")
@root_option
@run_option
def reject(task_id: str, note: str, fail_task: bool, root: Path, run_id: str | None) -> None:
    """Reject a task waiting for a person: its agent gets your --note as a change request,
    or with --fail the task fails."""
    if not fail_task and not note.strip():
        raise click.UsageError("say what to change with --note \"...\", or fail the task "
                               "with --fail")
    _record_decision(task_id, "reject" if fail_task else "change", note, root, run_id)


@wavefront.command()
@click.argument("feature")
@click.argument("seq")
@click.argument("summary")
@root_option
def complete(feature: str, seq: str, summary: str, root: Path) -> None:
    """Mark subtask SEQ of task JSON feature FEATURE completed, with SUMMARY (in
    .tmp/tasks/FEATURE/, in your working tree)."""
    from wavefront.runs import complete_subtask

    written = complete_subtask(root, feature, seq, summary)
    click.echo(f"{feature} {seq.zfill(2)} completed; wrote "
               + ", ".join(str(path.relative_to(root.resolve())) for path in written))


@wavefront.command()
@click.argument("task_id", metavar="ID")
@click.argument("text", metavar="ANSWER")
@root_option
@run_option
def answer(task_id: str, text: str, root: Path, run_id: str | None) -> None:
    """Answer the question a task's agent asked; it goes on with your answer."""
    from wavefront.runs import answer_question

    run = answer_question(root, task_id, text, run_id)
    click.echo(f"answer recorded for {task_id} in run {run}; the run passes it to the agent "
               "(or `wavefront resume` does, if it is not running)")
