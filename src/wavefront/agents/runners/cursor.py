"""Cursor's agent CLI in print mode: `cursor-agent -p --output-format json --force PROMPT`.

Written for the Cursor Agent CLI of 2025.08 onwards, following cursor.com/docs/cli
(headless use, parameters) and cursor.com/docs/cli/reference/output-format: with `json`
the CLI prints one object on success, `{"type": "result", "subtype": "success",
"is_error": false, "duration_ms", "duration_api_ms", "result", "session_id",
"request_id"}`; on failure it exits non-zero, writes the message to stderr and prints no
JSON. The docs name no cost or token fields; a `usage` object is read if a version adds one.

`--force` lets the agent change files and run commands without asking (print mode has no
one to ask); the `force` setting turns it off. Cursor has no persona flag: the role text
stays in the prompt. Authentication: `CURSOR_API_KEY` or a prior `cursor-agent login`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    CliRunner,
    CliSettings,
    Usage,
    as_dict,
    as_int,
    as_str,
    last_json_object,
)
from wavefront.agents.runners.failures import Failure, classify_failure
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CursorRunner"]


class CursorRunner(CliRunner):
    """Runs Cursor's agent CLI headless in the task's worktree (settings: see
    `CliRunner`, plus `force`)."""

    name = "cursor"
    executable_names = ("cursor-agent", "agent")
    auth_env = ("CURSOR_API_KEY",)
    auth_files = (".config/cursor/auth.json", ".cursor/cli-config.json")

    def __init__(self, *, force: bool = True, **common: Unpack[CliSettings]) -> None:
        super().__init__(**common)
        if not isinstance(force, bool):
            raise ValueError(f"force must be true or false, got {force!r}")
        self.force = force

    def build_argv(self, request: AgentRequest) -> list[str]:
        argv = [self.executable, "-p", "--output-format", "json"]
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        if self.force:
            argv.append("--force")
        return [*argv, *self.extra_args, request.prompt]

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        doc = last_json_object(outcome.stdout)
        if doc is None or doc.get("type") != "result":
            return self.failed(outcome, self.exit_failure(outcome, "no result object"))
        session_id = as_str(doc.get("session_id")) or None
        text = as_str(doc.get("result"))
        raw = as_dict(doc.get("usage"))
        usage = Usage(
            tokens_in=as_int(raw.get("input_tokens") or raw.get("inputTokens")),
            tokens_out=as_int(raw.get("output_tokens") or raw.get("outputTokens")),
        )
        if doc.get("is_error") or doc.get("subtype") != "success" or outcome.returncode:
            failure = classify_failure(f"{text}\n{outcome.stderr}") or Failure(
                FailureKind.ERROR, f"cursor: {doc.get('subtype')}: {text.strip()[:300]}"
            )
            return self.failed(outcome, failure, usage, request, text=text, session_id=session_id)
        if not text.strip():
            failure = Failure(FailureKind.BAD_OUTPUT, "cursor-agent returned an empty result")
            return self.failed(outcome, failure, usage, request, session_id=session_id)
        return self.succeeded(outcome, text, usage, request, session_id=session_id)
