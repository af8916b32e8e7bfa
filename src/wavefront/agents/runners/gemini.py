"""Gemini CLI headless mode: `gemini -p PROMPT --output-format json --approval-mode MODE`.

Checked against the real Gemini CLI 0.61.0, following docs/cli/headless.md in
google-gemini/gemini-cli: one JSON object (`session_id`, `response`, `stats`, optional
`error` {type, message, code}). `stats.models.<name>.tokens` holds prompt / candidates /
cached / thoughts counts; no cost, so it is estimated per model from `agents.pricing`.
In JSON mode a fatal error is written as that JSON object to stderr and the exit status is
the documented code: 41 authentication, 42 input, 52 configuration, 53 turn limit
(`maxSessionTurns`), 54 fatal tool error, 130 cancelled; other codes come from the error
itself (an API status such as 429).

Every worktree is a folder Gemini CLI has never seen, and it refuses an untrusted one
(exit 55), so the child gets `GEMINI_CLI_TRUST_WORKSPACE=true`. It retries a failed API
call for minutes, printing `Attempt N failed...` lines: wavefront stops it at the first
(a rate limit with its suggested delay, a refused key, a server error or no network).
With `base_url` the CLI gets `GOOGLE_GEMINI_BASE_URL` and a home of its own beside the
attempt's log (`GEMINI_CLI_HOME`) whose settings select API-key authentication, which
headless mode needs there; the user's own settings are never written. A task's
`max_turns` is Gemini CLI's `model.maxSessionTurns`, a setting only: the attempt gets a
copy of the machine's system settings with it (`GEMINI_CLI_SYSTEM_SETTINGS_PATH`), and
the CLI's exit 53 is `max_turns`.

Gemini CLI has no flag to add to the system prompt (GEMINI_SYSTEM_MD replaces it whole),
so the role text stays in the prompt. With `mcp: true`, wavefront's server is added to the
settings of such a home of its own (the user's settings copied, their other files linked),
as the CLI reads MCP servers only from settings files.

Tool approval: `approval_mode`, default `auto_edit`, as Claude Code's `acceptEdits`: file
edits are approved, and headless Gemini CLI denies whatever would ask. The gates' commands
are allowed by a policy file beside the attempt's log (`--policy`, one `commandPrefix`
rule), so the agent may run the tests it is told to run; any other shell command is
"denied by policy", which fails the attempt as `denied`. Gemini CLI's output does not
name the command: it is read from the session file the CLI keeps in its home. With
`approval_mode: yolo` the agent may run anything.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wavefront.agents.pricing import estimate_cost
from wavefront.agents.runners.attemptsettings import machine_settings_path, merged_settings
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    CliRunner,
    CliSettings,
    Usage,
    as_dict,
    as_int,
    as_str,
    last_json_object,
    one_of,
    plain,
)
from wavefront.agents.runners.failures import Failure, classify_failure
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["APPROVAL_MODES", "EXIT_CODES", "GeminiRunner"]

APPROVAL_MODES = ("default", "auto_edit", "yolo")

# Documented headless exit codes and what they mean for an attempt.
EXIT_CODES: dict[int, tuple[FailureKind, str]] = {
    41: (FailureKind.AUTH, "authentication error"),
    42: (FailureKind.ERROR, "input error (invalid prompt or arguments)"),
    44: (FailureKind.ERROR, "sandbox error"),
    52: (FailureKind.ERROR, "configuration error"),
    53: (FailureKind.MAX_TURNS, "turn limit exceeded"),
    54: (FailureKind.ERROR, "fatal tool execution error"),
    55: (FailureKind.ERROR, "the folder is not trusted"),
    130: (FailureKind.CANCELLED, "cancelled"),
    144: (FailureKind.AUTH, "the API key was refused"),
    173: (FailureKind.RATE_LIMITED, "quota or rate limit exceeded"),
    244: (FailureKind.ERROR, "the model service failed"),
}

_ATTEMPT_FAILED = re.compile(r"^Attempt \d+ failed", re.IGNORECASE)


class GeminiRunner(CliRunner):
    """Runs Gemini CLI headless in the task's worktree (settings: see `CliRunner`, plus
    `approval_mode`)."""

    name = "gemini"
    executable_names = ("gemini",)
    stdin_prompt = ("",)  # stdin is put before the (empty) `-p` text
    auth_env = (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_APPLICATION_CREDENTIALS",
    )
    auth_files = (".gemini/oauth_creds.json",)
    config_env = ("GEMINI_MODEL", "GEMINI_CLI_HOME", "GOOGLE_GEMINI_BASE_URL")
    base_url_env = "GOOGLE_GEMINI_BASE_URL"
    supports_base_url = True
    api_key_var = "GEMINI_API_KEY"
    tested_versions = ("0.61.0", "0.61.0")
    package = "npm @google/gemini-cli"
    verified = True

    def __init__(self, *, approval_mode: str = "auto_edit", **common: Unpack[CliSettings]) -> None:
        super().__init__(**common)
        self.approval_mode = one_of("approval_mode", approval_mode, APPROVAL_MODES)

    def child_env(self, request: AgentRequest) -> dict[str, str]:
        env = {"GEMINI_CLI_TRUST_WORKSPACE": "true", **super().child_env(request)}
        if self._own_home(request):
            api_key_auth = bool(self.base_url) and "GEMINI_CLI_HOME" not in env
            user_home = Path(env.get("GEMINI_CLI_HOME") or Path.home())
            home = _attempt_home(request, None if api_key_auth else user_home)
            env["GEMINI_CLI_HOME"] = str(home)
        if request.max_turns:
            # The limit is a setting only, and the machine's system settings outrank the
            # user's: a copy of them with the limit, beside the attempt's log.
            machine = machine_settings_path(env, "GEMINI_CLI_SYSTEM_SETTINGS_PATH",
                                            "gemini-cli", "GeminiCli")
            limited = merged_settings(machine, request.log_path.with_suffix(".gemini-system.json"),
                                      {("model", "maxSessionTurns"): request.max_turns},
                                      override=True)
            if limited is not None:
                env["GEMINI_CLI_SYSTEM_SETTINGS_PATH"] = str(limited)
        return env

    def _own_home(self, request: AgentRequest) -> bool:
        """Whether the attempt gets a home of its own (`_attempt_home`)."""
        configured = {**os.environ, **self.env, **request.env}
        return (bool(self.base_url) and "GEMINI_CLI_HOME" not in configured) or \
            request.mcp is not None

    def cli_home(self, request: AgentRequest) -> Path:
        """The home Gemini CLI keeps its state in for this attempt (sessions included)."""
        if self._own_home(request):
            return request.log_path.parent / "gemini-home"
        configured = {**os.environ, **self.env, **request.env}
        return Path(configured.get("GEMINI_CLI_HOME") or Path.home())

    def watch(self, line: str, earlier: Sequence[str]) -> Failure | None:
        text = plain(line).strip()
        if not _ATTEMPT_FAILED.match(text):
            return None
        found = classify_failure(text)
        if found is not None:
            return Failure(found.kind, f"gemini: {found.reason}"[:300], found.retry_at)
        if "fetch failed" in text or "ECONNREFUSED" in text:
            return Failure(FailureKind.ERROR, "gemini cannot reach the model service")
        return Failure(FailureKind.ERROR, f"gemini: {text}"[:300])

    def build_argv(self, request: AgentRequest) -> list[str]:
        argv = [self.executable, "-p", request.prompt, "--output-format", "json"]
        argv += ["--approval-mode", self.approval_mode]
        if self.approval_mode != "yolo" and request.commands:
            argv += ["--policy", str(_gate_policy(request))]
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        session = request.options.get("resume_session")
        if session:  # continue the agent's own session (a fix round, an answer)
            argv += ["--resume", str(session)]
        return argv + list(self.extra_args)

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        # The answer is on stdout; a fatal error's JSON is on stderr.
        doc = last_json_object(outcome.stdout) or last_json_object(outcome.stderr)
        if doc is None or not {"response", "error", "stats"} & doc.keys():
            return self.failed(outcome, self._exit_code_failure(outcome))
        usage = _usage(doc.get("stats"))
        session_id = as_str(doc.get("session_id")) or None
        response = as_str(doc.get("response"))
        error = doc.get("error")
        if isinstance(error, dict) or outcome.returncode:
            failure = _error_failure(error if isinstance(error, dict) else {}, outcome)
            return self.failed(outcome, failure, usage, text=response, session_id=session_id)
        if not response.strip():
            failure = Failure(FailureKind.BAD_OUTPUT, "gemini returned an empty response")
            return self.failed(outcome, failure, usage, session_id=session_id)
        if _POLICY_DENIAL in outcome.stderr:
            denied = _denied_commands(self.cli_home(request), session_id)
            named = ", ".join(f"run_shell_command({c})" for c in denied) or "a shell command"
            failure = Failure(FailureKind.DENIED, f"gemini was not allowed to run: {named}"[:300])
            return self.failed(outcome, failure, usage, text=response, session_id=session_id)
        return self.succeeded(outcome, response, usage, request, session_id=session_id)

    def _exit_code_failure(self, outcome: ProcessOutcome) -> Failure:
        known = EXIT_CODES.get(outcome.returncode or 0)
        found = classify_failure(outcome.stderr)
        if found is not None:
            return found
        if known is not None:
            return Failure(known[0], f"gemini: {known[1]}")
        return self.exit_failure(outcome, "no JSON result")


def _attempt_home(request: AgentRequest, user_home: Path | None) -> Path:
    """A home for the CLI beside the attempt's log, whose settings are the only file
    wavefront writes. Without `user_home` they select API-key authentication (`base_url`);
    with it, they are the user's own settings and the rest of the user's `.gemini` is
    linked in (sign-in, trust). Either way wavefront's MCP server joins `mcpServers`: the
    CLI reads servers only from settings files, and a system settings file is refused
    under a folder others may write to (a temporary folder)."""
    home = request.log_path.parent / "gemini-home"
    own = home / ".gemini"
    own.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    if user_home is not None:
        theirs = user_home / ".gemini"
        for entry in theirs.iterdir() if theirs.is_dir() else ():
            link = own / entry.name
            if entry.name != "settings.json" and not link.exists() and not link.is_symlink():
                link.symlink_to(entry)
        settings = _read_json(theirs / "settings.json")
    if request.mcp is not None:
        servers = settings.get("mcpServers")
        settings["mcpServers"] = {**(servers if isinstance(servers, dict) else {}),
                                  **request.mcp.gemini_servers()}
    (own / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    return home


# What Gemini CLI prints on stderr for a tool call its policy refused.
_POLICY_DENIAL = "Tool execution denied by policy"


def _gate_policy(request: AgentRequest) -> Path:
    """A policy file, beside the attempt's log, that allows the gates' commands."""
    prefixes = ", ".join(json.dumps(command) for command in request.commands)
    path = request.log_path.with_suffix(".gemini-policy.toml")
    path.parent.mkdir(parents=True, exist_ok=True)
    # TOML's basic strings take JSON's escapes.
    path.write_text(f'[[rule]]\ntoolName = "run_shell_command"\ncommandPrefix = [{prefixes}]\n'
                    'decision = "allow"\npriority = 500\n', encoding="utf-8")
    return path


def _denied_commands(home: Path, session_id: str | None) -> list[str]:
    """The shell commands the policy refused in session `session_id`, read from the
    session file Gemini CLI keeps (`~/.gemini/tmp/<project>/chats/session-*-<id>.jsonl`);
    empty when it cannot be read."""
    if not session_id:
        return []
    commands: list[str] = []
    for path in (home / ".gemini" / "tmp").glob(f"*/chats/session-*{session_id[:8]}.jsonl"):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            for call in _tool_calls(line):
                command = as_str(as_dict(call.get("args")).get("command"))
                if _POLICY_DENIAL in json.dumps(call.get("result")) and command and \
                        command not in commands:
                    commands.append(command)
    return commands


def _tool_calls(line: str) -> list[dict[str, Any]]:
    try:
        entry = json.loads(line)
    except ValueError:
        return []
    calls = entry.get("toolCalls") if isinstance(entry, dict) else None
    return [call for call in calls if isinstance(call, dict)] if isinstance(calls, list) else []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _usage(stats: Any) -> Usage:
    """Token totals over all models; cost summed per model (each has its own price)."""
    models = stats.get("models") if isinstance(stats, dict) else None
    if not isinstance(models, dict):
        return Usage()
    tokens_in = tokens_out = cached = 0
    cost: float | None = None
    for name, entry in models.items():
        tokens = entry.get("tokens") if isinstance(entry, dict) else None
        if not isinstance(tokens, dict):
            continue
        model_in = as_int(tokens.get("prompt"))
        model_out = as_int(tokens.get("candidates")) + as_int(tokens.get("thoughts"))
        model_cached = as_int(tokens.get("cached"))
        tokens_in += model_in
        tokens_out += model_out
        cached += model_cached
        model_cost = estimate_cost(str(name), model_in, model_out, model_cached)
        if model_cost is not None:
            cost = (cost or 0.0) + model_cost
    return Usage(tokens_in, tokens_out, cached, cost, estimated=cost is not None)


def _error_failure(error: Mapping[str, Any], outcome: ProcessOutcome) -> Failure:
    message = plain(str(error.get("message") or "")).strip()
    code = error.get("code")
    text = f"{error.get('type', '')} {code} {message}\n{outcome.stderr}"
    if str(code) == "429":
        found = classify_failure(text)
        retry_at = found.retry_at if found is not None else None
        return Failure(FailureKind.RATE_LIMITED, f"gemini: {message}"[:300], retry_at)
    known = EXIT_CODES.get(code) if isinstance(code, int) else None
    known = known or EXIT_CODES.get(outcome.returncode or 0)
    if known is not None and known[0] is not FailureKind.ERROR:
        return Failure(known[0], f"gemini: {message or known[1]}")
    found = classify_failure(text)
    if found is not None:
        return found
    return Failure(FailureKind.ERROR, f"gemini: {message or 'error'}"[:300])
