"""Qwen Code headless: `qwen -p PROMPT --output-format stream-json --approval-mode yolo`.

Checked against the real Qwen Code 0.15.10. Its stream is shaped like Claude Code's
(`system/init`, `assistant`, `user` tool results, a last `result` line with `is_error`,
`result`, `usage`, `permission_denials` and per-model `stats`), so it is read the same way
(`claude.parse_result_stream`). Qwen Code reports no cost: it is estimated from the
tokens where the model's price is known, and unknown otherwise.

Two differences matter. An API failure Qwen Code could not get past (an unreachable
server, a refused key) still ends in a result with `is_error: false` whose text starts
with `[API Error: ...]`: that is a failure. And it talks to OpenAI-compatible services with
`--auth-type openai`, `OPENAI_BASE_URL`, `OPENAI_API_KEY` and `--model`, so the provider
settings `base_url`, `api_key_env` and `model` map onto those (the `auth_type` setting
chooses another kind). With `mcp: true` wavefront's server is given with `--mcp-config`
(inline JSON), as to Claude Code.

Tool approval: `approval_mode`, default `auto-edit`, as Claude Code's `acceptEdits`: file
edits are approved, and a shell command only when a rule allows it. The gates' commands
(and the request's `permissions`) are such rules, `permissions.allow` in the attempt's
system defaults (a list Qwen Code merges over every settings file); headless, Qwen Code
declines any other command and lists it in the result's `permission_denials`, which fails
the attempt as `denied`, naming it. Each rule is a gate command as Qwen Code compares
it: split at `&&`, `|`, `;` (each part is checked on its own) and re-joined word by word
without the shell's quotes. `approval_mode: yolo` lets the agent run anything.

A rate limit or a server error Qwen Code retries for minutes (up to 7 tries with growing
waits, then 10 more for a rate limit, a minute or more apart), printing nothing. It logs
each retry in its debug log, though, which lives in its runtime folder (`QWEN_RUNTIME_DIR`):
wavefront gives each attempt a runtime folder of its own beside the attempt's log, reads
that log as it grows and stops the CLI at its first retry (`rate_limited`, with the wait it
was told, or `error`). The folder also keeps the attempt's session files and todos out of
the user's home. The OpenAI client inside Qwen Code would first wait out a rate limit's
`retry-after` three times without logging it, so the attempt's system defaults (the
lowest-ranked settings file, `QWEN_CODE_SYSTEM_DEFAULTS_PATH`: the machine's own, plus
`model.generationConfig.maxRetries: 0` unless it sets one) turn the client's retries off.
They also turn off the usage statistics Qwen Code sends to a host of its own by default
(`privacy.usageStatisticsEnabled: false`, unless the machine's file says otherwise).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wavefront.agents.runners.attemptsettings import machine_settings_path, merged_settings
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.claude import parse_result_stream
from wavefront.agents.runners.cliutil import CliRunner, CliSettings, one_of
from wavefront.agents.runners.failures import Failure, classify_failure, parse_reset_time
from wavefront.agents.runners.mcpwiring import SERVER_NAME
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["APPROVAL_MODES", "AUTH_TYPES", "QwenRunner", "carry_session", "shell_rules",
           "system_defaults_path"]

APPROVAL_MODES = ("plan", "default", "auto-edit", "yolo")
AUTH_TYPES = ("openai", "anthropic", "qwen-oauth", "gemini", "vertex-ai")
TURN_LIMIT_EXIT = 53

# A debug log line of a retry: `... [RETRY] Attempt 1 failed with status 429. Retrying
# after explicit delay of 30000ms... Error: 429 Rate limit reached ...`.
_RETRY = re.compile(r"\[RETRY\] Attempt \d+ failed(?: with status (?P<status>\d+))?\.(?P<rest>.*)")
_DELAY_MS = re.compile(r"explicit delay of (\d+)ms")
_ERROR_TEXT = re.compile(r"\bError: (.*)")


class QwenRunner(CliRunner):
    """Runs Qwen Code headless in the task's worktree (settings: see `CliRunner`, plus
    `approval_mode` and `auth_type`)."""

    name = "qwen"
    executable_names = ("qwen",)
    stdin_prompt = ("",)  # as Gemini CLI: stdin is put before the (empty) `-p` text
    auth_env = ("OPENAI_API_KEY", "DASHSCOPE_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
    auth_files = (".qwen/oauth_creds.json",)
    config_env = ("OPENAI_BASE_URL", "OPENAI_MODEL")
    base_url_env = "OPENAI_BASE_URL"
    supports_base_url = True
    api_key_var = "OPENAI_API_KEY"
    tested_versions = ("0.15.10", "0.15.10")
    package = "npm @qwen-code/qwen-code"
    verified = True

    def __init__(self, *, approval_mode: str = "auto-edit", auth_type: str | None = None,
                 **common: Unpack[CliSettings]) -> None:
        super().__init__(**common)
        self.approval_mode = one_of("approval_mode", approval_mode, APPROVAL_MODES)
        self.auth_type = one_of("auth_type", auth_type, AUTH_TYPES) if auth_type else None

    def build_argv(self, request: AgentRequest) -> list[str]:
        argv = [self.executable, "-p", request.prompt, "--output-format", "stream-json"]
        argv += ["--approval-mode", self.approval_mode]
        auth_type = self.auth_type
        if auth_type is None and (
            self.base_url or self.api_key() or os.environ.get("OPENAI_API_KEY")
        ):
            auth_type = "openai"
        if auth_type:
            argv += ["--auth-type", auth_type]
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        if request.max_turns:
            argv += ["--max-session-turns", str(request.max_turns)]
        if request.mcp is not None:
            argv += ["--mcp-config", request.mcp.mcp_servers_json()]
        session = request.options.get("resume_session")
        if session:  # continue the agent's own session (a fix round, an answer)
            argv += ["--resume", str(session)]
        return argv + list(self.extra_args)

    def runtime_folder(self, request: AgentRequest) -> Path:
        """Qwen Code's runtime folder for this attempt (debug log, session, todos)."""
        if "QWEN_RUNTIME_DIR" in self.env:
            return Path(self.env["QWEN_RUNTIME_DIR"])
        return request.log_path.with_name(request.log_path.stem + ".qwen")

    def child_env(self, request: AgentRequest) -> dict[str, str]:
        env = super().child_env(request)
        folder = self.runtime_folder(request)
        env.setdefault("QWEN_RUNTIME_DIR", str(folder))
        session = request.options.get("resume_session")
        if session:
            carry_session(request.log_path.parent, folder, str(session))
        if "QWEN_CODE_SYSTEM_DEFAULTS_PATH" not in env:
            values: dict[tuple[str, ...], object] = {
                ("model", "generationConfig", "maxRetries"): 0,
                ("privacy", "usageStatisticsEnabled"): False}
            allowed = [*shell_rules(request.commands), *request.permissions]
            if request.mcp is not None:  # wavefront's own tools (`ask_human`)
                allowed.append(f"mcp__{SERVER_NAME}")
            if self.approval_mode != "yolo" and allowed:
                values[("permissions", "allow")] = allowed
            defaults = merged_settings(system_defaults_path(env), folder / "system-defaults.json",
                                       values, override=False)
            if defaults is not None:
                env["QWEN_CODE_SYSTEM_DEFAULTS_PATH"] = str(defaults)
        return env

    def side_logs(self, request: AgentRequest) -> Path | None:
        return self.runtime_folder(request) / "debug"

    def watch(self, line: str, earlier: Sequence[str]) -> Failure | None:
        match = _RETRY.search(line)
        if match is None:
            return None
        status = match.group("status")
        detail = _ERROR_TEXT.search(match.group("rest"))
        said = detail.group(1).strip() if detail else f"HTTP {status or 'error'}"
        if status == "429":
            delay = _DELAY_MS.search(line)
            retry_at = (time.time() + int(delay.group(1)) / 1000 if delay
                        else parse_reset_time(said))
            return Failure(FailureKind.RATE_LIMITED, f"qwen: {said}"[:300], retry_at)
        found = classify_failure(said)
        if found is not None:
            return Failure(found.kind, f"qwen: {said}"[:300], found.retry_at)
        return Failure(FailureKind.ERROR, f"qwen: the model service failed: {said}"[:300])

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        if outcome.returncode == TURN_LIMIT_EXIT and '"type":"result"' not in outcome.stdout:
            # It stops at --max-session-turns with exit 53 and no result line.
            failure = Failure(FailureKind.MAX_TURNS, "qwen stopped at its turn limit")
            return self.failed(outcome, failure)
        return parse_result_stream(self, outcome, request)


# Where Qwen Code splits a command into parts that are each checked against the rules.
_OPERATORS = re.compile(r"&&|\|\||;;|\|&|\||;")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def shell_rules(commands: Sequence[str]) -> list[str]:
    """Qwen Code permission rules that allow exactly `commands` (the gates' commands)."""
    rules: list[str] = []
    for command in commands:
        for part in _split_outside_quotes(command):
            try:
                words = shlex.split(part)
            except ValueError:
                words = part.split()
            while words and _ASSIGNMENT.match(words[0]):
                words.pop(0)  # Qwen Code compares a command without its leading assignments
            rule = f"run_shell_command({' '.join(words)})"
            if words and rule not in rules:
                rules.append(rule)
    return rules


def _split_outside_quotes(command: str) -> list[str]:
    parts: list[str] = []
    start = 0
    quote: str | None = None
    index = 0
    while index < len(command):
        char = command[index]
        if char == "\\":
            index += 2
            continue
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        else:
            match = _OPERATORS.match(command, index)
            if match is not None:
                parts.append(command[start:index].strip())
                start = index = match.end()
                continue
        index += 1
    parts.append(command[start:].strip())
    return [part for part in parts if part]


def carry_session(logs: Path, folder: Path, session: str) -> None:
    """Copy session `session`'s chat record from an earlier attempt's runtime folder (in
    `logs`) into `folder`: `--resume` looks only in its own runtime folder, and each attempt
    has its own so that its debug log starts empty for the retry watcher."""
    name = f"{session}.jsonl"
    if any(folder.glob(f"projects/*/chats/{name}")):
        return
    earlier = sorted((p for p in logs.glob(f"*.qwen/projects/*/chats/{name}")
                      if not p.is_relative_to(folder)),
                     key=lambda p: p.stat().st_mtime)
    if not earlier:
        return  # the CLI says the session is unknown, and the attempt fails with that
    latest = earlier[-1]
    target = folder / latest.relative_to(latest.parents[3])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(latest, target)


def system_defaults_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where Qwen Code reads the machine's system defaults (the lowest-ranked settings)."""
    env = os.environ if environ is None else environ
    if env.get("QWEN_CODE_SYSTEM_DEFAULTS_PATH"):
        return Path(env["QWEN_CODE_SYSTEM_DEFAULTS_PATH"])
    settings = machine_settings_path(env, "QWEN_CODE_SYSTEM_SETTINGS_PATH", "qwen-code",
                                     "QwenCode")
    return settings.with_name("system-defaults.json")
