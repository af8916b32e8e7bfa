"""Each agent CLI runner driven end to end through the engine, against its fake executable.

The fakes (tests/fakes/) accept only the CLI's documented flags and replay its documented
output; with FAKE_WRITES they also edit files, as the real agent would. No model service is
involved: what is shown is that wavefront builds the call, reads the answer, journals cost
and tokens, pauses on rate limits, stops on missing authentication and keeps to budgets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.model import TaskStatus
from wavefront.report.summary import summarize
from wavefront.runs import RunOptions, RunResult, open_journal, resolve_run, resume_run, start_run

FAKES = Path(__file__).resolve().parent / "fakes"
CLIS = ["claude", "codex", "gemini", "opencode", "aider", "cursor", "goose"]


def fake_cli(tmp_path: Path, cli: str) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / cli
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKES / f"fake_{cli}.py"}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


# opencode and aider refuse to start without a chosen provider (or key): name a model.
MODELS = {"opencode": "anthropic/claude-sonnet-4-5", "aider": "gpt-4o-mini"}


def runner_settings(tmp_path: Path, cli: str, **env: str) -> dict[str, Any]:
    # A credential in the runner's env, as the pre-flight wants one; the fakes ignore it.
    credential = {"codex": "CODEX_API_KEY", "gemini": "GEMINI_API_KEY",
                  "cursor": "CURSOR_API_KEY"}.get(cli, "ANTHROPIC_API_KEY")
    settings: dict[str, Any] = {"executable": fake_cli(tmp_path, cli),
                                "env": {credential: "sk-fake", **env}}
    if cli in MODELS:
        settings["model"] = MODELS[cli]
    return {cli: settings}


def run(repo: Path, **options: Any) -> RunResult:
    loaded = load_and_plan([], root=repo)
    return start_run(repo, loaded.backlog, loaded.plan, RunOptions(**options))


def task(task_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "title": f"Task {task_id}", "files": [f"{task_id}.txt"], **fields}


@pytest.mark.parametrize("cli", CLIS)
def test_each_runner_completes_a_task_through_the_engine(
        cli: str, tmp_path: Path, git_repo: Path, write_backlog: WriteBacklog) -> None:
    writes = json.dumps({"feature.txt": f"written by {cli}\n"})
    write_backlog([task("1")], defaults={"runner": cli},
                  runners=runner_settings(tmp_path, cli, FAKE_SCENARIO="success",
                                          FAKE_WRITES=writes))
    result = run(git_repo)
    assert result.exit_code == 0, result
    assert git(git_repo, "show", f"{result.branch}:feature.txt") == f"written by {cli}\n"
    with open_journal(git_repo) as journal:
        attempt = journal.attempts(result.run_id, "1")[-1]
        summary = summarize(journal, resolve_run(journal, result.run_id))
    assert attempt.ok and attempt.runner == cli
    assert attempt.text  # the agent's final report is kept
    assert summary.cost_usd == pytest.approx(attempt.cost_usd or 0.0)
    assert summary.tokens_in == attempt.tokens_in


def test_claude_cost_and_tokens_reach_the_journal_and_summary(
        tmp_path: Path, git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([task("1"), task("2")], defaults={"runner": "claude"},
                  runners=runner_settings(tmp_path, "claude", FAKE_SCENARIO="success",
                                          FAKE_WRITES=json.dumps({"f.txt": "x\n"})),
                  limits={"max_parallel": 1})
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        attempts = journal.attempts(result.run_id)
        summary = summarize(journal, resolve_run(journal, result.run_id))
    # The recorded result line says total_cost_usd 0.0873 and 21 + 2140 tokens.
    assert [a.cost_usd for a in attempts] == [pytest.approx(0.0873)] * 2
    assert summary.cost_usd == pytest.approx(2 * 0.0873)
    assert not summary.cost_estimated
    assert all(a.tokens_out == 2140 for a in attempts)
    assert all(a.deviations == () for a in attempts)  # "Deviations: none"


def test_a_rate_limit_pauses_the_runner_and_spends_no_retry(
        tmp_path: Path, git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([task("1")], defaults={"runner": "claude", "retries": 0},
                  runners=runner_settings(
                      tmp_path, "claude", FAKE_SEQUENCE="rate_limit,success",
                      FAKE_STATE_FILE=str(tmp_path / "calls"),
                      FAKE_WRITES=json.dumps({"f.txt": "x\n"})))
    result = run(git_repo)
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "1")
        attempts = journal.attempts(result.run_id, "1")
    assert record is not None and record.status == TaskStatus.DONE
    assert record.retries_used == 0
    assert [a.failure for a in attempts] == ["rate_limited", None]


def test_missing_authentication_stops_that_runner_once(
        tmp_path: Path, git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([task(str(n)) for n in range(4)], defaults={"runner": "claude"},
                  runners=runner_settings(tmp_path, "claude", FAKE_SCENARIO="auth"),
                  limits={"max_parallel": 1})
    result = run(git_repo)
    assert result.exit_code == 3
    assert "not authenticated" in result.stop.reason
    with open_journal(git_repo) as journal:
        attempts = journal.attempts(result.run_id)
        records = journal.tasks(result.run_id)
    assert len(attempts) == 1  # one failure, not one per task
    assert {r.status for r in records} == {TaskStatus.PENDING}


# `resume` given an executor as well keeps the larger budget.
@pytest.mark.parametrize("executor", [None, "local"])
def test_a_budget_stops_dispatch_and_the_run_resumes_with_a_larger_one(
        executor: str | None, tmp_path: Path, git_repo: Path,
        write_backlog: WriteBacklog) -> None:
    write_backlog([task(str(n)) for n in range(4)], defaults={"runner": "claude"},
                  runners=runner_settings(tmp_path, "claude", FAKE_SCENARIO="success",
                                          FAKE_WRITES=json.dumps({"{dir}.txt": "x\n"})),
                  limits={"max_parallel": 1})
    result = run(git_repo, budget_usd=0.2)  # 0.0873 a task: a third would pass 0.2
    assert result.exit_code == 3 and result.stop.state == "budget"
    assert result.counts == {"done": 2, "pending": 2}
    resumed = resume_run(git_repo, budget_usd=1.0, executor=executor)
    assert resumed.exit_code == 0
    assert resumed.counts == {"done": 4}
