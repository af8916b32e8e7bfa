"""Each real agent CLI driven by wavefront against the scripted model server.

The CLIs are the real ones, at the versions the README's runner table names (installed by
scripts/setup.d/30-agent-clis.sh); the model behind them is `tests/modelserver`, on
127.0.0.1. A success goes all the way through `wavefront run` (task done, its file merged,
tokens and cost journaled as the CLI reported them); each failure scenario runs one
attempt through the runner and checks its classification and that it came within 30
seconds of the server's first failing answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import need
from conftest import git
from modelserver import ModelServer, Script, running
from realclis import INSTALL_HINT, KEY_VARIABLE, REAL_CLIS, real_cli, settings_for
from wavefront.agents.runners import make_runner
from wavefront.agents.runners.base import AgentRequest
from wavefront.model import AgentResult, FailureKind, SourceLocation, Task
from wavefront.runs import open_journal, resolve_run

pytestmark = pytest.mark.slow

CONTENT = "hello from the agent\n"
CLASSIFIED_WITHIN_S = 30.0


def cli_or_skip(cli: str) -> str:
    executable = real_cli(cli)
    need(executable is not None, f"{cli} is not installed: {INSTALL_HINT}")
    assert executable is not None
    return executable


def child_env(home: Path) -> dict[str, str]:
    """wavefront's own environment for these runs: a fresh home (the CLIs keep state
    there), a temporary directory of its own beside it and the key variable the runner
    settings name. A home inside the temporary directory is not what a user has, and
    Codex will not run its sandbox from one (see `test_codex_home_in_the_temp_dir`)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "CODEX_", "CLAUDE_"))}
    home.mkdir(parents=True, exist_ok=True)
    temp = home.parent / "tmp"
    temp.mkdir(exist_ok=True)
    env.update({"HOME": str(home), "TMPDIR": str(temp), KEY_VARIABLE: "sk-wavefront-test",
                "NO_COLOR": "1"})
    return env


def write_config(repo: Path, cli: str, settings: dict[str, Any]) -> None:
    document = {"version": 1, "defaults": {"runner": cli, "retries": 0, "timeout": 240},
                "runners": {cli: settings},
                "tasks": [{"id": "1", "title": "Write the greeting", "files": ["hello.txt"],
                           "deliverables": ["hello.txt"],
                           "body": f"Create hello.txt containing {CONTENT.strip()!r}."}]}
    (repo / "wavefront.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    git(repo, "add", "wavefront.yaml")
    git(repo, "commit", "-q", "-m", "backlog")


def wavefront_run(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", "run", "-C", str(repo)],
                          capture_output=True, text=True, timeout=600, env=env,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("cli", REAL_CLIS)
def test_the_real_cli_does_a_task_that_is_merged(cli: str, tmp_path: Path,
                                                 git_repo: Path) -> None:
    executable = cli_or_skip(cli)
    with running(Script(files={"hello.txt": CONTENT})) as server:
        write_config(git_repo, cli, settings_for(cli, server.base("ok"), executable))
        done = wavefront_run(git_repo, child_env(tmp_path / "home"))
        calls = server.model_calls()
    assert done.returncode == 0, done.stdout + done.stderr
    with open_journal(git_repo) as journal:
        run = resolve_run(journal, None)
        attempt = journal.attempts(run.id, "1")[-1]
    assert git(git_repo, "show", f"{run.branch}:hello.txt") == CONTENT
    tracked = git(git_repo, "ls-tree", "-r", "--name-only", run.branch).split()
    assert not [p for p in tracked if p.startswith((".aider", ".gemini", ".claude", ".qwen",
                                                    ".codex", ".opencode"))], tracked
    # Tokens as the CLI reported them: each scripted answer costs 1200 in, 40 out.
    assert calls and attempt.tokens_in > 0 and attempt.tokens_in % 1200 == 0
    assert attempt.tokens_in <= 1200 * len(calls)
    assert attempt.tokens_out > 0 and attempt.tokens_out % 40 == 0
    # A cost is what the CLI reported, or an estimate, or unknown: never an invented $0.
    assert attempt.cost_usd is None or attempt.cost_usd > 0
    if attempt.cost_usd is None:
        assert "Cost: unknown" in done.stdout and "$0.00" not in done.stdout


def request_for(tmp_path: Path, logs: Path | None = None, **fields: Any) -> AgentRequest:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    git(workspace, "init", "-q")
    task = Task(id="1", title="Write the greeting", source=SourceLocation(Path("w.yaml"), 1),
                files=("hello.txt",))
    return AgentRequest(task=task, prompt=f"Create hello.txt containing {CONTENT!r}.",
                        workspace=workspace,
                        log_path=(logs or tmp_path / "logs") / "1-attempt-1.log",
                        timeout_s=240, **fields)


def attempt(cli: str, server: ModelServer, scenario: str, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any] | None = None,
            logs: Path | None = None, **fields: Any) -> tuple[AgentResult, float]:
    """One attempt of the real CLI against `scenario`; the result and how long after the
    server's first failing answer it came back."""
    executable = cli_or_skip(cli)
    for name, value in child_env(tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_",
                                                        "CODEX_", "CLAUDE_"))]:
        monkeypatch.delenv(name)
    runner = make_runner(cli, {**settings_for(cli, server.base(scenario), executable),
                               **(settings or {})})
    result = asyncio.run(runner.run(request_for(tmp_path, logs, **fields)))
    finished = time.time()
    first = server.first_failure_at or finished
    return result, finished - first


def test_codex_home_in_the_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its home inside TMPDIR, Codex links no sandbox helper: every write of the agent
    # fails while the turn ends "done". The attempt says so (the pre-flight refuses it
    # before a run: tests/test_preflight.py).
    with running(Script(files={"hello.txt": CONTENT})) as server:
        result, _ = attempt("codex", server, "ok", tmp_path, monkeypatch,
                            settings={"env": {"TMPDIR": str(tmp_path)}})
    assert not (tmp_path / "ws" / "hello.txt").exists()
    assert result.failure is FailureKind.DENIED, (result.failure, result.reason)
    assert "sandbox refused all 1 file change" in result.reason
    assert "inside TMPDIR" in result.reason


FAILURES = [("auth401", FailureKind.AUTH), ("ratelimit429", FailureKind.RATE_LIMITED),
            ("error500", FailureKind.ERROR)]
CASES = [(cli, scenario, kind) for cli in REAL_CLIS for scenario, kind in FAILURES]
# A subscription's usage limit: Codex gives up at once and says when to try again.
CASES.append(("codex", "usagelimit429", FailureKind.RATE_LIMITED))


@pytest.mark.parametrize("cli,scenario,kind", CASES, ids=[f"{c}-{s}" for c, s, _ in CASES])
def test_a_failing_model_service_is_classified_in_seconds(
        cli: str, scenario: str, kind: FailureKind, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with running(Script(files={"hello.txt": CONTENT})) as server:
        result, after_s = attempt(cli, server, scenario, tmp_path, monkeypatch)
    assert not result.ok
    assert result.failure is kind, (result.failure, result.reason)
    assert after_s < CLASSIFIED_WITHIN_S, f"{cli} took {after_s:.0f}s: {result.reason}"
    # The reason names the CLI and reads as words, not the service's JSON body.
    assert result.reason.startswith(cli) and '{"error"' not in result.reason, result.reason
    if kind is FailureKind.RATE_LIMITED and (cli, scenario) != ("codex", "ratelimit429"):
        # Each passes on the server's retry-after (30 s) as the reset time, Codex its usage
        # limit's "try again at 3:32 PM"; of a request rate limit Codex says only
        # "exceeded retry limit, last status: 429", whatever headers came with it.
        assert result.retry_at is not None and result.retry_at > time.time()
        assert result.retry_at < time.time() + 120


@pytest.mark.parametrize("cli", REAL_CLIS)
def test_an_unreachable_model_service_is_an_error_in_seconds(
        cli: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running() as server:
        dead = server.url
    server_stopped = time.time()
    # Nothing listens there any more: the server was stopped.
    executable = cli_or_skip(cli)
    for name, value in child_env(tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    runner = make_runner(cli, settings_for(cli, dead, executable))
    result = asyncio.run(runner.run(request_for(tmp_path)))
    assert not result.ok
    assert result.failure is FailureKind.ERROR, (result.failure, result.reason)
    assert time.time() - server_stopped < CLASSIFIED_WITHIN_S, result.reason


@pytest.mark.parametrize("cli", REAL_CLIS)
def test_a_connection_lost_in_mid_answer_is_an_error_in_seconds(
        cli: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server starts each answer, then drops the connection, as a dying server does.
    with running(Script(files={"hello.txt": CONTENT})) as server:
        result, after_s = attempt(cli, server, "hangup", tmp_path, monkeypatch)
    assert result.failure is FailureKind.ERROR, (result.failure, result.reason)
    assert after_s < CLASSIFIED_WITHIN_S, f"{cli} took {after_s:.0f}s: {result.reason}"


def test_a_model_service_that_never_answers_ends_at_the_timeout(
        tmp_path: Path, git_repo: Path) -> None:
    executable = cli_or_skip("claude")
    with running() as server:
        write_config(git_repo, "claude", settings_for("claude", server.base("hang"),
                                                      executable))
        document = yaml.safe_load((git_repo / "wavefront.yaml").read_text())
        document["defaults"]["timeout"] = 15
        (git_repo / "wavefront.yaml").write_text(yaml.safe_dump(document))
        git(git_repo, "commit", "-qam", "a short timeout")
        done = wavefront_run(git_repo, child_env(tmp_path / "home"))
        assert server.first_failure_at is not None  # the CLI was waiting on the server
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    with open_journal(git_repo) as journal:
        run = resolve_run(journal, None)
        last = journal.attempts(run.id, "1")[-1]
    assert last.failure == FailureKind.TIMEOUT, (last.failure, last.reason)
    assert "timed out after 15s" in done.stdout


GATE = "python3 -c \"open('gate-ran.txt', 'w').write('ok')\""


def test_claude_may_run_the_gate_command_it_is_told_to_run(
        tmp_path: Path, git_repo: Path) -> None:
    executable = cli_or_skip("claude")
    with running(Script(files={"hello.txt": CONTENT}, command=GATE)) as server:
        settings = settings_for("claude", server.base("shell"), executable)
        write_config(git_repo, "claude", settings)
        document = yaml.safe_load((git_repo / "wavefront.yaml").read_text())
        document["gates"] = [{"kind": "command", "run": GATE}]
        (git_repo / "wavefront.yaml").write_text(yaml.safe_dump(document))
        git(git_repo, "commit", "-qam", "gate")
        done = wavefront_run(git_repo, child_env(tmp_path / "home"))
    assert done.returncode == 0, done.stdout + done.stderr
    with open_journal(git_repo) as journal:
        run = resolve_run(journal, None)
    # The agent's own run of the command left its file, merged with the task.
    assert git(git_repo, "show", f"{run.branch}:gate-ran.txt") == "ok"


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A folder outside the attempt's workspace and the temporary folders (which Codex's
    sandbox lets the agent write to): under the home folder, as a user's other files are."""
    folder = Path(tempfile.mkdtemp(prefix="wavefront-test-", dir=Path.home()))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# Claude Code, Gemini CLI, Qwen Code and opencode deny the agent any command but the gates';
# Codex's sandbox lets it run any, and refuses a write outside the worktree.
@pytest.mark.parametrize("cli", ["claude", "gemini", "qwen", "opencode", "codex"])
def test_a_denied_shell_command_fails_the_attempt(
        cli: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside: Path) -> None:
    # A command that fails at once: Codex leaves it out of its JSON stream, and its
    # runner finds the refusal in the session's rollout file.
    denied = f"python3 -c \"open('{outside}/denied-ran.txt', 'w').write('no')\""
    script = Script(files={"hello.txt": CONTENT}, commands=(GATE, denied))
    with running(script) as server:
        result, _ = attempt(cli, server, "shell", tmp_path, monkeypatch, commands=(GATE,))
    workspace = tmp_path / "ws"
    assert (workspace / "gate-ran.txt").read_text() == "ok"  # the gate's command may run
    assert not (outside / "denied-ran.txt").exists()
    assert result.failure is FailureKind.DENIED, (result.failure, result.reason)
    assert denied in result.reason


def test_aider_runs_no_shell_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In its diff edit format aider collects the commands a model suggests; with
    # --yes-always it still runs none (they need an explicit yes), and
    # --no-suggest-shell-commands keeps it from asking for any.
    script = Script(files={"hello.txt": CONTENT}, command="echo ran > shell-ran.txt")
    with running(script) as server:
        result, _ = attempt("aider", server, "shell", tmp_path, monkeypatch,
                            settings={"extra_args": ["--edit-format", "diff"]}, commands=(GATE,))
        replies = [json.dumps(call.body) for call in server.model_calls()]
    assert result.ok, (result.failure, result.reason)
    assert (tmp_path / "ws" / "hello.txt").read_text() == CONTENT
    assert not (tmp_path / "ws" / "shell-ran.txt").exists()
    assert replies and all("SEARCH/REPLACE" in body for body in replies)


# Codex and aider have no turn limit of their own: wavefront counts their tool calls (Codex)
# or model calls (aider) and stops them at the limit. aider makes another call when the
# file it wrote has lint errors.
TURN_SCRIPTS = {"aider": Script(files={"hello.py": "def broken(:\n"})}


@pytest.mark.parametrize("cli", ["claude", "qwen", "gemini", "opencode", "codex", "aider"])
def test_the_turn_limit_is_its_own_failure(cli: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Gemini CLI skips a settings file below a folder others may write to, as /tmp is: the
    # attempt's logs go under the home folder here, as a repository's usually are.
    logs = Path(tempfile.mkdtemp(prefix="wavefront-test-", dir=Path.home())) / "logs"
    script = TURN_SCRIPTS.get(cli, Script(files={"hello.txt": CONTENT}))
    try:
        with running(script) as server:
            result, _ = attempt(cli, server, "maxturns", tmp_path, monkeypatch, logs=logs,
                                max_turns=1)
            calls = server.model_calls()
    finally:
        shutil.rmtree(logs.parent, ignore_errors=True)
    assert result.failure is FailureKind.MAX_TURNS, (result.failure, result.reason)
    if cli in ("codex", "aider"):
        assert len(calls) == 1, [call.path for call in calls]  # stopped before a second
        # aider reported its call before it was stopped; Codex reports a turn's tokens
        # only when the turn ends.
        assert result.tokens_in == (1200 if cli == "aider" else 0), result.tokens_in


@pytest.mark.parametrize("cli", REAL_CLIS)
def test_a_rejected_key_stops_the_runner_and_the_run(cli: str, tmp_path: Path,
                                                     git_repo: Path) -> None:
    executable = cli_or_skip(cli)
    with running() as server:
        write_config(git_repo, cli, settings_for(cli, server.base("auth401"), executable))
        done = wavefront_run(git_repo, child_env(tmp_path / "home"))
        ended = time.time()
        calls = server.model_calls()
    assert done.returncode == 3, done.stdout + done.stderr  # stopped, resumable
    assert "not authenticated" in done.stdout + done.stderr
    # No retry storm: the CLI was stopped at its first refusal. Claude Code, Gemini CLI
    # and opencode make a side call (a title, a model router) beside the first one,
    # which is refused too: not a retry.
    assert len(calls) <= 3, [call.path for call in calls]
    # Counted from the first refusal: how long the CLI takes to start is its own.
    assert server.first_failure_at is not None
    assert ended - server.first_failure_at < CLASSIFIED_WITHIN_S


PROMPT_END = "The last line of a long story: ZEBRA-7731."


# aider takes its prompt in a file whatever its length.
@pytest.mark.parametrize("cli", [cli for cli in REAL_CLIS if cli != "aider"])
def test_a_184_kb_prompt_reaches_the_model_whole(
        cli: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One argument over 128 KiB is refused by Linux ("Argument list too long"): the runners
    # pass a long prompt on stdin.
    executable = cli_or_skip(cli)
    for name, value in child_env(tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    prompt = (f"Create hello.txt containing {CONTENT!r}.\n\n"
              + "Background: the story goes on about its subject.\n" * 3800 + PROMPT_END)
    assert len(prompt.encode()) > 184_000
    with running(Script(files={"hello.txt": CONTENT})) as server:
        runner = make_runner(cli, settings_for(cli, server.base("ok"), executable))
        result = asyncio.run(runner.run(replace(request_for(tmp_path), prompt=prompt)))
        bodies = [json.dumps(call.body) for call in server.model_calls()]
    assert "Argument list too long" not in (result.reason or "")
    assert any(PROMPT_END in body for body in bodies), (result.failure, result.reason)
    assert result.ok, (result.failure, result.reason)


class TunnelProxy:
    """An HTTP proxy on 127.0.0.1 that tunnels (CONNECT) to 127.0.0.1 only, refuses every
    other host, and records each host a client asked for."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target = head.split(b" ", 2)[:2]
            host, _, port = target.decode().removeprefix("http://").split("/")[0].partition(":")
            self.hosts.append(host)
            if method != b"CONNECT" or host != "127.0.0.1":
                client.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                return
            with socket.create_connection((host, int(port or 80))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                pipe = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                pipe.start()
                _pipe(client, upstream)
                pipe.join(timeout=5)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)


def test_qwen_sends_nothing_but_model_calls_to_the_model_service(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Qwen Code sends every request through HTTPS_PROXY, loopback included: a proxy that
    # sees them all sees only the scripted server. Without `usageStatisticsEnabled: false`
    # it would also ask for its usage statistics host (a *.rum.aliyuncs.com address).
    proxy = TunnelProxy()
    try:
        for name in ("HTTPS_PROXY", "HTTP_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        with running(Script(files={"hello.txt": CONTENT})) as server:
            result, _ = attempt("qwen", server, "ok", tmp_path, monkeypatch)
            paths = {call.path for call in server.requests}
    finally:
        proxy.close()
    assert result.ok, (result.failure, result.reason)
    assert proxy.hosts and set(proxy.hosts) == {"127.0.0.1"}, proxy.hosts
    assert paths == {"/v1/chat/completions"}, paths
    defaults = json.loads((tmp_path / "logs" / "1-attempt-1.qwen" / "system-defaults.json")
                          .read_text())
    assert defaults["privacy"] == {"usageStatisticsEnabled": False}
