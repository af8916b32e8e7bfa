"""Shared machinery of the fake agent CLIs: replay a recorded output per scenario.

Each `fake_<cli>.py` parses its CLI's documented flags (rejecting unknown ones the way the
real CLI does) and then calls `replay`. The scenario comes from `FAKE_SCENARIO`; its bytes
come from `tests/data/cli_outputs/<cli>/<scenario>.stdout|.stderr`, written unchanged.
`FAKE_SEQUENCE` + `FAKE_STATE_FILE` replay a different scenario per call (a rate limit,
then a success); `FAKE_WRITES` (JSON {path: content}) makes a success also edit files, as
a real agent would. `FAKE_ARGV_FILE`, when set, receives the argv as JSON so tests can
check the flags sent. A `<scenario>.exit` file (the `real-*` scenarios, recorded from the
real CLIs by `record.py`) gives the exit status, or says the runner stopped the real one
while it retried: the fake then waits to be stopped too. Scenario `hang` starts a
grandchild (`sleep`), writes its pid to `FAKE_CHILD_PID_FILE` and sleeps: a runner's
timeout must kill the whole process group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "cli_outputs"


def replay(cli: str, exit_codes: Mapping[str, int]) -> None:
    """Write the scenario's recorded stdout/stderr and exit with its code."""
    if os.environ.get("FAKE_ARGV_FILE"):
        Path(os.environ["FAKE_ARGV_FILE"]).write_text(json.dumps(sys.argv[1:]), "utf-8")
    scenario = _scenario()
    if scenario == "success" and os.environ.get("FAKE_WRITES"):
        # What a real agent does besides printing: edit files in its working directory.
        for name, content in json.loads(os.environ["FAKE_WRITES"]).items():
            # `{dir}` is the working directory's name: one file per task worktree.
            target = Path.cwd() / name.replace("{dir}", Path.cwd().name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, "utf-8")
    if scenario == "hang":
        child = subprocess.Popen(["sleep", "300"])
        pid_file = os.environ.get("FAKE_CHILD_PID_FILE")
        if pid_file:
            Path(pid_file).write_text(str(child.pid), "utf-8")
        sys.stdout.write('{"type": "started"}\n')
        sys.stdout.flush()
        time.sleep(300)
        sys.exit(0)
    if scenario == "crash":
        sys.stdout.write('{"type": "started"}\n')
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    out = DATA / cli / f"{scenario}.stdout"
    err = DATA / cli / f"{scenario}.stderr"
    if not out.exists() and not err.exists():
        sys.stderr.write(f"fake {cli}: no recorded output for scenario {scenario!r}\n")
        sys.exit(99)
    if out.exists():
        sys.stdout.buffer.write(out.read_bytes())
        sys.stdout.flush()
    if err.exists():
        sys.stderr.buffer.write(err.read_bytes())
        sys.stderr.flush()
    ended = DATA / cli / f"{scenario}.exit"
    if ended.exists():  # recorded from the real CLI by tests/fakes/record.py
        how = ended.read_text("utf-8").strip()
        if not how.lstrip("-").isdigit():
            # The real one was still retrying when the runner stopped it: wait the same.
            time.sleep(300)
        sys.exit(int(how) if how.lstrip("-").isdigit() else 0)
    sys.exit(exit_codes.get(scenario, 0))


def _scenario() -> str:
    """`FAKE_SCENARIO`, or the next entry of `FAKE_SEQUENCE` (comma-separated, the last one
    repeating) counted across calls in `FAKE_STATE_FILE`."""
    sequence = os.environ.get("FAKE_SEQUENCE")
    state = os.environ.get("FAKE_STATE_FILE")
    if not sequence or not state:
        return os.environ.get("FAKE_SCENARIO", "success")
    path = Path(state)
    calls = int(path.read_text("utf-8")) if path.exists() else 0
    path.write_text(str(calls + 1), "utf-8")
    steps = sequence.split(",")
    return steps[min(calls, len(steps) - 1)]


def reject(program: str, message: str, code: int) -> None:
    """Print a usage error the way `program` does and exit with `code`."""
    sys.stderr.write(message.replace("{program}", program) + "\n")
    sys.exit(code)
