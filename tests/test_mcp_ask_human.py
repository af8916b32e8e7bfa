"""An agent inside a run asks a person through wavefront's MCP server (`ask_human`).

The run goes on in a real `wavefront run` process; its agent is a stand-in program (the
`command` runner) that is an MCP client of a real `wavefront mcp --task` server, as a real
agent CLI is; a person answers with `wavefront answer` from another process.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components import need
from conftest import WriteBacklog, git
from wavefront.model import TaskStatus
from wavefront.runs import open_journal

# Reads its task through task_context, reports a deviation, asks; with an answer (from the
# tool, or in its next round's prompt) it writes api.txt.
AGENT = """\
import asyncio, json, os, pathlib, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

repo, task, wait, prompt_file = sys.argv[1:5]
prompt = pathlib.Path(prompt_file).read_text()

def text(result):
    return "".join(block.text for block in result.content)

async def main():
    server = StdioServerParameters(command=sys.executable, args=[
        "-m", "wavefront", "mcp", "--task", task, "--answer-wait", wait, "-C", repo])
    if repo == "wired":  # `mcp: true`: the server the run configured for this task
        entry = json.loads(os.environ["WAVEFRONT_MCP_CONFIG"])["mcpServers"]["wavefront"]
        server = StdioServerParameters(command=entry["command"], args=entry["args"])
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = sorted(t.name for t in (await session.list_tools()).tools)
        context = json.loads(text(await session.call_tool("task_context", {})))
        if "## Answers you were given" in prompt:
            answer = prompt.split("answered:\\n", 1)[1].split("\\n", 1)[0]
        else:
            pathlib.Path("draft.txt").write_text("started\\n")
            await session.call_tool("report_deviation", {"text": "one router file, not two"})
            empty = await session.call_tool("ask_human", {"question": "  "})
            got = text(await session.call_tool(
                "ask_human", {"question": "Should the API be REST or GraphQL?"}))
            if not got.startswith("Answer: "):
                print(got)
                return
            answer = got.removeprefix("Answer: ")
            pathlib.Path("empty.txt").write_text(text(empty) + "\\n")
        pathlib.Path("api.txt").write_text(
            f"{context['task']['title']}: {answer}\\ntools: {' '.join(names)}\\n")
        print("Summary: wrote api.txt")

asyncio.run(main())
"""
DEADLINE_S = 90.0


@pytest.fixture(autouse=True)
def _sdk() -> None:
    need(importlib.util.find_spec("mcp") is not None,
         "the MCP SDK is missing: pip install 'wavefront[mcp]'")


def setup(write_backlog: WriteBacklog, repo: Path, tmp_path: Path, wait_s: float,
          wired: bool = False) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    write_backlog(
        [{"id": "api", "title": "Build the API"}],
        defaults={"runner": "command"},
        runners={"command": {"argv_template": [
            sys.executable, str(agent), "wired" if wired else str(repo), "{task_id}",
            str(wait_s), "{prompt_file}"]}},
        **({"mcp": True} if wired else {}))


def start(repo: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wavefront", "run", "--run-id", "ask", "--wait-for-approval",
         "--no-progress", "-C", str(repo)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wavefront(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def wait_for_question(repo: Path, attempts_done: int) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if (repo / ".wavefront" / "journal.db").exists():
            with open_journal(repo) as journal:
                record = journal.task("ask", "api")
                done = [a for a in journal.attempts("ask", "api") if a.state != "running"]
            if (record is not None and record.status == TaskStatus.NEEDS_HUMAN
                    and len(done) >= attempts_done):
                return record.reason
        time.sleep(0.1)
    raise AssertionError("the task never waited for a person")


def finish(child: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = child.communicate(timeout=DEADLINE_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return child.returncode, err


def test_the_answer_comes_back_as_the_tools_result_and_the_task_is_merged(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    setup(write_backlog, git_repo, tmp_path, wait_s=60)
    child = start(git_repo)
    try:
        # The agent is still at work, inside ask_human: no attempt has finished.
        reason = wait_for_question(git_repo, attempts_done=0)
        assert reason.startswith("the agent asks: Should the API be REST or GraphQL?")
        shown = wavefront(git_repo, "status", "--json")
        assert '"needs-human"' in shown.stdout
        answered = wavefront(git_repo, "answer", "api", "REST, with JSON bodies")
        assert answered.returncode == 0, answered.stderr
    finally:
        code, err = finish(child)

    assert code == 0, err
    api = git(git_repo, "show", "wavefront/ask:api.txt")
    assert api.splitlines() == ["Build the API: REST, with JSON bodies",
                                "tools: ask_human report_deviation task_context"]
    assert (git(git_repo, "show", "wavefront/ask:empty.txt")
            == "the question is empty; say what you need decided\n")
    with open_journal(git_repo) as journal:
        attempts = [a for a in journal.attempts("ask", "api") if a.kind == "agent"]
        assert len(attempts) == 1  # one session, never stopped
        assert attempts[0].deviations == ("one router file, not two",)
        assert journal.task("ask", "api").status == TaskStatus.DONE  # type: ignore[union-attr]
        questions = [e for e in journal.events("ask", kind="question")]
        assert [e.data["via"] for e in questions] == ["mcp"]


def test_without_an_answer_in_time_the_round_ends_and_the_next_one_has_it(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    setup(write_backlog, git_repo, tmp_path, wait_s=0.5)
    child = start(git_repo)
    try:
        reason = wait_for_question(git_repo, attempts_done=1)
        assert 'wavefront answer api "..."' in reason
        answered = wavefront(git_repo, "answer", "api", "GraphQL")
        assert answered.returncode == 0, answered.stderr
    finally:
        code, err = finish(child)

    assert code == 0, err
    assert git(git_repo, "show", "wavefront/ask:api.txt").startswith("Build the API: GraphQL\n")
    assert git(git_repo, "show", "wavefront/ask:draft.txt") == "started\n"
    with open_journal(git_repo) as journal:
        agent_rounds = [a for a in journal.attempts("ask", "api") if a.kind == "agent"]
        assert len(agent_rounds) == 2
        assert "No answer yet" in (agent_rounds[0].text or "")


def test_an_agent_cannot_ask_for_a_task_that_is_not_at_work(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    setup(write_backlog, git_repo, tmp_path, wait_s=0)
    from wavefront.errors import WavefrontError
    from wavefront.mcp.agenttools import TaskScope

    # No run yet: the same message as `wavefront status`.
    expected = wavefront(git_repo, "status").stderr.strip().removeprefix("error: ")
    with pytest.raises(WavefrontError) as raised:
        TaskScope(git_repo, "api").ask_human("anything?")
    assert str(raised.value) == expected


def test_with_mcp_true_the_run_gives_each_agent_the_server_of_its_own_task(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    setup(write_backlog, git_repo, tmp_path, wait_s=60, wired=True)
    child = start(git_repo)
    try:
        wait_for_question(git_repo, attempts_done=0)
        answered = wavefront(git_repo, "answer", "api", "REST")
        assert answered.returncode == 0, answered.stderr
    finally:
        code, err = finish(child)

    assert code == 0, err
    assert git(git_repo, "show", "wavefront/ask:api.txt").startswith("Build the API: REST\n")


def test_each_cli_runner_is_given_the_server_on_its_command_line(tmp_path: Path) -> None:
    from wavefront.agents.runners.base import AgentRequest
    from wavefront.agents.runners.claude import ClaudeRunner
    from wavefront.agents.runners.codex import CodexRunner
    from wavefront.agents.runners.mcpwiring import McpServer
    from wavefront.model import SourceLocation, Task

    server = McpServer("/usr/bin/python3", ("-m", "wavefront", "mcp", "--task", "1.2"), 90)
    request = AgentRequest(task=Task("1.2", "T", SourceLocation(tmp_path / "x.md")),
                           prompt="do it", workspace=tmp_path, log_path=tmp_path / "log",
                           mcp=server)
    claude = ClaudeRunner().build_argv(request)
    config = json.loads(claude[claude.index("--mcp-config") + 1])
    assert config == {"mcpServers": {"wavefront": {
        "command": "/usr/bin/python3", "args": ["-m", "wavefront", "mcp", "--task", "1.2"],
        "timeout": 90000}}}
    allowed = claude[claude.index("--allowedTools") + 1].split(",")
    assert "mcp__wavefront__ask_human" in allowed
    codex = CodexRunner().build_argv(request)
    assert codex[codex.index("mcp_servers.wavefront.command=\"/usr/bin/python3\"") - 1] == "-c"
    assert 'mcp_servers.wavefront.args=["-m", "wavefront", "mcp", "--task", "1.2"]' in codex
    assert "mcp_servers.wavefront.tool_timeout_sec=90" in codex
    assert codex[-1] == "do it"


def test_qwen_opencode_and_gemini_are_given_the_server_without_a_file_in_the_worktree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wavefront.agents.runners.base import AgentRequest
    from wavefront.agents.runners.gemini import GeminiRunner
    from wavefront.agents.runners.mcpwiring import McpServer
    from wavefront.agents.runners.opencode import OpenCodeRunner
    from wavefront.agents.runners.qwen import QwenRunner
    from wavefront.model import SourceLocation, Task

    server = McpServer("/usr/bin/python3", ("-m", "wavefront", "mcp", "--task", "1.2"), 90)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    request = AgentRequest(task=Task("1.2", "T", SourceLocation(tmp_path / "x.md")),
                           prompt="do it", workspace=workspace,
                           log_path=tmp_path / "logs" / "attempt-1.log", mcp=server)
    qwen = QwenRunner().build_argv(request)
    assert json.loads(qwen[qwen.index("--mcp-config") + 1]) == json.loads(
        server.mcp_servers_json())

    # OpenCode: the user's own inline configuration is kept, the server added to it.
    monkeypatch.setenv("OPENCODE_CONFIG_CONTENT", json.dumps(
        {"model": "mine/m", "mcp": {"theirs": {"type": "remote", "url": "http://x"}}}))
    config = json.loads(OpenCodeRunner().child_env(request)["OPENCODE_CONFIG_CONTENT"])
    assert config["model"] == "mine/m"
    assert config["mcp"]["wavefront"] == {
        "type": "local", "command": ["/usr/bin/python3", "-m", "wavefront", "mcp", "--task",
                                     "1.2"], "enabled": True, "timeout": 90000}
    assert sorted(config["mcp"]) == ["theirs", "wavefront"]

    # Gemini CLI: a home of its own holding the user's settings with the server added,
    # and their other files linked (sign-in), nothing written to their own home.
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text('{"ui": {"theme": "x"}}')
    (home / ".gemini" / "oauth_creds.json").write_text("{}")
    monkeypatch.setenv("HOME", str(home))
    env = GeminiRunner().child_env(request)
    own = Path(env["GEMINI_CLI_HOME"]) / ".gemini"
    settings = json.loads((own / "settings.json").read_text())
    assert settings["ui"] == {"theme": "x"}
    assert settings["mcpServers"]["wavefront"]["timeout"] == 90000
    assert (own / "oauth_creds.json").resolve() == home / ".gemini" / "oauth_creds.json"
    assert (home / ".gemini" / "settings.json").read_text() == '{"ui": {"theme": "x"}}'
    assert list(workspace.iterdir()) == []
