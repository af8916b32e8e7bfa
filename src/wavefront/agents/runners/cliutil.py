"""What the coding-agent CLI runners share: running the child, reading its output, naming
its failure.

Each CLI module (`claude`, `codex`, `gemini`, ...) says only what differs: the argv it
builds from an `AgentRequest` and how it reads the CLI's documented output. `CliRunner.run`
does the rest the same way for all of them: the child runs through `run_process` (stdin
from /dev/null, own process group, group killed on timeout or cancel), the CLI's documented
credential variables are passed on explicitly (the child environment is an allow-list), a
timeout or a missing program becomes a result, and a run that printed no final result is a
failure (`BAD_OUTPUT`), never a success.

Failure text is classified once, in `failures.py`: rate and usage limits (with the reset
time when the CLI says it), missing or rejected credentials, and everything else.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, TypedDict

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.failures import Failure, classify_failure, readable
from wavefront.agents.runners.process import ProcessOutcome, run_process
from wavefront.model import AgentProfile, AgentResult, FailureKind

__all__ = [
    "ARGV_PROMPT_LIMIT",
    "TEXT_LIMIT",
    "CliRunner",
    "CliSettings",
    "Usage",
    "as_dict",
    "as_int",
    "as_str",
    "iter_json_lines",
    "last_json_object",
    "plain",
    "profile_model",
    "prompt_file_for",
    "short",
]

# The final text kept: the end is where agents put their report.
TEXT_LIMIT = 20_000


@dataclass(frozen=True)
class Usage:
    """Tokens and cost as read from one CLI's output (cost None: the CLI gave none)."""

    tokens_in: int = 0
    tokens_out: int = 0
    cached_in: int = 0
    cost_usd: float | None = None
    estimated: bool = False  # cost computed by wavefront from tokens and a price table


def one_of(setting: str, value: str, allowed: Sequence[str]) -> str:
    """`value` when it is one of `allowed`; a `ValueError` naming the choices otherwise."""
    if value not in allowed:
        raise ValueError(f"{setting} must be one of {', '.join(allowed)}; got {value!r}")
    return value


# A prompt longer than this (in bytes) goes to the CLI on stdin: Linux refuses one argument
# over 128 KiB (MAX_ARG_STRLEN) with "Argument list too long", and a story with its
# dependencies' reports and a gate's output can be longer.
ARGV_PROMPT_LIMIT = 96 * 1024


class CliSettings(TypedDict, total=False):
    """The settings every CLI runner takes (see `CliRunner`); a runner's constructor names
    its own and passes these on as `**common`."""

    executable: str | None
    extra_args: Sequence[str]
    env: Mapping[str, str] | None
    model: str | None
    base_url: str | None
    api_key_env: str | None
    check_version: bool


class CliRunner(ABC):
    """Base of the CLI runners. Subclasses set the class attributes and implement
    `build_argv` and `parse`; `run` is shared.

    Settings (the keyword arguments `make_runner` passes): `executable` (path or name of the
    CLI, default the documented name), `extra_args` (appended before the prompt, for flags
    wavefront does not know), `env` (extra variables for the child), `model` (the default
    model when neither the request nor the profile names one), `base_url` (the model
    service to use instead of the CLI's default, e.g. a local OpenAI-compatible server),
    `api_key_env` (the variable of wavefront's environment holding the key for it) and
    `check_version` (false: let the pre-flight accept a version that was not tested).
    """

    name: str  # a plain attribute, as the `Runner` protocol has it
    executable_names: ClassVar[tuple[str, ...]]
    # Documented credential variables, passed from our environment to the child; and the
    # files the CLI keeps a login in (relative to the home directory), for `doctor`.
    auth_env: ClassVar[tuple[str, ...]] = ()
    auth_files: ClassVar[tuple[str, ...]] = ()
    # Variables that configure the CLI itself (its home, provider, mode), passed the same way.
    config_env: ClassVar[tuple[str, ...]] = ()
    # The agent-file folder whose profiles this CLI understands natively (model names, tools).
    profile_dir: ClassVar[str | None] = None
    # Where `base_url` and the key named by `api_key_env` go: the variables the CLI reads.
    base_url_env: ClassVar[str | None] = None
    api_key_var: ClassVar[str | None] = None
    supports_base_url: ClassVar[bool] = False
    # Files and folders the CLI keeps in its working directory (history, caches): removed
    # after the attempt, when the attempt created them, so they never reach a commit.
    internal_paths: ClassVar[tuple[str, ...]] = ()
    # The versions the runner was checked against (lowest, highest), the package that
    # installs the CLI, and whether it was run for real (or written from documents only).
    tested_versions: ClassVar[tuple[str, str] | None] = None
    # How the CLI reads its prompt from stdin: the arguments that stand in the prompt
    # argument's place (empty: it is left out). None: the CLI cannot, or takes a file.
    stdin_prompt: ClassVar[tuple[str, ...] | None] = None
    package: ClassVar[str] = ""
    verified: ClassVar[bool] = False

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
    ) -> None:
        if executable is not None and not isinstance(executable, str):
            raise ValueError(f"executable must be a string, got {executable!r}")
        for setting, value in (("base_url", base_url), ("api_key_env", api_key_env)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{setting} must be a string, got {value!r}")
        if base_url is not None and not self.supports_base_url:
            raise ValueError(f"{self.name} cannot be pointed at another model service "
                             "(base_url is not supported)")
        if base_url is not None and not re.match(r"https?://", base_url):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if isinstance(extra_args, str) or not all(isinstance(a, str) for a in extra_args):
            raise ValueError("extra_args must be a list of strings")
        self.executable = executable or self.executable_names[0]
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.env: dict[str, str] = {str(k): str(v) for k, v in (env or {}).items()}
        self.default_model = model
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key_env = api_key_env
        if not isinstance(check_version, bool):
            raise ValueError(f"check_version must be true or false, got {check_version!r}")
        self.check_version = check_version  # pre-flight: refuse an untested version

    # --- what each CLI module provides -------------------------------------------------

    @abstractmethod
    def build_argv(self, request: AgentRequest) -> list[str]:
        """The command line for one attempt."""

    @abstractmethod
    def parse(self, outcome: ProcessOutcome, request: AgentRequest) -> AgentResult:
        """The attempt's result, read from what the CLI printed and how it exited."""

    def passes_persona(self, profile: AgentProfile | None) -> bool:
        """True when this runner hands `profile.prompt` to the CLI itself (a system-prompt
        flag, a named agent), so the task prompt should not repeat it."""
        return False

    def watch(self, line: str, earlier: Sequence[str]) -> Failure | None:
        """A failure to stop the CLI for, read from one line of its output as it runs
        (a rejected key that it would retry for minutes), with the lines `earlier` before
        it; None to let it go on."""
        return None

    def attempt_watch(self, request: AgentRequest
                      ) -> Callable[[str, Sequence[str]], Failure | None]:
        """The watcher of one attempt: `watch`, unless the runner keeps count of something
        per attempt (the turns of a CLI with no turn limit of its own)."""
        return self.watch

    def partial_usage(self, outcome: ProcessOutcome) -> Usage | None:
        """What a run that wavefront stopped had spent so far, when its output says."""
        return None

    def side_logs(self, request: AgentRequest) -> Path | None:
        """A folder the CLI logs into besides its output, for `watch` to read too."""
        return None

    def api_key(self) -> str | None:
        """The key from the variable `api_key_env` names, when set and non-empty."""
        return os.environ.get(self.api_key_env) or None if self.api_key_env else None

    # --- shared ------------------------------------------------------------------------

    def model_for(self, request: AgentRequest) -> str | None:
        """The model to ask for: the request's, else the profile's when this CLI understands
        it, else the runner's default."""
        return (
            request.model
            or profile_model(request.profile, self.profile_dir)
            or (self.default_model)
        )

    def child_env(self, request: AgentRequest) -> dict[str, str]:
        """Credentials and CLI settings from our environment, then runner and request env."""
        env = {
            name: os.environ[name]
            for name in (*self.auth_env, *self.config_env)
            if name in os.environ
        }
        if self.base_url and self.base_url_env:
            env[self.base_url_env] = self.base_url
        key = self.api_key()
        if key is not None and self.api_key_env:
            env[self.api_key_env] = key
            if self.api_key_var:
                env[self.api_key_var] = key
        env.update(self.env)
        env.update(request.env)
        return env

    def prompt_on_stdin(self, argv: list[str], request: AgentRequest
                        ) -> tuple[list[str], str | None]:
        """`argv` and the text for the CLI's stdin: the prompt moves there when it is too
        long for one argument and the CLI can read it so (`stdin_prompt`)."""
        too_long = len(request.prompt.encode("utf-8")) > ARGV_PROMPT_LIMIT
        if not too_long or self.stdin_prompt is None or request.prompt not in argv:
            return argv, None
        at = argv.index(request.prompt)
        return [*argv[:at], *self.stdin_prompt, *argv[at + 1:]], request.prompt

    async def run(self, request: AgentRequest) -> AgentResult:
        argv, stdin_text = self.prompt_on_stdin(self.build_argv(request), request)
        present = {p for p in self.internal_paths if (request.workspace / p).exists()}
        seen: list[Failure] = []
        watch = self.attempt_watch(request)
        recent: list[str] = []

        def stop_on(line: str) -> bool:
            found = watch(line, recent)
            recent.append(line)
            del recent[:-20]
            if found is not None:
                seen.append(found)
            return found is not None

        try:
            outcome = await run_process(
                argv,
                cwd=request.workspace,
                log_path=request.log_path,
                timeout_s=request.timeout_s,
                env=self.child_env(request),
                stdin_text=stdin_text,
                stop_on=stop_on,
                side_logs=self.side_logs(request),
            )
        finally:
            _remove_internal(request.workspace, self.internal_paths, present)
        if outcome.stopped and seen:
            return self.failed(outcome, seen[0], self.partial_usage(outcome), request)
        if outcome.timed_out:
            return self.failed(
                outcome,
                Failure(
                    FailureKind.TIMEOUT,
                    f"timed out after {outcome.duration_s:.0f}s; process group killed",
                ),
            )
        if outcome.returncode in (126, 127) and not outcome.stdout:
            return self.failed(
                outcome,
                Failure(
                    FailureKind.CRASHED,
                    f"{self.name} could not be started: {short(outcome.stderr)}",
                ),
            )
        return self.parse(outcome, request)

    def failed(
        self,
        outcome: ProcessOutcome,
        failure: Failure,
        usage: Usage | None = None,
        request: AgentRequest | None = None,
        **more: Any,
    ) -> AgentResult:
        """An unsuccessful result for `outcome`; a failed attempt still reports what it
        spent (estimated from tokens when `request` is given and the CLI gave no cost)."""
        if usage is not None and request is not None:
            usage = self.with_estimated_cost(usage, request)
        result = _result(outcome, usage, ok=False, **more)
        return replace(result, failure=failure.kind, reason=self.said(failure.reason),
                       retry_at=failure.retry_at)

    def said(self, reason: str) -> str:
        """`reason` as a person reads it: a JSON error body as its message, and the CLI
        that said it named first."""
        text = readable(reason)
        return text if text.startswith(self.name) else f"{self.name}: {text}"

    def succeeded(
        self, outcome: ProcessOutcome, text: str, usage: Usage, request: AgentRequest, **more: Any
    ) -> AgentResult:
        """A successful result; cost estimated from tokens when the CLI gave none."""
        usage = self.with_estimated_cost(usage, request)
        return _result(outcome, usage, ok=True, text=text[-TEXT_LIMIT:], **more)

    def with_estimated_cost(self, usage: Usage, request: AgentRequest) -> Usage:
        if usage.cost_usd is not None:
            return usage
        from wavefront.agents.pricing import estimate_cost

        model = self.model_for(request)
        cost = estimate_cost(model, usage.tokens_in, usage.tokens_out, usage.cached_in)
        return replace(usage, cost_usd=cost, estimated=True) if cost is not None else usage

    def exit_failure(self, outcome: ProcessOutcome, what: str) -> Failure:
        """The failure of a run that produced no usable result (`what` says what was
        missing): limits and auth problems by their text, a signal as a crash, a non-zero
        exit as an error and a clean exit without a result as bad output."""
        text = "\n".join(part for part in (outcome.stderr, outcome.stdout) if part)
        found = classify_failure(text)
        if found is not None:
            return found
        code = outcome.returncode
        if code is not None and code < 0:
            return Failure(FailureKind.CRASHED, f"{self.name} killed by signal {-code}")
        if code:
            return Failure(FailureKind.CRASHED, f"{self.name} exit code {code}: {short(text)}")
        return Failure(FailureKind.BAD_OUTPUT, f"{self.name} printed {what}: {short(text)}")


def _remove_internal(workspace: Path, paths: Sequence[str], keep: set[str]) -> None:
    import shutil

    for rel in paths:
        path = workspace / rel
        if rel in keep or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _result(outcome: ProcessOutcome, usage: Usage | None, *, ok: bool, **more: Any) -> AgentResult:
    return AgentResult(
        ok=ok,
        cost_usd=usage.cost_usd if usage else None,
        cost_estimated=bool(usage and usage.estimated and usage.cost_usd is not None),
        tokens_in=usage.tokens_in if usage else 0,
        tokens_out=usage.tokens_out if usage else 0,
        duration_s=outcome.duration_s,
        log_path=outcome.log_path,
        **more,
    )


# --- reading output ------------------------------------------------------------------


def iter_json_lines(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines stream; other lines (banners, warnings) skipped."""
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last complete JSON object in `text` that starts at the beginning of a line
    (pretty-printed or not), or None. CLIs print warnings before their JSON."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for match in re.finditer(r"^\{", text, re.MULTILINE):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            found = value
    return found


_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def plain(text: str) -> str:
    """`text` without terminal escape sequences (colours, cursor moves)."""
    return _ESCAPES.sub("", text)


def short(text: str, limit: int = 300) -> str:
    """The line of `text` that best says what went wrong, cut to `limit` characters: the
    first one that mentions an error, else the last non-empty one (for reasons)."""
    lines = [line.strip() for line in plain(text).splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    chosen = errors[0] if errors else (lines[-1] if lines else "(no output)")
    return chosen[:limit]


def as_int(value: Any) -> int:
    """`value` if it is an integer count, else 0 (JSON from a CLI is not trusted)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_str(value: Any) -> str:
    """`value` if it is a string, else ''."""
    return value if isinstance(value, str) else ""


def prompt_file_for(log_path: Path) -> Path:
    """Where a runner that hands the prompt over as a file writes it: beside the attempt's
    log, outside the worktree, so it never becomes part of the change."""
    return log_path.with_name(log_path.stem + ".prompt.md")


def profile_model(profile: AgentProfile | None, native_dir: str | None) -> str | None:
    """The profile's model when it was written for this CLI (`native_dir` in its origin);
    `inherit` means no choice. A Claude alias like `sonnet` means nothing to Codex."""
    if profile is None or not profile.model or profile.model == "inherit":
        return None
    if profile.runner is None and (native_dir is None or native_dir not in profile.origin):
        return None
    return profile.model
