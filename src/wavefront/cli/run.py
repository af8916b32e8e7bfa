"""The commands that run work: run, resume, status, retry, approve, reject, answer, cancel,
clean, log, report and demo. Registered on the `wavefront` group in `cli.py`; each calls
`wavefront.runs` (or `report`, `demo`) and turns the outcome into output and an exit code.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wavefront.cli.group import wavefront
from wavefront.cli.options import (
    backlog_options,
    load_and_plan_from_options,
    plan_options,
    root_option,
    run_option,
)
from wavefront.words import plural

if TYPE_CHECKING:  # the command modules import the engine only when they run
    pass

__all__: list[str] = []


def _progress_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--no-progress", is_flag=True,
                        help="Print one line per event instead of the live view "
                             "(the default when stderr is not a terminal).")(function)


def _executor_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--address", metavar="HOST:PORT",
        help="The Ray cluster's head, for --executor ray (default: $RAY_ADDRESS).")(function)
    return click.option(
        "--executor", type=click.Choice(["local", "ray"]), default=None,
        help="Where agents run: on this machine (local, the default) or spread over a "
             "Ray cluster (ray; needs wavefront[ray]).")(function)


def _reporter(no_progress: bool) -> Any:
    from wavefront.report.progress import LineProgress, LiveProgress

    if no_progress or not sys.stderr.isatty():
        return lambda journal, run_id: LineProgress(journal, run_id)
    return lambda journal, run_id: LiveProgress(journal, run_id)


def _start_reaping() -> None:
    """This process starts agents: orphans of theirs become its children (Linux), so that
    `_finish` can kill what escaped their tags."""
    from wavefront.lifetime import become_subreaper

    become_subreaper()


def _finish(root: Path, result: Any) -> None:
    """Print the completion summary and exit with the run's code."""
    from rich.console import Console

    from wavefront.lifetime import kill_orphans

    kill_orphans()  # what escaped the agents' tags and came to us as orphans

    from wavefront.report.summary import render_summary, summarize
    from wavefront.runs import open_journal, resolve_run

    with open_journal(root, create=False) as journal:
        summary = summarize(journal, resolve_run(journal, result.run_id))
    console = Console(highlight=False, soft_wrap=True)
    if result.stop.reason == "nothing to resume":
        console.print(f"run {result.run_id} has finished: nothing to resume "
                      "(`wavefront retry ID` runs a task of it again)")
    console.print()
    console.print(render_summary(summary))
    if result.stop.state not in ("finished",):
        console.print(f"\nRun {result.run_id} stopped ({result.stop.reason or result.stop.state})"
                      f"; continue it with `wavefront resume`.")
    sys.exit(result.exit_code)


def _pairs(values: tuple[str, ...], option: str) -> dict[str, int]:
    limits: dict[str, int] = {}
    for value in values:
        name, _, number = value.partition("=")
        if not name or not number.isdigit() or int(number) < 1:
            raise click.BadParameter(f"expected NAME=N with N >= 1, got {value!r}",
                                     param_hint=option)
        limits[name] = int(number)
    return limits


@wavefront.command()
@backlog_options
@plan_options
@click.option("--runner", metavar="NAME",
              help="Runner for tasks that do not name one: claude, codex, gemini, opencode, "
                   "aider, qwen, cursor, goose, command or script (default: "
                   "wavefront.yaml).")
@click.option("-j", "--max-parallel", type=click.IntRange(min=1), metavar="N",
              help="Agents at work at once (default: wavefront.yaml limits, else 4, "
                   "or the number of CPU cores when fewer).")
@click.option("--per-runner", multiple=True, metavar="NAME=N",
              help="At most N agents of one runner at once (repeatable), e.g. claude=3.")
@click.option("--strategy", type=click.Choice(["dependency", "waves"]), default="dependency",
              show_default=True,
              help="dependency: start a task the moment its dependencies are merged; "
                   "waves: finish each wave before the next starts.")
@click.option("--retries", type=click.IntRange(min=0), metavar="N",
              help="Retries per task after a failed attempt (with backoff).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Time limit of one agent attempt.")
@click.option("--verify", type=click.Choice(["merged", "branch", "none"]),
              help="Where command gates run: on the merged tree before publishing (merged), "
                   "on the task branch only (branch), or not at all.")
@click.option("--budget-usd", type=click.FloatRange(min=0, min_open=True), metavar="USD",
              help="Stop dispatching once the run has spent this much; the run stays resumable.")
@click.option("--include-done", is_flag=True,
              help="Also run tasks the backlog files already mark as done.")
@click.option("--wait-for-approval", is_flag=True,
              help="Keep the run open while tasks wait for `wavefront approve`.")
@click.option("--outside-writes", type=click.Choice(["fail", "warn"]), default="fail",
              show_default=True,
              help="A change to your checkout while an agent works: fail that attempt, or "
                   "only warn (if you keep editing your checkout during the run).")
@click.option("--sandbox", type=click.Choice(["none", "checkout", "bwrap", "auto"]),
              default=None,
              help="Run agents in bubblewrap: checkout (your repository read-only), bwrap "
                   "(all but their workspace read-only; auto: where it works) or none. "
                   "Default: `sandbox` in wavefront.yaml, else checkout where bubblewrap "
                   "works.")
@click.option("--sandbox-network/--no-sandbox-network", default=None,
              help="Whether agents in the sandbox may use the network (default: "
                   "`sandbox_network` in wavefront.yaml, else yes).")
@click.option("--run-id", metavar="ID", help="Name the run (default: date, time and a tag).")
@_executor_options
@_progress_option
def run(runner: str | None, max_parallel: int | None, per_runner: tuple[str, ...],
        strategy: str, retries: int | None, timeout: float | None, verify: str | None,
        budget_usd: float | None, include_done: bool, wait_for_approval: bool,
        outside_writes: str, sandbox: str | None, sandbox_network: bool | None,
        run_id: str | None, executor: str | None, address: str | None, no_progress: bool,
        **params: Any) -> None:
    """Run the backlog (or the scope in ARGS) through agents, each in a repository of its own.

    Every task works in a repository of its own, made from the integration branch
    `wavefront/<run>`; finished work that passed its gates is merged there one task at a
    time. Exit codes: 0 all done, 1 some failed or blocked, 2 bad input, 3 interrupted
    or paused (continue with `wavefront resume`).
    """
    _start_reaping()
    from wavefront.runs import RunOptions, start_run

    loaded = load_and_plan_from_options(params)
    options = RunOptions(
        run_id=run_id, runner=runner, max_parallel=max_parallel,
        per_runner=_pairs(per_runner, "--per-runner"), strategy=strategy, retries=retries,
        timeout_s=timeout, verify=verify, budget_usd=budget_usd, include_done=include_done,
        wait_for_humans=wait_for_approval, outside_writes=outside_writes, sandbox=sandbox,
        sandbox_network=sandbox_network, executor=executor or "local", ray_address=address)
    root: Path = params["root"]
    result = start_run(root, loaded.backlog, loaded.plan, options,
                       reporter=_reporter(no_progress))
    _finish(root, result)


@wavefront.command()
@click.argument("run_id", required=False, metavar="[RUN]")
@root_option
@click.option("--budget-usd", type=click.FloatRange(min=0, min_open=True), metavar="USD",
              help="A new spending limit for the run (e.g. after it stopped at its budget).")
@_executor_options
@_progress_option
def resume(run_id: str | None, root: Path, budget_usd: float | None, executor: str | None,
           address: str | None, no_progress: bool) -> None:
    """Continue a run after Ctrl-C, a crash or a reboot (default: the latest run).

    The journal is first reconciled with git: a merge published before the crash is
    recorded, unfinished attempts are discarded and run again, stray worktrees removed.
    A run keeps its executor unless --executor says otherwise.
    """
    _start_reaping()
    from wavefront.runs import resume_run

    _finish(root, resume_run(root, run_id, reporter=_reporter(no_progress),
                             budget_usd=budget_usd, executor=executor,
                             ray_address=address))


@wavefront.command()
@click.argument("task_ids", nargs=-1, required=True, metavar="ID...")
@root_option
@run_option
@click.option("--no-run", is_flag=True, help="Only mark the tasks; run them later with resume.")
@_progress_option
def retry(task_ids: tuple[str, ...], root: Path, run_id: str | None, no_run: bool,
          no_progress: bool) -> None:
    """Run failed, conflicting or blocked tasks again and release the tasks they blocked."""
    _start_reaping()
    from wavefront.runs import resume_run, retry_tasks

    released = retry_tasks(root, task_ids, run_id)
    click.echo(f"queued again: {', '.join(released)}", err=True)
    if not no_run:
        _finish(root, resume_run(root, run_id, reporter=_reporter(no_progress)))


@wavefront.command()
@click.argument("run_id", required=False, metavar="[RUN]")
@root_option
def cancel(run_id: str | None, root: Path) -> None:
    """Stop the active run (as Ctrl-C would) and mark its unfinished tasks cancelled."""
    from wavefront.runs import cancel_run

    pid, cancelled = cancel_run(root, run_id, stop=lambda pid: os.kill(pid, signal.SIGTERM))
    if pid:
        click.echo(f"sent stop to the running wavefront process {pid}", err=True)
    if cancelled:
        click.echo(f"cancelled {plural(len(cancelled), 'unfinished task')} "
                   f"({', '.join(cancelled[:6])}{', ...' if len(cancelled) > 6 else ''}); "
                   "they will not run on resume (`wavefront retry ID` runs one again)",
                   err=True)
    else:
        click.echo("no unfinished task to cancel", err=True)


@wavefront.command()
@root_option
def clean(root: Path) -> None:
    """Remove the kept worktrees, those kept for reuse and the task branches of runs
    (integration branches stay)."""
    from wavefront.runs import clean as clean_runs

    removed = clean_runs(root)
    click.echo(f"removed {plural(len(removed), 'worktree')} and the task branches of "
               "finished runs")


@wavefront.command()
@click.argument("run_id", required=False, metavar="[RUN]")
@root_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the report (default: .wavefront/report.md).")
def report(run_id: str | None, root: Path, output: Path | None) -> None:
    """Write report.md for a run: per task status, agent, attempts, gates, review findings,
    deviations, cost and time, plus the run's totals."""
    from wavefront.report.markdown import write_report
    from wavefront.runs import STATE_DIR, open_journal, resolve_run

    # Under .wavefront/ unless asked: a file in the checkout would look like an agent's write.
    with open_journal(root, create=False) as journal:
        path = write_report(journal, resolve_run(journal, run_id),
                            output or root / STATE_DIR / "report.md")
    click.echo(f"wrote {path}")


@wavefront.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Create the demo repository here and keep it (default: a temporary one).")
@click.option("--workflow", type=click.Choice(["standard"]),
              help="Run the example through a workflow template instead: phases behind "
                   "gates, fanning out over the stories its requirements phase writes.")
@_executor_options
@_progress_option
def demo(directory: Path | None, workflow: str | None, executor: str | None,
         address: str | None, no_progress: bool) -> None:
    """Run the bundled example project end to end with scripted agents (no model needed):
    stories in parallel workspaces, a test gate, a review round, the merge queue."""
    _start_reaping()
    from wavefront.backlog.load import load_and_plan
    from wavefront.demo import prepare_demo
    from wavefront.runs import RunOptions, start_run

    project = prepare_demo(directory, workflow)
    click.echo(f"demo repository: {project.root}", err=True)
    loaded = load_and_plan([], root=project.root)
    options = RunOptions(runner_settings={"script": {"solutions_dir": str(project.solutions_dir)}},
                         executor=executor or "local", ray_address=address)
    result = start_run(project.root, loaded.backlog, loaded.plan, options,
                       reporter=_reporter(no_progress))
    click.echo(f"\nLook around: cd {project.root} && git log --graph --oneline {result.branch}",
               err=True)
    _finish(project.root, result)


@wavefront.command()
@click.argument("task_id", metavar="ID")
@backlog_options
@plan_options
@click.option("--runner", metavar="NAME", help="Show the prompt as this runner would get it.")
def prompt(task_id: str, runner: str | None, **params: Any) -> None:
    """Print the exact prompt task ID would get, before any money is spent."""
    from wavefront.runs import preview_prompt

    loaded = load_and_plan_from_options(params)
    click.echo(preview_prompt(params["root"], loaded.backlog, loaded.plan, task_id, runner))


@wavefront.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@_executor_options
def doctor(as_json: bool, executor: str | None, address: str | None) -> None:
    """Which agent CLIs are installed, their versions, whether they look authenticated,
    and which runner uses each; with --executor ray, the cluster's nodes instead: their
    resources and which agent CLIs each node has."""
    from dataclasses import asdict

    if executor == "ray":
        from wavefront.doctor import check_cluster
        from wavefront.runs.settings import executor_settings

        chosen = executor_settings("ray", address)["ray_address"]
        click.echo(check_cluster(chosen, as_json))
        return

    from wavefront.config import load_config
    from wavefront.doctor import check_agents, check_sandbox, format_checks, format_sandbox

    # The settings of the project here, if any: a base_url or api_key_env changes what
    # "ready" means, and `sandbox` whether runs here use it.
    config_file = Path("wavefront.yaml")
    config = load_config(config_file) if config_file.is_file() else None
    checks = check_agents(settings=config.runners if config else {})
    sandbox = check_sandbox(config.sandbox, config.sandbox_network) if config else (
        check_sandbox())
    if as_json:
        click.echo(json.dumps({"agents": [asdict(c) for c in checks],
                               "sandbox": asdict(sandbox)},
                              indent=2, default=str))
    else:
        click.echo(format_checks(checks))
        click.echo(format_sandbox(sandbox))
