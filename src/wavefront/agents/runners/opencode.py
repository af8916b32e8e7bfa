"""OpenCode non-interactive mode: `opencode run --format json [--agent NAME] PROMPT`.

Checked against the real opencode 1.18.33; written following the CLI docs
(opencode.ai/docs/cli, `run`) and `packages/opencode/src/cli/cmd/run.ts` for the events:
one JSON object per line,
`{"type", "timestamp", "sessionID", ...}` with `type` step_start, text, tool_use,
reasoning and step_finish carrying a `part` (text parts: `part.text`; step-finish parts:
`part.cost` in USD and `part.tokens` {input, output, reasoning, cache: {read, write}}),
`error` carrying `error` {name: ProviderAuthError | APIError | UnknownError | ...,
data: {message, statusCode, ...}}, and (newer versions) a closing `done`. The exit status
is 1 when the session reported an error.

Profile mapping: a profile loaded from an `.opencode/agent(s)/` file is OpenCode's own
agent, passed by name with `--agent` (its prompt, model and tool permissions then come from
that file, so the task prompt leaves the role text out); any other profile's role text
stays in the prompt. The final text is the text of the last assistant message.

With no provider configured, opencode quietly uses a hosted service of its own, so a run
must name one: a `provider/model` (the `model` setting or the profile's), a `base_url`
(an OpenAI-compatible server; wavefront passes opencode an inline config with a provider
`wavefront` for it, its key read from the variable `api_key_env` names), or the user's
own `OPENCODE_CONFIG`. Otherwise the attempt is refused without starting opencode.
Models fetches, auto-update and sharing are turned off for the child. opencode retries a
failed model call (a rate limit, a server error) for minutes and says nothing in its JSON
stream, so it runs with `--print-logs --log-level ERROR` and is stopped at the first
`stream error` of the main agent (or of the title side call, when that is a key refused
by wavefront's own provider: seconds before the main call is refused it too), or at a
step that ended with no finish reason and no token (an answer broken off: it would ask
again for ever). Its first model call comes
only after a start-up of 10 seconds (25 on a busy machine), so a `base_url` that refuses
the connection is an `error` before opencode is started (unless a proxy variable sends
its requests elsewhere). A task's `max_turns` is the
agent's `steps` (in the inline config): at the last step opencode withdraws the tools and
tells the model to answer, so an attempt that reached it is `max_turns`, its last answer
a forced one. A cost of 0 that
opencode reports for a model it has no price for is not a cost: it becomes unknown (or
an estimate from the tokens). With `mcp: true` wavefront's server is added to the `mcp`
entry of that inline configuration, with a tool timeout longer than `ask_human` waits.

Shell commands (`shell` setting, default `gates`): the inline configuration's `permission`
denies the `bash` tool every command but the gates' own (each allowed as it is and with
more arguments), as Claude Code's `acceptEdits` does. opencode answers a refused call with
"a rule which prevents you from using this specific tool call" in the tool's error; the
attempt then fails as `denied`, naming the command. `shell: any` leaves opencode's own
permissions alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.cliutil import (
    CliRunner,
    CliSettings,
    Usage,
    as_dict,
    as_int,
    as_str,
    iter_json_lines,
    one_of,
)
from wavefront.agents.runners.failures import Failure, classify_failure
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentProfile, AgentResult, FailureKind

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["PROVIDER", "SHELL_MODES", "OpenCodeRunner"]

SHELL_MODES = ("gates", "any")
PROVIDER = "wavefront"  # the provider the inline config makes of `base_url`
# What opencode answers a tool call its permission rules refused.
_REFUSED = "rule which prevents you from using this specific tool call"


class OpenCodeRunner(CliRunner):
    """Runs `opencode run` in the task's worktree (settings: see `CliRunner`)."""

    name = "opencode"
    executable_names = ("opencode",)
    stdin_prompt = ()  # `opencode run` adds stdin to the message it is given
    auth_env = (
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_GENERATIVE_AI_API_KEY",
        "OPENROUTER_API_KEY",
        "GROQ_API_KEY",
        "DEEPSEEK_API_KEY",
        "XAI_API_KEY",
        "GITHUB_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    )
    auth_files = (".local/share/opencode/auth.json",)
    config_env = ("OPENCODE_CONFIG", "OPENCODE_CONFIG_DIR", "OPENCODE_CONFIG_CONTENT")
    profile_dir = ".opencode"
    tested_versions = ("1.18.33", "1.18.33")
    supports_base_url = True
    package = "npm opencode-ai"
    verified = True

    def __init__(self, *, shell: str = "gates", **common: Unpack[CliSettings]) -> None:
        super().__init__(**common)
        self.shell = one_of("shell", shell, SHELL_MODES)

    def provider_problem(self, request: AgentRequest | None = None) -> str | None:
        """Why opencode would fall back to its own hosted service, or None."""
        model = self.model_for(request) if request is not None else self.default_model
        if self.base_url:
            return None if model else "opencode with base_url needs a model setting"
        if model and "/" in model:
            return None
        configured = {**os.environ, **self.env}
        if configured.get("OPENCODE_CONFIG") or configured.get("OPENCODE_CONFIG_CONTENT"):
            return None
        return ("opencode has no provider chosen (it would use its own hosted service): set "
                "the runner's model to provider/model, or base_url and model")

    def child_env(self, request: AgentRequest) -> dict[str, str]:
        env = super().child_env(request)
        env.update({"OPENCODE_DISABLE_MODELS_FETCH": "true",
                    "OPENCODE_DISABLE_AUTOUPDATE": "true", "OPENCODE_DISABLE_SHARE": "true"})
        if self.base_url:
            options: dict[str, str] = {"baseURL": self.base_url}
            if self.api_key_env:
                options["apiKey"] = "{env:" + self.api_key_env + "}"
            model = self.model_for(request) or ""
            config = {"provider": {PROVIDER: {
                "npm": "@ai-sdk/openai-compatible", "name": PROVIDER, "options": options,
                "models": {model: {"name": model}}}},
                "model": f"{PROVIDER}/{model}", "autoupdate": False, "share": "disabled"}
            env["OPENCODE_CONFIG_CONTENT"] = json.dumps(config)
        if request.mcp is not None:
            env["OPENCODE_CONFIG_CONTENT"] = _with_mcp(env.get("OPENCODE_CONFIG_CONTENT"),
                                                       request.mcp.opencode_servers())
        if self.shell == "gates":
            env["OPENCODE_CONFIG_CONTENT"] = _with_shell_rules(
                env.get("OPENCODE_CONFIG_CONTENT"), request.commands)
        if request.max_turns:
            env["OPENCODE_CONFIG_CONTENT"] = _with_steps(
                env.get("OPENCODE_CONFIG_CONTENT"), self._agent(request), request.max_turns)
        return env

    def _agent(self, request: AgentRequest) -> str:
        """The agent `opencode run` uses: the profile's own, else opencode's default."""
        if request.profile is not None and self.passes_persona(request.profile):
            return request.profile.name
        return "build"

    def watch(self, line: str, earlier: Sequence[str]) -> Failure | None:
        if '"step_finish"' in line and '"reason":"unknown"' in line:
            return _broken_step(line)
        if 'message="stream error"' not in line:
            return None
        # `small=true` is the title side call, whose failure opencode shrugs off; but a
        # key that wavefront's own provider refused there is refused to the main call
        # too, which comes seconds later.
        title = "small=false" not in line
        if title and not (self.base_url and f"providerID={PROVIDER}" in line):
            return None
        match = re.search(r'error\.error="([^"]*)"', line)
        detail = match.group(1) if match else "the model call failed"
        found = classify_failure(detail)
        if title:
            if found is None or found.kind is not FailureKind.AUTH:
                return None
            return Failure(FailureKind.AUTH, f"opencode: {detail}"[:300])
        if found is not None:
            return Failure(found.kind, f"opencode: {detail}"[:300], found.retry_at)
        return Failure(FailureKind.ERROR, f"opencode: {detail}"[:300])

    async def run(self, request: AgentRequest) -> AgentResult:
        problem = self.provider_problem(request)
        if problem is not None:
            return AgentResult(ok=False, failure=FailureKind.AUTH, reason=problem,
                               log_path=request.log_path)
        # opencode takes 10 s (25 s on a busy machine) to start before its first model
        # call: a service that refuses the connection now is an error without that wait.
        if self.base_url and await _refused(self.base_url):
            reason = (f"opencode cannot reach the model service: nothing listens at "
                      f"{self.base_url} (connection refused)")
            request.log_path.parent.mkdir(parents=True, exist_ok=True)
            request.log_path.write_text(f"[opencode not started: {reason}]\n",
                                        encoding="utf-8")
            return AgentResult(ok=False, failure=FailureKind.ERROR, reason=reason,
                               log_path=request.log_path)
        return await super().run(request)

    def passes_persona(self, profile: AgentProfile | None) -> bool:
        return profile is not None and _is_opencode_agent(profile)

    def build_argv(self, request: AgentRequest) -> list[str]:
        # Error logs on stderr are where a failing model call shows while opencode retries
        # it (for minutes, and silently otherwise): see `watch`.
        argv = [self.executable, "run", "--format", "json", "--print-logs",
                "--log-level", "ERROR"]
        model = self.model_for(request)
        if model:
            argv += ["--model", f"{PROVIDER}/{model}" if self.base_url else model]
        if request.profile is not None and self.passes_persona(request.profile):
            argv += ["--agent", self._agent(request)]
        session = request.options.get("resume_session")
        if session:  # continue the agent's own session (a fix round, an answer)
            argv += ["--session", str(session)]
        return [*argv, *self.extra_args, request.prompt]

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        session_id: str | None = None
        texts: dict[str, list[str]] = {}
        last_message = ""
        errors: list[dict[str, Any]] = []
        tokens_in = tokens_out = cached = 0
        cost: float | None = None
        steps = 0
        refused: list[str] = []
        for event in iter_json_lines(outcome.stdout):
            if isinstance(event.get("sessionID"), str):
                session_id = event["sessionID"]
            part = as_dict(event.get("part"))
            kind = event.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                last_message = str(part.get("messageID") or "")
                texts.setdefault(last_message, []).append(part["text"])
            elif kind == "step_start":
                steps += 1
            elif kind == "tool_use":
                state = as_dict(part.get("state"))
                if _REFUSED in as_str(state.get("error")):
                    given = as_dict(state.get("input"))
                    detail = as_str(given.get("command")) or as_str(given.get("filePath"))
                    refused.append(f"{part.get('tool') or 'a tool'}({detail})")
            elif kind == "step_finish":
                tokens = as_dict(part.get("tokens"))
                cache = as_dict(tokens.get("cache"))
                cached += as_int(cache.get("read"))
                tokens_in += as_int(tokens.get("input")) + as_int(cache.get("read"))
                tokens_in += as_int(cache.get("write"))
                tokens_out += as_int(tokens.get("output")) + as_int(tokens.get("reasoning"))
                if isinstance(part.get("cost"), int | float):
                    cost = (cost or 0.0) + float(part["cost"])
            elif kind == "error":
                error = event.get("error")
                errors.append(error if isinstance(error, dict) else {"name": str(error)})
        if not cost and (tokens_in or tokens_out):
            cost = None  # opencode's 0 for a model it has no price for
        usage = Usage(tokens_in, tokens_out, cached, cost)
        text = "\n".join(texts.get(last_message, []))
        if errors:
            failure = _error_failure(errors[-1])
            return self.failed(outcome, failure, usage, request, text=text, session_id=session_id)
        if not text.strip():
            failure = self.exit_failure(outcome, "no text from the agent")
            return self.failed(outcome, failure, usage, request, session_id=session_id)
        if refused:
            failure = Failure(FailureKind.DENIED,
                              f"opencode was not allowed to run: {', '.join(refused)}"[:300])
            return self.failed(outcome, failure, usage, request, text=text,
                               session_id=session_id)
        if request.max_turns and steps >= request.max_turns:
            failure = Failure(FailureKind.MAX_TURNS, f"opencode reached its step limit "
                              f"({request.max_turns}): its last step could use no tool")
            return self.failed(outcome, failure, usage, request, text=text,
                               session_id=session_id)
        return self.succeeded(outcome, text, usage, request, session_id=session_id)


# How long a connection to the model service may take to be refused or accepted; one
# that takes longer is left to opencode.
_CONNECT_TIMEOUT_S = 2.0


async def _refused(base_url: str) -> bool:
    """Whether nothing listens at `base_url`'s host and port: the connection was refused
    on the spot. False when it was accepted, when it could not be told in a moment, and
    when a proxy variable sends opencode's requests elsewhere."""
    from urllib.request import getproxies, proxy_bypass  # only when an attempt starts

    parts = urlsplit(base_url)
    host = parts.hostname or ""
    proxies = getproxies()
    if not host or ((parts.scheme in proxies or "all" in proxies) and not proxy_bypass(host)):
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                           _CONNECT_TIMEOUT_S)
    except ConnectionRefusedError:
        return True
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return False


def _broken_step(line: str) -> Failure | None:
    """A step whose answer broke off (no finish reason, not a token) is what opencode
    shows of a connection lost in mid-answer; it then asks again, for ever."""
    for event in iter_json_lines(line):
        tokens = as_dict(as_dict(event.get("part")).get("tokens"))
        if not as_int(tokens.get("input")) and not as_int(tokens.get("output")):
            return Failure(FailureKind.ERROR, "opencode: the model service broke off its "
                                              "answer (the connection was lost)")
    return None


def _with_mcp(content: str | None, servers: dict[str, Any]) -> str:
    """The inline configuration with wavefront's server added to its `mcp` entry (a
    user's own inline configuration is kept, not replaced)."""
    try:
        config = json.loads(content) if content else {}
    except ValueError:
        config = {}
    if not isinstance(config, dict):
        config = {}
    mcp = config.get("mcp")
    config["mcp"] = {**(mcp if isinstance(mcp, dict) else {}), **servers}
    return json.dumps(config)


def _with_shell_rules(content: str | None, commands: Sequence[str]) -> str:
    """The inline config `content` with the `bash` tool denied every command but
    `commands` (the last matching rule wins in opencode: the denial comes first)."""
    rules: dict[str, str] = {"*": "deny"}
    for command in commands:
        rules[command] = rules[f"{command} *"] = "allow"

    def edit(config: dict[str, Any]) -> None:
        permission = config.get("permission")
        if isinstance(permission, str):
            permission = {"*": permission}  # one action for every tool, as opencode reads it
        config["permission"] = {**(permission if isinstance(permission, dict) else {}),
                                "bash": rules}

    return _edited(content, edit)


def _with_steps(content: str | None, agent: str, steps: int) -> str:
    """The inline config `content` with `agent`'s step limit set."""

    def edit(config: dict[str, Any]) -> None:
        agents = config.setdefault("agent", {})
        if isinstance(agents, dict):
            settings = agents.setdefault(agent, {})
            if isinstance(settings, dict):
                settings["steps"] = steps

    return _edited(content, edit)


def _edited(content: str | None, edit: Callable[[dict[str, Any]], None]) -> str:
    """The inline config `content` changed by `edit`; a `content` that is no JSON object
    is left to opencode, which refuses it."""
    try:
        config = json.loads(content) if content else {}
    except ValueError:
        return content or ""
    if not isinstance(config, dict):
        return content or ""
    edit(config)
    return json.dumps(config)


def _is_opencode_agent(profile: AgentProfile) -> bool:
    origin = profile.origin.replace("\\", "/")
    markers = (".opencode/agent/", ".opencode/agents/")
    return any(f"/{marker}" in origin or origin.startswith(marker) for marker in markers)


def _error_failure(error: dict[str, Any]) -> Failure:
    name = str(error.get("name") or "error")
    data = as_dict(error.get("data"))
    message = str(data.get("message") or name)
    if name == "ProviderAuthError":
        return Failure(FailureKind.AUTH, f"opencode: {message}"[:300])
    status = data.get("statusCode")
    headers = as_dict(data.get("responseHeaders"))
    details = f"{message}\n{data.get('responseBody') or ''}\n" + "\n".join(
        f"{key}: {value}" for key, value in headers.items()
    )
    if status == 429:
        found = classify_failure(details)
        retry_at = found.retry_at if found is not None else None
        return Failure(FailureKind.RATE_LIMITED, f"opencode: {message}"[:300], retry_at)
    if status in (401, 403):
        return Failure(FailureKind.AUTH, f"opencode: {message}"[:300])
    found = classify_failure(details)
    return found or Failure(FailureKind.ERROR, f"opencode {name}: {message}"[:300])
