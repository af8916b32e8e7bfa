"""The README's snippets that add wavefront's MCP server to Claude Code, Codex, Gemini CLI
and OpenCode, each put where the README says and read back by the real CLI's own
`mcp list` (installed by scripts/setup.d/30-agent-clis.sh).

Whether the server also answered within the CLI's own short check depends on the machine's
load, so only that each CLI read the server from the snippet is asserted; the run test
(test_real_mcp.py) has each CLI call a tool.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components import need
from conftest import git
from realclis import INSTALL_HINT, real_cli
from test_real_agents import child_env

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
CLIS = ("claude", "codex", "gemini", "opencode")


def snippets() -> list[str]:
    """The four code blocks of the README's "Add it to your agent CLI" paragraph."""
    text = README.read_text(encoding="utf-8")
    section = text.split("Add it to your agent CLI", 1)[1].split('Add `"--tools"', 1)[0]
    return re.findall(r"```(?:json|toml)\n(.*?)```", section, re.DOTALL)


def test_the_readme_names_one_snippet_per_cli() -> None:
    assert len(snippets()) == len(CLIS)


def test_each_real_cli_reads_the_readmes_snippet(tmp_path: Path, git_repo: Path) -> None:
    executables = {cli: real_cli(cli) for cli in CLIS}
    missing = [cli for cli, path in executables.items() if path is None]
    need(not missing, f"{', '.join(missing)} not installed: {INSTALL_HINT}")
    command = str(Path(sys.executable).with_name("wavefront"))

    def filled(snippet: str) -> str:
        return (snippet.replace('"wavefront", "mcp"', f'{json.dumps(command)}, "mcp"')
                .replace('"command": "wavefront"', f'"command": {json.dumps(command)}')
                .replace('command = "wavefront"', f"command = {json.dumps(command)}")
                .replace("/path/to/repo", str(git_repo)))

    claude, codex, gemini, opencode = (filled(s) for s in snippets())
    (git_repo / ".mcp.json").write_text(claude)
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(codex)
    (git_repo / ".gemini").mkdir()
    (git_repo / ".gemini" / "settings.json").write_text(gemini)
    (git_repo / "opencode.json").write_text(opencode)
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "snippets")

    env = {**child_env(tmp_path / "home"), "CODEX_HOME": str(codex_home),
           "GEMINI_CLI_TRUST_WORKSPACE": "true", "OPENCODE_DISABLE_AUTOUPDATE": "true"}
    # All four at once: each waits for its own check of the server.
    children = {cli: subprocess.Popen([str(executables[cli]), "mcp", "list"], cwd=git_repo,
                                      env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True) for cli in CLIS}
    listed = {cli: child.communicate(timeout=180)[0] for cli, child in children.items()}
    for cli, out in listed.items():
        line = next((line for line in out.splitlines() if "wavefront" in line
                     and command in line), None)
        assert line is not None, (cli, out)
        assert f"mcp -C {git_repo}" in line, (cli, out)
