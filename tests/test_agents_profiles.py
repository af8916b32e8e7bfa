"""Agent profiles: real Claude Code and OpenCode files, built-in roles, and layering."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES as SHARED_FIXTURES
from conftest import needs_shared_fixtures
from wavefront.agents import builtin_profiles, load_profile_file, load_profiles
from wavefront.config import load_config
from wavefront.errors import BacklogError, ConfigError

FIXTURES = SHARED_FIXTURES / "agents"

# path under FIXTURES, name, start of description, model, tools, format, settings expected
FIXTURE_CASES: list[tuple[str, str, str, str | None, tuple[str, ...], str, dict[str, Any]]] = [
    (
        "0xMiden__note-transport-service/.claude/agents/code-reviewer.md",
        "code-reviewer",
        "Staff engineer code reviewer",
        "opus",
        ("Read", "Grep", "Glob", "Bash"),
        "claude",
        {"effort": "max", "maxTurns": 15},
    ),
    (
        "VoltAgent__awesome-claude-code-subagents/categories/01-core-development/"
        "backend-developer.md",
        "backend-developer",
        "Use this agent when building server-side APIs",
        "sonnet",
        ("Read", "Write", "Edit", "Bash", "Glob", "Grep"),
        "claude",
        {},
    ),
    (
        # not valid YAML ("Triggers on: '...'"); read the way Claude Code reads it
        "VoltAgent__awesome-claude-code-subagents/categories/08-business-product/"
        "backlog-grooming.md",
        "backlog-grooming",
        "Use when the user needs to groom, refine, or clean up a product backlog. "
        "Triggers on: 'groom backlog'",
        None,
        ("Read", "Write", "Edit", "Glob", "Grep", "WebFetch", "WebSearch"),
        "claude",
        {"note": "read description as plain text (not valid YAML)"},
    ),
    (
        "anomalyco__opencode/.opencode/agent/docs.md",
        "docs",
        "ALWAYS use this when writing docs",
        None,
        (),
        "opencode",
        {"color": "#38A3EE"},
    ),
    (
        "anomalyco__opencode/.opencode/agent/duplicate-pr.md",
        "duplicate-pr",
        "",
        "opencode/claude-haiku-4-5",
        ("github-pr-search",),
        "opencode",
        {"mode": "primary", "hidden": True, "tools": {"*": False, "github-pr-search": True}},
    ),
    (
        "darrenhinde__OpenAgentsControl/.opencode/agent/core/openagent.md",
        "openagent",
        "Universal agent for answering queries",
        None,
        ("read", "write", "edit", "grep", "glob", "bash", "task", "patch"),
        "opencode",
        {"mode": "primary", "temperature": 0.2, "name": "OpenAgent"},
    ),
    (
        "darrenhinde__OpenAgentsControl/.opencode/agent/subagents/code/coder-agent.md",
        "coder-agent",
        "Executes coding subtasks in sequence",
        None,
        ("read", "edit", "write", "grep", "glob", "patch", "task"),  # bash: false
        "opencode",
        {"mode": "subagent", "temperature": 0, "tags": ["coding", "implementation"]},
    ),
    (
        "darrenhinde__OpenAgentsControl/.opencode/agent/subagents/core/task-manager.md",
        "task-manager",
        "JSON-driven task breakdown specialist",
        None,
        ("read", "edit", "write", "grep", "glob", "bash", "task", "patch"),
        "opencode",
        {"id": "task-manager", "name": "TaskManager", "temperature": 0.1},
    ),
    (
        "wshobson__agents/plugins/agent-orchestration/agents/context-manager.md",
        "agent-orchestration-context-manager",
        "Elite AI context engineering specialist",
        None,  # model: inherit
        (),
        "claude",
        {},
    ),
    (
        "wshobson__agents/plugins/agent-teams/agents/team-lead.md",
        "team-lead",
        "Team orchestrator that decomposes work into parallel tasks",
        "fable",
        (
            "Read",
            "Glob",
            "Grep",
            "Bash",
            "Agent",
            "TeamCreate",
            "TeamDelete",
            "TaskCreate",
            "TaskList",
            "TaskGet",
            "TaskUpdate",
            "SendMessage",
        ),
        "claude",
        {"color": "blue"},
    ),
    (
        "wshobson__agents/plugins/arm-cortex-microcontrollers/agents/arm-cortex-expert.md",
        "arm-cortex-expert",
        "Senior embedded software engineer specializing in firmware",
        None,  # model: inherit
        (),  # tools: []
        "claude",
        {},
    ),
    (
        "wshobson__agents/plugins/framework-migration/agents/legacy-modernizer.md",
        "framework-migration-legacy-modernizer",
        "Refactor legacy codebases",
        "fable",
        (),
        "claude",
        {},
    ),
]


@needs_shared_fixtures
def test_every_fixture_file_is_covered() -> None:
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.md")}
    assert on_disk == {case[0] for case in FIXTURE_CASES}


@needs_shared_fixtures
@pytest.mark.parametrize(
    ("relative", "name", "description", "model", "tools", "fmt", "settings"),
    FIXTURE_CASES,
    ids=[case[1] for case in FIXTURE_CASES],
)
def test_fixture_agent_files(
    relative: str,
    name: str,
    description: str,
    model: str | None,
    tools: tuple[str, ...],
    fmt: str,
    settings: dict[str, Any],
) -> None:
    path = FIXTURES / relative
    profile = load_profile_file(path)
    assert profile.name == name
    assert profile.description.startswith(description)
    assert profile.model == model
    assert profile.tools == tools
    assert profile.origin == str(path)
    assert profile.settings["format"] == fmt
    for key, value in settings.items():
        assert profile.settings[key] == value
    # the body (role prompt) is the text after the front matter, without it
    assert profile.prompt
    assert not profile.prompt.startswith("---")
    assert path.read_text().rstrip().endswith(profile.prompt[-40:])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("just a prompt\n", 1, "no front matter"),
        ("---\nname: x\ndescription: [unclosed\n---\nbody\n", 4, "invalid YAML in front matter"),
        ("---\nname: x\n  bad: indent\n---\nbody\n", 3, "invalid YAML in front matter"),
        ("---\n- a\n- b\n---\nbody\n", 2, "front matter must be a mapping"),
        ("---\nname: x\ndescription: {a: 1}\n---\nbody\n", 3, "description: expected text"),
        ("---\nname: x\ntools: 42\n---\nbody\n", 3, "tools: expected a comma-separated string"),
        ("---\nname: x\nmodel: [a]\n---\nbody\n", 3, "model: expected text"),
        ("---\nname: x\ndescription: y\n", 1, "front matter is not closed"),
    ],
)
def test_bad_front_matter(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / ".claude" / "agents" / "bad.md"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(BacklogError) as info:
        load_profile_file(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: {message}"), str(info.value)


def test_tools_as_yaml_list_and_runner_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "agent.md",
        """\
        ---
        name: helper
        description: Helps.
        tools: [Read, " Edit "]
        runner: claude
        model: haiku
        ---
        Be helpful.
        """,
    )
    profile = load_profile_file(path)
    assert profile.tools == ("Read", "Edit")
    assert profile.runner == "claude"
    assert profile.model == "haiku"
    assert profile.prompt == "Be helpful."


SEED_CAST = {
    "product-manager",
    "architect",
    "ux-designer",
    "full-stack-engineer",
    "sdet",
    "integration-engineer",
    "test-engineer",
    "performance-engineer",
    "security-engineer",
    "documentation-writer",
    "devops-engineer",
    "code-reviewer",
    # the full-stack coordination's specialists
    "database-developer",
    "backend-api-developer",
    "frontend-ui-architect",
}


def test_builtin_profiles_cover_the_seed_cast() -> None:
    profiles = builtin_profiles()
    assert set(profiles) == SEED_CAST
    for name, profile in profiles.items():
        assert profile.name == name
        assert profile.origin == "builtin"
        assert len(profile.description) > 40, name
        lines = profile.prompt.splitlines()
        assert 20 <= len(lines) <= 60, (name, len(lines))
        # every role says what its last message must hold: the engine keeps it as evidence
        assert re.search(r"final message|End with", profile.prompt), name


def test_builtin_profiles_are_copies() -> None:
    first = builtin_profiles()
    first.pop("architect")
    assert "architect" in builtin_profiles()


def test_code_reviewer_asks_for_a_json_verdict() -> None:
    prompt = builtin_profiles()["code-reviewer"].prompt
    blocks = re.findall(r"```json\n(.*?)```", prompt, flags=re.DOTALL)
    verdicts = {json.loads(block)["verdict"] for block in blocks}
    assert verdicts == {"approve", "request_changes"}
    for block in blocks:
        assert isinstance(json.loads(block)["findings"], list)


def test_load_profiles_layers_builtin_files_and_config(tmp_path: Path) -> None:
    write(
        tmp_path / ".claude" / "agents" / "team" / "architect.md",
        """\
        ---
        name: architect
        description: Our own architect.
        model: opus
        ---
        Design it our way.
        """,
    )
    write(tmp_path / ".claude" / "agents" / "README.md", "These are our agents.\n")
    write(
        tmp_path / ".opencode" / "agents" / "python-developer.md",
        """\
        ---
        description: Writes Python.
        mode: subagent
        tools: {bash: true, write: true, webfetch: false}
        ---
        Write idiomatic Python.
        """,
    )
    write(
        tmp_path / ".opencode" / "agent" / "golang-developer.md",
        "---\ndescription: Writes Go.\n---\nWrite Go.\n",
    )
    write(tmp_path / "agents" / "writer.md", "---\nname: ignored\n---\nWrite well.\n")
    config_path = write(
        tmp_path / "wavefront.yaml",
        """\
        agents:
          reviewer:
            profile: code-reviewer
            model: sonnet
            runner: claude
            gates: [{kind: command, run: make lint}]
          sdet:
            model: haiku
          scribe:
            file: agents/writer.md
            description: Writes docs.
          planner:
            description: Plans.
            prompt: Plan the work.
            tools: Read, Grep
            options: {temperature: 0}
        """,
    )
    config = load_config(config_path)
    profiles = load_profiles(tmp_path, config)

    assert profiles["architect"].origin == str(tmp_path / ".claude/agents/team/architect.md")
    assert profiles["architect"].prompt == "Design it our way."
    assert profiles["python-developer"].tools == ("bash", "write")
    assert profiles["golang-developer"].description == "Writes Go."
    assert "README" not in profiles
    assert profiles["full-stack-engineer"].origin == "builtin"

    reviewer = profiles["reviewer"]
    assert reviewer.origin == f"{config_path}:2"
    assert reviewer.model == "sonnet"
    assert reviewer.runner == "claude"
    assert reviewer.prompt == profiles["code-reviewer"].prompt
    assert reviewer.tools == ("Read", "Grep", "Glob", "Bash")
    assert reviewer.settings["based_on"] == "code-reviewer"
    assert [g.kind for g in reviewer.settings["gates"]] == ["command"]

    sdet = profiles["sdet"]  # same name: adjusts the built-in
    assert sdet.model == "haiku"
    assert sdet.prompt == builtin_profiles()["sdet"].prompt
    assert sdet.origin == f"{config_path}:7"

    scribe = profiles["scribe"]
    assert scribe.prompt == "Write well."
    assert scribe.description == "Writes docs."

    planner = profiles["planner"]
    assert (planner.prompt, planner.tools) == ("Plan the work.", ("Read", "Grep"))
    assert planner.settings["temperature"] == 0


def test_load_profiles_without_root_is_builtin() -> None:
    assert load_profiles() == builtin_profiles()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("agents:\n  x:\n    profile: nobody\n", 2, "agent 'x': no profile named 'nobody'"),
        ("agents:\n  a: {}\n  x:\n    model: opus\n", 2, "agent 'a' needs a prompt"),
        ("agents:\n  x:\n    file: missing.md\n", 2, "agent 'x': file 'missing.md' does not exist"),
    ],
)
def test_config_agent_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path / "wavefront.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_profiles(tmp_path, load_config(path))
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: {message}")


def test_broken_project_agent_file_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / ".claude" / "agents" / "x.md", "---\nname: [x\n---\nbody\n")
    with pytest.raises(BacklogError) as info:
        load_profiles(tmp_path)
    assert info.value.path == path
