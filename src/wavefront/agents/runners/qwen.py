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
chooses another kind). Tool approval: `approval_mode`, default `yolo` (headless has no one
to ask, and the agent works in a disposable worktree).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.claude import parse_result_stream
from wavefront.agents.runners.cliutil import CliRunner, one_of
from wavefront.agents.runners.failures import Failure
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind

__all__ = ["APPROVAL_MODES", "AUTH_TYPES", "QwenRunner"]

APPROVAL_MODES = ("plan", "default", "auto-edit", "yolo")
AUTH_TYPES = ("openai", "anthropic", "qwen-oauth", "gemini", "vertex-ai")
TURN_LIMIT_EXIT = 53


class QwenRunner(CliRunner):
    """Runs Qwen Code headless in the task's worktree (settings: see `CliRunner`, plus
    `approval_mode` and `auth_type`)."""

    name = "qwen"
    executable_names = ("qwen",)
    auth_env = ("OPENAI_API_KEY", "DASHSCOPE_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
    auth_files = (".qwen/oauth_creds.json",)
    config_env = ("OPENAI_BASE_URL", "OPENAI_MODEL")
    base_url_env = "OPENAI_BASE_URL"
    supports_base_url = True
    api_key_var = "OPENAI_API_KEY"
    tested_versions = ("0.15.10", "0.15.10")
    package = "npm @qwen-code/qwen-code"
    verified = True

    def __init__(
        self,
        *,
        executable: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str | None = None,
        check_version: bool = True,
        approval_mode: str = "yolo",
        auth_type: str | None = None,
    ) -> None:
        super().__init__(executable=executable, extra_args=extra_args, env=env, model=model,
                         base_url=base_url, api_key_env=api_key_env,
                         check_version=check_version)
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
        return argv + list(self.extra_args)

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        if outcome.returncode == TURN_LIMIT_EXIT and '"type":"result"' not in outcome.stdout:
            # It stops at --max-session-turns with exit 53 and no result line.
            failure = Failure(FailureKind.MAX_TURNS, "qwen stopped at its turn limit")
            return self.failed(outcome, failure)
        return parse_result_stream(self, outcome, request)
