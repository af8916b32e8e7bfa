"""The review after every story, by a real agent CLI against the scripted model.

No `review:` setting: a story backlog run by an agent CLI is reviewed by default, through
the implementer's CLI (the built-in reviewer profile names no runner of its own), and the
write-back marks the story Approved with the verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import git
from modelserver import Script, running
from modelserver.script import REVIEW_PROMPT
from realclis import settings_for
from test_real_agents import CONTENT, child_env, cli_or_skip
from wavefront.runs import open_journal, resolve_run

pytestmark = pytest.mark.slow

STORY = ("# Story 1.1: Greeting\n\n## Status\n\nNot Started\n\n## Story\n\n"
         f"Create hello.txt containing {CONTENT.strip()!r}.\n\n"
         "## Acceptance Criteria\n\n- hello.txt holds the greeting\n")


@pytest.mark.parametrize("cli", ["claude"])
def test_a_story_is_reviewed_by_the_implementers_cli_by_default(
        cli: str, tmp_path: Path, git_repo: Path) -> None:
    executable = cli_or_skip(cli)
    with running(Script(files={"hello.txt": CONTENT})) as server:
        settings = {"version": 1, "defaults": {"runner": cli, "retries": 0, "timeout": 240},
                    "runners": {cli: settings_for(cli, server.base("ok"), executable)}}
        (git_repo / "wavefront.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
        (git_repo / "docs" / "stories").mkdir(parents=True)
        (git_repo / "docs" / "stories" / "1.1.greeting.md").write_text(STORY)
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-q", "-m", "a story")
        done = subprocess.run([sys.executable, "-m", "wavefront", "run", "--no-progress",
                               "-C", str(git_repo)], capture_output=True, text=True,
                              timeout=600, env=child_env(tmp_path / "home"),
                              stdin=subprocess.DEVNULL)
        bodies = [json.dumps(call.body) for call in server.model_calls()]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "review: off" not in done.stdout + done.stderr
    with open_journal(git_repo) as journal:
        run = resolve_run(journal, None)
        attempts = journal.attempts(run.id, "1.1")
    assert [(a.kind, a.runner) for a in attempts] == [("agent", cli), ("review", cli)]
    assert any(REVIEW_PROMPT in body for body in bodies)  # the reviewer reached the model
    story = git(git_repo, "show", f"{run.branch}:docs/stories/1.1.greeting.md")
    assert "## Status\n\nApproved\n" in story
    assert "**Verdict**: approved (code-reviewer)\n" in story
