"""Real agent CLIs call wavefront's `ask_human` through the MCP configuration a run gives
them (`mcp: true`).

One `wavefront run` holds a task per CLI (Claude Code, Gemini CLI, OpenCode, Qwen Code),
each with a scripted model server of its own that first calls the tool named `ask_human`
among those the CLI offers (Qwen Code offers MCP tools once its tool search has revealed
them, so the script searches first there), then writes the task's file. The test answers
each question with `wavefront answer` from another process, as a person would; the answer
must reach the model as the tool's result, and every task be merged. Codex is left out: its sandbox
refuses writes in an attempt's workspace (see test_real_agents.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from components import need
from conftest import git
from modelserver import ModelServer, running
from modelserver.script import Script
from realclis import INSTALL_HINT, real_cli, settings_for
from test_real_agents import child_env
from wavefront.model import TaskStatus
from wavefront.runs import open_journal

pytestmark = pytest.mark.slow

CLIS = ("claude", "gemini", "opencode", "qwen")
DEADLINE_S = 420.0


def answer_for(cli: str) -> str:
    return f"greet in {cli}'s words"


def write_backlog(repo: Path, servers: dict[str, ModelServer]) -> None:
    executables = {cli: real_cli(cli) for cli in CLIS}
    missing = [cli for cli, path in executables.items() if path is None]
    need(not missing, f"{', '.join(missing)} not installed: {INSTALL_HINT}")
    document = {
        "version": 1, "mcp": True,
        "defaults": {"runner": "claude", "retries": 0, "timeout": 300},
        "runners": {cli: settings_for(cli, servers[cli].base("ok"), str(executables[cli]))
                    for cli in CLIS},
        "tasks": [{"id": cli, "title": f"Greet from {cli}", "runner": cli,
                   "files": [f"{cli}.txt"], "deliverables": [f"{cli}.txt"],
                   "body": f"Ask how to greet, then create {cli}.txt."} for cli in CLIS]}
    (repo / "wavefront.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    git(repo, "add", "wavefront.yaml")
    git(repo, "commit", "-q", "-m", "backlog")


def answer_each_question(repo: Path, env: dict[str, str],
                         child: subprocess.Popen[str]) -> dict[str, str]:
    """Answer every task that waits for a person, once; the reasons they waited with."""
    asked: dict[str, str] = {}
    deadline = time.monotonic() + DEADLINE_S
    while len(asked) < len(CLIS) and time.monotonic() < deadline and child.poll() is None:
        if (repo / ".wavefront" / "journal.db").exists():
            with open_journal(repo) as journal:
                waiting = {cli: record.reason for cli in CLIS if cli not in asked
                           and (record := journal.task("mcp", cli)) is not None
                           and record.status == TaskStatus.NEEDS_HUMAN}
            for cli, reason in waiting.items():
                answered = subprocess.run(
                    [sys.executable, "-m", "wavefront", "answer", cli, answer_for(cli),
                     "-C", str(repo)], capture_output=True, text=True, timeout=120, env=env,
                    stdin=subprocess.DEVNULL)
                assert answered.returncode == 0, answered.stderr
                asked[cli] = reason
        time.sleep(0.2)
    return asked


def test_real_clis_ask_a_person_through_wavefronts_mcp_server(
        tmp_path: Path, git_repo: Path) -> None:
    env = child_env(tmp_path / "home")
    with ExitStack() as stack:
        servers = {cli: stack.enter_context(running(Script(
            files={f"{cli}.txt": f"hello from {cli}\n"}, ask=f"How should {cli} greet?")))
            for cli in CLIS}
        write_backlog(git_repo, servers)
        child = subprocess.Popen(
            [sys.executable, "-m", "wavefront", "run", "--run-id", "mcp", "-j", "4",
             "--no-progress", "-C", str(git_repo)], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            asked = answer_each_question(git_repo, env, child)
            out, err = child.communicate(timeout=DEADLINE_S)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        sent = {cli: [json.dumps(r.body) for r in server.model_calls()]
                for cli, server in servers.items()}
        offered = {cli: sorted(set(re.findall(r'"name": "([^"]*(?:wavefront|ask_human)[^"]*)"',
                                              " ".join(bodies)))) for cli, bodies in sent.items()}

    # Each question reached wavefront as the agent's own, through the MCP server.
    assert {cli: reason.split("; answer with")[0] for cli, reason in asked.items()} == {
        cli: f"the agent asks: How should {cli} greet?" for cli in CLIS}, (offered, out + err)
    for cli in CLIS:
        # The person's answer came back to the agent as the tool's result...
        assert any(f"Answer: {answer_for(cli)}" in body for body in sent[cli]), cli
        # ...in the same session: the task was merged after one agent attempt.
        assert git(git_repo, "show", f"wavefront/mcp:{cli}.txt") == f"hello from {cli}\n"
    assert child.returncode == 0, out + err
    with open_journal(git_repo) as journal:
        for cli in CLIS:
            rounds = [a for a in journal.attempts("mcp", cli) if a.kind == "agent"]
            assert len(rounds) == 1, (cli, [a.text for a in rounds])
        vias = sorted((e.task_id, e.data["via"]) for e in journal.events("mcp", kind="question"))
    assert vias == [(cli, "mcp") for cli in sorted(CLIS)]
