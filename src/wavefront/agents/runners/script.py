"""The `script` runner: a scripted agent for tests, benchmarks and the demo.

It does what a script tells it instead of asking a model, so every path of the engine can
be driven on purpose: success, failure, hang, crash, no change, bad output, rate limit,
partial work, and reviewer verdicts. The script comes from `request.options`:

- `solutions_dir`: a directory with one folder per task id. `<id>/files/**` is copied into
  the workspace, `<id>/change.patch` is applied with `git apply`, and `<id>/script.yaml`
  holds the task's script (the keys below).
- `script`: an inline mapping with the same keys, laid over `script.yaml`; its `tasks`
  mapping (task id -> keys) is laid over that for one task.

Keys: `behaviour` (ok, fail, hang, crash, no-change, bad-output, rate-limit, partial),
`files` ({path: content}, null deletes), `patch` (diff text), `only` (paths a `partial`
writes; default the first half), `sleep` (seconds, or [min, max] drawn with `seed`),
`reset_after` (seconds until a rate limit lifts), `exit_code`, `deviations`, `commit`,
`cost_usd`, `tokens_in`, `tokens_out`, `say` (a line added to the final report, e.g. an
analyzer's `ANSWER: label`), `attempts` and `rounds` (lists of overrides picked
by `options["attempt"]` / `options["round"]`, 1-based, the last one repeating) and `review`
(verdicts for `options["role"] == "review"`, picked by round; default approve).

Files are written in-process; `hang` and `crash` run real child processes through
`run_process`, so timeouts and process-group kills are exercised for real.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.command import outcome_to_result
from wavefront.agents.runners.process import ProcessOutcome, run_process
from wavefront.errors import ConfigError
from wavefront.model import AgentProfile, AgentResult, FailureKind
from wavefront.yamlsource import load_yaml, raise_validation_error

__all__ = ["BEHAVIOURS", "ScriptRunner"]

Behaviour = Literal[
    "ok", "fail", "hang", "crash", "no-change", "bad-output", "rate-limit", "partial"
]
Verdict = Literal["approve", "request_changes", "garbage"]
BEHAVIOURS: tuple[str, ...] = get_args(Behaviour)

_HANG = "import time; time.sleep(10**6)"
_CRASH = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_GIT_IDENTITY = ("-c", "user.name=wavefront script", "-c", "user.email=script@wavefront.invalid")


class _Step(BaseModel):
    """What one attempt does; every key optional so a step can override another."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    behaviour: Behaviour | None = Field(
        default=None, validation_alias=pydantic.AliasChoices("behaviour", "behavior")
    )
    files: dict[str, str | None] | None = None
    patch: str | None = None
    only: list[str] | None = None
    sleep: float | tuple[float, float] | None = None
    reset_after: float | None = None
    exit_code: int | None = None
    deviations: str | None = None
    commit: bool | None = None
    cost_usd: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    say: str | None = None


class _Review(BaseModel):
    """A reviewer's answer for one round; `behaviour` lets the reviewer itself fail."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    verdict: Verdict = "approve"
    findings: list[Any] = []
    behaviour: Behaviour | None = Field(
        default=None, validation_alias=pydantic.AliasChoices("behaviour", "behavior")
    )
    sleep: float | tuple[float, float] | None = None
    reset_after: float | None = None


class _TaskScript(_Step):
    """One task's script: a default step, overrides per attempt and round, review answers."""

    seed: int | str | None = None
    attempts: list[_Step] = []
    rounds: list[_Step] = []
    review: list[_Review | Verdict] = []


class _Script(_TaskScript):
    """A whole script: a task's keys plus per-task entries under `tasks`."""

    tasks: dict[str, _TaskScript] = {}


# The script of a task that has none; never changed once built.
_EMPTY = _Script()


class ScriptRunner:
    """A fake agent that follows a script (see the module docstring)."""

    def __init__(self, name: str = "script") -> None:
        self.name = name

    def passes_persona(self, profile: AgentProfile | None) -> bool:
        return False  # the persona is part of the prompt it is given

    async def run(self, request: AgentRequest) -> AgentResult:
        started = time.monotonic()
        task_dir = _task_dir(request)
        script = _load_script(request, task_dir)
        attempt = _positive(request.options.get("attempt"), 1)
        round_ = _positive(request.options.get("round"), 1)
        role = str(request.options.get("role", "implement"))
        seed = script.seed if script.seed is not None else request.options.get("seed", 0)
        # The seed of the one random draw a ranged `sleep` makes; the generator is built
        # only then (seeding from a string hashes it, a cost every attempt paid).
        rng = f"{seed}|{request.task.id}|{attempt}|{role}|{round_}"
        if role == "review":
            result = await _review(request, script, round_, rng)
        else:
            step = _merge(script, _pick(script.attempts, attempt), _pick(script.rounds, round_))
            result = await _implement(request, step, task_dir, rng)
        duration = time.monotonic() - started
        outcome = "ok" if result.ok else f"{result.failure}: {result.reason}"
        # One write at the end (opening a file is most of a no-op attempt's cost); a child
        # process the script started has logged its own lines above by then.
        report = f"{result.text.rstrip()}\n" if result.text else ""
        # On a thread: the file is new, and making one blocks for a while on a busy disk.
        await asyncio.to_thread(
            _log, request, f"[script] task {request.task.id} role {role} attempt {attempt} "
                           f"round {round_}\n{report}[script] finished: {outcome}")
        return _with(result, duration_s=duration, log_path=request.log_path)


# -- loading the script ----------------------------------------------------------------


def _task_dir(request: AgentRequest) -> Path | None:
    raw = request.options.get("solutions_dir")
    if raw is None:
        return None
    root = Path(str(raw)).resolve()
    candidate = (root / request.task.id).resolve()
    # A task id must not lead out of the solutions directory.
    if not candidate.is_relative_to(root) or not candidate.is_dir():
        return None
    return candidate


def _load_script(request: AgentRequest, task_dir: Path | None) -> _Script:
    layers: list[dict[str, Any]] = []
    if task_dir is not None and (task_dir / "script.yaml").is_file():
        path = task_dir / "script.yaml"
        doc = load_yaml(path)
        try:
            layers.append(_dump(_Script.model_validate(doc.data or {})))
        except pydantic.ValidationError as exc:
            raise_validation_error(path, doc, exc, model=_Script)
    inline = request.options.get("script")
    if inline is not None:
        script = _validate_inline(inline)
        per_task = script.tasks.get(request.task.id)
        if not layers and per_task is None and not script.tasks:
            return script  # the inline script alone, already validated
        layers.append(_dump(script, exclude={"tasks"}))
        if per_task is not None:
            layers.append(_dump(per_task))
    if not layers:
        return _EMPTY  # no script: every key at its default (a no-op task)
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return _Script.model_validate(merged)


def _validate_inline(data: Any) -> _Script:
    if not isinstance(data, Mapping):
        raise ConfigError(Path("<script>"), None, "the script must be a mapping")
    try:
        return _Script.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(Path("<script>"), None, f"{where}: {first['msg']}") from None


def _dump(model: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    return model.model_dump(exclude_none=True, exclude_unset=True, exclude=exclude)


def _pick(entries: list[Any], number: int) -> Any:
    """The entry for 1-based `number`; the last one repeats, none gives None."""
    if not entries:
        return None
    return entries[min(number, len(entries)) - 1]


def _merge(base: _Script, *overrides: _Step | None) -> _Step:
    if all(override is None for override in overrides):
        # The script's own keys are the step (a `_Script` is a `_Step` with more keys);
        # dumping and validating them again would give the same values.
        return base
    data = base.model_dump(exclude_none=True, include=set(_Step.model_fields))
    for override in overrides:
        if override is not None:
            data.update(override.model_dump(exclude_none=True))
    return _Step.model_validate(data)


def _positive(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(number, 1)


# -- acting --------------------------------------------------------------------------


async def _implement(
    request: AgentRequest, step: _Step, task_dir: Path | None, rng: str
) -> AgentResult:
    timed_out = await _sleep(request, step.sleep, rng)
    if timed_out is not None:
        return timed_out
    behaviour = step.behaviour or "ok"
    usage: dict[str, Any] = {
        "cost_usd": step.cost_usd,
        "tokens_in": step.tokens_in or 0,
        "tokens_out": step.tokens_out or 0,
    }
    failure = await _misbehave(request, behaviour, step.reset_after, step.exit_code)
    if failure is not None:
        return _with(failure, **usage)
    task = request.task
    if behaviour == "no-change":
        text = f"Implemented {task.id}: the code already does what {task.title!r} asks; no changes."
        said = f"\n{step.say}" if step.say else ""
        return AgentResult(ok=True, text=text + said + "\nDeviations: none", **usage)
    sources = _solution_files(task_dir, step.files)
    if behaviour == "partial":
        chosen = (
            step.only if step.only is not None else sorted(sources)[: max(1, len(sources) // 2)]
        )
        sources = {path: sources[path] for path in chosen if path in sources}
    written = _write_files(request.workspace, sources)
    report = [f"Implemented {task.id} ({task.title})."]
    if written:
        report.append(f"Wrote: {', '.join(written)}")
    patch = _patch_text(task_dir, step.patch)
    if patch is not None and behaviour != "partial":
        applied = await _apply_patch(request, patch)
        if isinstance(applied, AgentResult):
            return _with(applied, **usage)
        report.append(f"Applied change to: {', '.join(applied) or '(no files)'}")
    if step.commit:
        committed = await _commit(request)
        if committed is not None:
            return _with(committed, **usage)
        report.append("Committed the change.")
    if step.say:
        report.append(step.say)
    report.append(f"Deviations: {step.deviations or 'none'}")
    return AgentResult(ok=True, text="\n".join(report), **usage)


async def _review(
    request: AgentRequest, script: _Script, round_: int, rng: str
) -> AgentResult:
    entry = _pick(script.review, round_)
    review = _Review.model_validate({"verdict": entry} if isinstance(entry, str) else entry or {})
    timed_out = await _sleep(
        request, review.sleep if review.sleep is not None else script.sleep, rng
    )
    if timed_out is not None:
        return timed_out
    failure = await _misbehave(request, review.behaviour or "ok", review.reset_after, None)
    if failure is not None:
        return failure
    if review.verdict == "garbage":
        return AgentResult(ok=True, text="Looks mostly fine to me, maybe, see above?? {verdict:")
    answer = {"verdict": review.verdict, "findings": review.findings}
    return AgentResult(ok=True, text=json.dumps(answer))


async def _misbehave(
    request: AgentRequest, behaviour: str, reset_after: float | None, exit_code: int | None
) -> AgentResult | None:
    """The result of a failing behaviour, or None for one that goes on to work."""
    if behaviour == "hang":
        return outcome_to_result(await _child(request, _HANG))
    if behaviour == "crash":
        return outcome_to_result(await _child(request, _CRASH))
    if behaviour == "fail":
        code = exit_code if exit_code else 1
        return AgentResult(
            ok=False,
            text=f"Error: could not complete {request.task.id}.",
            failure=FailureKind.ERROR,
            reason=f"exit code {code}: scripted failure",
        )
    if behaviour == "bad-output":
        return AgentResult(
            ok=False,
            text='{"type": "result", "subtype": "succ',
            failure=FailureKind.BAD_OUTPUT,
            reason="the agent's output could not be read",
        )
    if behaviour == "rate-limit":
        wait = 60.0 if reset_after is None else reset_after
        return AgentResult(
            ok=False,
            text=f"Usage limit reached; resets in {wait:.0f}s.",
            failure=FailureKind.RATE_LIMITED,
            reason="rate limited",
            retry_at=time.time() + wait,
        )
    return None


async def _child(request: AgentRequest, code: str) -> ProcessOutcome:
    return await run_process(
        [sys.executable, "-c", code],
        cwd=request.workspace,
        log_path=request.log_path,
        timeout_s=request.timeout_s,
        env=request.env,
        kill_grace_s=1.0,
    )


async def _sleep(
    request: AgentRequest, sleep: float | tuple[float, float] | None, rng: str
) -> AgentResult | None:
    """Think for a while; past the request's timeout this is a TIMEOUT, as for an agent."""
    if sleep is None:
        return None
    seconds = random.Random(rng).uniform(*sleep) if isinstance(sleep, tuple) else float(sleep)
    limit = request.timeout_s
    if limit is not None and seconds > limit:
        await asyncio.sleep(limit)
        return AgentResult(
            ok=False, failure=FailureKind.TIMEOUT, reason=f"timed out after {limit:.1f}s"
        )
    await asyncio.sleep(max(seconds, 0.0))
    return None


# -- files, patches, commits ----------------------------------------------------------


def _solution_files(
    task_dir: Path | None, inline: Mapping[str, str | None] | None
) -> dict[str, Path | str | None]:
    """Relative path -> a file to copy, text to write, or None to delete."""
    sources: dict[str, Path | str | None] = {}
    files_dir = task_dir / "files" if task_dir is not None else None
    if files_dir is not None and files_dir.is_dir():
        for path in sorted(files_dir.rglob("*")):
            if path.is_file():
                sources[path.relative_to(files_dir).as_posix()] = path
    sources.update(inline or {})
    return sources


def _write_files(workspace: Path, sources: Mapping[str, Path | str | None]) -> list[str]:
    if not sources:
        return []  # nothing to place (resolving the workspace costs several stat calls)
    root = workspace.resolve()
    done: list[str] = []
    for relative, source in sources.items():
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or target == root:
            raise ConfigError(Path("<script>"), None, f"file {relative!r} is outside the workspace")
        if source is None:
            if target.exists():
                target.unlink()
                done.append(f"{relative} (deleted)")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copy(source, target)
        else:
            target.write_text(source, encoding="utf-8")
        done.append(relative)
    return done


def _patch_text(task_dir: Path | None, inline: str | None) -> str | None:
    if inline is not None:
        return inline
    if task_dir is not None and (task_dir / "change.patch").is_file():
        return (task_dir / "change.patch").read_text(encoding="utf-8")
    return None


async def _apply_patch(request: AgentRequest, patch: str) -> list[str] | AgentResult:
    """Apply `patch` with `git apply`; the touched paths, or the failure as a result."""
    outcome = await run_process(
        ["git", "apply", "--whitespace=nowarn", "-"],
        cwd=request.workspace,
        log_path=request.log_path,
        stdin_text=patch,
        timeout_s=request.timeout_s,
    )
    if outcome.returncode != 0:
        result = outcome_to_result(outcome, text=f"Could not apply my change to {request.task.id}.")
        return _with(result, reason=f"git apply failed: {result.reason}")
    touched = []
    for line in patch.splitlines():
        if line.startswith("+++ ") and line[4:].strip() != "/dev/null":
            touched.append(line[4:].strip().removeprefix("b/"))
    return touched


async def _commit(request: AgentRequest) -> AgentResult | None:
    for argv in (
        ["git", "add", "-A"],
        ["git", *_GIT_IDENTITY, "commit", "-q", "-m", f"{request.task.id}: {request.task.title}"],
    ):
        outcome = await run_process(argv, cwd=request.workspace, log_path=request.log_path)
        if outcome.returncode != 0:
            result = outcome_to_result(outcome, text=f"Could not commit {request.task.id}.")
            return _with(result, reason=f"git commit failed: {result.reason}")
    return None


# -- small helpers --------------------------------------------------------------------


def _with(result: AgentResult, **changes: Any) -> AgentResult:
    return replace(result, **changes)


def _log(request: AgentRequest, text: str) -> None:
    # The directory is made here, at the one write (a child process `run_process` started
    # made it already, for its own output). A plain append: fewer system calls than a
    # buffered text file (no fstat, isatty or seek), on a file system slow at metadata.
    data = memoryview((text.rstrip("\n") + "\n").encode("utf-8"))
    try:
        os.mkdir(request.log_path.parent)  # a new task's first attempt: one call
    except FileExistsError:
        pass
    except FileNotFoundError:
        request.log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(request.log_path, _APPEND, 0o666)  # as open() would create it
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
