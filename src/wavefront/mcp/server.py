"""The MCP server: wavefront's tools registered on the SDK's FastMCP, in tiers.

Each tool is a thin typed function over `planning`, `runtools` or `agenttools`; its
docstring is the description the client shows, its `Annotated` fields the JSON schema. A
`WavefrontError` becomes a tool error whose text is the CLI's message, word for word.
Tools run in a worker thread: a blocking call (a journal read, `ask_human`'s wait) must not
stall the session.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from wavefront import __version__
from wavefront.errors import WavefrontError
from wavefront.mcp import planning, runtools
from wavefront.mcp.agenttools import TaskScope

__all__ = ["TIERS", "Tier", "build_server", "tool_names"]

Tier = Literal["core", "standard", "all"]

# Each tier adds to the one before; `core` is what an agent needs most and costs the least
# context. Starting and stopping runs and writing the backlog are only in `all`.
TIERS: dict[Tier, tuple[str, ...]] = {
    "core": ("list_tasks", "get_task", "next_tasks", "run_status", "answer"),
    "standard": ("plan", "validate", "list_runs", "task_log", "approve", "reject", "retry"),
    "all": ("start_run", "cancel_run", "complete_subtask"),
}
AGENT_TOOLS = ("ask_human", "report_deviation", "task_context")

READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True,
                       openWorldHint=False)
DECIDE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False,
                         openWorldHint=False)
STOP = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False,
                       openWorldHint=False)
# An agent run spends money and reaches the model provider: the open world.
SPEND = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False,
                        openWorldHint=True)

Scope = Annotated[str | None, Field(
    description="Scope expression as on the command line: an id (1.3), a range (1.1-1.5), "
                "an epic ('epic:auth'), a pattern ('1.*'), a feature name; several separated "
                "by spaces. Default: the whole backlog.")]
RunId = Annotated[str | None, Field(description="The run's id (default: the latest run).")]
TaskId = Annotated[str, Field(description="The task's id, as in the backlog (e.g. 1.3).")]


def tool_names(tier: Tier) -> tuple[str, ...]:
    """The tools of `tier`, in the order they are listed."""
    order = list(TIERS)
    return tuple(name for level in order[:order.index(tier) + 1] for name in TIERS[level])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False,
                                                            default=str)


def _tool(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run `function` off the event loop; its result as text, its `WavefrontError` as a
    tool error with the CLI's message."""

    @functools.wraps(function)
    async def call(**arguments: Any) -> Any:
        try:
            result = await anyio.to_thread.run_sync(functools.partial(function, **arguments))
        except WavefrontError as error:
            return CallToolResult(isError=True, content=[TextContent(type="text",
                                                                      text=str(error))])
        return _text(result)

    return call


def build_server(root: Path, tier: Tier = "core", task: TaskScope | None = None,
                 host: str = "127.0.0.1", port: int = 8000) -> FastMCP:
    """The server for the repository at `root`: the tools of `tier`, or, for an agent inside
    a run (`task`), only the tools bound to its own task."""
    root = root.resolve()
    server = FastMCP(
        "wavefront",
        instructions=("wavefront runs a software backlog through coding agents in parallel, "
                      "each task in a git repository of its own. These tools read the "
                      "backlog and its plan, watch runs and make a person's decisions."
                      if task is None else
                      f"You are the agent working on task {task.task_id}. Call ask_human "
                      "when you need a decision only a person can make; report_deviation "
                      "when you do something other than the task says; task_context for "
                      "the task and what its dependencies delivered."),
        host=host, port=port, log_level="WARNING")
    server._mcp_server.version = __version__
    if task is not None:
        # No resources either: they would show the other tasks and runs.
        _agent_tools(server, task)
        return server
    wanted = set(tool_names(tier))
    for name, (function, hints) in _library_tools(root).items():
        if name in wanted:
            server.add_tool(_tool(function), name=name, annotations=hints,
                            structured_output=False)
    _resources(server, root)
    return server


def _library_tools(root: Path) -> dict[str, tuple[Callable[..., Any], ToolAnnotations]]:
    """Every tool over the library, by name, bound to `root`."""

    def list_tasks(
        status: Annotated[str | None, Field(
            description="Only tasks the backlog files give this status (pending, running, "
                        "done, ...).")] = None,
        scope: Scope = None,
    ) -> str:
        """List the backlog's tasks (id, title, status, dependencies, wave, agent)."""
        return _text(planning.list_tasks(root, status, scope))

    def get_task(task_id: TaskId) -> str:
        """One task in full: body, acceptance criteria, deliverables, files, source."""
        return _text(planning.get_task(root, task_id))

    def next_tasks(
        scope: Scope = None,
        parallel: Annotated[bool, Field(
            description="Every task that could start now side by side (true), or only the "
                        "one to start next (false).")] = True,
    ) -> str:
        """What can start now, as `wavefront parallel` / `wavefront next` choose it
        (dependencies done, files not overlapping, longest remaining path first)."""
        return _text(planning.next_tasks(root, scope, parallel))

    def plan(scope: Scope = None) -> str:
        """The plan: waves, critical path, dependencies and parallelism."""
        return _text(planning.plan(root, scope))

    def validate(scope: Scope = None) -> str:
        """Check the backlog (duplicate ids, missing dependencies, cycles, task JSON
        fields); the first problem is an error naming its file and line."""
        return _text(planning.validate(root, scope))

    def list_runs() -> str:
        """The runs in this repository (id, state, integration branch), newest last."""
        return _text(runtools.list_runs(root))

    def run_status(run_id: RunId = None) -> str:
        """Each task's status, reason, attempts and cost in a run, and the questions its
        agents wait to have answered."""
        return _text(runtools.run_status(root, run_id))

    def task_log(
        task_id: TaskId, run_id: RunId = None,
        lines: Annotated[int, Field(description="How many lines from the end.", ge=1,
                                    le=runtools.MAX_LOG_LINES)] = 80,
        attempt: Annotated[int | None, Field(description="Which attempt (default: the "
                                                         "last).")] = None,
    ) -> str:
        """The tail of the agent log of a task's attempt."""
        return runtools.task_log(root, task_id, run_id, lines, attempt)

    def start_run(
        scope: Scope = None,
        runner: Annotated[str | None, Field(
            description="Runner for tasks that name none: claude, codex, gemini, opencode, "
                        "aider, qwen, cursor, goose, command or script (default: "
                        "wavefront.yaml).")] = None,
        max_parallel: Annotated[int | None, Field(description="Agents at work at once.",
                                                  ge=1)] = None,
        budget_usd: Annotated[float | None, Field(
            description="Stop dispatching once the run has spent this much.", gt=0)] = None,
    ) -> str:
        """Start a run of the backlog (or scope) in the background and return at once with
        its id; watch it with run_status."""
        return _text(runtools.start_run(root, scope, runner, max_parallel, budget_usd))

    def cancel_run(run_id: RunId = None) -> str:
        """Stop the active run and mark its unfinished tasks cancelled."""
        return _text(runtools.cancel_run(root, run_id))

    def approve(task_id: TaskId,
                note: Annotated[str, Field(description="Why (kept in the journal).")] = "",
                run_id: RunId = None) -> str:
        """Approve a task waiting for a person: it is merged."""
        return runtools.approve(root, task_id, note, run_id)

    def reject(task_id: TaskId,
               note: Annotated[str, Field(
                   description="What to change: sent back to the task's agent for another "
                               "round (with fail: the reason).")] = "",
               fail: Annotated[bool, Field(description="Fail the task instead of asking "
                                                       "for a change.")] = False,
               run_id: RunId = None) -> str:
        """Reject a task waiting for a person: a change request for its agent, or a
        failure with fail=true."""
        return runtools.reject(root, task_id, note, fail, run_id)

    def answer(task_id: TaskId,
               text: Annotated[str, Field(description="The answer for the agent.")],
               run_id: RunId = None) -> str:
        """Answer the question a task's agent asked; it goes on with the answer."""
        return runtools.answer(root, task_id, text, run_id)

    def retry(task_ids: Annotated[list[str], Field(description="The tasks to run again.",
                                                   min_length=1)],
              run_id: RunId = None) -> str:
        """Queue failed, conflicting or blocked tasks again (and the tasks they blocked),
        and continue the run in the background if nothing drives it."""
        return _text(runtools.retry(root, task_ids, run_id))

    def complete_subtask(
        feature: Annotated[str, Field(description="The task JSON feature (.tmp/tasks/"
                                                  "FEATURE/).")],
        seq: Annotated[str, Field(description="The subtask's number (1 or 01).")],
        summary: Annotated[str, Field(description="What was done.")],
    ) -> str:
        """Mark a task JSON subtask completed in the working tree, as `wavefront complete`
        does."""
        from wavefront.runs import complete_subtask as complete

        written = complete(root, feature, seq, summary)
        return _text({"written": [str(path.relative_to(root)) for path in written]})

    return {
        "list_tasks": (list_tasks, READ), "get_task": (get_task, READ),
        "next_tasks": (next_tasks, READ), "plan": (plan, READ), "validate": (validate, READ),
        "list_runs": (list_runs, READ), "run_status": (run_status, READ),
        "task_log": (task_log, READ), "start_run": (start_run, SPEND),
        "cancel_run": (cancel_run, STOP), "approve": (approve, DECIDE),
        "reject": (reject, STOP), "answer": (answer, DECIDE), "retry": (retry, SPEND),
        "complete_subtask": (complete_subtask, DECIDE),
    }


def _agent_tools(server: FastMCP, task: TaskScope) -> None:
    def ask_human(question: Annotated[str, Field(
            description="The decision you need, with the options you see.")]) -> str:
        """Ask a person a question only they can decide; returns their answer. If no answer
        comes in time, end your reply: the next round brings the answer."""
        return task.ask_human(question)

    def report_deviation(text: Annotated[str, Field(
            description="What you did differently from the task as written, and why.")]
            ) -> str:
        """Report a deviation from your task; it is shown to the people reviewing the run."""
        return task.report_deviation(text)

    def task_context() -> str:
        """Your task: its description, acceptance criteria, what its dependencies
        delivered, and the questions you asked with their answers."""
        return _text(task.task_context())

    server.add_tool(_tool(ask_human), name="ask_human", annotations=DECIDE,
                    structured_output=False)
    server.add_tool(_tool(report_deviation), name="report_deviation", annotations=DECIDE,
                    structured_output=False)
    server.add_tool(_tool(task_context), name="task_context", annotations=READ,
                    structured_output=False)


def _resources(server: FastMCP, root: Path) -> None:
    @server.resource("wavefront://runs/{run_id}", mime_type="application/json",
                     description="A run's status as JSON (tasks, reasons, totals).")
    def run_resource(run_id: str) -> str:
        return _text(runtools.run_status(root, run_id))

    @server.resource("wavefront://tasks/{task_id}", mime_type="application/json",
                     description="A backlog task as JSON (body, criteria, deliverables).")
    def task_resource(task_id: str) -> str:
        return _text(planning.get_task(root, task_id))
