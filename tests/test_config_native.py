"""wavefront.yaml: the settings models, the tasks they yield, and the native backlog format."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wavefront.config import ProjectConfig, load_config
from wavefront.errors import BacklogError, ConfigError
from wavefront.model import GateSpec, SourceLocation, TaskStatus

FULL = """\
version: 1
name: shop
defaults:
  agent: full-stack-engineer
  runner: command
  timeout: 900
  retries: 2
limits:
  max_parallel: 4
  per_runner: {claude: 3}
  max_cost_usd: 12.5
runners:
  command: {command: "echo {prompt_file}"}
agents:
  reviewer:
    profile: code-reviewer
    model: opus
    tools: Read, Grep
gates:
  - {kind: command, run: "python -m unittest", timeout: 600}
  - deliverables
verify: branch
review: {max_rounds: 3, on_limit: accept}
tasks:
  - id: db
    title: Database schema
    deliverables: [db/schema.sql]
  - id: api
    body: |
      # Build the API
      Endpoints for orders.
    depends_on: [db]
    agent: backend
    files: [src/api/**]
    deliverables: [src/api/app.py]
    acceptance_criteria: [POST /orders returns 201]
    gates:
      - {kind: review, agents: [reviewer]}
    weight: 2
    status: In Progress
    script: {files: {src/api/app.py: "print('hi')\\n"}}
workflow:
  steps: [{id: check, sync: true}]
"""


def write(tmp_path: Path, text: str, name: str = "wavefront.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_full_file_settings(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path)
    assert config.name == "shop"
    assert config.source == path
    assert config.defaults.runner == "command"
    assert config.defaults.timeout == 900
    assert config.defaults.retries == 2
    assert config.limits.max_parallel == 4
    assert config.limits.per_runner == {"claude": 3}
    assert config.limits.max_cost_usd == 12.5
    assert config.runners["command"] == {"command": "echo {prompt_file}"}
    assert config.agents["reviewer"].profile == "code-reviewer"
    assert config.agents["reviewer"].tools == ["Read", "Grep"]
    assert config.agent_line("reviewer") == 15
    assert config.verify_mode == "branch"
    assert config.review.max_rounds == 3
    assert config.review.on_limit == "accept"
    assert config.workflow == {"steps": [{"id": "check", "sync": True}]}
    assert config.gate_specs == (
        GateSpec(
            "command", {"run": "python -m unittest", "timeout": 600}, SourceLocation(path, 20)
        ),
        GateSpec("deliverables", {}, SourceLocation(path, 21)),
    )
    assert [g.source for g in config.gate_specs] == [
        SourceLocation(path, 20),
        SourceLocation(path, 21),
    ]


def test_full_file_tasks(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    db, api = load_config(path).build_tasks()
    assert db.id == "db"
    assert db.title == "Database schema"
    assert db.source == SourceLocation(path, 25)
    assert db.dependencies == ()
    assert db.dependencies_source is None
    assert db.files == ("db/schema.sql",)
    assert api.title == "Build the API"  # first body line when no title is given
    assert api.source == SourceLocation(path, 28)
    assert api.dependencies == ("db",)
    assert api.dependencies_source == SourceLocation(path, 32)
    assert api.agent == "backend"
    assert api.files == ("src/api/**", "src/api/app.py")
    assert api.deliverables == ("src/api/app.py",)
    assert api.acceptance_criteria == ("POST /orders returns 201",)
    assert api.gates == (GateSpec("review", {"agents": ["reviewer"]}, SourceLocation(path, 38)),)
    assert api.weight == 2.0
    assert api.status is TaskStatus.RUNNING
    assert api.status_text == "In Progress"
    assert api.options.script == {"files": {"src/api/app.py": "print('hi')\n"}}


def test_minimal_and_empty_files(tmp_path: Path) -> None:
    empty = load_config(write(tmp_path, "", "empty.yaml"))
    assert empty.tasks == []
    assert empty.defaults.retries == 1
    assert empty.review.max_rounds == 2
    assert empty.verify_mode == "branch"
    minimal = load_config(write(tmp_path, "tasks:\n  - id: 1\n"))
    (task,) = minimal.build_tasks()
    assert (task.id, task.title) == ("1", "1")


def test_numbers_keep_the_text_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        tasks:
          - {id: 1.10, title: Ten}
          - {id: 1.2, title: Two, depends_on: [1.10, 3]}
          - {id: "4", title: Four, depends_on: 1.2}
        """,
    )
    ten, two, four = load_config(path).build_tasks()
    assert ten.id == "1.10"
    assert two.dependencies == ("1.10", "3")
    assert four.dependencies == ("1.2",)


def test_verify_defaults_to_merged_with_a_command_gate(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "gates: [{kind: command, run: make test}]\n"))
    assert config.verify_mode == "merged"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "tasks:\n  - id: a\n    dependson: [b]\n",
            3,
            "tasks[0]: unknown key 'dependson' (expected one of: id, title, body, depends_on,",
        ),
        ("nmae: x\n", 1, "unknown key 'nmae' (expected one of: version, name, backlog,"),
        ("version: 2\n", 1, "version: expected 1, got 2"),
        ("tasks:\n  - title: no id\n", 2, "tasks[0]: missing required key 'id'"),
        ("tasks:\n  - id: a\n    weight: 0\n", 3, "tasks[0].weight: expected greater than 0"),
        ("tasks:\n  - id: a\n    weight: heavy\n", 3, "tasks[0].weight: expected a valid number"),
        ("limits:\n  max_parallel: -1\n", 2, "limits.max_parallel: expected greater than 0"),
        (
            "limits:\n  per_runner: {claude: many}\n",
            2,
            "limits.per_runner.claude: expected a valid integer",
        ),
        (
            "defaults:\n  retires: 2\n",
            2,
            "defaults: unknown key 'retires' (expected one of: agent,",
        ),
        ("verify: always\n", 1, "verify: expected 'merged', 'branch' or 'none'"),
        ("review: {on_limit: ignore}\n", 1, "review.on_limit: expected 'needs-human' or 'accept'"),
        ("gates:\n  - {kind: command}\n", 2, "gates[0]: a command gate needs 'run'"),
        (
            "gates:\n  - {kind: lint}\n",
            2,
            "gates[0]: unknown gate kind 'lint' (expected one of: command, deliverables,",
        ),
        (
            "gates:\n  - x\n  - {kind: command, rnu: make}\n",
            2,
            "gates[0]: unknown gate kind 'x'",
        ),
        (
            "gates:\n  - deliverables\n  - {kind: command, run: make, rnu: x}\n",
            3,
            "gates[1]: unknown option 'rnu' for a command gate (expected one of: cwd, env,",
        ),
        ("gates:\n  - {kind: command, run: ''}\n", 2, "gates[0]: 'run' must be a command line"),
        (
            "gates:\n  - {kind: command, run: make, timeout: soon}\n",
            2,
            "gates[0]: 'timeout' must be a positive number of seconds, got 'soon'",
        ),
        (
            "agents:\n  rev:\n    profile: code-reviewer\n    modle: opus\n",
            4,
            "agents.rev: unknown key 'modle' (expected one of: profile, file, description,",
        ),
        (
            "tasks:\n  - id: a\n    gates: [{kind: human, prompt: ok, run: x}]\n",
            3,
            "tasks[0].gates[0]: unknown option 'run' for a human gate",
        ),
        ("tasks: {a: 1}\n", 1, "tasks: expected a valid list"),
        (
            "tasks:\n  - id: a\n    title: A\n    title: B\n",
            4,
            "key 'title' is written twice in the same mapping",
        ),
        ("- just\n- a list\n", 1, "expected a mapping of settings"),
        ("tasks:\n  - id: a\n  - id: [x]\n", 3, "tasks[1].id: expected a valid string"),
    ],
)
def test_errors_name_line_and_expectation(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: {message}"), str(info.value)


def test_yaml_syntax_error_is_a_backlog_error(tmp_path: Path) -> None:
    path = write(tmp_path, "tasks:\n  - id: a\n   title: b\n")
    with pytest.raises(BacklogError) as info:
        load_config(path)
    assert info.value.line == 3


def test_project_config_in_code() -> None:
    config = ProjectConfig()
    assert config.source is None
    assert config.build_tasks() == ()
    assert config.gate_specs == ()


# --- the native backlog format --------------------------------------------------------


def test_native_format_detection(tmp_path: Path) -> None:
    from wavefront.backlog import detect_format, native

    path = write(tmp_path, FULL)
    assert native.NAME == "wavefront"
    assert native.matches(path)
    assert native.matches(tmp_path / "release.wavefront.yml")
    assert native.matches(tmp_path)
    assert not native.matches(tmp_path / "tasks.yaml")
    assert native.discover(tmp_path) == [path]
    assert native.discover(tmp_path / "nowhere") == []
    assert detect_format(path) is native


def test_native_load(tmp_path: Path) -> None:
    from wavefront.backlog import load_backlog

    path = write(tmp_path, FULL)
    backlog = load_backlog(path)
    assert [t.id for t in backlog.tasks] == ["db", "api", "check"]  # workflow steps last
    assert backlog.files == (path,)
    assert backlog.formats == ("wavefront",)
    assert isinstance(backlog.config, ProjectConfig)
    assert backlog.config.name == "shop"
    # a directory holding wavefront.yaml loads the same file
    assert load_backlog(tmp_path).tasks == backlog.tasks


def test_native_includes_other_backlogs(tmp_path: Path) -> None:
    from wavefront.backlog import load_backlog

    other = tmp_path / "more"
    other.mkdir()
    write(
        other, "tasks:\n  - {id: docs, title: Write docs, depends_on: [api]}\n", "x.wavefront.yaml"
    )
    path = write(
        tmp_path,
        """\
        name: outer
        backlog: [more/x.wavefront.yaml]
        tasks:
          - {id: api, title: API}
        """,
    )
    backlog = load_backlog(path)
    assert [t.id for t in backlog.tasks] == ["api", "docs"]
    assert backlog.tasks[1].source == SourceLocation(other / "x.wavefront.yaml", 2)
    assert backlog.files == (path, other / "x.wavefront.yaml")
    assert backlog.config is not None and backlog.config.name == "outer"


def test_native_missing_include_names_the_line(tmp_path: Path) -> None:
    from wavefront.backlog import load_backlog

    path = write(tmp_path, "backlog:\n  - docs/stories\n  - nowhere\n")
    (tmp_path / "docs" / "stories").mkdir(parents=True)
    (tmp_path / "docs" / "stories" / "wavefront.yaml").write_text("tasks: []\n")
    with pytest.raises(ConfigError) as info:
        load_backlog(path)
    assert info.value.line == 3
    assert "backlog: 'nowhere' does not exist" in str(info.value)


def test_native_include_cycle(tmp_path: Path) -> None:
    from wavefront.backlog import load_backlog

    write(tmp_path, "backlog: [b.wavefront.yaml]\n", "a.wavefront.yaml")
    write(tmp_path, "backlog: [a.wavefront.yaml]\n", "b.wavefront.yaml")
    with pytest.raises(ConfigError, match="backlog includes itself"):
        load_backlog(tmp_path / "a.wavefront.yaml")
