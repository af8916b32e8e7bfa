"""The runners' parsers on what the real CLIs printed (`../shared/agent-clis/captures`),
for the cases the scripted server cannot provoke on demand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.claude import ClaudeRunner
from wavefront.agents.runners.cliutil import CliRunner
from wavefront.agents.runners.codex import CodexRunner
from wavefront.agents.runners.gemini import GeminiRunner
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind, SourceLocation, Task

CAPTURES = Path(os.environ.get("WAVEFRONT_AGENT_CAPTURES")
                or REPO_ROOT.parent / "shared" / "agent-clis" / "captures" / "e2e")


def outcome(name: str, tmp_path: Path) -> ProcessOutcome:
    folder = CAPTURES / name
    if not folder.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI run without the shared captures at {CAPTURES}")
        pytest.skip(f"no captures at {CAPTURES}")
    code = (folder / "exit_code").read_text().strip()
    return ProcessOutcome(returncode=int(code) if code.lstrip("-").isdigit() else None,
                          stdout=(folder / "stdout").read_text(),
                          stderr=(folder / "stderr").read_text(), timed_out=False,
                          duration_s=1.0, log_path=tmp_path / "log")


def parse(runner: CliRunner, name: str, tmp_path: Path) -> AgentResult:
    task = Task(id="1", title="t", source=SourceLocation(Path("w.yaml"), 1))
    request = AgentRequest(task=task, prompt="p", workspace=tmp_path, log_path=tmp_path / "l")
    return runner.parse(outcome(name, tmp_path), request)


def test_codex_retried_through_a_rate_limit_is_a_success(tmp_path: Path) -> None:
    result = parse(CodexRunner(), "codex-flaky429", tmp_path)
    assert result.ok, result.reason


def test_codex_warning_items_do_not_fail_a_finished_turn(tmp_path: Path) -> None:
    result = parse(CodexRunner(), "codex-provider", tmp_path)
    assert "Model metadata" in (CAPTURES / "codex-provider" / "stdout").read_text()
    assert result.ok, result.reason
    assert result.tokens_in == 3700


def test_claude_tokens_come_from_model_usage_when_usage_is_zeros(tmp_path: Path) -> None:
    result = parse(ClaudeRunner(), "claude-garbage", tmp_path)
    assert result.ok
    # modelUsage: 2750 input + 1000 cache read + 100 cache write, 105 output.
    assert (result.tokens_in, result.tokens_out) == (3850, 105)


def test_claude_denied_command_fails_the_attempt(tmp_path: Path) -> None:
    result = parse(ClaudeRunner(), "claude-bashtest-acceptEdits", tmp_path)
    assert result.failure is FailureKind.DENIED
    assert "Bash(python3 -c 'print(6*7)'" in result.reason


def test_claude_max_turns_is_its_own_kind(tmp_path: Path) -> None:
    result = parse(ClaudeRunner(), "claude-maxturns1", tmp_path)
    assert result.failure is FailureKind.MAX_TURNS


def test_gemini_invalid_key_is_auth_and_quota_is_a_rate_limit(tmp_path: Path) -> None:
    assert parse(GeminiRunner(), "gemini-auth401", tmp_path).failure \
        is FailureKind.AUTH
    limited = parse(GeminiRunner(), "gemini-ratelimit429", tmp_path)
    assert limited.failure is FailureKind.RATE_LIMITED
    assert limited.retry_at is not None
