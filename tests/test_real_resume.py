"""A fix round continues the real agent CLI's own session, against the scripted model.

The task's gate fails once; the second round must reach the model as the same
conversation: its request holds the first round's final answer as well as the failure.
A fresh call would hold only the new prompt.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import git
from modelserver import Script, running
from realclis import settings_for
from test_real_agents import CONTENT, child_env, cli_or_skip
from wavefront.runs import open_journal, resolve_run

pytestmark = pytest.mark.slow

FINAL = "Done: hello.txt is written."


def write_config(repo: Path, cli: str, settings: dict[str, Any], marker: Path) -> None:
    gate = f"test -f {marker} || {{ touch {marker}; echo 'first check fails'; exit 1; }}"
    document = {"version": 1, "defaults": {"runner": cli, "retries": 0, "timeout": 240},
                "runners": {cli: settings},
                "tasks": [{"id": "1", "title": "Write the greeting", "files": ["hello.txt"],
                           "body": f"Create hello.txt containing {CONTENT.strip()!r}.",
                           "gates": [{"kind": "command", "run": gate}]}]}
    (repo / "wavefront.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    git(repo, "add", "wavefront.yaml")
    git(repo, "commit", "-q", "-m", "backlog")


@pytest.mark.parametrize("cli", ["codex", "gemini", "qwen"])
def test_a_fix_round_continues_the_cli_session(cli: str, tmp_path: Path,
                                               git_repo: Path) -> None:
    executable = cli_or_skip(cli)
    extra = {"sandbox": "danger-full-access"} if cli == "codex" else {}
    with running(Script(files={"hello.txt": CONTENT}, final=FINAL)) as server:
        write_config(git_repo, cli, {**settings_for(cli, server.base("ok"), executable),
                                     **extra}, tmp_path / "failed-once")
        done = subprocess.run([sys.executable, "-m", "wavefront", "run", "-C",
                               str(git_repo)], capture_output=True, text=True, timeout=600,
                              env=child_env(tmp_path / "home"), stdin=subprocess.DEVNULL)
        bodies = [json.dumps(call.body) for call in server.model_calls()]
    assert done.returncode == 0, done.stdout + done.stderr
    with open_journal(git_repo) as journal:
        run = resolve_run(journal, None)
        rounds = [a for a in journal.attempts(run.id, "1") if a.kind == "agent"]
        sessions = [e.data.get("session_id") for e in journal.events(
            run.id, kind="attempt_finished") if e.task_id == "1"]
    assert [a.state for a in rounds] == ["succeeded", "succeeded"]
    assert sessions[0] and sessions[1] == sessions[0]  # one session, continued
    # The fix round's requests (the gate's command is in every prompt; its failure
    # only in the fix round's) carry the first round's final answer: one conversation.
    second = [b for b in bodies if "What failed in your last attempt" in b]
    assert second, "the fix round's failure never reached the model"
    assert all(FINAL in b for b in second)
    assert git(git_repo, "show", f"{run.branch}:hello.txt") == CONTENT
