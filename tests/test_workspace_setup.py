"""Workspace setup: copied ignored files, setup and teardown commands, per-workspace ports.

Real git repositories, the script runner as the agent, real `sh`, `node` and `npm`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from components import need
from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.model import TaskStatus
from wavefront.runs import RunOptions, RunResult, open_journal, start_run
from wavefront.workspace import setup as ports_state
from wavefront.workspace.setup import (
    WorkspaceSetup,
    files_to_copy,
    prepare_workspace,
    release_ports,
)


def run(repo: Path, **options: Any) -> RunResult:
    loaded = load_and_plan([], root=repo)
    return start_run(repo, loaded.backlog, loaded.plan, RunOptions(**options))


def setup_logs(repo: Path, run_id: str) -> dict[str, str]:
    logs = repo / ".wavefront" / "logs" / run_id
    return {path.parent.name: path.read_text() for path in logs.glob("*/setup.log")}


def test_ignored_files_to_copy_follow_copy_and_worktreeinclude(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text(".env*\nsecrets/\nbuild/\n*.log\n")
    (git_repo / ".env").write_text("A=1\n")
    (git_repo / ".env.local").write_text("B=2\n")
    (git_repo / "secrets").mkdir()
    (git_repo / "secrets" / "key.pem").write_text("k\n")
    (git_repo / "build").mkdir()
    (git_repo / "build" / "out.js").write_text("x\n")
    (git_repo / "debug.log").write_text("noise\n")
    (git_repo / "notes.txt").write_text("untracked, not ignored\n")
    (git_repo / ".worktreeinclude").write_text("# also these\nsecrets/\n")
    assert files_to_copy(git_repo, [".env*"]) == [".env", ".env.local", "secrets"]
    assert files_to_copy(git_repo, ["notes.txt"]) == ["secrets"]  # not ignored: git has it


def test_prepare_never_overwrites_and_gives_each_workspace_its_ports(
    git_repo: Path, tmp_path: Path
) -> None:
    (git_repo / ".gitignore").write_text(".env\n")
    (git_repo / ".env").write_text("FROM=checkout\n")
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (two / ".env").write_text("FROM=workspace\n")

    async def shell(command: str, cwd: Path, env: dict[str, str], log: Path,
                    timeout: float) -> tuple[bool, str]:
        done = subprocess.run(["sh", "-c", command], cwd=cwd, env={**env, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=timeout)
        return done.returncode == 0, done.stdout + done.stderr

    spec = WorkspaceSetup(setup=("echo $WAVEFRONT_TASK_ID:$WAVEFRONT_PORT > seen.txt",),
                          copy=(".env",))

    async def both() -> tuple[Any, Any]:
        first = await prepare_workspace(spec, git_repo, one, "1.1", tmp_path / "a.log", shell)
        second = await prepare_workspace(spec, git_repo, two, "1.2", tmp_path / "b.log", shell)
        return first, second

    first, second = asyncio.run(both())
    assert (one / ".env").read_text() == "FROM=checkout\n"
    assert (two / ".env").read_text() == "FROM=workspace\n"  # kept, not overwritten
    assert first.copied == (".env",) and second.copied == ()
    ports = [int(first.env["WAVEFRONT_PORT"]), int(second.env["WAVEFRONT_PORT"])]
    assert abs(ports[0] - ports[1]) >= 10  # blocks of ten do not overlap
    assert (one / "seen.txt").read_text() == f"1.1:{ports[0]}\n"
    assert first.env["WAVEFRONT_WORKSPACE"] == str(one)


def test_a_failing_setup_fails_the_attempt_with_its_output(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    write_backlog(
        [{"id": "a", "title": "A", "script": {"files": {"a.txt": "A\n"}}}],
        workspace={"setup": ["echo installing; echo 'no lockfile here' >&2; exit 3"]},
    )
    result = run(git_repo)
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        (record,) = journal.tasks(result.run_id)
        attempts = journal.attempts(result.run_id, "a")
    assert record.status == TaskStatus.FAILED
    assert "workspace setup" in (record.reason or "")
    assert "exited 3" in (record.reason or "") and "no lockfile here" in (record.reason or "")
    assert attempts == []  # the agent never started
    assert "installing" in setup_logs(git_repo, result.run_id)["a"]


# Writes its task's file, then waits until all three agents have started: a barrier, so
# that the three demonstrably work side by side however slow the machine is.
BARRIER_AGENT = """\
import pathlib, sys, time
task, barrier = sys.argv[1], pathlib.Path(sys.argv[2])
pathlib.Path("src").mkdir(exist_ok=True)
pathlib.Path("src", task + ".js").write_text(f"module.exports = {task[1:]};\\n")
(barrier / task).write_text("")
deadline = time.time() + 300
while len(list(barrier.iterdir())) < 3:
    if time.time() > deadline:
        sys.exit("the other agents never started")
    time.sleep(0.05)
"""
PACKAGE = {
    "name": "shelf",
    "version": "1.0.0",
    "private": True,
    "scripts": {"test": "node test.js"},
    "dependencies": {"tiny": "file:vendor/tiny"},
}
# The gate: npm ci installed the dependency, the workspace has its own .env and port.
TEST_JS = """\
const fs = require("fs");
const tiny = require("tiny");
if (tiny.answer !== 42) { throw new Error("dependency not installed"); }
if (!fs.readFileSync(".env", "utf8").includes("API_URL=http://localhost")) {
  throw new Error(".env was not copied");
}
const port = Number(process.env.WAVEFRONT_PORT);
if (!(port > 1024)) { throw new Error("no WAVEFRONT_PORT"); }
console.log("ok", process.env.WAVEFRONT_TASK_ID, port);
"""


def test_a_node_project_runs_three_tasks_each_with_its_own_env_and_ports(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    need(shutil.which("npm") is not None and shutil.which("node") is not None,
         "node and npm are not installed (scripts/setup.d/20-node.sh installs them)")
    (git_repo / "package.json").write_text(json.dumps(PACKAGE, indent=2))
    (git_repo / "test.js").write_text(TEST_JS)
    tiny = git_repo / "vendor" / "tiny"
    tiny.mkdir(parents=True)
    (tiny / "package.json").write_text('{"name": "tiny", "version": "1.0.0"}\n')
    (tiny / "index.js").write_text("module.exports = { answer: 42 };\n")
    (git_repo / ".gitignore").write_text("node_modules/\n.env\n")
    # A lockfile made offline, as a project would commit it; `npm ci` needs one.
    subprocess.run(["npm", "install", "--offline", "--no-audit", "--no-fund"], cwd=git_repo,
                   check=True, capture_output=True, timeout=120)
    shutil.rmtree(git_repo / "node_modules")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "node project")
    (git_repo / ".env").write_text("API_URL=http://localhost\n")
    torn_down = tmp_path / "torn-down.txt"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    agent = tmp_path / "agent.py"
    agent.write_text(BARRIER_AGENT)
    write_backlog(
        [{"id": f"t{n}", "title": f"Task {n}"} for n in (1, 2, 3)],
        defaults={"runner": "command", "retries": 0},
        runners={"command": {"argv_template": [sys.executable, str(agent), "{task_id}",
                                               str(barrier)], "prompt_via": "file"}},
        limits={"max_parallel": 3},
        gates=[{"kind": "command", "run": "npm test", "timeout": 120}],
        workspace={
            "setup": ["npm ci --offline --no-audit --no-fund",
                      "echo port=$WAVEFRONT_PORT task=$WAVEFRONT_TASK_ID"],
            "copy": [".env"],
            "teardown": [f"echo $WAVEFRONT_TASK_ID >> {torn_down}"],
        },
    )
    result = run(git_repo)
    with open_journal(git_repo) as journal:
        records = {r.task_id: r for r in journal.tasks(result.run_id)}
        attempts = [journal.attempts(result.run_id, t)[0] for t in ("t1", "t2", "t3")]
    assert {r.status for r in records.values()} == {TaskStatus.DONE}, [
        r.reason for r in records.values()]
    logs = setup_logs(git_repo, result.run_id)
    ports = {}
    for task_id in ("t1", "t2", "t3"):
        found = re.search(r"port=(\d+) task=(\S+)", logs[task_id])
        assert found is not None and found[2] == task_id
        ports[task_id] = int(found[1])
    starts = sorted(ports.values())
    assert all(b - a >= 10 for a, b in itertools.pairwise(starts))
    # the three agents worked side by side, each port block held at once
    assert max(a.started_at for a in attempts) < min(a.finished_at or 0 for a in attempts)
    # Every workspace is torn down: each task's own, and each merged-tree check's, which
    # is one per candidate (tasks that wait to merge together are checked together).
    with open_journal(git_repo) as journal:
        candidates = journal.events(result.run_id, kind="merge_candidate")
    torn = torn_down.read_text().split()
    assert candidates and set(torn) == {"t1", "t2", "t3"}
    assert len(torn) == 3 + len(candidates), (torn, len(candidates))
    branch = result.branch
    assert git(git_repo, "show", f"{branch}:src/t2.js") == "module.exports = 2;\n"
    tracked = git(git_repo, "ls-tree", "-r", "--name-only", branch).split()
    assert ".env" not in tracked and not any(p.startswith("node_modules") for p in tracked)


def test_a_workspace_takes_its_ports_when_its_variables_are_first_read(tmp_path: Path) -> None:
    async def no_command(*args: Any) -> tuple[bool, str]:
        raise AssertionError("no setup command was asked for")

    prepared = asyncio.run(prepare_workspace(WorkspaceSetup(), tmp_path, tmp_path, "t",
                                             tmp_path / "setup.log", no_command))
    held = set(ports_state._held_ports)
    variables = dict(prepared.env)  # what a process's environment is built from
    port = int(variables["WAVEFRONT_PORT"])
    assert set(ports_state._held_ports) - held == set(range(port, port + 10))
    assert prepared.env["WAVEFRONT_PORT"] == str(port)  # the same block on every read
    release_ports(prepared.env)
    assert set(ports_state._held_ports) == held
