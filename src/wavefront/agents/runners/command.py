"""The `command` runner: any program that takes a prompt and works in the current directory.

The argv template names where the prompt goes: `{prompt}` (the text itself), `{prompt_file}`
(a file holding it, written beside the attempt's log, outside the worktree so it never ends
up in the change), `{task_id}` and `{workspace}`. Placeholders are replaced inside each
argument; nothing is passed through a shell. The program's stdout is the agent's final text
and exit status 0 means success.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.process import ProcessOutcome, run_process
from wavefront.model import AgentProfile, AgentResult, FailureKind

__all__ = [
    "TEXT_LIMIT",
    "CommandRunner",
    "PromptVia",
    "keep_prompt",
    "outcome_to_result",
    "prompt_file_for",
]

PromptVia = Literal["arg", "file", "stdin"]

# The final text kept from stdout: the end is where agents put their summary.
TEXT_LIMIT = 20_000


class CommandRunner:
    """Runs `argv_template` in the task's workspace with the prompt as an argument, a file
    or stdin (`prompt_via`). When the template has no placeholder for the chosen way, the
    prompt (or its file path) is appended as the last argument."""

    def __init__(
        self,
        argv_template: Sequence[str] | str,
        prompt_via: PromptVia = "arg",
        name: str = "command",
    ) -> None:
        template = (
            shlex.split(argv_template) if isinstance(argv_template, str) else list(argv_template)
        )
        if not template or not all(isinstance(part, str) for part in template):
            raise ValueError(
                "command runner needs a non-empty command (a string or a list of strings)"
            )
        if prompt_via not in get_args(PromptVia):
            raise ValueError(f"prompt_via must be one of arg, file, stdin; got {prompt_via!r}")
        self.argv_template: tuple[str, ...] = tuple(template)
        self.prompt_via: PromptVia = prompt_via
        self.name = name

    def argv_for(self, request: AgentRequest, prompt_file: Path | None) -> list[str]:
        """The argv for `request`, placeholders filled in."""
        values = {
            "{prompt}": request.prompt,
            "{prompt_file}": str(prompt_file) if prompt_file is not None else "",
            "{task_id}": request.task.id,
            "{workspace}": str(request.workspace),
        }
        argv = [_fill(part, values) for part in self.argv_template]
        joined = " ".join(self.argv_template)
        if self.prompt_via == "arg" and "{prompt}" not in joined:
            argv.append(request.prompt)
        elif self.prompt_via == "file" and "{prompt_file}" not in joined:
            argv.append(str(prompt_file))
        return argv

    def passes_persona(self, profile: AgentProfile | None) -> bool:
        return False  # the persona is part of the prompt it is given

    async def run(self, request: AgentRequest) -> AgentResult:
        prompt_file: Path | None = None
        if self.prompt_via == "file" or any("{prompt_file}" in p for p in self.argv_template):
            prompt_file = keep_prompt(request.log_path, request.prompt)
        outcome = await run_process(
            self.argv_for(request, prompt_file),
            cwd=request.workspace,
            log_path=request.log_path,
            timeout_s=request.timeout_s,
            env={**request.env, **(request.mcp.env() if request.mcp else {})},
            stdin_text=request.prompt if self.prompt_via == "stdin" else None,
        )
        return outcome_to_result(outcome)


def prompt_file_for(log_path: Path) -> Path:
    """Where the prompt of the attempt logged at `log_path` is written: beside the log."""
    return log_path.with_name(log_path.stem + ".prompt.md")


def keep_prompt(log_path: Path, prompt: str) -> Path:
    """Write the exact prompt of an attempt beside its log (the dashboard shows it)."""
    path = prompt_file_for(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(prompt, encoding="utf-8")
    return path


def outcome_to_result(outcome: ProcessOutcome, text: str | None = None) -> AgentResult:
    """The `AgentResult` of a plain process: exit 0 is success, a signal is a crash.

    `text` overrides the final text (a CLI runner that parsed its own output passes it).
    """
    final = outcome.stdout.strip()[-TEXT_LIMIT:] if text is None else text
    failure: FailureKind | None = None
    reason = ""
    code = outcome.returncode
    if outcome.timed_out:
        failure = FailureKind.TIMEOUT
        reason = f"timed out after {outcome.duration_s:.1f}s; process group killed"
    elif code is not None and code < 0:
        failure = FailureKind.CRASHED
        reason = f"killed by signal {_signal_name(-code)}"
    elif code != 0:
        failure = FailureKind.ERROR
        last = _last_line(outcome.stderr) or _last_line(outcome.stdout)
        reason = f"exit code {code}" + (f": {last}" if last else "")
    return AgentResult(
        ok=failure is None,
        text=final,
        duration_s=outcome.duration_s,
        failure=failure,
        reason=reason,
        log_path=outcome.log_path,
    )


def _fill(part: str, values: dict[str, str]) -> str:
    # Plain replacement rather than str.format: arguments may hold other braces (JSON).
    for placeholder, value in values.items():
        part = part.replace(placeholder, value)
    return part


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
