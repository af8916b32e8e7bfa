"""The coding-agent CLI runners against fake executables, through the real `run_process`.

Each fake (`tests/fakes/fake_<cli>.py`) accepts only its CLI's documented flags and replays
a recorded output (`tests/data/cli_outputs/`, see NOTES.md) for the scenario named in
`FAKE_SCENARIO`. The runners are driven end to end: argv built, child started in its own
process group, output parsed, failure classified.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components import need
from realclis import INSTALL_HINT, real_cli
from wavefront.agents.pricing import estimate_cost, price_for
from wavefront.agents.prompt import parse_deviations
from wavefront.agents.runners.aider import FIXED_FLAGS, AiderRunner
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.claude import ClaudeRunner
from wavefront.agents.runners.cliutil import CliRunner
from wavefront.agents.runners.codex import CodexRunner, rollout_refusals
from wavefront.agents.runners.cursor import CursorRunner
from wavefront.agents.runners.failures import classify_failure, parse_reset_time, readable
from wavefront.agents.runners.gemini import GeminiRunner
from wavefront.agents.runners.goose import GooseRunner
from wavefront.agents.runners.opencode import OpenCodeRunner
from wavefront.model import AgentProfile, FailureKind, SourceLocation, Task

FAKES = Path(__file__).parent / "fakes"
DATA = Path(__file__).parent / "data" / "cli_outputs"

# runner class -> the fake script standing in for its CLI.
RUNNERS: dict[type[CliRunner], str] = {
    ClaudeRunner: "claude",
    CodexRunner: "codex",
    GeminiRunner: "gemini",
    OpenCodeRunner: "opencode",
    AiderRunner: "aider",
    CursorRunner: "cursor",
    GooseRunner: "goose",
}
ALL = list(RUNNERS)


def fake_executable(tmp_path: Path, cli: str) -> str:
    """A shell wrapper named like the CLI that runs its fake with this Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / cli
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKES / f"fake_{cli}.py"}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


# A provider chosen, as a run needs for these two (they refuse to start without one).
NEEDS_MODEL = {OpenCodeRunner: "anthropic/claude-sonnet-4-5", AiderRunner: "gpt-4o-mini"}


def make_runner(cls: type[CliRunner], tmp_path: Path, **settings: Any) -> CliRunner:
    if cls in NEEDS_MODEL and settings.get("model") is None:
        settings["model"] = NEEDS_MODEL[cls]
    return cls(executable=fake_executable(tmp_path, RUNNERS[cls]), **settings)


def make_request(tmp_path: Path, scenario: str, **fields: Any) -> AgentRequest:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    task = Task(
        id="1.2",
        title="Add a dry-run flag",
        source=SourceLocation(Path("docs/stories/1.2.md"), 1),
        body="Add `--dry-run` to the CLI.",
        context_files=("docs/architecture.md",),
        deliverables=("src/app/cli.py",),
    )
    env = {"FAKE_SCENARIO": scenario, "FAKE_ARGV_FILE": str(tmp_path / "argv.json")}
    env.update(fields.pop("env", {}))
    return AgentRequest(
        task=task,
        prompt="# Task 1.2: Add a dry-run flag\n\nAdd `--dry-run` to the CLI.",
        workspace=workspace,
        log_path=tmp_path / "logs" / "1.2-attempt-1.log",
        env=env,
        **fields,
    )


def run(runner: CliRunner, request: AgentRequest) -> Any:
    return asyncio.run(runner.run(request))


def sent_argv(tmp_path: Path) -> list[str]:
    return list(json.loads((tmp_path / "argv.json").read_text()))


# --- success ---------------------------------------------------------------------------

# runner -> (session id, tokens in, tokens out, cost, cost estimated) for the success sample.
SUCCESS: dict[type[CliRunner], tuple[str | None, int, int, float | None, bool]] = {
    ClaudeRunner: ("9f3b2a1c-5d4e-4f60-8a7b-1c2d3e4f5a6b", 21 + 9120 + 88400, 2140, 0.0873, False),
    CodexRunner: ("0199a213-81c0-7800-8aa1-bbab2a035a53", 24763, 1220, None, True),
    GeminiRunner: ("c5e0a7d2-31f4-4b8e-9a61-2f7d0e3b9c11", 30412, 1210 + 483, None, True),
    OpenCodeRunner: (
        "ses_44f9562d4ffeXv1d2Q8mYb3kLp",
        1520 + 11200 + 310 + 12900,
        310 + 190,
        0.0121 + 0.0087,
        False,
    ),
    AiderRunner: (None, 2100, 154, 0.00041, False),
    CursorRunner: ("6f0e2d4c-8b1a-4c3e-9d7f-1a2b3c4d5e6f", 0, 0, None, False),
    GooseRunner: (None, 0, 0, None, False),
}


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_success_reads_text_tokens_cost_and_session(cls: type[CliRunner], tmp_path: Path) -> None:
    model = {CodexRunner: "gpt-5-codex"}.get(cls)
    result = run(make_runner(cls, tmp_path, model=model), make_request(tmp_path, "success"))
    session, tokens_in, tokens_out, cost, estimated = SUCCESS[cls]
    assert result.ok, result.reason
    assert result.failure is None
    assert "Deviations: none" in result.text
    assert '"type"' not in result.text  # the agent's words, not the CLI's JSON
    assert parse_deviations(result.text) == []
    assert result.session_id == session
    assert (result.tokens_in, result.tokens_out) == (tokens_in, tokens_out)
    if cls is CodexRunner:
        expected = estimate_cost("gpt-5-codex", 24763, 1220, 24448)
        assert result.cost_usd == pytest.approx(expected) and result.cost_usd > 0
    elif cls is GeminiRunner:
        expected = estimate_cost("gemini-2.5-pro", 30412, 1693, 21292)
        assert result.cost_usd == pytest.approx(expected) and result.cost_usd > 0
    else:
        if cost is None:
            assert result.cost_usd is None
        else:
            assert result.cost_usd == pytest.approx(cost)
    assert result.cost_estimated is estimated
    assert result.log_path == tmp_path / "logs" / "1.2-attempt-1.log"
    assert "Deviations: none" in result.log_path.read_text()


def test_codex_cost_is_unknown_without_a_model(tmp_path: Path) -> None:
    result = run(make_runner(CodexRunner, tmp_path), make_request(tmp_path, "success"))
    assert result.ok
    assert result.cost_usd is None and not result.cost_estimated
    assert result.tokens_in == 24763


# --- failures ------------------------------------------------------------------------

FAILURES: list[tuple[type[CliRunner], str, FailureKind]] = [
    (ClaudeRunner, "error", FailureKind.ERROR),
    (ClaudeRunner, "auth", FailureKind.AUTH),
    (ClaudeRunner, "rate_limit", FailureKind.RATE_LIMITED),
    (ClaudeRunner, "rate_limit_text", FailureKind.RATE_LIMITED),
    (ClaudeRunner, "max_turns", FailureKind.MAX_TURNS),
    (ClaudeRunner, "malformed", FailureKind.BAD_OUTPUT),
    (ClaudeRunner, "exit1", FailureKind.CRASHED),
    (CodexRunner, "error", FailureKind.ERROR),
    (CodexRunner, "auth", FailureKind.AUTH),
    (CodexRunner, "rate_limit", FailureKind.RATE_LIMITED),
    (CodexRunner, "malformed", FailureKind.BAD_OUTPUT),
    (CodexRunner, "exit1", FailureKind.CRASHED),
    (GeminiRunner, "error", FailureKind.ERROR),
    (GeminiRunner, "auth", FailureKind.AUTH),
    (GeminiRunner, "rate_limit", FailureKind.RATE_LIMITED),
    (GeminiRunner, "max_turns", FailureKind.MAX_TURNS),
    (GeminiRunner, "malformed", FailureKind.BAD_OUTPUT),
    (GeminiRunner, "exit1", FailureKind.CRASHED),
    (OpenCodeRunner, "error", FailureKind.ERROR),
    (OpenCodeRunner, "auth", FailureKind.AUTH),
    (OpenCodeRunner, "rate_limit", FailureKind.RATE_LIMITED),
    (OpenCodeRunner, "malformed", FailureKind.BAD_OUTPUT),
    (OpenCodeRunner, "exit1", FailureKind.CRASHED),
    (AiderRunner, "error", FailureKind.ERROR),
    (AiderRunner, "auth", FailureKind.AUTH),
    (AiderRunner, "rate_limit", FailureKind.RATE_LIMITED),
    (AiderRunner, "malformed", FailureKind.BAD_OUTPUT),
    (AiderRunner, "exit1", FailureKind.CRASHED),
    (CursorRunner, "error", FailureKind.CRASHED),
    (CursorRunner, "auth", FailureKind.AUTH),
    (CursorRunner, "rate_limit", FailureKind.RATE_LIMITED),
    (CursorRunner, "malformed", FailureKind.BAD_OUTPUT),
    (GooseRunner, "error", FailureKind.CRASHED),
    (GooseRunner, "auth", FailureKind.AUTH),
    (GooseRunner, "rate_limit", FailureKind.RATE_LIMITED),
    (GooseRunner, "malformed", FailureKind.BAD_OUTPUT),
]


@pytest.mark.parametrize(
    ("cls", "scenario", "kind"), FAILURES, ids=[f"{c.name}-{s}" for c, s, _ in FAILURES]
)
def test_failures_are_classified(
    cls: type[CliRunner], scenario: str, kind: FailureKind, tmp_path: Path
) -> None:
    result = run(make_runner(cls, tmp_path), make_request(tmp_path, scenario))
    assert not result.ok
    assert result.failure is kind, result.reason
    assert result.reason


# What the real CLIs printed against the scripted model server (`real-*`, recorded by
# tests/fakes/record.py), replayed by the fakes: the runners read them as they read the
# real CLIs (the real-CLI tests check the same, slower).
RECORDED_KINDS = {"success": None, "auth": FailureKind.AUTH,
                  "rate_limit": FailureKind.RATE_LIMITED, "error": FailureKind.ERROR,
                  "max_turns": FailureKind.MAX_TURNS, "denied": FailureKind.DENIED}
RECORDED = [(cls, scenario) for cls in ALL for scenario in RECORDED_KINDS
            if (DATA / RUNNERS[cls] / f"real-{scenario}.exit").exists()]


@pytest.mark.parametrize(("cls", "scenario"), RECORDED,
                         ids=[f"{c.name}-{s}" for c, s in RECORDED])
def test_recorded_real_outputs_are_read_as_the_real_cli(
    cls: type[CliRunner], scenario: str, tmp_path: Path
) -> None:
    turns = 1 if scenario == "max_turns" else None
    result = run(make_runner(cls, tmp_path), make_request(
        tmp_path, f"real-{scenario}", max_turns=turns, timeout_s=60))
    kind = RECORDED_KINDS[scenario]
    assert result.failure is kind, (result.failure, result.reason)
    assert result.ok is (kind is None)
    if kind is None:
        assert result.tokens_in > 0 and result.tokens_in % 1200 == 0  # as the server counts
    if kind is FailureKind.DENIED and cls is not GeminiRunner:
        # Gemini CLI names the command only in its session file, which a replay lacks.
        assert "/work/denied-ran.txt" in result.reason, result.reason


def test_every_cli_with_a_real_program_has_recorded_outputs() -> None:
    recorded = {RUNNERS[cls] for cls, _ in RECORDED}
    assert recorded == {"claude", "codex", "gemini", "opencode", "aider"}


def test_aider_exit_status_zero_on_a_failed_model_call_is_not_success(tmp_path: Path) -> None:
    # The recorded output is aider 0.86.2's own, which exits 0 after the auth error.
    assert "AuthenticationError" in (DATA / "aider" / "auth.stdout").read_text()
    for scenario, kind in (("auth", FailureKind.AUTH), ("error", FailureKind.ERROR)):
        result = run(make_runner(AiderRunner, tmp_path), make_request(tmp_path, scenario))
        assert result.log_path is not None
        assert "[exit 0 " in result.log_path.read_text()
        assert (result.ok, result.failure) == (False, kind)


def test_codex_exit_status_is_not_trusted(tmp_path: Path) -> None:
    # malformed: exit 0 but no completed turn and no agent message.
    result = run(make_runner(CodexRunner, tmp_path), make_request(tmp_path, "malformed"))
    assert result.failure is FailureKind.BAD_OUTPUT
    assert "no completed turn" in result.reason


# --- rate limits with their reset time ------------------------------------------------


def _next_utc_clock(hour: int, now: float) -> float:
    base = datetime.fromtimestamp(now, UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    stamp = base.timestamp()
    return stamp if stamp > now else stamp + 86400


@pytest.mark.parametrize(
    ("cls", "scenario", "expected"),
    [
        (ClaudeRunner, "rate_limit", lambda now: 1771390800.0),  # rate_limit_event.resetsAt
        (ClaudeRunner, "rate_limit_text", lambda now: 1762952400.0),  # "...reached|<epoch>"
        (CodexRunner, "rate_limit", lambda now: now + 2 * 86400 + 17 * 3600 + 14 * 60),
        (GeminiRunner, "rate_limit", lambda now: now + 34.5),
        (OpenCodeRunner, "rate_limit", lambda now: now + 45),  # retry-after header
        (AiderRunner, "rate_limit", lambda now: now + 20),
        (CursorRunner, "rate_limit", lambda now: _next_utc_clock(16, now)),
        (GooseRunner, "rate_limit", lambda now: now + 60),
    ],
    ids=lambda v: v.name if isinstance(v, type) else None,
)
def test_rate_limits_carry_the_reset_time(
    cls: type[CliRunner], scenario: str, expected: Any, tmp_path: Path
) -> None:
    before = time.time()
    result = run(make_runner(cls, tmp_path), make_request(tmp_path, scenario))
    after = time.time()
    assert result.failure is FailureKind.RATE_LIMITED
    assert result.retry_at is not None
    low, high = sorted((expected(before), expected(after)))
    assert low - 1 <= result.retry_at <= high + 1


# --- timeouts, crashes, missing programs ------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its (already gone) parent to reap it.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_hang_times_out_and_kills_the_process_group(cls: type[CliRunner], tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    request = make_request(
        tmp_path, "hang", timeout_s=1.0, env={"FAKE_CHILD_PID_FILE": str(pid_file)}
    )
    result = run(make_runner(cls, tmp_path), request)
    assert result.failure is FailureKind.TIMEOUT
    assert not result.ok
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


@pytest.mark.parametrize("cls", [ClaudeRunner, GeminiRunner, AiderRunner], ids=lambda c: c.name)
def test_killed_by_a_signal_is_a_crash(cls: type[CliRunner], tmp_path: Path) -> None:
    result = run(make_runner(cls, tmp_path), make_request(tmp_path, "crash"))
    assert result.failure is FailureKind.CRASHED
    assert "signal 9" in result.reason


def test_missing_executable_is_a_crash_not_an_exception(tmp_path: Path) -> None:
    runner = ClaudeRunner(executable=str(tmp_path / "no-such-claude"))
    result = run(runner, make_request(tmp_path, "success"))
    assert result.failure is FailureKind.CRASHED
    assert "could not be started" in result.reason


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_fakes_reject_unknown_flags_like_the_real_cli(cls: type[CliRunner], tmp_path: Path) -> None:
    runner = make_runner(cls, tmp_path, extra_args=["--no-such-flag"])
    result = run(runner, make_request(tmp_path, "success"))
    assert not result.ok
    assert "no-such-flag" in result.reason


# --- what each runner sends ------------------------------------------------------------

CLAUDE_PROFILE = AgentProfile(
    name="backend-developer",
    description="Builds server-side features",
    prompt="You are a senior backend engineer.",
    origin="/repo/.claude/agents/backend-developer.md",
    model="sonnet",
    tools=("Read", "Edit", "Bash"),
)


def test_claude_maps_the_profile_to_flags(tmp_path: Path) -> None:
    request = make_request(
        tmp_path, "success", profile=CLAUDE_PROFILE, max_turns=12, permissions=("Bash(git *)",)
    )
    runner = make_runner(ClaudeRunner, tmp_path)
    assert run(runner, request).ok
    argv = sent_argv(tmp_path)
    assert argv[:2] == ["-p", request.prompt]
    assert argv[argv.index("--append-system-prompt") + 1] == "You are a senior backend engineer."
    assert argv[argv.index("--allowedTools") + 1] == "Read,Edit,Bash,Bash(git *)"
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert argv[argv.index("--max-turns") + 1] == "12"
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert runner.passes_persona(CLAUDE_PROFILE)


def test_claude_profile_model_is_not_sent_to_codex(tmp_path: Path) -> None:
    request = make_request(tmp_path, "success", profile=CLAUDE_PROFILE)
    assert run(make_runner(CodexRunner, tmp_path), request).ok
    argv = sent_argv(tmp_path)
    assert "--model" not in argv
    assert argv[:5] == ["exec", "--json", "--sandbox", "workspace-write", request.prompt]


def test_opencode_uses_its_own_agent_files_by_name(tmp_path: Path) -> None:
    own = AgentProfile(
        name="coder-agent",
        description="codes",
        prompt="You write code.",
        origin="/repo/.opencode/agent/subagents/code/coder-agent.md",
    )
    runner = make_runner(OpenCodeRunner, tmp_path)
    assert run(runner, make_request(tmp_path, "success", profile=own)).ok
    assert sent_argv(tmp_path)[sent_argv(tmp_path).index("--agent") + 1] == "coder-agent"
    assert runner.passes_persona(own) and not runner.passes_persona(CLAUDE_PROFILE)
    assert run(runner, make_request(tmp_path, "success", profile=CLAUDE_PROFILE)).ok
    assert "--agent" not in sent_argv(tmp_path)


def test_goose_gets_the_persona_as_system_text_and_the_prompt_as_a_file(tmp_path: Path) -> None:
    request = make_request(tmp_path, "success", profile=CLAUDE_PROFILE, max_turns=30)
    assert run(make_runner(GooseRunner, tmp_path), request).ok
    argv = sent_argv(tmp_path)
    prompt_file = Path(argv[argv.index("-i") + 1])
    assert prompt_file.read_text() == request.prompt
    assert not prompt_file.is_relative_to(request.workspace)
    assert argv[argv.index("--system") + 1] == CLAUDE_PROFILE.prompt
    assert argv[argv.index("--max-turns") + 1] == "30"


def test_aider_reads_context_files_and_edits_deliverables(tmp_path: Path) -> None:
    request = make_request(tmp_path, "success", model="gpt-4o-mini")
    assert run(make_runner(AiderRunner, tmp_path), request).ok
    argv = sent_argv(tmp_path)
    assert Path(argv[argv.index("--message-file") + 1]).read_text() == request.prompt
    assert argv[argv.index("--read") + 1] == "docs/architecture.md"
    assert argv[-1] == "src/app/cli.py"
    assert set(FIXED_FLAGS) <= set(argv)


def test_gemini_and_cursor_send_their_headless_flags(tmp_path: Path) -> None:
    request = make_request(tmp_path, "success", model="gemini-2.5-pro")
    assert run(make_runner(GeminiRunner, tmp_path), request).ok
    argv = sent_argv(tmp_path)
    assert argv[:4] == ["-p", request.prompt, "--output-format", "json"]
    assert argv[argv.index("--approval-mode") + 1] == "auto_edit"
    assert run(make_runner(CursorRunner, tmp_path), make_request(tmp_path, "success")).ok
    assert sent_argv(tmp_path) == ["-p", "--output-format", "json", "--force", request.prompt]


@pytest.mark.parametrize(
    ("cls", "settings"),
    [
        (ClaudeRunner, {"permission_mode": "sometimes"}),
        (CodexRunner, {"sandbox": "none"}),
        (GeminiRunner, {"approval_mode": "always"}),
        (CursorRunner, {"force": "yes"}),
        (AiderRunner, {"extra_args": "--model gpt-4o"}),
    ],
)
def test_bad_settings_raise_value_error(cls: type[CliRunner], settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        cls(**settings)


def test_credentials_are_passed_on_explicitly(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-value")
    monkeypatch.setenv("UNRELATED_SECRET", "x")
    runner = ClaudeRunner()
    env = runner.child_env(make_request(tmp_path, "success"))
    assert env["ANTHROPIC_API_KEY"] == "sk-test-value"
    assert "UNRELATED_SECRET" not in env
    assert env["FAKE_SCENARIO"] == "success"


# --- the real aider accepts the flags -------------------------------------------------


@pytest.mark.slow
def test_real_aider_help_lists_every_flag_the_runner_sends() -> None:
    aider = os.environ.get("WAVEFRONT_REAL_AIDER") or real_cli("aider")
    need(aider is not None, f"aider is not installed; {INSTALL_HINT}")
    assert aider is not None
    import subprocess

    done = subprocess.run(
        [aider, "--help"], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0
    for flag in (*FIXED_FLAGS, "--message-file", "--model", "--read"):
        assert flag in done.stdout, flag


# --- classification and reset times, directly ------------------------------------------

NOW = datetime(2026, 2, 5, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Claude AI usage limit reached|1762952400", 1762952400.0),
        ('{"resets_at":1777936568,"resets_in_seconds":13872}', 1777936568.0),
        ("retry-after: 30", NOW.timestamp() + 30),
        ("try again in 5 days 22 hours 11 minutes.", NOW.timestamp() + 5 * 86400 + 22 * 3600 + 660),
        ("Please retry in 34.5s.", NOW.timestamp() + 34.5),
        (
            "You've hit your limit · resets 4pm (UTC)",
            datetime(2026, 2, 5, 16, tzinfo=UTC).timestamp(),
        ),
        ("resets 9am (UTC)", datetime(2026, 2, 6, 9, tzinfo=UTC).timestamp()),
        (
            "You've hit your limit · resets Apr 23 at 4pm (UTC)",
            datetime(2026, 4, 23, 16, tzinfo=UTC).timestamp(),
        ),
        (
            "resets 7pm (America/Los_Angeles)",  # 19:00 PST = 03:00 UTC next day
            datetime(2026, 2, 6, 3, tzinfo=UTC).timestamp(),
        ),
        # Codex, a usage limit; NOW is in that very minute: its end, not tomorrow.
        ("You’ve hit your usage limit. ... or try again at {now} (UTC).",
         NOW.replace(second=0, microsecond=0).timestamp() + 60),
        ("rate limited, try later", None),
    ],
)
def test_parse_reset_time(text: str, expected: float | None) -> None:
    text = text.replace("{now}", NOW.strftime("%I:%M %p"))
    assert parse_reset_time(text, NOW) == (pytest.approx(expected) if expected else None)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Error: 429 Too Many Requests", FailureKind.RATE_LIMITED),
        ("RESOURCE_EXHAUSTED: quota exceeded", FailureKind.RATE_LIMITED),
        ("Invalid API key · Please run /login", FailureKind.AUTH),
        ("unexpected status 401 Unauthorized", FailureKind.AUTH),
        ("TypeError: cannot read properties of undefined", None),
        ("", None),
    ],
)
def test_classify_failure(text: str, kind: FailureKind | None) -> None:
    found = classify_failure(text, NOW)
    assert (found.kind if found else None) is kind


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # Gemini CLI's refused key, as the real CLI printed it.
        ('Error 401 {"error":{"code":401,"message":"Incorrect API key provided: x.",'
         '"status":"UNAUTHENTICATED"}}', "Error 401 Incorrect API key provided: x. "
         "(UNAUTHENTICATED)"),
        ('_ApiError: {"error": {"message": "overloaded", "type": "overloaded_error"}} then',
         "_ApiError: overloaded (overloaded_error) then"),
        ('{"error": "plain words"}', "plain words"),
        # Not an error body, or not JSON: left as it is.
        ('{"error": 3} and {"error": {"code": 1', '{"error": 3} and {"error": {"code": 1'),
        ("no body at all", "no body at all"),
    ],
)
def test_a_json_error_body_reads_as_its_message(text: str, said: str) -> None:
    assert readable(text) == said


@pytest.mark.parametrize(
    ("model", "known"),
    [
        ("gpt-5-codex", True),
        ("openai/gpt-5-mini", True),
        ("claude-sonnet-4-5-20250929", True),
        ("anthropic/claude-opus-4-1", True),
        ("gemini-2.5-flash-lite", True),
        ("llama-3-70b", False),
        (None, False),
    ],
)
def test_price_lookup(model: str | None, known: bool) -> None:
    assert (price_for(model) is not None) is known


def test_estimate_cost_bills_cached_input_at_the_cached_rate() -> None:
    price = price_for("gpt-5")
    assert price is not None
    full = estimate_cost("gpt-5", 1_000_000, 0)
    cached = estimate_cost("gpt-5", 1_000_000, 0, cached_in=1_000_000)
    assert full == pytest.approx(price.input) and cached == pytest.approx(price.cached_input)
    assert price_for("gpt-5-mini") != price_for("gpt-5")  # longest prefix wins
    assert estimate_cost("gpt-5", 0, 0) is None


# --- the registry ------------------------------------------------------------------------


def test_registry_builds_cli_runners_from_settings() -> None:
    from wavefront.agents.runners import RUNNERS as REGISTRY
    from wavefront.agents.runners import make_runner as build
    from wavefront.errors import ConfigError

    for cls in ALL:
        assert REGISTRY[cls.name] is cls
    runner = build("claude", {"permission_mode": "bypassPermissions", "model": "opus"})
    assert isinstance(runner, ClaudeRunner)
    assert (runner.permission_mode, runner.default_model) == ("bypassPermissions", "opus")
    with pytest.raises(ConfigError, match="permission_mode"):
        build("claude", {"permission_mode": "always"})
    with pytest.raises(ConfigError, match="colour"):
        build("codex", {"colour": "blue"})


# --- Codex's session rollout: the commands its JSON stream leaves out ----------------

ROLLOUT = DATA / "codex" / "real-denied.rollout.jsonl"
DENIED = "python3 -c \"open('/home/user/outside/denied-ran.txt', 'w').write('no')\""


def _later_turn(turn: str) -> str:
    """A resumed thread's next turn, as Codex appends it: it ran one command that passed."""
    call = json.dumps({"cmd": "ls"})
    records = [
        {"type": "event_msg", "payload": {"type": "task_started", "turn_id": turn}},
        {"type": "response_item", "payload": {"type": "function_call", "name": "exec_command",
                                              "arguments": call, "call_id": "call_ls"}},
        {"type": "response_item", "payload": {
            "type": "function_call_output", "call_id": "call_ls",
            "output": "Process exited with code 0\nOutput:\nhello.txt\n"}},
    ]
    return "".join(json.dumps(record) + "\n" for record in records)


@pytest.mark.parametrize(("later_turn", "expected"), [
    (False, [DENIED]),  # the command that failed at once, read from the file
    (True, []),  # a fix round's turn: the first round's refusal was that round's
], ids=["one-turn", "resumed"])
def test_codex_rollout_names_the_refused_command(later_turn: bool, expected: list[str],
                                                 tmp_path: Path) -> None:
    thread = "01a232cc-4bf3-70e0-9a78-c43bd687cbb6"
    day = tmp_path / "sessions" / "2026" / "12" / "01"
    day.mkdir(parents=True)
    text = ROLLOUT.read_text() + (_later_turn("turn-2") if later_turn else "")
    (day / f"rollout-2026-12-01T18-09-39-{thread}.jsonl").write_text(text)
    assert rollout_refusals(tmp_path, thread) == expected
    assert rollout_refusals(tmp_path, "01a232cc-0000-0000-0000-000000000000") == []
    assert rollout_refusals(tmp_path, "*") == []  # not a thread id: no glob of it


# --- opencode: a model service that refuses the connection ---------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "through-a-proxy"])
def test_opencode_is_not_started_for_a_service_that_refuses(
        proxied: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # opencode takes seconds to start before its first model call: nothing listening at
    # base_url is an error at once. Behind a proxy the refusal says nothing (opencode's
    # requests go to the proxy), so opencode runs and says for itself.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
                 "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    if proxied:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    runner = make_runner(OpenCodeRunner, tmp_path, model="scripted",
                         base_url=f"http://127.0.0.1:{_closed_port()}/v1")
    result = run(runner, make_request(tmp_path, "success"))
    if proxied:
        assert result.ok, (result.failure, result.reason)
        return
    assert result.failure is FailureKind.ERROR, (result.failure, result.reason)
    assert "nothing listens at http://127.0.0.1:" in result.reason
    assert not (tmp_path / "argv.json").exists()  # opencode was not started
    assert "opencode not started" in result.log_path.read_text()
