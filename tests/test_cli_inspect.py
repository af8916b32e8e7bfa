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
    assert "finished" in line and "1/2 done" in line and len(line) <= 80
    assert "each run's work is on the branch wavefront/<run>" in listed.stderr

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


def test_log_reaches_setup_and_gate_logs(git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog(
        [{"id": "1.1", "title": "one", "script": {"files": {"one.txt": "1\n"}}}],
        gates=[{"kind": "command", "run": "echo gate-says-hello"}],
        workspace={"setup": ["echo setup-says-hello"]},
    )
    assert wavefront(git_repo, "run", "--no-progress").returncode == 0
    plain = wavefront(git_repo, "log", "1.1")
    assert "Implemented 1.1" in plain.stdout and "gate-says-hello" not in plain.stdout
    full = wavefront(git_repo, "log", "1.1", "--gates")
    assert "setup-says-hello" in full.stdout and "gate-says-hello" in full.stdout
    assert "# setup.log" in full.stderr and "# gate-" in full.stderr
    # --follow on a finished attempt prints it and ends
    followed = wavefront(git_repo, "log", "1.1", "--follow", "--attempt", "1")
    assert followed.returncode == 0 and "Implemented 1.1" in followed.stdout
    missing = wavefront(git_repo, "log", "1.1", "--attempt", "7")
    assert missing.returncode == 2 and "(attempts: 1)" in missing.stderr


def test_resume_of_a_finished_run_keeps_its_record(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    from wavefront.runs import open_journal

    write_backlog([{"id": "a", "title": "A", "script": {"behaviour": "fail"}}])
    assert wavefront(git_repo, "run", "--no-progress").returncode == 1
    with open_journal(git_repo) as journal:
        (before,) = journal.runs()
    again = wavefront(git_repo, "resume", "--no-progress")
    assert again.returncode == 1  # the outcome as it stands: a failed task
    assert "has finished: nothing to resume" in again.stdout
    with open_journal(git_repo) as journal:
        (after,) = journal.runs()
    assert (after.finished_at, after.state) == (before.finished_at, before.state)
