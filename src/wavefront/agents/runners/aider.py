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

Checked against the real aider 0.86.2. Its chat and input histories go beside the
attempt's log, and the repository-map cache it leaves in the worktree
(`.aider.tags.cache.v4`) is removed after the attempt, so none of them reaches a commit.
`--no-analytics` rather than `--analytics-disable`, which writes a permanent setting into
the user's home. With no model and no key aider starts a browser login and waits minutes
for it: such an attempt is refused without starting aider. `base_url` (an
OpenAI-compatible server) becomes `OPENAI_API_BASE`, the key named by `api_key_env`
`OPENAI_API_KEY`, and a bare model name `openai/<name>`, as litellm wants it. aider
retries a failed model call for minutes; it is stopped at its first retry notice. The
client inside it would wait out a rate limit's `retry-after` twice before that, silently:
the attempt's model settings file turns the client's own retries off (`attemptsettings`).

Shell commands: aider runs none of its own accord. A command the model suggests (in the
diff edit formats) needs an explicit yes, which `--yes-always` never gives (aider answers
"n"), and `--no-suggest-shell-commands` keeps it from asking the model for any: the agent
cannot run a shell command, the gates' commands included (wavefront runs those itself).

aider has no turn limit (it makes up to 4 model calls per message: one, then up to 3
"reflections" on lint errors or edits it could not apply), so wavefront keeps one: each
`Tokens:` line is a model call, and after the task's `max_turns`-th the process group is
stopped as `max_turns` when aider starts a reflection (`# Fix any errors below`) or, at
the latest, when it reports one more call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from wavefront.agents.runners.attemptsettings import write_model_settings
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    TEXT_LIMIT,
    CliRunner,
    Usage,
    prompt_file_for,
)
from wavefront.agents.runners.failures import Failure, classify_failure
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
    "--no-analytics",
    "--no-gitignore",
    "--no-detect-urls",
    "--no-suggest-shell-commands",
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


_LITELLM_ERROR = re.compile(r"^litellm\.\w+(?:Error|Exception|Timeout)\b")
# What aider prints as it starts another model call on its own (a reflection).
_REFLECTING = ("# Fix any errors below",)


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
    base_url_env = "OPENAI_API_BASE"
    supports_base_url = True
    api_key_var = "OPENAI_API_KEY"
    internal_paths = (".aider.tags.cache.v4", ".aider.tags.cache.v3", ".aider.chat.history.md",
                      ".aider.input.history")
    tested_versions = ("0.86.2", "0.86.2")
    package = "PyPI aider-chat"
    verified = True

    def model_for(self, request: AgentRequest) -> str | None:
        model = super().model_for(request)
        if model and self.base_url and "/" not in model:
            return f"openai/{model}"
        return model

    def login_problem(self, request: AgentRequest | None = None) -> str | None:
        """Why aider would start its interactive browser login, or None."""
        model = self.model_for(request) if request is not None else self.default_model
        environment = {**os.environ, **self.env}
        if model or self.api_key() or any(environment.get(n) for n in self.auth_env):
            return None
        return ("aider has no model and no API key (it would wait for a browser login): "
                "set the runner's model, or one of " + ", ".join(self.auth_env[:3]))

    def child_env(self, request: AgentRequest) -> dict[str, str]:
        # Unbuffered, so its retry notices arrive as it prints them, not minutes later; as
        # wide as a line may be, so that an error is one line and not cut at 80 columns.
        return {"PYTHONUNBUFFERED": "1", "COLUMNS": "4096", **super().child_env(request)}

    def watch(self, line: str, earlier: Sequence[str]) -> Failure | None:
        # aider retries a failed model call itself, with growing waits, for minutes: when it
        # says it will retry, the error it printed just before is the attempt's failure.
        if not line.startswith("Retrying in "):
            return None
        errors = [i for i, text in enumerate(earlier) if _LITELLM_ERROR.match(text.strip())]
        if not errors:
            return None
        text = "\n".join(earlier[errors[-1]:])
        first = earlier[errors[-1]].strip()
        return classify_failure(text) or Failure(FailureKind.ERROR, f"aider: {first[:280]}")

    def attempt_watch(self, request: AgentRequest
                      ) -> Callable[[str, Sequence[str]], Failure | None]:
        limit = request.max_turns
        if not limit:
            return self.watch
        replies = 0

        def watch(line: str, earlier: Sequence[str]) -> Failure | None:
            nonlocal replies
            if _TOKENS.match(line):
                replies += 1
            if replies > limit or (replies == limit and line.startswith(_REFLECTING)):
                return Failure(FailureKind.MAX_TURNS,
                               f"aider reached the turn limit ({limit}): wavefront stopped "
                               f"it after {replies} model call{'s' if replies != 1 else ''}")
            return self.watch(line, earlier)

        return watch

    def partial_usage(self, outcome: ProcessOutcome) -> Usage | None:
        return parse_usage_lines(outcome.stdout)

    async def run(self, request: AgentRequest) -> AgentResult:
        problem = self.login_problem(request)
        if problem is not None:
            return AgentResult(ok=False, failure=FailureKind.AUTH, reason=problem,
                               log_path=request.log_path)
        return await super().run(request)

    def build_argv(self, request: AgentRequest) -> list[str]:
        prompt_file = prompt_file_for(request.log_path)
        prompt_file.parent.mkdir(parents=True, exist_ok=True)
        prompt_file.write_text(request.prompt, encoding="utf-8")
        argv = [self.executable, "--message-file", str(prompt_file), *FIXED_FLAGS]
        history = request.log_path.with_suffix("")
        argv += ["--chat-history-file", f"{history}.aider.chat.history.md",
                 "--input-history-file", f"{history}.aider.input.history"]
        home = Path(os.environ.get("HOME") or Path.home())
        settings = write_model_settings(Path(f"{history}.aider.model.settings.yml"),
                                        request.workspace, home)
        argv += ["--model-settings-file", str(settings)]
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
