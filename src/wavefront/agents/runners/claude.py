"""Claude Code in print mode: `claude -p PROMPT --output-format stream-json --verbose`.

Written for Claude Code 1.0.x to 2.1.x, following the CLI reference
(docs.anthropic.com/en/docs/claude-code/cli-reference) and the headless / SDK docs for the
output: a JSON-lines stream (stream-json needs `--verbose` in print mode) whose last line is
the `result` message (`subtype` success | error_max_turns | error_during_execution | ...,
`is_error`, `result`, `total_cost_usd`, `usage`, `session_id`). stream-json rather than
json because only the stream carries `rate_limit_event` lines
(`rate_limit_info.status` / `resetsAt`), the exact reset time of a usage limit.

Profile mapping: the role text goes to `--append-system-prompt` (so the task prompt leaves
it out), the profile's `tools` and the request's `permissions` to `--allowedTools`, and the
permission mode is `acceptEdits` unless the runner setting `permission_mode` says otherwise
(`bypassPermissions` for a fully unattended agent in a disposable worktree).

A result with `is_error` is a failure even when the exit status is 0 (a failed API call is
reported as subtype `success` with `is_error: true`); a run with no `result` line is
`BAD_OUTPUT`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    CliRunner,
    Failure,
    Usage,
    as_int,
    classify_failure,
    iter_json_lines,
    one_of,
    parse_reset_time,
)
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentProfile, AgentResult, FailureKind

__all__ = ["PERMISSION_MODES", "ClaudeRunner"]

PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions", "dontAsk")


class ClaudeRunner(CliRunner):
    """Runs Claude Code headless in the task's worktree (settings: see `CliRunner`, plus
    `permission_mode`)."""

    name = "claude"
    executable_names = ("claude",)
    auth_env = (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "ANTHROPIC_VERTEX_PROJECT_ID",
        "CLOUD_ML_REGION",
        "GOOGLE_APPLICATION_CREDENTIALS",
    )
    auth_files = (".claude/.credentials.json",)
    config_env = ("ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL", "CLAUDE_CONFIG_DIR")
    profile_dir = ".claude"

    def __init__(
        self,
        *,
        executable: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        model: str | None = None,
        permission_mode: str = "acceptEdits",
    ) -> None:
        super().__init__(executable=executable, extra_args=extra_args, env=env, model=model)
        self.permission_mode = one_of("permission_mode", permission_mode, PERMISSION_MODES)

    def passes_persona(self, profile: AgentProfile | None) -> bool:
        return profile is not None and bool(profile.prompt.strip())

    def build_argv(self, request: AgentRequest) -> list[str]:
        # The prompt comes right after -p: a variadic option such as --allowedTools would
        # otherwise swallow it.
        argv = [self.executable, "-p", request.prompt, "--output-format", "stream-json"]
        argv += ["--verbose", "--permission-mode", self.permission_mode]
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        if request.max_turns:
            argv += ["--max-turns", str(request.max_turns)]
        session = request.options.get("resume_session")
        if session:
            # A fix round or an answer continues the agent's own session: it keeps its
            # context, and the tokens of the first round are not spent again.
            argv += ["--resume", str(session)]
        tools = _allowed_tools(request)
        if request.mcp is not None:
            argv += ["--mcp-config", request.mcp.mcp_servers_json()]
            tools = [*tools, *request.mcp.claude_allowed_tools()]
        if tools:
            argv += ["--allowedTools", ",".join(tools)]
        if self.passes_persona(request.profile):
            assert request.profile is not None
            argv += ["--append-system-prompt", request.profile.prompt.strip()]
        return argv + list(self.extra_args)

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        result: dict[str, Any] | None = None
        session_id: str | None = None
        rejected_until: float | None = None
        for event in iter_json_lines(outcome.stdout):
            kind = event.get("type")
            session_id = _str(event.get("session_id")) or session_id
            if kind == "result":
                result = event
            elif kind == "rate_limit_event":
                info = event.get("rate_limit_info")
                if isinstance(info, dict) and info.get("status") == "rejected":
                    resets = info.get("resetsAt")
                    rejected_until = float(resets) if isinstance(resets, int | float) else None
        if result is None:
            failure = self.exit_failure(outcome, "no result message")
            if rejected_until is not None:
                failure = Failure(FailureKind.RATE_LIMITED, failure.reason, rejected_until)
            return self.failed(outcome, failure, session_id=session_id)

        usage = _usage(result)
        text = _str(result.get("result")) or ""
        subtype = _str(result.get("subtype")) or ""
        if result.get("is_error") or subtype != "success":
            failure = _result_failure(subtype, text, rejected_until)
            return self.failed(outcome, failure, usage, request, text=text, session_id=session_id)
        if not text.strip():
            failure = Failure(FailureKind.BAD_OUTPUT, "claude finished without a final message")
            return self.failed(outcome, failure, usage, request, session_id=session_id)
        return self.succeeded(outcome, text, usage, request, session_id=session_id)


def _allowed_tools(request: AgentRequest) -> list[str]:
    tools: list[str] = []
    profile_tools = request.profile.tools if request.profile is not None else ()
    for tool in (*profile_tools, *request.permissions):
        if tool and tool not in tools:
            tools.append(tool)
    return tools


def _usage(result: Mapping[str, Any]) -> Usage:
    usage = result.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    cached = as_int(usage.get("cache_read_input_tokens"))
    tokens_in = as_int(usage.get("input_tokens")) + cached
    tokens_in += as_int(usage.get("cache_creation_input_tokens"))
    cost = result.get("total_cost_usd", result.get("cost_usd"))
    return Usage(
        tokens_in=tokens_in,
        tokens_out=as_int(usage.get("output_tokens")),
        cached_in=cached,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
    )


def _result_failure(subtype: str, text: str, rejected_until: float | None) -> Failure:
    if subtype == "error_max_turns":
        return Failure(FailureKind.MAX_TURNS, "claude stopped at --max-turns")
    if subtype == "error_max_budget_usd":
        return Failure(FailureKind.ERROR, "claude stopped at its budget")
    found = classify_failure(text)
    if rejected_until is not None:
        reason = found.reason if found is not None else "usage limit reached"
        return Failure(FailureKind.RATE_LIMITED, reason, rejected_until)
    if found is not None:
        if found.kind is FailureKind.RATE_LIMITED and found.retry_at is None:
            return Failure(found.kind, found.reason, parse_reset_time(text))
        return found
    label = subtype if subtype and subtype != "success" else "error"
    return Failure(FailureKind.ERROR, f"claude {label}: {text.strip()[:300] or '(no message)'}")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
