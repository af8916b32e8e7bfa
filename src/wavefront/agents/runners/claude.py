"""Claude Code in print mode: `claude -p PROMPT --output-format stream-json --verbose`.

Written for Claude Code 1.0.x to 2.1.x, following the CLI reference
(docs.anthropic.com/en/docs/claude-code/cli-reference) and the headless / SDK docs for the
output: a JSON-lines stream (stream-json needs `--verbose` in print mode) whose last line is
the `result` message (`subtype` success | error_max_turns | error_during_execution | ...,
`is_error`, `result`, `total_cost_usd`, `usage`, `session_id`). stream-json rather than
json because only the stream carries `rate_limit_event` lines
(`rate_limit_info.status` / `resetsAt`), the exact reset time of a usage limit.

Checked against the real Claude Code 2.1.197 (see the README's runner table).

Profile mapping: the role text goes to `--append-system-prompt` (so the task prompt leaves
it out); the profile's `tools`, the request's `permissions` and a `Bash(<command>:*)` rule
per gate command to `--allowedTools`, so the agent may run the tests it is told to run
(under `acceptEdits` a headless shell command is otherwise denied). The permission mode
is `acceptEdits` unless the runner setting `permission_mode` says otherwise
(`bypassPermissions` for a fully unattended agent in a disposable worktree). A command
the CLI still denied (listed in the result's `permission_denials`) fails the attempt as
`denied`, naming it: the agent did not do what the prompt asked.

The CLI retries a failed API call itself, 10 times by default over minutes; wavefront
caps that (`max_retries`, default 1, as `CLAUDE_CODE_MAX_RETRIES`) and stops the CLI at
its first `api_retry` event for a rejected key (401/403) or a rate limit (429), so such a
failure is known in seconds; rate limits then pause the runner, retries stay wavefront's.

A result with `is_error` is a failure even when the exit status is 0 (a failed API call is
reported as subtype `success` with `is_error: true`); a run with no `result` line is
`BAD_OUTPUT`. Tokens come from `modelUsage` (every model call, side calls included, as
`total_cost_usd` is) and from `usage` only when that is missing: after a streaming error
the CLI reports `usage` as zeros.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    CliRunner,
    CliSettings,
    Usage,
    as_int,
    iter_json_lines,
    one_of,
)
from wavefront.agents.runners.failures import Failure, classify_failure, parse_reset_time
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentProfile, AgentResult, FailureKind

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["PERMISSION_MODES", "ClaudeRunner", "api_retry_failure", "parse_result_stream"]

PERMISSION_MODES = ("default", "acceptEdits", "auto", "plan", "bypassPermissions", "dontAsk")


class ClaudeRunner(CliRunner):
    """Runs Claude Code headless in the task's worktree (settings: see `CliRunner`, plus
    `permission_mode`)."""

    name = "claude"
    executable_names = ("claude",)
    stdin_prompt = ()  # `-p` without its argument reads the prompt from stdin
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
    config_env = (
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_MODEL",
        "CLAUDE_CONFIG_DIR",
        "CLAUDE_CODE_MAX_RETRIES",
    )
    profile_dir = ".claude"
    base_url_env = "ANTHROPIC_BASE_URL"
    supports_base_url = True
    api_key_var = "ANTHROPIC_API_KEY"
    tested_versions = ("2.1.197", "2.1.197")
    package = "npm @anthropic-ai/claude-code"
    verified = True

    def __init__(self, *, permission_mode: str = "acceptEdits", max_retries: int = 1,
                 **common: Unpack[CliSettings]) -> None:
        super().__init__(**common)
        self.permission_mode = one_of("permission_mode", permission_mode, PERMISSION_MODES)
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        self.max_retries = max_retries

    def child_env(self, request: AgentRequest) -> dict[str, str]:
        env = super().child_env(request)
        env.setdefault("CLAUDE_CODE_MAX_RETRIES", str(self.max_retries))
        if request.mcp is not None:
            # In print mode it would ask the model before wavefront's server is up (and
            # gives a server 5 s to start): its tools would not be offered.
            env.setdefault("MCP_CONNECTION_NONBLOCKING", "false")
            env.setdefault("MCP_CONNECT_TIMEOUT_MS", "60000")
        return env

    def watch(self, line: str, earlier: Sequence[str]) -> Failure | None:
        return api_retry_failure(line, self.name)

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
        return parse_result_stream(self, outcome, request)


def parse_result_stream(
    runner: CliRunner, outcome: ProcessOutcome, request: AgentRequest
) -> AgentResult:
    """The attempt's result from a Claude-shaped JSON-lines stream (Claude Code, Qwen
    Code): the last `result` line, its usage, its permission denials."""
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
        failure = runner.exit_failure(outcome, "no result message")
        if rejected_until is not None:
            failure = Failure(FailureKind.RATE_LIMITED, failure.reason, rejected_until)
        return runner.failed(outcome, failure, session_id=session_id)

    usage = _usage(result)
    text = _str(result.get("result")) or ""
    subtype = _str(result.get("subtype")) or ""
    name = runner.name
    if result.get("is_error") or subtype != "success" or text.startswith("[API Error"):
        failure = _result_failure(name, subtype, text, rejected_until)
        return runner.failed(outcome, failure, usage, request, text=text, session_id=session_id)
    denied = _denials(result.get("permission_denials"))
    if denied:
        failure = Failure(FailureKind.DENIED, f"{name} was not allowed to run: {denied}"[:300])
        return runner.failed(outcome, failure, usage, request, text=text, session_id=session_id)
    if not text.strip():
        failure = Failure(FailureKind.BAD_OUTPUT, f"{name} finished without a final message")
        return runner.failed(outcome, failure, usage, request, session_id=session_id)
    return runner.succeeded(outcome, text, usage, request, session_id=session_id)


def api_retry_failure(line: str, name: str) -> Failure | None:
    """The failure an `api_retry` event announces when retrying cannot help soon: a
    rejected key (401, 403) or a rate limit (429, with the CLI's own retry delay)."""
    if '"api_retry"' not in line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("subtype") != "api_retry":
        return None
    status = event.get("error_status")
    error = _str(event.get("error")) or "error"
    if status in (401, 403):
        return Failure(FailureKind.AUTH, f"{name}: the model service rejected the key "
                                         f"(HTTP {status}, {error})")
    if status == 429:
        delay = event.get("retry_delay_ms")
        retry_at = time.time() + delay / 1000 if isinstance(delay, int | float) else None
        return Failure(FailureKind.RATE_LIMITED,
                       f"{name}: rate limited by the model service (HTTP 429)", retry_at)
    return None


def _denials(value: Any) -> str:
    """The denied tool calls, as `Bash(pytest -q)`, comma-separated."""
    if not isinstance(value, list):
        return ""
    calls = []
    for denial in value:
        if not isinstance(denial, dict):
            continue
        tool = _str(denial.get("tool_name")) or "a tool"
        given = denial.get("tool_input")
        detail = given.get("command") or given.get("file_path") if isinstance(given, dict) else None
        calls.append(f"{tool}({detail})" if isinstance(detail, str) else tool)
    return ", ".join(calls)


def _allowed_tools(request: AgentRequest) -> list[str]:
    tools: list[str] = []
    profile_tools = request.profile.tools if request.profile is not None else ()
    commands = [f"Bash({command}:*)" for command in request.commands]
    for tool in (*profile_tools, *request.permissions, *commands):
        if tool and tool not in tools:
            tools.append(tool)
    return tools


def _usage(result: Mapping[str, Any]) -> Usage:
    cost = result.get("total_cost_usd", result.get("cost_usd"))
    cost_usd = float(cost) if isinstance(cost, int | float) else None
    per_model = result.get("modelUsage")
    if isinstance(per_model, dict) and per_model:
        models = [entry for entry in per_model.values() if isinstance(entry, dict)]
        cached = sum(as_int(m.get("cacheReadInputTokens")) for m in models)
        tokens_in = cached + sum(as_int(m.get("inputTokens")) +
                                 as_int(m.get("cacheCreationInputTokens")) for m in models)
        tokens_out = sum(as_int(m.get("outputTokens")) for m in models)
        if tokens_in or tokens_out:
            return Usage(tokens_in, tokens_out, cached, cost_usd)
    usage = result.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    cached = as_int(usage.get("cache_read_input_tokens"))
    tokens_in = as_int(usage.get("input_tokens")) + cached
    tokens_in += as_int(usage.get("cache_creation_input_tokens"))
    return Usage(
        tokens_in=tokens_in,
        tokens_out=as_int(usage.get("output_tokens")),
        cached_in=cached,
        cost_usd=cost_usd,
    )


def _result_failure(name: str, subtype: str, text: str, rejected_until: float | None) -> Failure:
    if subtype == "error_max_turns":
        return Failure(FailureKind.MAX_TURNS, f"{name} stopped at its turn limit")
    if subtype == "error_max_budget_usd":
        return Failure(FailureKind.ERROR, f"{name} stopped at its budget")
    found = classify_failure(text)
    if rejected_until is not None:
        reason = found.reason if found is not None else "usage limit reached"
        return Failure(FailureKind.RATE_LIMITED, reason, rejected_until)
    if found is not None:
        if found.kind is FailureKind.RATE_LIMITED and found.retry_at is None:
            return Failure(found.kind, found.reason, parse_reset_time(text))
        return found
    label = subtype if subtype and subtype != "success" else "error"
    return Failure(FailureKind.ERROR, f"{name} {label}: {text.strip()[:300] or '(no message)'}")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
