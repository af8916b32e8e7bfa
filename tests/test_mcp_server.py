"""`wavefront mcp` driven by the MCP SDK's own client over stdio: a real server process, a
real backlog and journal in a temporary git repository, real runs in child processes."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from components import need
from conftest import WriteBacklog
from wavefront.agents.runners import RUNNERS

HAVE_MCP = importlib.util.find_spec("mcp") is not None
TASKS = [
    {"id": "models", "title": "Data models", "acceptance_criteria": ["models exist"]},
    {"id": "api", "title": "The API", "depends_on": ["models"]},
    {"id": "docs", "title": "Docs"},
]


@pytest.fixture(autouse=True)
def _sdk() -> None:
    need(HAVE_MCP, "the MCP SDK is missing: pip install 'wavefront[mcp]'")


Session = Any


def with_server(repo: Path, body: Callable[[Session], Awaitable[Any]], *args: str) -> Any:
    """Start `wavefront mcp ARGS -C repo` and run `body` with a client session on it."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "wavefront", "mcp", *args, "-C", str(repo)])

    async def main() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return asyncio.run(asyncio.wait_for(main(), 120))


async def call(session: Session, name: str, **arguments: Any) -> Any:
    """A tool's result as JSON (or text); a tool error raises with its message."""
    result = await session.call_tool(name, arguments)
    text = "".join(block.text for block in result.content)
    if result.isError:
        raise ToolFailed(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class ToolFailed(Exception):
    pass


async def error_of(session: Session, name: str, **arguments: Any) -> str:
    result = await session.call_tool(name, arguments)
    assert result.isError, f"{name} did not fail"
    return "".join(block.text for block in result.content)


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_each_tier_lists_its_tools_with_schemas_descriptions_and_annotations(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    write_backlog(TASKS)

    async def body(session: Session) -> Any:
        return (await session.list_tools()).tools

    core = {t.name: t for t in with_server(git_repo, body)}
    assert sorted(core) == ["answer", "get_task", "list_tasks", "next_tasks", "run_status"]
    standard = {t.name for t in with_server(git_repo, body, "--tools", "standard")}
    everything = {t.name: t for t in with_server(git_repo, body, "--tools", "all")}
    assert set(core) < standard < set(everything)
    assert {"plan", "validate", "task_log", "approve", "reject", "retry"} <= standard
    assert {"start_run", "cancel_run", "complete_subtask"} <= set(everything) - standard
    for tool in everything.values():
        assert tool.description, tool.name
        assert tool.inputSchema["type"] == "object"
        assert tool.annotations is not None and tool.annotations.readOnlyHint is not None
        for name, field in tool.inputSchema.get("properties", {}).items():
            assert field.get("description"), f"{tool.name}.{name} has no description"
    assert everything["list_tasks"].annotations.readOnlyHint is True
    assert everything["cancel_run"].annotations.destructiveHint is True
    assert everything["get_task"].inputSchema["required"] == ["task_id"]
    assert everything["answer"].inputSchema["required"] == ["task_id", "text"]
    runner = everything["start_run"].inputSchema["properties"]["runner"]["description"]
    named = re.search(r"name none: ([^(]*)", runner)
    assert named is not None, runner
    assert set(re.split(r", | or ", named.group(1).strip())) == set(RUNNERS)


def test_planning_tools_say_what_the_cli_says(git_repo: Path, write_backlog: WriteBacklog
                                              ) -> None:
    write_backlog(TASKS)

    async def body(session: Session) -> dict[str, Any]:
        return {
            "tasks": await call(session, "list_tasks"),
            "scoped": await call(session, "list_tasks", scope="api"),
            "pending": await call(session, "list_tasks", status="done"),
            "task": await call(session, "get_task", task_id="models"),
            "next": await call(session, "next_tasks"),
            "one": await call(session, "next_tasks", parallel=False),
            "plan": await call(session, "plan"),
            "valid": await call(session, "validate"),
            "unknown": await error_of(session, "get_task", task_id="nope"),
            "bad_status": await error_of(session, "list_tasks", status="finished"),
            "bad_args": await error_of(session, "get_task"),
        }

    got = with_server(git_repo, body, "--tools", "standard")
    assert {t["id"]: t["wave"] for t in got["tasks"]} == {"models": 0, "docs": 0, "api": 1}
    # Scope 'api' takes in its dependency, as `wavefront plan api` does without a terminal.
    assert {t["id"] for t in got["scoped"]} == {"models", "api"}
    assert got["pending"] == []
    assert got["task"]["acceptance_criteria"] == ["models exist"]
    assert got["task"]["source"].startswith(str(git_repo / "wavefront.yaml") + ":")
    assert {t["id"] for t in got["next"]} == {"models", "docs"}
    assert len(got["one"]) == 1
    assert got["plan"]["waves"] == json.loads(cli(git_repo, "plan", "-o", "json").stdout)["waves"]
    assert got["valid"]["ok"] is True and got["valid"]["tasks"] == 3
    assert got["unknown"].startswith("no task 'nope' in the backlog (tasks: ")
    assert got["bad_status"].startswith("unknown status 'finished'; expected one of pending")
    assert "task_id" in got["bad_args"] and "required" in got["bad_args"].lower()


def test_a_broken_backlog_is_a_tool_error_with_the_cli_message(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    write_backlog([{"id": "a", "title": "A", "depends_on": ["ghost"]}])
    expected = cli(git_repo, "validate").stderr.strip().removeprefix("error: ")
    assert expected

    async def body(session: Session) -> str:
        return await error_of(session, "validate")

    assert with_server(git_repo, body, "--tools", "standard") == expected


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_start_a_run_watch_it_and_read_its_resources(git_repo: Path,
                                                     write_backlog: WriteBacklog) -> None:
    write_backlog(
        [{"id": "one", "title": "One"}, {"id": "two", "title": "Two", "depends_on": ["one"]}],
        defaults={"runner": "command"},
        runners={"command": {"argv_template": [
            sys.executable, "-c",
            "import pathlib, sys; pathlib.Path(sys.argv[1] + '.txt').write_text('x');"
            " print('Summary: done')", "{task_id}"]}})

    async def body(session: Session) -> dict[str, Any]:
        started = await call(session, "start_run", run_id=None)
        run_id = started["run_id"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            runs = await call(session, "list_runs")
            if runs and runs[-1]["state"] == "finished":
                break
            await asyncio.sleep(0.3)
        status = await call(session, "run_status", run_id=run_id)
        log = await call(session, "task_log", task_id="two", run_id=run_id, lines=5)
        resource = await session.read_resource(f"wavefront://runs/{run_id}")
        task = await session.read_resource("wavefront://tasks/two")
        templates = (await session.list_resource_templates()).resourceTemplates
        return {"run_id": run_id, "runs": runs, "status": status, "log": log,
                "resource": json.loads(resource.contents[0].text),
                "task": json.loads(task.contents[0].text),
                "templates": sorted(t.uriTemplate for t in templates),
                "no_run": await error_of(session, "run_status", run_id="nope"),
                "again": await error_of(session, "cancel_run", run_id="nope")}

    got = with_server(git_repo, body, "--tools", "all")
    assert got["runs"][-1]["id"] == got["run_id"]
    assert {t["id"]: t["status"] for t in got["status"]["tasks"]} == {"one": "done",
                                                                      "two": "done"}
    assert "Summary: done" in got["log"]
    assert got["resource"]["run"]["id"] == got["run_id"]
    assert got["task"]["dependencies"] == ["one"]
    assert got["templates"] == ["wavefront://runs/{run_id}", "wavefront://tasks/{task_id}"]
    assert got["no_run"].startswith("no run 'nope' in ")
    assert got["again"].startswith("no run 'nope' in ")
    from conftest import git
    assert git(git_repo, "show", f"wavefront/{got['run_id']}:two.txt") == "x"


def test_the_cli_never_imports_the_sdk_unless_serving() -> None:
    probe = ("import sys\nfrom wavefront.cli import main\ntry:\n    main(['--help'])\n"
             "except SystemExit:\n    pass\nprint('mcp' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_http_serves_on_loopback_and_refuses_other_hosts(git_repo: Path,
                                                         write_backlog: WriteBacklog) -> None:
    import socket

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    write_backlog(TASKS)
    refused = cli(git_repo, "mcp", "--http", "8765", "--host", "0.0.0.0")
    assert refused.returncode == 2
    assert "--host 0.0.0.0 is not loopback" in refused.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "wavefront", "mcp", "--http", str(port),
                               "-C", str(git_repo)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    async def main() -> list[str]:
        url = f"http://127.0.0.1:{port}/mcp"
        for _ in range(100):  # until the server listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        async with streamable_http_client(url) as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            tasks = await call(session, "list_tasks")
            return [t["id"] for t in tasks]

    try:
        assert sorted(asyncio.run(asyncio.wait_for(main(), 60))) == ["api", "docs", "models"]
    finally:
        server.terminate()
        server.communicate(timeout=30)
