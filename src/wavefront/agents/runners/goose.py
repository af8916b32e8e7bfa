"""Goose headless: `goose run -i PROMPT.md --no-session --output-format json`.

Written for goose 1.8 onwards (the release that added `--output-format`), following the
CLI commands guide (block.github.io/goose/docs/guides/goose-cli-commands, `run`) and
`crates/goose-cli/src/session/mod.rs` for the JSON shape: one object
`{"messages": [...], "metadata": {"total_tokens": int | null, "status": "completed"}}`,
each message `{"role", "created", "content": [{"type": "text", "text"}, ...]}`. Errors
are printed to stderr with a non-zero exit. goose reports only a token total, so tokens in
and out and the cost stay unknown.

Profile mapping: the role text goes to `--system` (additional system instructions), so the
task prompt leaves it out. `--max-turns` bounds the agent loop. The prompt goes in a file
beside the attempt's log (`-i`), outside the worktree. Tool approval comes from goose's own
configuration (`GOOSE_MODE`, default auto).
"""

from __future__ import annotations

from typing import Any

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    CliRunner,
    Usage,
    as_dict,
    last_json_object,
    prompt_file_for,
)
from wavefront.agents.runners.failures import Failure, classify_failure
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentProfile, AgentResult, FailureKind

__all__ = ["GooseRunner"]


class GooseRunner(CliRunner):
    """Runs `goose run` once in the task's worktree (settings: see `CliRunner`)."""

    name = "goose"
    executable_names = ("goose",)
    auth_env = (
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GOOGLE_API_KEY",
        "OPENROUTER_API_KEY",
        "GROQ_API_KEY",
        "DATABRICKS_HOST",
        "DATABRICKS_TOKEN",
        "OLLAMA_HOST",
    )
    auth_files = (".config/goose/config.yaml",)
    config_env = ("GOOSE_PROVIDER", "GOOSE_MODEL", "GOOSE_MODE", "GOOSE_TEMPERATURE")

    def passes_persona(self, profile: AgentProfile | None) -> bool:
        return profile is not None and bool(profile.prompt.strip())

    def build_argv(self, request: AgentRequest) -> list[str]:
        prompt_file = prompt_file_for(request.log_path)
        prompt_file.parent.mkdir(parents=True, exist_ok=True)
        prompt_file.write_text(request.prompt, encoding="utf-8")
        argv = [self.executable, "run", "-i", str(prompt_file), "--no-session"]
        argv += ["--output-format", "json"]
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        if request.max_turns:
            argv += ["--max-turns", str(request.max_turns)]
        if request.profile is not None and self.passes_persona(request.profile):
            argv += ["--system", request.profile.prompt.strip()]
        return argv + list(self.extra_args)

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        doc = last_json_object(outcome.stdout)
        messages = doc.get("messages") if doc is not None else None
        if doc is None or not isinstance(messages, list):
            return self.failed(outcome, self.exit_failure(outcome, "no JSON result"))
        metadata = as_dict(doc.get("metadata"))
        status = str(metadata.get("status") or "")
        text = _last_assistant_text(messages)
        if outcome.returncode or status not in ("", "completed"):
            found = classify_failure(f"{status}\n{outcome.stderr}")
            kind = FailureKind.MAX_TURNS if "turn" in status.lower() else FailureKind.ERROR
            failure = found or Failure(kind, f"goose {status or 'failed'}: {text.strip()[:200]}")
            return self.failed(outcome, failure, text=text)
        if not text.strip():
            failure = Failure(FailureKind.BAD_OUTPUT, "goose finished without an assistant reply")
            return self.failed(outcome, failure)
        return self.succeeded(outcome, text, Usage(), request)


def _last_assistant_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        parts = [
            str(item.get("text"))
            for item in (content if isinstance(content, list) else [])
            if isinstance(item, dict) and item.get("type") == "text" and item.get("text")
        ]
        if parts:
            return "\n".join(parts)
    return ""
