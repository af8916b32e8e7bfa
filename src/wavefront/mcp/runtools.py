"""The run and decision tools: runs, their status and logs, starting and stopping one, and
a person's decisions, each over `wavefront.runs` as the CLI's commands are."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wavefront import runs
from wavefront.errors import WavefrontError
from wavefront.workspace.runlock import RunLock

__all__ = ["answer", "approve", "cancel_run", "list_runs", "reject", "retry", "run_status",
           "start_run", "task_log"]

# A tail longer than this floods an agent's context; `wavefront log` prints the whole log.
MAX_LOG_LINES = 2000


def list_runs(root: Path) -> list[dict[str, Any]]:
    """The runs of the repository, newest last."""
    if not (root / runs.STATE_DIR / "journal.db").is_file():
        return []
    with runs.open_journal(root) as journal:
        return [{"id": run.id, "state": run.state, "branch": run.branch,
                 "created_at": run.created_at} for run in journal.runs()]


def run_status(root: Path, run_id: str | None = None) -> dict[str, Any]:
    """What `wavefront status --json` prints: each task's state, reason, attempts, cost."""
    from wavefront.report.statefiles import status_json
    from wavefront.report.summary import summarize

    with runs.open_journal(root, create=False) as journal:
        run = runs.resolve_run(journal, run_id)
        data = status_json(summarize(journal, run))
        data["questions"] = {record.task_id: question for record in journal.tasks(run.id)
                             if (question := runs.open_question(journal, run.id,
                                                                record.task_id))}
    return data


def task_log(root: Path, task_id: str, run_id: str | None = None, lines: int = 80,
             attempt: int | None = None) -> str:
    """The last `lines` lines of the agent log of a task's attempt (default: the last)."""
    if not 1 <= lines <= MAX_LOG_LINES:
        raise WavefrontError(f"lines must be between 1 and {MAX_LOG_LINES}, not {lines}")
    with runs.open_journal(root, create=False) as journal:
        run = runs.resolve_run(journal, run_id)
        attempts = journal.attempts(run.id, task_id)
    # The same messages as `wavefront log`.
    if not attempts:
        raise WavefrontError(f"task {task_id!r} has no attempts in run {run.id}")
    chosen = attempts[-1] if attempt is None else next(
        (a for a in attempts if a.number == attempt and a.kind == "agent"), None)
    if chosen is None or not chosen.log_path or not Path(chosen.log_path).exists():
        raise WavefrontError(f"no log for attempt {attempt} of {task_id}")
    text = Path(chosen.log_path).read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def start_run(root: Path, scope: str | None = None, runner: str | None = None,
              max_parallel: int | None = None, budget_usd: float | None = None,
              run_id: str | None = None) -> dict[str, Any]:
    """Start `wavefront run` as a process of its own and return at once with its run id;
    its output goes to `.wavefront/logs/<run>/wavefront.log`."""
    lock = RunLock(root / runs.STATE_DIR)
    holder = lock.holder()
    if holder is not None:
        raise WavefrontError(f"a run is already active in {root} (process {holder}); "
                             "watch it with run_status or stop it with cancel_run")
    if max_parallel is not None and max_parallel < 1:
        raise WavefrontError(f"max_parallel must be at least 1, not {max_parallel}")
    if budget_usd is not None and budget_usd <= 0:
        raise WavefrontError(f"budget_usd must be more than 0, not {budget_usd}")
    # Checked here, so a bad scope or backlog is this call's error, not a dead process.
    from wavefront.mcp.planning import plan as plan_of

    plan_of(root, scope)
    run_id = run_id or runs.new_run_id()
    argv = [sys.executable, "-m", "wavefront", "run", "--run-id", run_id, "--no-progress",
            "--expand-scope", "-C", str(root), *(scope.split() if scope else ())]
    if runner:
        argv += ["--runner", runner]
    if max_parallel:
        argv += ["-j", str(max_parallel)]
    if budget_usd:
        argv += ["--budget-usd", str(budget_usd)]
    return {"run_id": run_id, **_spawn(root, run_id, argv)}


def _spawn(root: Path, run_id: str, argv: Sequence[str]) -> dict[str, Any]:
    log = root / runs.STATE_DIR / "logs" / run_id / "wavefront.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        # Its own session: the run outlives this server and a client's Ctrl-C.
        child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return {"pid": child.pid, "log": str(log)}


def cancel_run(root: Path, run_id: str | None = None) -> dict[str, Any]:
    """Stop the active run (as Ctrl-C would) and mark its unfinished tasks cancelled."""
    pid, cancelled = runs.cancel_run(root, run_id,
                                     stop=lambda pid: os.kill(pid, signal.SIGTERM))
    return {"stopped_process": pid, "cancelled": cancelled}


def approve(root: Path, task_id: str, note: str = "", run_id: str | None = None) -> str:
    run = runs.record_decision(root, task_id, "approve", note, run_id, who=_who())
    return f"approval recorded for {task_id} in run {run}"


def reject(root: Path, task_id: str, note: str = "", fail: bool = False,
           run_id: str | None = None) -> str:
    if not fail and not note.strip():
        raise WavefrontError('say what to change with a note, or fail the task with fail=true')
    run = runs.record_decision(root, task_id, "reject" if fail else "change", note, run_id,
                               who=_who())
    what = "rejection" if fail else "change request"
    return f"{what} recorded for {task_id} in run {run}"


def answer(root: Path, task_id: str, text: str, run_id: str | None = None) -> str:
    run = runs.answer_question(root, task_id, text, run_id, who=_who())
    return f"answer recorded for {task_id} in run {run}; the run passes it to the agent"


def retry(root: Path, task_ids: Sequence[str], run_id: str | None = None,
          resume: bool = True) -> dict[str, Any]:
    """Queue failed, conflicting or blocked tasks again; with `resume`, continue the run in
    a process of its own when none drives it."""
    if not task_ids:
        raise WavefrontError("name at least one task to retry")
    released = runs.retry_tasks(root, task_ids, run_id)
    result: dict[str, Any] = {"queued": released}
    if resume and RunLock(root / runs.STATE_DIR).holder() is None:
        with runs.open_journal(root) as journal:
            run = runs.resolve_run(journal, run_id)
        argv = [sys.executable, "-m", "wavefront", "resume", run.id, "--no-progress",
                "-C", str(root)]
        result["resumed"] = _spawn(root, run.id, argv)
    return result


def _who() -> str:
    """Decisions made through the server are journaled as a person's, via MCP."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "a person"
    return f"{name} (via MCP)"
