"""`runs`, `show ID` and `cancel` on recorded runs, as a user types them."""

from __future__ import annotations

from pathlib import Path

from conftest import WriteBacklog
from test_cli_run import wavefront


def test_runs_and_show_describe_what_happened(git_repo: Path, write_backlog: WriteBacklog) -> None:
    empty = wavefront(git_repo, "runs")
    assert empty.returncode == 0 and "no runs yet" in empty.stderr
    write_backlog(
        [
            {"id": "1.1", "title": "one", "files": ["one.txt"],
             "script": {"files": {"one.txt": "1\n"}}},
            {"id": "1.2", "title": "two", "depends_on": ["1.1"],
             "script": {"behaviour": "fail"}},
        ],
        gates=[{"kind": "command", "run": "test -f one.txt"}],
    )
    done = wavefront(git_repo, "run", "--no-progress")
    assert done.returncode == 1

    listed = wavefront(git_repo, "runs")
    assert listed.returncode == 0
    (line,) = listed.stdout.splitlines()
    assert "finished" in line and "1/2 done" in line and "wavefront/" in line

    shown = wavefront(git_repo, "show", "1.1")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith("1.1: one\n")
    assert "state      done" in out and "merged as" in out
    assert "files      one.txt" in out
    assert "1 attempt:" in out and "gate command: test -f one.txt: passed" in out
    assert "log       " in out and "worktree  " in out

    failed = wavefront(git_repo, "show", "1.2")
    assert "state      failed" in failed.stdout and "depends on 1.1" in failed.stdout

    missing = wavefront(git_repo, "show", "9.9")
    assert missing.returncode == 2 and "no task '9.9'" in missing.stderr

    cancel = wavefront(git_repo, "cancel")
    assert cancel.returncode == 2
    assert "is finished: nothing to cancel" in cancel.stderr
