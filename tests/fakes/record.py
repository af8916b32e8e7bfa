"""Record what the real agent CLIs print into the fakes' data, from the scripted server.

    python tests/fakes/record.py [CLI ...] [--only SCENARIO,...]
                                       (default: every CLI that has a fake, every scenario)

Each real CLI (scripts/setup.d/30-agent-clis.sh installs them) is run as its runner runs
it (the runner's argv and environment, its watcher stopping a hopeless retry) against
`tests/modelserver` in each scenario below, and its stdout, stderr and exit status are
written to `tests/data/cli_outputs/<cli>/real-<scenario>.stdout|.stderr|.exit` (`.exit`:
the exit status, or `stopped` when the watcher stopped it, and the fake then waits to be
stopped the same way). The temporary folders are made in the home folder, as Gemini CLI
and Codex refuse some settings below /tmp. What
changes from run to run is made fixed, so a new recording differs only where the CLI did:
the temporary folders become `/work`, the server's port 8765. The hand-written scenarios
beside them (limits and texts the server cannot provoke) are left alone.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

from modelserver import Script, running  # noqa: E402
from realclis import KEY_VARIABLE, real_cli, settings_for  # noqa: E402
from wavefront.agents.runners import make_runner  # noqa: E402
from wavefront.agents.runners.base import AgentRequest  # noqa: E402
from wavefront.agents.runners.cliutil import CliRunner  # noqa: E402
from wavefront.agents.runners.process import run_process  # noqa: E402
from wavefront.model import SourceLocation, Task  # noqa: E402

DATA = TESTS / "data" / "cli_outputs"
# fake scenario -> the server's scenario (and the task's turn limit, for max_turns).
SCENARIOS = {"success": "ok", "auth": "auth401", "rate_limit": "ratelimit429",
             "error": "error500", "max_turns": "maxturns", "denied": "shell"}
RECORDED = ("claude", "codex", "gemini", "opencode", "aider")
TURN_LIMITED = ("claude", "gemini", "opencode")  # the fakes whose CLI has a turn limit
# The fakes whose CLI is denied a command in its output (Codex's sandbox refusal is in its
# session file, aider runs none): the agent runs the gate's command, then one outside it.
DENYING = ("claude", "gemini", "opencode")
GATE = "python3 -c \"open('gate-ran.txt', 'w').write('ok')\""
TIMEOUT_S = 180.0


async def record(cli: str, scenario: str, root: Path) -> tuple[str, str, str]:
    """One run of the real `cli` in `scenario`: its stdout, stderr and how it ended (an
    exit status, or `stopped` when the runner's watcher stopped it retrying)."""
    executable = real_cli(cli)
    if executable is None:
        raise SystemExit(f"{cli} is not installed: run scripts/setup.d/30-agent-clis.sh")
    workspace = root / "ws"
    workspace.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    task = Task(id="1", title="Write the greeting", files=("hello.txt",),
                source=SourceLocation(Path("wavefront.yaml"), 1))
    denied = f"python3 -c \"open('{root}/denied-ran.txt', 'w').write('no')\""
    commands = (GATE, denied) if scenario == "denied" else ()
    with running(Script(files={"hello.txt": "hello from the agent\n"},
                        commands=commands)) as server:
        runner = make_runner(cli, settings_for(cli, server.base(SCENARIOS[scenario]),
                                               executable))
        assert isinstance(runner, CliRunner)
        request = AgentRequest(task=task, prompt="Create hello.txt containing 'hello from "
                               "the agent'.", workspace=workspace,
                               log_path=root / "logs" / "attempt-1.log", timeout_s=TIMEOUT_S,
                               max_turns=1 if scenario == "max_turns" else None,
                               commands=commands[:1])
        recent: list[str] = []

        def stop_on(line: str) -> bool:
            found = runner.watch(line, recent)
            recent.append(line)
            return found is not None

        outcome = await run_process(runner.build_argv(request), cwd=workspace,
                                    log_path=request.log_path, timeout_s=TIMEOUT_S,
                                    env=runner.child_env(request), stop_on=stop_on,
                                    side_logs=runner.side_logs(request))
        port = server.url.rsplit(":", 1)[1]
    fixed = _fixer(root, port)
    ended = ("stopped" if outcome.stopped else "timeout" if outcome.timed_out
             else str(outcome.returncode))
    return fixed(outcome.stdout), fixed(outcome.stderr), ended


def _fixer(root: Path, port: str) -> Callable[[str], str]:
    paths = sorted({str(root), str(root.resolve())}, key=len, reverse=True)

    def fix(text: str) -> str:
        for path in paths:
            text = text.replace(path, "/work")
        return re.sub(rf"127\.0\.0\.1:{port}\b", "127.0.0.1:8765", text)

    return fix


def main(argv: list[str]) -> int:
    only = set(SCENARIOS)
    if "--only" in argv:
        at = argv.index("--only")
        only = set(argv[at + 1].split(",")) if at + 1 < len(argv) else set()
        argv = argv[:at] + argv[at + 2:]
        if not only or only - set(SCENARIOS):
            print(f"--only takes scenarios among {', '.join(SCENARIOS)}", file=sys.stderr)
            return 2
    clis = argv or list(RECORDED)
    unknown = [cli for cli in clis if cli not in RECORDED]
    if unknown:
        print(f"no fake records {', '.join(unknown)} (known: {', '.join(RECORDED)})",
              file=sys.stderr)
        return 2
    base = Path.home()  # the runs' homes come and go; their folders are made here
    for cli in clis:
        for scenario in (s for s in SCENARIOS if s in only):
            if cli not in {"max_turns": TURN_LIMITED, "denied": DENYING}.get(scenario, RECORDED):
                continue
            with tempfile.TemporaryDirectory(prefix="wavefront-record-",
                                             dir=base) as folder:
                home = Path(folder) / "home"
                (Path(folder) / "tmp").mkdir()
                home.mkdir()
                os.environ.update({"HOME": str(home), "TMPDIR": str(Path(folder) / "tmp"),
                                   KEY_VARIABLE: "sk-wavefront-test", "NO_COLOR": "1"})
                stdout, stderr, code = asyncio.run(record(cli, scenario, Path(folder)))
            target = DATA / cli / f"real-{scenario}"
            target.with_suffix(".stdout").write_text(stdout, encoding="utf-8")
            target.with_suffix(".stderr").write_text(stderr, encoding="utf-8")
            target.with_suffix(".exit").write_text(f"{code}\n", encoding="utf-8")
            print(f"{cli} {scenario}: {code}, {len(stdout)} + {len(stderr)} characters")
    return 0


if __name__ == "__main__":
    for name in [n for n in os.environ if n.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_",
                                                        "CODEX_", "CLAUDE_"))]:
        del os.environ[name]
    sys.exit(main(sys.argv[1:]))
