"""Codex CLI non-interactive mode: `codex exec --json --sandbox workspace-write PROMPT`.

Written for Codex CLI 0.46 to 0.15x, following `docs/exec.md` in openai/codex ("JSON
output mode"): JSON lines `thread.started` (`thread_id`), `turn.started`,
`item.started|updated|completed` (`item.type` agent_message, reasoning, command_execution,
file_change, ...), `turn.completed` (`usage`: input_tokens, cached_input_tokens,
output_tokens), `turn.failed` (`error.message`) and top-level `error` (`message`).

The exit status alone is not trusted: the run succeeded only if a turn completed, none
failed and an agent message was written. Codex reports tokens but no cost, so the cost is
estimated from `agents.pricing` when the model is known (request, runner setting `model`).
Codex has no persona flag: the role text stays in the prompt. Profiles' tools have no Codex
equivalent; the sandbox (`sandbox` setting, default workspace-write) is the permission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    CliRunner,
    Failure,
    Usage,
    as_int,
    classify_failure,
    iter_json_lines,
    one_of,
)
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind

__all__ = ["SANDBOX_MODES", "CodexRunner"]

SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")


class CodexRunner(CliRunner):
    """Runs `codex exec` in the task's worktree (settings: see `CliRunner`, plus
    `sandbox`)."""

    name = "codex"
    executable_names = ("codex",)
    auth_env = ("CODEX_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")
    auth_files = (".codex/auth.json",)
    config_env = ("CODEX_HOME",)

    def __init__(
        self,
        *,
        executable: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        model: str | None = None,
        sandbox: str = "workspace-write",
    ) -> None:
        super().__init__(executable=executable, extra_args=extra_args, env=env, model=model)
        self.sandbox = one_of("sandbox", sandbox, SANDBOX_MODES)

    def build_argv(self, request: AgentRequest) -> list[str]:
        argv = [self.executable, "exec", "--json", "--sandbox", self.sandbox]
        if request.mcp is not None:
            argv += request.mcp.codex_config()
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        return [*argv, *self.extra_args, request.prompt]

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        thread_id: str | None = None
        message = ""
        completed = False
        errors: list[str] = []
        tokens_in = tokens_out = cached = 0
        for event in iter_json_lines(outcome.stdout):
            kind = event.get("type")
            if kind == "thread.started" and isinstance(event.get("thread_id"), str):
                thread_id = event["thread_id"]
            elif kind == "item.completed":
                item = event.get("item")
                if isinstance(item, dict) and item.get("type") == "agent_message":
                    message = str(item.get("text") or "")
                elif isinstance(item, dict) and item.get("type") == "error":
                    errors.append(str(item.get("message") or ""))
            elif kind == "turn.completed":
                completed = True
                usage = event.get("usage")
                if isinstance(usage, dict):
                    tokens_in += as_int(usage.get("input_tokens"))
                    cached += as_int(usage.get("cached_input_tokens"))
                    tokens_out += as_int(usage.get("output_tokens"))
            elif kind == "turn.failed":
                error = event.get("error")
                detail = error.get("message") if isinstance(error, dict) else error
                errors.append(f"turn failed: {detail}")
            elif kind == "error":
                errors.append(str(event.get("message") or ""))
        usage = Usage(tokens_in=tokens_in, tokens_out=tokens_out, cached_in=cached)
        if errors:
            text = "\n".join(errors)
            failure = classify_failure(text) or Failure(FailureKind.ERROR, errors[-1][:300])
            return self.failed(outcome, failure, usage, request, text=message, session_id=thread_id)
        if not completed or not message.strip():
            failure = self.exit_failure(outcome, "no completed turn with an agent message")
            return self.failed(outcome, failure, usage, request, session_id=thread_id)
        return self.succeeded(outcome, message, usage, request, session_id=thread_id)
