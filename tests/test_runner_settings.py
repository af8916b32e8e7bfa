"""The settings wavefront hands a CLI for one attempt (no client retries, a turn limit)
keep what the user and the machine had; and a CLI's side log is read as it grows."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from wavefront.agents.runners.attemptsettings import EXTRA_PARAMS, write_model_settings
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.gemini import GeminiRunner
from wavefront.agents.runners.opencode import OpenCodeRunner
from wavefront.agents.runners.process import SideLogs
from wavefront.agents.runners.qwen import QwenRunner, shell_rules
from wavefront.model import FailureKind, SourceLocation, Task


def settings(tmp_path: Path) -> list[dict[str, object]]:
    written = write_model_settings(tmp_path / "out.yml", tmp_path / "ws", tmp_path / "home")
    loaded = yaml.safe_load(written.read_text())
    assert isinstance(loaded, list)
    return loaded


def test_aider_client_retries_are_off_by_default(tmp_path: Path) -> None:
    assert settings(tmp_path) == [{"name": EXTRA_PARAMS, "extra_params": {"max_retries": 0}}]


def test_aider_settings_of_the_user_are_kept(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    workspace.mkdir()
    (home / ".aider.model.settings.yml").write_text(yaml.safe_dump(
        [{"name": EXTRA_PARAMS, "extra_params": {"extra_headers": {"X-Team": "a"}}}]))
    # The repository's file comes later and wins, as in aider; it sets its own retries.
    (workspace / ".aider.model.settings.yml").write_text(yaml.safe_dump(
        [{"name": EXTRA_PARAMS, "extra_params": {"max_retries": 5, "num_ctx": 8192}}]))
    (home / ".aider.conf.yml").write_text("model-settings-file: ~/models.yml\n")
    (home / "models.yml").write_text(yaml.safe_dump([{"name": "openai/local", "edit_format":
                                                       "diff"}]))
    monkeypatch.setenv("HOME", str(home))  # where `~/models.yml` is
    assert settings(tmp_path) == [{"name": "openai/local", "edit_format": "diff"},
                       {"name": EXTRA_PARAMS, "extra_params": {"max_retries": 5,
                                                               "num_ctx": 8192}}]


def request(tmp_path: Path) -> AgentRequest:
    task = Task(id="1", title="t", source=SourceLocation(Path("w.yaml"), 1))
    return AgentRequest(task=task, prompt="p", workspace=tmp_path,
                        log_path=tmp_path / "logs" / "attempt-1.log")


def test_qwen_gets_a_runtime_folder_and_defaults_of_its_own(tmp_path: Path) -> None:
    # The machine's system defaults sit beside its system settings.
    machine = tmp_path / "etc" / "system-defaults.json"
    machine.parent.mkdir()
    machine.write_text(json.dumps({"privacy": {"usageStatisticsEnabled": False}}))
    runner = QwenRunner(env={"QWEN_CODE_SYSTEM_SETTINGS_PATH": str(machine.parent / "s.json")})
    env = runner.child_env(request(tmp_path))
    assert env["QWEN_RUNTIME_DIR"] == str(tmp_path / "logs" / "attempt-1.qwen")
    written = json.loads(Path(env["QWEN_CODE_SYSTEM_DEFAULTS_PATH"]).read_text())
    assert written == {"privacy": {"usageStatisticsEnabled": False},
                       "model": {"generationConfig": {"maxRetries": 0}}}
    # Defaults that are not plain JSON are not rewritten: Qwen Code reads its own.
    machine.write_text("{ // a comment\n}")
    assert "QWEN_CODE_SYSTEM_DEFAULTS_PATH" not in runner.child_env(request(tmp_path))


def test_qwen_defaults_turn_usage_statistics_off_and_allow_the_gates_commands(
        tmp_path: Path) -> None:
    machine = tmp_path / "etc" / "system-defaults.json"
    machine.parent.mkdir()
    machine.write_text(json.dumps({"permissions": {"allow": ["run_shell_command(ls)"]}}))
    runner = QwenRunner(env={"QWEN_CODE_SYSTEM_SETTINGS_PATH": str(machine.parent / "s.json")})
    gated = replace(request(tmp_path), commands=("pytest -q && ruff check src",))
    written = json.loads(Path(runner.child_env(gated)["QWEN_CODE_SYSTEM_DEFAULTS_PATH"])
                         .read_text())
    assert written["privacy"] == {"usageStatisticsEnabled": False}
    # The machine's rules stay; each part of a gate's command is a rule of its own.
    assert written["permissions"] == {"allow": ["run_shell_command(ls)",
                                                "run_shell_command(pytest -q)",
                                                "run_shell_command(ruff check src)"]}
    anything = QwenRunner(approval_mode="yolo", env=runner.env).child_env(gated)
    assert json.loads(Path(anything["QWEN_CODE_SYSTEM_DEFAULTS_PATH"]).read_text())[
        "permissions"] == {"allow": ["run_shell_command(ls)"]}


@pytest.mark.parametrize("command,rules", [
    ("pytest -q", ["run_shell_command(pytest -q)"]),
    # Qwen Code compares a command without the shell's quotes and leading assignments.
    ("CI=1 python3 -c \"print('a, b')\"", ["run_shell_command(python3 -c print('a, b'))"]),
    ("make lint; make test | tee out", ["run_shell_command(make lint)",
                                        "run_shell_command(make test)",
                                        "run_shell_command(tee out)"]),
    ("echo 'a && b'", ["run_shell_command(echo a && b)"]),
])
def test_qwen_shell_rules(command: str, rules: list[str]) -> None:
    assert shell_rules([command]) == rules


def test_gemini_policy_file_allows_the_gates_commands(tmp_path: Path) -> None:
    gated = replace(request(tmp_path), commands=("pytest -q", "python3 -c \"print('ok')\""))
    argv = GeminiRunner().build_argv(gated)
    policy = Path(argv[argv.index("--policy") + 1])
    assert policy.parent == tmp_path / "logs"
    rule = tomllib.loads(policy.read_text())["rule"]
    assert rule == [{"toolName": "run_shell_command", "decision": "allow", "priority": 500,
                     "commandPrefix": ["pytest -q", "python3 -c \"print('ok')\""]}]
    assert "--policy" not in GeminiRunner(approval_mode="yolo").build_argv(gated)
    assert "--policy" not in GeminiRunner().build_argv(request(tmp_path))


def test_gemini_turn_limit_is_added_to_the_machine_settings(tmp_path: Path) -> None:
    machine = tmp_path / "machine.json"
    machine.write_text(json.dumps({"model": {"maxSessionTurns": 100, "name": "pro"}}))
    runner = GeminiRunner(env={"GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(machine)})
    limited = replace(request(tmp_path), max_turns=3)
    written = Path(runner.child_env(limited)["GEMINI_CLI_SYSTEM_SETTINGS_PATH"])
    assert written != machine
    assert json.loads(written.read_text()) == {"model": {"maxSessionTurns": 3, "name": "pro"}}
    assert runner.child_env(request(tmp_path))["GEMINI_CLI_SYSTEM_SETTINGS_PATH"] == str(machine)


@pytest.mark.parametrize("line,kind,reason", [
    ("2026-12-01T12:11:00.510Z [WARN] [RETRY] Attempt 1 failed with status 429. Retrying "
     "with backoff... Error: 429 Rate limit reached. Please try again in 30s.",
     FailureKind.RATE_LIMITED, "qwen: 429 Rate limit reached. Please try again in 30s."),
    ("2026-12-01T12:11:00.510Z [ERROR] [RETRY] Attempt 1 failed with status 500. Retrying "
     "with backoff... Error: 500 The server had an error",
     FailureKind.ERROR, "qwen: the model service failed: 500 The server had an error"),
    ("2026-12-01T12:11:00.510Z [INFO] [SKILL_MANAGER] Listed 4 unique skills", None, ""),
])
def test_qwen_retry_lines_of_its_debug_log(line: str, kind: FailureKind | None,
                                           reason: str) -> None:
    found = QwenRunner().watch(line, [])
    assert (found.kind if found else None) is kind
    if found is not None:
        assert found.reason == reason
        if kind is FailureKind.RATE_LIMITED:
            assert found.retry_at is not None


def test_side_logs_feed_only_new_complete_lines(tmp_path: Path) -> None:
    old = tmp_path / "old.txt"
    old.write_text("written before the start\n")
    seen: list[str] = []
    logs = SideLogs(tmp_path, seen.append)
    (tmp_path / "new.txt").write_text("one\ntw")
    with old.open("a") as handle:
        handle.write("after the start\n")
    logs.read()
    assert sorted(seen) == ["after the start", "one"]
    with (tmp_path / "new.txt").open("a") as handle:
        handle.write("o\n")
    logs.read()
    assert seen[-1] == "two"


def test_opencode_turn_limit_joins_the_users_inline_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = {"model": "anthropic/claude-sonnet-4-5", "agent": {"build": {"temperature": 0.1}}}
    monkeypatch.setenv("OPENCODE_CONFIG_CONTENT", json.dumps(mine))
    env = OpenCodeRunner(shell="any").child_env(replace(request(tmp_path), max_turns=4))
    assert json.loads(env["OPENCODE_CONFIG_CONTENT"]) == {
        "model": "anthropic/claude-sonnet-4-5",
        "agent": {"build": {"temperature": 0.1, "steps": 4}}}
    unlimited = OpenCodeRunner(shell="any").child_env(request(tmp_path))
    assert json.loads(unlimited["OPENCODE_CONFIG_CONTENT"]) == mine


def test_opencode_denies_shell_commands_but_the_gates_in_the_users_inline_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = {"model": "anthropic/claude-sonnet-4-5", "permission": {"edit": "allow"}}
    monkeypatch.setenv("OPENCODE_CONFIG_CONTENT", json.dumps(mine))
    gated = replace(request(tmp_path), commands=("pytest -q",))
    config = json.loads(OpenCodeRunner().child_env(gated)["OPENCODE_CONFIG_CONTENT"])
    assert config["permission"] == {
        "edit": "allow",
        "bash": {"*": "deny", "pytest -q": "allow", "pytest -q *": "allow"}}
    # The last matching rule wins in opencode: the denial of everything comes first.
    assert next(iter(config["permission"]["bash"])) == "*"
