"""aider in scripting mode: `aider --message-file PROMPT.md --yes-always --no-auto-commits
--no-stream ...`, files to edit as arguments and files to read with `--read`.

Written for aider 0.8x (checked against aider-chat 0.86.2's `--help` and its output),
following aider.chat/docs/scripting.html and the options reference
(aider.chat/docs/config/options.html). aider has no structured output: the final text is
what it printed, and tokens and cost come from its report lines
`Tokens: 2.1k sent, 154 received. Cost: $0.00041 message, $0.00041 session.` (with
`cache write` / `cache hit` parts, and the Cost part on its own line when both appear).

aider exits 0 even when every model call failed (it prints e.g.
`litellm.AuthenticationError: ...` and a hint, then stops), so the exit status is not
trusted: a run succeeded only if a model reply was reported (a Tokens line) after the last
error. No Tokens line and no error is `BAD_OUTPUT`. The prompt goes in a file beside the
attempt's log (outside the worktree); aider has no persona flag, so the role text stays in
the prompt. wavefront commits the work, hence `--no-auto-commits`; `--no-gitignore` and
`--no-detect-urls` keep aider from editing .gitignore or fetching URLs named in a task.
"""

from __future__ import annotations

import re

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    TEXT_LIMIT,
    CliRunner,
    Failure,
    Usage,
    classify_failure,
    prompt_file_for,
)
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind

__all__ = ["FIXED_FLAGS", "AiderRunner", "parse_usage_lines"]

# Flags every attempt gets (checked against the real `aider --help` in the tests).
FIXED_FLAGS = (
    "--yes-always",
    "--no-auto-commits",
    "--no-stream",
    "--no-pretty",
    "--no-check-update",
    "--no-show-release-notes",
    "--analytics-disable",
    "--no-gitignore",
    "--no-detect-urls",
)

_COUNT = r"(\d+(?:\.\d+)?k?)"
_TOKENS = re.compile(
    rf"^Tokens: {_COUNT} sent(?:, {_COUNT} cache write)?(?:, {_COUNT} cache hit)?,"
    rf" {_COUNT} received\.",
    re.MULTILINE,
)
_COST = re.compile(r"Cost: \$(\d+(?:\.\d+)?) message, \$(\d+(?:\.\d+)?) session\.")
# A failed model call: litellm's exception line, or aider's own summary of one.
_ERROR = re.compile(
    r"^(?:litellm\.\w+(?:Error|Exception|Timeout)\b.*"
    r"|The API provider .*"
    r"|Empty response received from LLM.*"
    r"|Model \S+ is not (?:available|supported).*"
    r"|Unable to (?:find|load) model.*)$",
    re.MULTILINE,
)


class AiderRunner(CliRunner):
    """Runs aider once on a message file in the task's worktree (settings: see
    `CliRunner`)."""

    name = "aider"
    executable_names = ("aider",)
    auth_env = (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "DEEPSEEK_API_KEY",
        "OPENROUTER_API_KEY",
        "GROQ_API_KEY",
        "XAI_API_KEY",
        "AZURE_API_KEY",
        "AZURE_API_BASE",
        "AZURE_API_VERSION",
    )
    auth_files = (".aider.conf.yml",)
    config_env = ("OPENAI_API_BASE", "OLLAMA_API_BASE", "AIDER_MODEL", "AIDER_WEAK_MODEL")

    def build_argv(self, request: AgentRequest) -> list[str]:
        prompt_file = prompt_file_for(request.log_path)
        prompt_file.parent.mkdir(parents=True, exist_ok=True)
        prompt_file.write_text(request.prompt, encoding="utf-8")
        argv = [self.executable, "--message-file", str(prompt_file), *FIXED_FLAGS]
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        task = request.task
        for path in dict.fromkeys((*task.context_files, *task.reference_files)):
            argv += ["--read", path]
        argv += list(self.extra_args)
        return argv + list(dict.fromkeys((*task.deliverables, *task.files)))

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        text = outcome.stdout
        usage = parse_usage_lines(text)
        last_reply = max((m.end() for m in _TOKENS.finditer(text)), default=-1)
        errors = [m for m in _ERROR.finditer(text) if m.start() > last_reply]
        final = text.strip()[-TEXT_LIMIT:]
        if errors:
            # The error and the lines aider wrapped it over, up to its hint.
            start = errors[0].start()
            detail = text[start : errors[-1].end()]
            failure = classify_failure(detail) or Failure(
                FailureKind.ERROR, f"aider: {errors[0].group(0).strip()[:300]}"
            )
            return self.failed(outcome, failure, usage, request, text=final)
        if outcome.returncode:
            return self.failed(outcome, self.exit_failure(outcome, "an error"), usage, request)
        if last_reply < 0:
            failure = self.exit_failure(outcome, "no model reply (no Tokens line)")
            return self.failed(outcome, failure, usage, request, text=final)
        return self.succeeded(outcome, final, usage, request)


def parse_usage_lines(text: str) -> Usage:
    """Tokens and cost summed over aider's per-message report lines. Cost is None when
    aider printed no Cost part (it knows no price for the model)."""
    tokens_in = tokens_out = cached = 0
    for match in _TOKENS.finditer(text):
        sent, _write, hit, received = match.groups()
        tokens_in += _count(sent)
        cached += _count(hit)
        tokens_out += _count(received)
    costs = [float(message) for message, _session in _COST.findall(text)]
    return Usage(tokens_in, tokens_out, cached, sum(costs) if costs else None)


def _count(value: str | None) -> int:
    """aider's rounded counts: `154`, `2.1k`, `12k`."""
    if not value:
        return 0
    if value.endswith("k"):
        return round(float(value[:-1]) * 1000)
    return int(float(value))
