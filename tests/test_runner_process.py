"""run_process against real child processes: capture, logging, stdin, groups, kills."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from wavefront.agents.runners.process import child_environment, run_process
from wavefront.lifetime import attempt_scope, tagged_processes

PY = sys.executable


def _gone(pid: int, wait_s: float = 10.0) -> bool:
    """Whether `pid` has ended (a zombie counts: it runs nothing), polling up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _read_pid(path: Path, wait_s: float = 10.0) -> int:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().strip())
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


def test_output_is_captured_and_streamed_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "deep" / "attempt.log"
    code = "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(4)"
    outcome = asyncio.run(run_process([PY, "-c", code], cwd=tmp_path, log_path=log))
    assert outcome.returncode == 4
    assert outcome.stdout == "to stdout\n"
    assert outcome.stderr == "to stderr\n"
    assert not outcome.timed_out
    assert outcome.log_path == log
    text = log.read_text()
    assert text.splitlines()[0].startswith(f"$ {PY} -c ")
    assert f"(cwd: {tmp_path})" in text.splitlines()[0]
    assert "to stdout\n" in text
    assert "[stderr] to stderr\n" in text
    assert text.rstrip().endswith("]") and "[exit 4 after" in text


def test_log_is_appended_not_replaced(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    asyncio.run(run_process([PY, "-c", "print('first')"], cwd=tmp_path, log_path=log))
    asyncio.run(run_process([PY, "-c", "print('second')"], cwd=tmp_path, log_path=log))
    text = log.read_text()
    assert text.index("first") < text.index("second")


def test_stdin_is_dev_null(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "print(repr(sys.stdin.read()))\n"
        "print(os.fstat(0).st_rdev == os.stat('/dev/null').st_rdev)\n"
    )
    outcome = asyncio.run(
        run_process([PY, "-c", code], cwd=tmp_path, log_path=tmp_path / "log", timeout_s=30)
    )
    assert outcome.stdout.splitlines() == ["''", "True"]
    assert not outcome.timed_out


def test_stdin_text_is_written_and_closed(tmp_path: Path) -> None:
    text = "line one\nline two é\n" * 5000  # larger than a pipe buffer
    code = "import sys; data = sys.stdin.read(); print(len(data)); print(data[:8])"
    outcome = asyncio.run(
        run_process([PY, "-c", code], cwd=tmp_path, log_path=tmp_path / "log", stdin_text=text)
    )
    assert outcome.stdout.splitlines() == [str(len(text)), "line one"]


def test_child_runs_in_its_own_process_group_and_cwd(tmp_path: Path) -> None:
    code = "import os; print(os.getpgrp() == os.getpid()); print(os.getcwd())"
    outcome = asyncio.run(run_process([PY, "-c", code], cwd=tmp_path, log_path=tmp_path / "log"))
    assert outcome.stdout.splitlines() == ["True", str(tmp_path.resolve())]


@pytest.mark.parametrize(
    "script",
    [
        "sleep 1000 & echo $! > grandchild.pid; wait",
        # The leader ignores SIGTERM: only the SIGKILL after the grace period ends it.
        "trap '' TERM; sleep 1000 & echo $! > grandchild.pid; while true; do sleep 0.1; done",
    ],
    ids=["honours-sigterm", "ignores-sigterm"],
)
def test_timeout_kills_the_whole_group(tmp_path: Path, script: str) -> None:
    outcome = asyncio.run(
        run_process(
            ["sh", "-c", script],
            cwd=tmp_path,
            log_path=tmp_path / "log",
            timeout_s=0.5,
            kill_grace_s=0.5,
        )
    )
    assert outcome.timed_out
    assert outcome.returncode is None
    assert _gone(_read_pid(tmp_path / "grandchild.pid"))
    assert "[timed out after" in (tmp_path / "log").read_text()


def test_cancellation_kills_the_group_and_propagates(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"

    async def scenario() -> None:
        task = asyncio.create_task(
            run_process(
                ["sh", "-c", "sleep 1000 & echo $! > grandchild.pid; wait"],
                cwd=tmp_path,
                log_path=tmp_path / "log",
            )
        )
        while not (pid_file.exists() and pid_file.read_text().strip()):
            await asyncio.sleep(0.02)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())
    assert _gone(_read_pid(pid_file))
    assert "[cancelled: process group killed]" in (tmp_path / "log").read_text()


def test_leftovers_in_the_group_are_killed_when_the_leader_exits(tmp_path: Path) -> None:
    script = "sleep 1000 >/dev/null 2>&1 & echo $! > grandchild.pid; echo started"
    outcome = asyncio.run(run_process(["sh", "-c", script], cwd=tmp_path, log_path=tmp_path / "l"))
    assert outcome.returncode == 0
    assert outcome.stdout == "started\n"
    assert _gone(_read_pid(tmp_path / "grandchild.pid"))


@pytest.mark.parametrize(
    ("argv", "cwd_name", "code", "mentions"),
    [
        (["no-such-program-xyz", "--flag"], ".", 127, "no-such-program-xyz"),
        (["./not-executable.sh"], ".", 126, "Permission denied"),
        ([PY, "-c", "pass"], "missing-dir", 127, "missing-dir"),
    ],
    ids=["missing-program", "not-executable", "missing-cwd"],
)
def test_a_program_that_cannot_start_is_an_outcome(
    tmp_path: Path, argv: list[str], cwd_name: str, code: int, mentions: str
) -> None:
    (tmp_path / "not-executable.sh").write_text("echo hi\n")
    log = tmp_path / "log"
    outcome = asyncio.run(run_process(argv, cwd=tmp_path / cwd_name, log_path=log))
    assert outcome.returncode == code
    assert mentions in outcome.stderr
    assert not outcome.timed_out
    assert mentions in log.read_text()


def test_environment_is_an_allow_list_plus_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVEFRONT_TEST_SECRET", "s3cret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = child_environment({"AGENT_TOKEN": "given"})
    assert "WAVEFRONT_TEST_SECRET" not in env
    assert env["AGENT_TOKEN"] == "given"
    assert env["LANG"] == "C.UTF-8"
    assert env["PATH"] == os.environ["PATH"]

    code = (
        "import os; print(os.environ.get('WAVEFRONT_TEST_SECRET')); "
        "print(os.environ.get('AGENT_TOKEN'))"
    )
    outcome = asyncio.run(
        run_process(
            [PY, "-c", code], cwd=tmp_path, log_path=tmp_path / "log", env={"AGENT_TOKEN": "given"}
        )
    )
    assert outcome.stdout.splitlines() == ["None", "given"]


def test_undecodable_output_is_replaced_not_fatal(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe done\\n')"
    outcome = asyncio.run(run_process([PY, "-c", code], cwd=tmp_path, log_path=tmp_path / "log"))
    assert outcome.returncode == 0
    assert outcome.stdout.startswith("ok ") and outcome.stdout.endswith(" done\n")
    assert "\ufffd" in outcome.stdout


def test_a_signal_from_elsewhere_is_a_negative_returncode(tmp_path: Path) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    outcome = asyncio.run(run_process([PY, "-c", code], cwd=tmp_path, log_path=tmp_path / "log"))
    assert outcome.returncode == -9
    assert not outcome.timed_out


def test_cancellation_while_the_child_starts_leaves_nothing_running(tmp_path: Path) -> None:
    tag = f"cancel-at-start-{tmp_path.name}"

    async def scenario() -> None:
        with attempt_scope(tag, lambda pgid: None):
            task = asyncio.create_task(run_process(
                ["sh", "-c", "sleep 1000 & wait"], cwd=tmp_path, log_path=tmp_path / "log"))
            await asyncio.sleep(0)  # the task is now inside the start of the child
            task.cancel()
            await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())
    assert tagged_processes(tag) == []
    assert "[cancelled: process group killed]" in (tmp_path / "log").read_text()
