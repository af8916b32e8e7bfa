"""What each CLI reports of a shell command it refused, and the turn limits wavefront keeps
for Codex and aider, read from lines the real CLIs printed (Codex 0.171.0, opencode
1.18.33, Gemini CLI 0.61.0, aider 0.86.2, against the scripted model server)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from wavefront.agents.runners.aider import AiderRunner
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.codex import CodexRunner
from wavefront.agents.runners.gemini import GeminiRunner
from wavefront.agents.runners.opencode import OpenCodeRunner
from wavefront.agents.runners.process import ProcessOutcome
from wavefront.model import FailureKind, SourceLocation, Task

DENIED = "python3 -c \"open('/home/me/denied.txt', 'w').write('no')\""


def request(tmp_path: Path) -> AgentRequest:
    task = Task(id="1", title="t", source=SourceLocation(Path("w.yaml"), 1))
    return AgentRequest(task=task, prompt="p", workspace=tmp_path,
                        log_path=tmp_path / "logs" / "attempt-1.log")


def outcome(tmp_path: Path, stdout: str, stderr: str = "") -> ProcessOutcome:
    return ProcessOutcome(returncode=0, stdout=stdout, stderr=stderr, timed_out=False,
                          duration_s=1.0, log_path=tmp_path / "log")


def lines(*events: object) -> str:
    return "".join(json.dumps(event) + "\n" for event in events)


def test_codex_sandbox_refusing_a_command_is_denied(tmp_path: Path) -> None:
    quoted = '/bin/bash -lc "python3 -c \\"open(\'/home/me/denied.txt\', \'w\').write(\'no\')\\""'
    stdout = lines(
        {"type": "thread.started", "thread_id": "t-1"},
        {"type": "item.completed", "item": {
            "id": "item_0", "type": "command_execution", "command": quoted,
            "aggregated_output": "OSError: [Errno 30] Read-only file system: "
                                 "'/home/me/denied.txt'\n", "exit_code": 1,
            "status": "failed"}},
        {"type": "item.completed", "item": {"id": "item_1", "type": "agent_message",
                                            "text": "Done."}},
        {"type": "turn.completed", "usage": {"input_tokens": 3600, "output_tokens": 120}})
    result = CodexRunner().parse(outcome(tmp_path, stdout), request(tmp_path))
    assert result.failure is FailureKind.DENIED
    assert result.reason == f"codex's sandbox refused: {DENIED}"
    assert result.tokens_in == 3600


def test_codex_and_aider_are_stopped_at_the_turn_limit(tmp_path: Path) -> None:
    limited = replace(request(tmp_path), max_turns=2)
    watch = CodexRunner().attempt_watch(limited)
    started = [json.dumps({"type": "item.started", "item": {
        "id": f"item_{n}", "type": "command_execution", "status": "in_progress"}})
        for n in range(2)]
    assert watch(started[0], []) is None
    assert watch(started[0].replace("started", "completed"), []) is None  # the same call
    found = watch(started[1], [])
    assert found is not None and found.kind is FailureKind.MAX_TURNS
    assert "turn limit (2)" in found.reason

    aider = AiderRunner(model="gpt-4o-mini").attempt_watch(replace(limited, max_turns=1))
    tokens = "Tokens: 1.2k sent, 40 received. Cost: $0.00020 message, $0.00020 session."
    assert aider(tokens, []) is None
    assert aider("Applied edit to hello.py", []) is None
    stopped = aider("# Fix any errors below, if possible.", [])
    assert stopped is not None and stopped.kind is FailureKind.MAX_TURNS
    # Without a limit nothing is counted.
    assert AiderRunner(model="m").attempt_watch(request(tmp_path))(tokens, []) is None


def test_opencode_refused_tool_call_is_denied(tmp_path: Path) -> None:
    refusal = ("The user has specified a rule which prevents you from using this specific "
               'tool call. Here are some of the relevant rules [{"permission":"bash",'
               '"pattern":"*","action":"deny"}]')
    stdout = lines(
        {"type": "tool_use", "sessionID": "ses_1", "part": {
            "type": "tool", "tool": "bash", "state": {
                "status": "error", "input": {"command": DENIED}, "error": refusal}}},
        {"type": "text", "sessionID": "ses_1", "part": {"messageID": "m2", "text": "Done."}},
        {"type": "step_finish", "sessionID": "ses_1", "part": {
            "tokens": {"input": 1200, "output": 40, "reasoning": 0,
                       "cache": {"read": 0, "write": 0}}, "cost": 0}})
    result = OpenCodeRunner(model="anthropic/x").parse(outcome(tmp_path, stdout),
                                                       request(tmp_path))
    assert result.failure is FailureKind.DENIED
    assert result.reason == f"opencode was not allowed to run: bash({DENIED})"


@pytest.mark.parametrize("session_file", [True, False])
def test_gemini_policy_denial_is_denied_naming_the_command_its_session_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session_file: bool) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    if session_file:
        chats = home / ".gemini" / "tmp" / "ws" / "chats"
        chats.mkdir(parents=True)
        call = {"id": "run_shell_command_1", "name": "run_shell_command",
                "args": {"command": DENIED}, "result": [{"functionResponse": {
                    "response": {"error": "Tool execution denied by policy."}}}]}
        (chats / "session-2026-12-01T15-07-9dafbf57.jsonl").write_text(
            json.dumps({"sessionId": "9dafbf57-52f8"}) + "\n"
            + json.dumps({"type": "gemini", "toolCalls": [call]}) + "\n")
    stdout = json.dumps({"session_id": "9dafbf57-52f8-4da2-97be-d4ce75ebb479",
                         "response": "Done.", "stats": {}})
    stderr = ("Error executing tool run_shell_command: Tool execution denied by policy.\n")
    result = GeminiRunner().parse(outcome(tmp_path, stdout, stderr), request(tmp_path))
    assert result.failure is FailureKind.DENIED
    named = f"run_shell_command({DENIED})" if session_file else "a shell command"
    assert result.reason == f"gemini was not allowed to run: {named}"
