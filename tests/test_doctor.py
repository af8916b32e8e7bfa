"""`doctor.check_agents` against fake CLIs on a private PATH and on this machine as it is."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from wavefront.doctor import CLI_RUNNERS, check_agents, format_checks

FAKES = Path(__file__).parent / "fakes"


def _bin_with(tmp_path: Path, *clis: tuple[str, str]) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for executable, fake in clis:
        wrapper = bin_dir / executable
        wrapper.write_text(
            f'#!/bin/sh\nexec "{sys.executable}" "{FAKES / f"fake_{fake}.py"}" "$@"\n'
        )
        wrapper.chmod(0o755)
    return bin_dir


def test_finds_installed_clis_their_versions_and_credentials(tmp_path: Path) -> None:
    bin_dir = _bin_with(tmp_path, ("claude", "claude"), ("codex", "codex"), ("agent", "cursor"))
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "auth.json").write_text("{}")
    checks = check_agents(
        environ={"ANTHROPIC_API_KEY": "sk-test"},
        home=home,
        which=lambda name: shutil.which(name, path=str(bin_dir)),
    )
    by_runner = {check.runner: check for check in checks}
    assert [check.runner for check in checks] == [cls.name for cls in CLI_RUNNERS]

    claude = by_runner["claude"]
    assert claude.path == str(bin_dir / "claude")
    assert claude.version == "2.1.197 (Claude Code)"
    assert claude.authenticated and "ANTHROPIC_API_KEY" in claude.auth_evidence

    codex = by_runner["codex"]
    assert codex.version == "codex-cli 0.171.0"
    assert codex.authenticated and "~/.codex/auth.json" in codex.auth_evidence

    cursor = by_runner["cursor"]  # found under its second name
    assert (cursor.executable, cursor.installed) == ("agent", True)
    assert not cursor.authenticated and "CURSOR_API_KEY" in cursor.auth_evidence

    gemini = by_runner["gemini"]
    assert (gemini.installed, gemini.version) == (False, None)
    text = format_checks(checks)
    assert "gemini    not installed" in text
    assert "claude    2.1.197 (Claude Code): ready" in text
    assert "cursor    agent: not ready (not verified against the real CLI)" not in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_cli_that_fails_its_version_check_has_no_version(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "goose"
    broken.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    broken.chmod(0o755)
    checks = check_agents(
        environ={}, home=tmp_path, which=lambda n: shutil.which(n, path=str(bin_dir))
    )
    goose = next(check for check in checks if check.runner == "goose")
    assert goose.installed and goose.version is None


def test_report_on_this_machine_matches_path() -> None:
    checks = check_agents()
    for check, cls in zip(checks, CLI_RUNNERS, strict=True):
        expected = next((p for n in cls.executable_names if (p := shutil.which(n))), None)
        assert check.path == expected
    if not any(check.installed for check in checks):
        assert "No agent CLI is installed" in format_checks(checks)
