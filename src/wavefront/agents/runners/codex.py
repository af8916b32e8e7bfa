"""Codex CLI non-interactive mode: `codex exec --json --sandbox workspace-write PROMPT`.

Checked against the real Codex CLI 0.171.0, following `docs/exec.md` in openai/codex
("JSON output mode"): JSON lines `thread.started` (`thread_id`), `turn.started`,
`item.started|updated|completed` (`item.type` agent_message, reasoning, command_execution,
file_change, error, ...), `turn.completed` (`usage`: input_tokens, cached_input_tokens,
output_tokens), `turn.failed` (`error.message`) and top-level `error` (`message`).

What the real CLI showed, and what follows here:
- An `item` of type `error` is a warning ("Model metadata for `gpt-5` not found",
  "Falling back from WebSockets to HTTPS"): the turn goes on, and a turn that completed
  with an agent message is a success. So is one that Codex retried through
  (top-level `error` "Reconnecting... 1/5 ..." before the turn completed).
- It retries a refused key, a rate limit and an unreachable network for minutes (offline
  it never stops: "Reconnecting... waiting for network"), so wavefront stops it at the
  first such `Reconnecting` line: `auth`, `rate_limited` or `error`.
- `OPENAI_BASE_URL` is ignored and the built-in provider sends only `CODEX_API_KEY`. The
  provider settings therefore become a custom provider on the command line
  (`-c model_providers.wavefront.*`: `base_url`, `wire_api = "responses"`, and `env_key`
  = the `api_key_env` setting, which is passed through); without `base_url`, the key named
  by `api_key_env` is passed as `CODEX_API_KEY`. A variable that the user's own
  `config.toml` names as a provider's `env_key` is passed through as well, since the CLI
  reads it there.

Codex runs the agent's file edits and commands through a helper it links into its home
(`CODEX_HOME`, else `~/.codex`) at start-up. It will not make that link inside the
temporary directory (`TMPDIR`, else `/tmp`), and then every write in the `workspace-write`
or `read-only` sandbox fails ("Failed to write file") while the turn still ends "done".
So a Codex home there is refused before the run (`sandbox_problem`), and a turn whose
file changes all failed is a `denied` attempt that says why.

Shell commands: the sandbox is Codex's permission, and it cannot be narrowed to the gates'
commands (its `.rules` files match command prefixes to forbid, and live in its home): in
`workspace-write` any command runs, but may write only in the worktree and the temporary
folders. A command the sandbox refused ("Read-only file system", or a `declined` item)
fails the attempt as `denied`, naming the command, as a command Claude Code was refused
does. The JSON stream leaves out a command that ends at once (one the sandbox stopped at
its first write, say), so the refusals are also read, after the process ended, from the
session's rollout file: `sessions/YYYY/MM/DD/rollout-*-<thread id>.jsonl` in the home
the child used, holding each function call and its output. Only the turn the attempt
started counts there: a resumed thread's file holds the earlier rounds too.

Codex has no turn limit, so wavefront keeps one: each tool call of the JSON stream
(`item.started` of a command, a file change, an MCP or web search call) ends a model call
that wants another, and at the task's `max_turns`-th the process group is stopped
(`max_turns`).

Codex reports tokens but no cost, so the cost is estimated from `agents.pricing` when the
model is known. Codex has no persona flag: the role text stays in the prompt. The sandbox
(`sandbox` setting, default workspace-write) is the permission: it lets the agent run the
gate commands inside the worktree. A later round of the same task (a fix round, an answer)
continues the thread the first reported: `codex exec resume --json -c sandbox_mode=...
THREAD_ID PROMPT`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
from wavefront.agents.runners.failures import Failure, classify_failure, parse_reset_time
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import AgentResult, FailureKind

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["PROVIDER", "SANDBOX_MODES", "CodexRunner", "codex_home", "configured_env_keys",
           "rollout_refusals"]

SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")
PROVIDER = "wavefront"  # the name of the custom provider made from the runner settings

_RECONNECTING = re.compile(r"^Reconnecting\.\.\.", re.IGNORECASE)
_RETRY_NOTICE = re.compile(r"^Reconnecting\.\.\. \d+/\d+ \((.*)\)$", re.IGNORECASE)
# What Codex prints on stderr when it could not link its sandbox helper.
_NO_HELPER = "could not create PATH aliases"
# The items of a tool call: each ends a model call whose answer wants another.
TOOL_ITEMS = frozenset({"command_execution", "file_change", "mcp_tool_call", "web_search",
                        "collab_tool_call", "dynamic_tool_call"})
# What a command says when the sandbox refused its write outside the worktree.
_SANDBOX_REFUSED = "Read-only file system"


class CodexRunner(CliRunner):
    """Runs `codex exec` in the task's worktree (settings: see `CliRunner`, plus
    `sandbox`)."""

    name = "codex"
    executable_names = ("codex",)
    stdin_prompt = ("-",)  # `codex exec -` reads the prompt from stdin
    auth_env = ("CODEX_API_KEY",)
    auth_files = (".codex/auth.json",)
    config_env = ("CODEX_HOME",)
    api_key_var = "CODEX_API_KEY"
    supports_base_url = True
    tested_versions = ("0.171.0", "0.171.0")
    package = "npm @openai/codex"
    verified = True

    def __init__(self, *, sandbox: str = "workspace-write", **common: Unpack[CliSettings]) -> None:
        super().__init__(**common)
        self.sandbox = one_of("sandbox", sandbox, SANDBOX_MODES)

    def build_argv(self, request: AgentRequest) -> list[str]:
        session = request.options.get("resume_session")
        if session:
            # A fix round or an answer continues the agent's own thread (`exec resume`),
            # which takes no --sandbox: the same policy goes in as a config value.
            argv = [self.executable, "exec", "resume", "--json",
                    "-c", f'sandbox_mode="{self.sandbox}"']
        else:
            argv = [self.executable, "exec", "--json", "--sandbox", self.sandbox]
        if self.base_url:
            settings = {"name": '"wavefront"', "base_url": f'"{self.base_url}"',
                        "wire_api": '"responses"', "request_max_retries": "1",
                        "stream_max_retries": "1"}
            if self.api_key_env:
                settings["env_key"] = f'"{self.api_key_env}"'
            argv += ["-c", f"model_provider={PROVIDER}"]
            for key, value in settings.items():
                argv += ["-c", f"model_providers.{PROVIDER}.{key}={value}"]
        if request.mcp is not None:
            argv += request.mcp.codex_config()
        model = self.model_for(request)
        if model:
            argv += ["--model", model]
        resumed = [str(session)] if session else []
        return [*argv, *self.extra_args, *resumed, request.prompt]

    def child_env(self, request: AgentRequest) -> dict[str, str]:
        env = super().child_env(request)
        if self.base_url and "CODEX_API_KEY" not in os.environ:
            env.pop("CODEX_API_KEY", None)  # the custom provider reads its own env_key
        for name in configured_env_keys():
            if name in os.environ:
                env.setdefault(name, os.environ[name])
        return env

    def sandbox_problem(self, environ: Mapping[str, str] | None = None,
                        home: Path | None = None) -> str | None:
        """Why Codex's sandbox cannot write here, or None: its home lies in the
        temporary directory, where it refuses to link the helper every write goes
        through (`danger-full-access` needs no helper)."""
        if self.sandbox == "danger-full-access":
            return None
        env = {**(os.environ if environ is None else environ), **self.env}
        where = codex_home(env, home)
        temp = Path(env.get("TMPDIR") or "/tmp")
        try:
            where.resolve().relative_to(temp.resolve())
        except ValueError:
            return None
        return (f"Codex's home {where} is inside the temporary directory {temp}, where Codex "
                "will not set up its sandbox, so the agent could write no file: set "
                f"CODEX_HOME to a folder outside {temp} (or TMPDIR to another one), or set "
                f"runners.{self.name}.sandbox: danger-full-access")

    def watch(self, line: str, earlier: Sequence[str]) -> Failure | None:
        if '"Reconnecting' not in line:
            return None
        for event in iter_json_lines(line):
            message = str(event.get("message") or "")
            if event.get("type") != "error" or not _RECONNECTING.match(message):
                continue
            if "waiting for network" in message:
                return Failure(FailureKind.ERROR, "codex cannot reach the model service: "
                                                  + message[:200])
            found = classify_failure(message)
            if found is not None:
                # What Codex would retry, without the retry count: wavefront stopped it.
                retried = _RETRY_NOTICE.match(found.reason)
                reason = retried.group(1) if retried else found.reason
                return Failure(found.kind, f"codex: {reason}"[:300], found.retry_at)
        return None

    def attempt_watch(self, request: AgentRequest
                      ) -> Callable[[str, Sequence[str]], Failure | None]:
        limit = request.max_turns
        if not limit:
            return self.watch
        calls: set[str] = set()

        def watch(line: str, earlier: Sequence[str]) -> Failure | None:
            if '"item.' in line:
                for event in iter_json_lines(line):
                    item = as_dict(event.get("item"))
                    if str(event.get("type")).startswith("item.") and \
                            item.get("type") in TOOL_ITEMS:
                        calls.add(as_str(item.get("id")) or str(len(calls)))
                if len(calls) >= limit:
                    return Failure(FailureKind.MAX_TURNS,
                                   f"codex reached the turn limit ({limit}): wavefront "
                                   f"stopped it at tool call {len(calls)}")
            return self.watch(line, earlier)

        return watch

    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        thread_id: str | None = None
        message = ""
        completed = False
        failed: list[str] = []
        errors: list[str] = []  # top-level errors: retries, or the reason of a failure
        tokens_in = tokens_out = cached = 0
        writes = {"completed": 0, "failed": 0}  # file_change items by status
        refused: list[str] = []  # commands the sandbox refused
        for event in iter_json_lines(outcome.stdout):
            kind = event.get("type")
            if kind == "thread.started" and isinstance(event.get("thread_id"), str):
                thread_id = event["thread_id"]
            elif kind == "item.completed":
                item = event.get("item")
                if isinstance(item, dict) and item.get("type") == "agent_message":
                    message = str(item.get("text") or "")
                elif isinstance(item, dict) and item.get("type") == "file_change":
                    status = str(item.get("status"))
                    writes[status] = writes.get(status, 0) + 1
                elif isinstance(item, dict) and item.get("type") == "command_execution" \
                        and _sandbox_refused(item):
                    refused.append(_command(item))
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
                failed.append(f"turn failed: {detail}")
            elif kind == "error":
                errors.append(str(event.get("message") or ""))
        usage = Usage(tokens_in=tokens_in, tokens_out=tokens_out, cached_in=cached)
        if failed or (errors and not completed):
            text = "\n".join([*errors, *failed])
            found = classify_failure(text)
            failure = found or Failure(FailureKind.ERROR, (failed or errors)[-1][:300])
            if found is not None and found.kind is FailureKind.RATE_LIMITED:
                failure = Failure(found.kind, found.reason, parse_reset_time(text))
            return self.failed(outcome, failure, usage, request, text=message, session_id=thread_id)
        if not completed or not message.strip():
            failure = self.exit_failure(outcome, "no completed turn with an agent message")
            return self.failed(outcome, failure, usage, request, session_id=thread_id)
        if writes["failed"] and not writes["completed"]:
            return self.failed(outcome, _writes_refused(writes["failed"], outcome), usage,
                               request, text=message, session_id=thread_id)
        if thread_id:
            home = codex_home({**os.environ, **self.child_env(request)})
            refused += [command for command in rollout_refusals(home, thread_id)
                        if command not in refused]
        if refused:
            failure = Failure(FailureKind.DENIED, "codex's sandbox refused: "
                              + ", ".join(refused)[:280])
            return self.failed(outcome, failure, usage, request, text=message,
                               session_id=thread_id)
        return self.succeeded(outcome, message, usage, request, session_id=thread_id)


def _sandbox_refused(item: Mapping[str, object]) -> bool:
    """A command the approval policy declined, or one that failed on a write the sandbox
    refused."""
    status = item.get("status")
    output = as_str(item.get("aggregated_output"))
    return status == "declined" or (status == "failed" and _SANDBOX_REFUSED in output)


def _command(item: Mapping[str, object]) -> str:
    """The command of an item as the agent gave it: Codex wraps it in `bash -lc '...'`."""
    command = item.get("command")
    text = as_str(command) or (json.dumps(command) if command else "a command")
    try:
        words = shlex.split(text)
    except ValueError:
        return text
    return _unwrapped(words) or text


def _unwrapped(words: Sequence[object]) -> str | None:
    """The script of `[bash, -lc, script]`, None for any other argv."""
    if len(words) == 3 and str(words[0]).endswith("sh") and words[1] in ("-lc", "-c"):
        return str(words[2])
    return None


# The exit status in a function call's output: "Process exited with code 1" (the
# exec_command tool), "Exit code: 1" (apply_patch and older shells).
_EXIT_STATUS = re.compile(r"(?:Process exited with code|Exit code:)\s*(-?\d+)")
# Only a name of this shape goes into a glob pattern (Codex's thread ids are UUIDs).
_THREAD_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{7,63}")


def rollout_refusals(home: Path, thread_id: str) -> list[str]:
    """The shell commands of thread `thread_id`'s last turn whose write the sandbox
    refused, read from its rollout file in Codex's `home`; empty when there is none."""
    if not _THREAD_ID.fullmatch(thread_id):
        return []
    files = sorted((home / "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))
    try:
        text = files[-1].read_text(encoding="utf-8", errors="replace") if files else ""
    except OSError:
        return []
    commands: dict[str, str] = {}  # call_id -> the command the agent gave
    refused: list[str] = []
    for record in iter_json_lines(text):
        payload = as_dict(record.get("payload"))
        kind = payload.get("type")
        if record.get("type") == "event_msg" and kind == "task_started":
            commands.clear()  # a new turn: what came before was an earlier round's
            refused.clear()
        elif record.get("type") != "response_item":
            continue
        elif kind in ("function_call", "local_shell_call"):
            command = _call_command(payload)
            if command:
                commands[as_str(payload.get("call_id"))] = command
        elif kind == "function_call_output":
            command = commands.get(as_str(payload.get("call_id")))
            if command and _write_refused(payload.get("output")) and command not in refused:
                refused.append(command)
    return refused


def _call_command(payload: Mapping[str, object]) -> str | None:
    """The shell command of a rollout's tool call: `exec_command`'s `cmd`, a shell tool's
    `command` (text or argv), a `local_shell_call`'s `action.command`; None for others."""
    if payload.get("type") == "local_shell_call":
        command: object = as_dict(payload.get("action")).get("command")
    else:
        try:
            arguments = as_dict(json.loads(as_str(payload.get("arguments"))))
        except ValueError:
            return None
        command = arguments.get("cmd") or arguments.get("command")
    if isinstance(command, list) and command:
        return _unwrapped(command) or shlex.join(str(word) for word in command)
    return as_str(command) or None


def _write_refused(output: object) -> bool:
    """Whether a function call's output is a write the sandbox refused: the refusal's
    text, and an exit status that is not 0 (none named counts as a failure)."""
    if isinstance(output, list):  # content items
        text = "\n".join(as_str(as_dict(part).get("text")) for part in output)
    else:
        text = as_str(output) or as_str(as_dict(output).get("content"))
    if _SANDBOX_REFUSED not in text:
        return False
    status = _EXIT_STATUS.search(text)
    return status is None or int(status.group(1)) != 0


def _writes_refused(count: int, outcome: ProcessOutcome) -> Failure:
    files = f"{count} file change{'s' if count != 1 else ''}"
    reason = f"codex could not write: its sandbox refused all {files} of the agent"
    if _NO_HELPER in outcome.stderr:
        reason += (" (Codex could not set up its sandbox helper: is its home, CODEX_HOME "
                   "or ~/.codex, inside TMPDIR or /tmp?)")
    return Failure(FailureKind.DENIED, reason)


def codex_home(environ: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """The folder Codex keeps its configuration in: `CODEX_HOME`, else `~/.codex`."""
    env = os.environ if environ is None else environ
    if env.get("CODEX_HOME"):
        return Path(env["CODEX_HOME"])
    return (home or Path(env.get("HOME") or Path.home())) / ".codex"


def configured_env_keys(home: Path | None = None) -> tuple[str, ...]:
    """The variables the user's Codex `config.toml` names as providers' `env_key`."""
    base = codex_home(home=home)
    try:
        config = tomllib.loads((base / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    providers = config.get("model_providers")
    if not isinstance(providers, dict):
        return ()
    keys = (p.get("env_key") for p in providers.values() if isinstance(p, dict))
    return tuple(key for key in keys if isinstance(key, str) and key)
