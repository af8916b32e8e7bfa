"""The planning commands of the `wavefront` CLI on real backlog files in tmp_path."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from conftest import FIXTURES, needs_shared_fixtures
from wavefront.cli import wavefront


def write_story(
    root: Path, story_id: str, deps: str = "None", status: str = "Draft", title: str = ""
) -> Path:
    folder = root / "docs" / "stories"
    folder.mkdir(parents=True, exist_ok=True)
    title = title or f"Story number {story_id}"
    path = folder / f"{story_id}.{title.lower().replace(' ', '-')}.md"
    path.write_text(
        f"# Story {story_id}: {title}\n\n"
        f"## Status\n\n{status}\n\n"
        f"**Dependencies**: {deps}\n\n"
        "## Acceptance Criteria\n\n1. It works\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """1.1 <- 1.2 <- 1.3, 1.1 <- 2.1, and 2.2 alone; 1.1 is done."""
    write_story(tmp_path, "1.1", status="Done")
    write_story(tmp_path, "1.2", "1.1")
    write_story(tmp_path, "1.3", "1.2")
    write_story(tmp_path, "2.1", "1.1")
    write_story(tmp_path, "2.2")
    return tmp_path


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(wavefront, [str(a) for a in args])


def assert_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1  # one line
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------- plan


def test_plan_table_shows_waves_critical_path_and_counts(repo: Path) -> None:
    result = run("plan", "-C", repo)
    assert result.exit_code == 0, result.output
    for task_id in ("1.1", "1.2", "1.3", "2.1", "2.2"):
        assert task_id in result.stdout
    assert "critical path (*): 1.1 -> 1.2 -> 1.3 (length 3)" in result.stdout
    assert "5 tasks in 3 waves; max parallelism 2; done already 1" in result.stdout
    assert result.stderr.startswith("read stories: docs/stories/1.1.")  # discovered, one line
    assert result.stderr.count("\n") == 1


def test_plan_json(repo: Path) -> None:
    result = run("plan", "-C", repo, "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["waves"] == [["1.1", "2.2"], ["1.2", "2.1"], ["1.3"]]
    assert data["critical_path"] == ["1.1", "1.2", "1.3"]
    by_id = {task["id"]: task for task in data["tasks"]}
    assert by_id["1.3"]["dependencies"] == ["1.2"]
    assert by_id["1.1"]["priority"] == 3
    assert by_id["1.1"]["status"] == "done"
    assert all(task["agent"] for task in data["tasks"])


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("mermaid", ["flowchart LR", 'subgraph wave0["Wave 0"]', "t0 ==> t1", "t0 --> t3"]),
        ("dot", ["digraph plan {", '"1.1" -> "1.2" [style=bold];', '"1.1" -> "2.1";']),
    ],
)
def test_plan_graph_outputs(repo: Path, output: str, expected: list[str]) -> None:
    result = run("plan", "-C", repo, "-o", output)
    assert result.exit_code == 0, result.output
    for line in expected:
        assert line in result.stdout


def test_plan_with_backlog_path_does_not_announce_discovery(repo: Path) -> None:
    result = run("plan", repo / "docs" / "stories", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    result = run("plan", "-b", repo / "docs" / "stories", "-o", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["tasks"]) == 5


@pytest.mark.parametrize(
    ("args", "tasks", "skipped"),
    [
        (["2.*"], ["2.1", "2.2"], []),  # 2.1's dependency 1.1 is done: not out of scope
        (["1.3", "--expand-scope"], ["1.2", "1.3"], []),
        (["1.3", "2.2", "--skip-out-of-scope"], ["2.2"], ["1.3"]),
        (["1.2-1.3"], ["1.2", "1.3"], []),
        (["epic:2"], ["2.1", "2.2"], []),
    ],
)
def test_plan_scope(repo: Path, args: list[str], tasks: list[str], skipped: list[str]) -> None:
    result = run("plan", "-C", repo, "-o", "json", *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [task["id"] for task in data["tasks"]] == tasks
    assert data["skipped"] == skipped


def test_out_of_scope_without_terminal_tells_which_flag(repo: Path) -> None:
    assert_error(
        run("plan", "-C", repo, "1.3"),
        "task 1.3 depends on 1.2, which is not in the scope",
        "pass --expand-scope or --skip-out-of-scope",
    )


def test_scope_matching_nothing(repo: Path) -> None:
    assert_error(run("plan", "-C", repo, "7.*"), "scope '7.*' matches no task")


def test_expand_and_skip_exclude_each_other(repo: Path) -> None:
    result = run("plan", "-C", repo, "--expand-scope", "--skip-out-of-scope")
    assert result.exit_code == 2
    assert "exclude each other" in result.stderr


def test_implied_dependencies_flags(repo: Path) -> None:
    write_story(repo, "0.1")
    result = run("plan", "-C", repo, "-o", "json", "--implicit-deps", "--foundation-deps")
    assert result.exit_code == 0, result.output
    deps = {task["id"]: task["dependencies"] for task in json.loads(result.stdout)["tasks"]}
    assert sorted(deps["2.2"]) == ["0.1", "2.1"]
    assert "0.1" in deps["1.1"]


# -------------------------------------------------------------------------- errors


def test_missing_dependency_names_file_and_line(tmp_path: Path) -> None:
    write_story(tmp_path, "1.1")
    bad = write_story(tmp_path, "1.2", "9.9")
    write_story(tmp_path, "1.3")
    result = run("validate", "-C", tmp_path)
    assert result.exit_code == 2
    # A single problem is one error line: file, line, what is wrong.
    assert f"error: {bad}:" in result.stderr
    assert "dependency '9.9' of task '1.2' is not in the backlog (known: 1.1, 1.2, 1.3)" in (
        result.stderr
    )
    line = int(result.stderr.split(f"error: {bad}:")[1].split(":")[0])
    assert bad.read_text().splitlines()[line - 1].startswith("**Dependencies**")
    assert "Traceback" not in result.output


def test_cycle_shows_the_whole_path(tmp_path: Path) -> None:
    write_story(tmp_path, "1.2", "1.4")
    write_story(tmp_path, "1.4", "1.2")
    assert_error(run("plan", "-C", tmp_path), "dependency cycle 1.2 -> 1.4 -> 1.2")


def test_no_backlog_found(tmp_path: Path) -> None:
    assert_error(run("plan", "-C", tmp_path), "no backlog found")


def test_unknown_format(repo: Path) -> None:
    assert_error(run("plan", "-C", repo, "--format", "nope"), "unknown format 'nope'")


# ------------------------------------------------------------------ validate/next/parallel


def test_validate_ok(repo: Path) -> None:
    result = run("validate", "-C", repo)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 5 tasks in 5 files, 5 in scope, 3 waves")


def test_next_takes_the_longest_remaining_path(repo: Path) -> None:
    result = run("next", "-C", repo, "-o", "id")
    assert result.exit_code == 0, result.output
    assert result.stdout == "1.2\n"


def test_next_skips_tasks_in_progress(repo: Path) -> None:
    write_story(repo, "1.2", "1.1", status="In Progress", title="Story number 1.2")
    result = run("next", "-C", repo, "-o", "id")
    assert result.stdout == "2.1\n"  # 2.1 and 2.2 tie on priority; id order decides


def test_parallel_lists_everything_ready(repo: Path) -> None:
    result = run("parallel", "-C", repo, "-o", "json")
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == ["1.2", "2.1", "2.2"]


def test_nothing_ready_when_all_done(tmp_path: Path) -> None:
    write_story(tmp_path, "1.1", status="Done")
    result = run("next", "-C", tmp_path)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "nothing to do: the only task in scope is done" in result.stderr


# --------------------------------------------------------------------------- agents


def test_agents_without_backlog_lists_profiles(tmp_path: Path) -> None:
    result = run("agents", "-C", tmp_path)
    assert result.exit_code == 0, result.output
    assert "full-stack-engineer" in result.stdout
    assert "Assignments" not in result.stdout


def test_agents_with_backlog_assigns_every_task(repo: Path) -> None:
    result = run("agents", "-C", repo)
    assert result.exit_code == 0, result.output
    assert "Assignments" in result.stdout
    for task_id in ("1.1", "1.2", "1.3", "2.1", "2.2"):
        assert task_id in result.stdout.split("Assignments", 1)[1]


# ---------------------------------------------------------------------- help, version


def test_every_command_and_option_has_help() -> None:
    assert wavefront.help
    for name, command in wavefront.commands.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts}"
        result = run(name, "--help")
        assert result.exit_code == 0
        reads_backlog = any(p.name == "backlogs" for p in command.params)
        assert ("--backlog" in result.stdout) == reads_backlog, name


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("wavefront, version ")


def test_module_entry_point_in_a_real_process(tmp_path: Path) -> None:
    write_story(tmp_path, "1.1", "3.3")
    done = subprocess.run(
        [sys.executable, "-m", "wavefront", "plan", "-C", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert "dependency '3.3' of task '1.1'" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------- fixtures

# Fixtures that cannot be planned, and the error each must give; every other fixture
# repository must plan cleanly.
BROKEN_FIXTURES: dict[str, str] = {
    "openagents-tasks/Agentz360__secure-OpenAgentsControl": "no backlog found",
}
# Fixtures with problems that leave the rest plannable: plan warns and answers for the rest.
FIXTURE_PROBLEMS: dict[str, str] = {
    "stories-with-deps/salacoste__openapi-mcp-swagger": "duplicate task id '9.1'",
}


def _fixture_repos() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(
        repo
        for kind in FIXTURES.iterdir()
        if kind.is_dir() and kind.name != "agents"
        for repo in kind.iterdir()
        if repo.is_dir()
    )


@pytest.mark.parametrize("fixture", _fixture_repos(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plan_on_fixture(fixture: Path) -> None:
    name = f"{fixture.parent.name}/{fixture.name}"
    result = run("plan", "-C", fixture, "--expand-scope", "-o", "json")
    if name in BROKEN_FIXTURES:
        assert_error(result, BROKEN_FIXTURES[name])
        return
    assert result.exit_code == 0, result.output
    if name in FIXTURE_PROBLEMS:
        assert "warning: " in result.stderr and FIXTURE_PROBLEMS[name] in result.stderr
    else:
        assert "warning:" not in result.stderr
    data = json.loads(result.stdout)
    tasks = {task["id"]: task for task in data["tasks"]}
    assert tasks
    # The plan of real data keeps its invariants: dependencies come in earlier waves,
    # the critical path is a chain of dependencies, priorities cover the task itself.
    for task in tasks.values():
        for dependency in task["dependencies"]:
            assert tasks[dependency]["wave"] < task["wave"]
        assert task["priority"] >= task["weight"]
    path = data["critical_path"]
    for before, after in itertools.pairwise(path):
        assert before in tasks[after]["dependencies"]
    assert 0 < len(path) <= len(data["waves"])
    table = run("plan", "-C", fixture, "--expand-scope")
    assert table.exit_code == 0
    waves = len(data["waves"])
    assert f"{len(tasks)} tasks in {waves} wave{'s' if waves > 1 else ''}" in table.stdout


# agent fixture repository -> the profiles read from its files (besides the built-in ones);
# the plugin and category folders of the last two are not where agent CLIs look.
AGENT_FIXTURES: dict[str, dict[str, str]] = {
    "0xMiden__note-transport-service": {"code-reviewer": ".claude/agents/code-reviewer.md"},
    "anomalyco__opencode": {
        "docs": ".opencode/agent/docs.md",
        "duplicate-pr": ".opencode/agent/duplicate-pr.md",
    },
    "darrenhinde__OpenAgentsControl": {
        "coder-agent": ".opencode/agent/subagents/code/coder-agent.md",
        "openagent": ".opencode/agent/core/openagent.md",
        "task-manager": ".opencode/agent/subagents/core/task-manager.md",
    },
    "VoltAgent__awesome-claude-code-subagents": {},
    "wshobson__agents": {},
}


@needs_shared_fixtures
@pytest.mark.parametrize(("fixture", "expected"), sorted(AGENT_FIXTURES.items()))
def test_agents_on_fixture(fixture: str, expected: dict[str, str]) -> None:
    result = run("agents", "-C", FIXTURES / "agents" / fixture, "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    found = {p["name"]: p["origin"] for p in data["profiles"] if p["origin"] != "builtin"}
    assert found == expected
    assert data["assignments"] is None
    table = run("agents", "-C", FIXTURES / "agents" / fixture)
    assert table.exit_code == 0
    for name in expected:
        assert name in table.stdout


# ---------------------------------------------------------------- the scope question


def _answer_on_terminal(repo: Path, answer: str) -> subprocess.CompletedProcess[str]:
    """Run `plan 1.3` with stdin and stderr on a pseudo-terminal and answer the question."""
    import os
    import pty
    import select

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "wavefront", "plan", "-C", str(repo), "-o", "json", "1.3"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    seen = b""
    while b"Enter your choice" not in seen:
        ready, _, _ = select.select([controller], [], [], 30)
        assert ready, f"no question asked; saw {seen!r}"
        seen += os.read(controller, 4096)
    os.write(controller, answer.encode() + b"\n")
    stdout, _ = process.communicate(timeout=60)
    os.close(controller)
    assert "Task 1.3 depends on story 1.2, which is not in the current scope." in seen.decode()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, "")


@pytest.mark.parametrize(
    ("answer", "code", "tasks"),
    [("expand", 0, ["1.2", "1.3"]), ("skip", 0, []), ("cancel", 1, None)],
)
def test_out_of_scope_question_on_a_terminal(
    repo: Path, answer: str, code: int, tasks: list[str] | None
) -> None:
    done = _answer_on_terminal(repo, answer)
    assert done.returncode == code
    if tasks is not None:
        assert [task["id"] for task in json.loads(done.stdout)["tasks"]] == tasks


def test_plan_table_of_a_large_backlog_shows_waves(repo: Path) -> None:
    result = run("plan", "-C", repo, "--rows", "3")
    assert result.exit_code == 0, result.output
    assert "Plan (by wave)" in result.stdout
    assert "1.1*, 2.2" in result.stdout
    assert "one row per wave (5 tasks); -o json lists every task" in result.stdout
    assert "Story number 1.3" not in result.stdout  # titles only in the full table
    full = run("plan", "-C", repo, "--rows", "0")
    assert "Story number 1.3" in full.stdout


def test_the_plan_table_fits_80_columns_without_folding_ids_or_agent_names(
        tmp_path: Path) -> None:
    words = "Refactor the configuration loader so every provider reads one catalog"
    tasks = [{"id": f"auth/T0{n}{m}", "title": words, "agent": "integration-engineer"}
             for n in range(1, 4) for m in range(1, 5)]
    tasks.append({"id": "auth/T099", "title": words, "agent": "integration-engineer",
                  "depends_on": [task["id"] for task in tasks]})
    (tmp_path / "wavefront.yaml").write_text(json.dumps({"version": 1, "tasks": tasks}))
    narrow = CliRunner().invoke(wavefront, ["plan", "-C", str(tmp_path)], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if "integration-engineer" in line]
    assert len(rows) == len(tasks)  # each name whole, on its task's first line
    table = narrow.stdout.split("critical path")[0]
    for task in tasks[:-1]:  # whole in its own row and in the last task's dependencies
        assert table.count(str(task["id"])) == 2, task["id"]
    wide = CliRunner().invoke(wavefront, ["plan", "-C", str(tmp_path), "auth/T011"],
                              env={"COLUMNS": "300"})
    assert max(len(line) for line in wide.stdout.splitlines()) < 150  # no wider than it needs


# ------------------------------------------------- every problem, and the sound rest


def test_validate_lists_every_problem_grouped_by_file(tmp_path: Path) -> None:
    write_story(tmp_path, "1.1")
    one = write_story(tmp_path, "1.2", "9.9")
    two = write_story(tmp_path, "1.3", "1.4")
    three = write_story(tmp_path, "1.4", "1.3")
    write_story(tmp_path, "1.5", "8.8")
    result = run("validate", "-C", tmp_path)
    assert result.exit_code == 2
    out = result.stderr
    for path in (one, two):
        assert f"\n{path}\n  {path}:" in f"\n{out}"
    assert "dependency '9.9' of task '1.2'" in out
    assert "dependency '8.8' of task '1.5'" in out
    assert "dependency cycle 1.3 -> 1.4 -> 1.3" in out
    assert out.rstrip().endswith("3 problems in 3 files")
    assert "more problems" not in out
    assert f"\n{three}\n" not in out  # the cycle is named once, where its first edge is

    as_json = run("validate", "-C", tmp_path, "-o", "json")
    assert as_json.exit_code == 2
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and report["tasks"] == 5
    by_task = {tuple(p["tasks"]): p for p in report["problems"]}
    assert by_task[("1.2",)]["file"] == str(one)
    assert one.read_text().splitlines()[by_task[("1.2",)]["line"] - 1].startswith("**Dep")
    assert set(by_task) == {("1.2",), ("1.5",), ("1.3", "1.4")}


def test_validate_json_of_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "wavefront.yaml").write_text(
        "version: 1\ntasks:\n  - id: a\n    title: A\n    colour: red\n"
    )
    result = run("validate", "-C", tmp_path, "-o", "json")
    assert result.exit_code == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["file"].endswith("wavefront.yaml") and problem["line"] == 5
    assert "colour" in problem["message"]


def test_read_only_queries_answer_for_the_sound_part(tmp_path: Path) -> None:
    write_story(tmp_path, "1.1")
    write_story(tmp_path, "1.2", "1.1")
    write_story(tmp_path, "2.1", "9.9")  # unknown dependency
    write_story(tmp_path, "2.2", "2.1")  # waits for a task with a problem
    write_story(tmp_path, "3.1")
    nxt = run("next", "-C", tmp_path, "-o", "id")
    assert nxt.exit_code == 0, nxt.output
    assert nxt.stdout.strip() == "1.1"
    assert "warning: " in nxt.stderr and "dependency '9.9' of task '2.1'" in nxt.stderr
    assert "without the 2 tasks they touch" in nxt.stderr
    par = run("parallel", "-C", tmp_path, "-o", "id")
    assert par.exit_code == 0
    assert par.stdout.split() == ["1.1", "3.1"]
    plan = run("plan", "-C", tmp_path, "-o", "json")
    assert plan.exit_code == 0
    assert {t["id"] for t in json.loads(plan.stdout)["tasks"]} == {"1.1", "1.2", "3.1"}


def test_config_of_settings_only_and_the_discovered_backlog_combine(tmp_path: Path) -> None:
    from wavefront.backlog.load import load_and_plan

    write_story(tmp_path, "1.1")
    write_story(tmp_path, "1.2", "1.1")
    (tmp_path / "wavefront.yaml").write_text("version: 1\ndefaults:\n  runner: codex\n")
    result = run("validate", "-C", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 2 tasks in 3 files")
    loaded = load_and_plan(root=tmp_path)
    assert loaded.backlog.config is not None and loaded.backlog.config.defaults.runner == "codex"
    # named paths still get the repository's settings
    named = load_and_plan([str(tmp_path / "docs" / "stories")], root=tmp_path)
    assert [t.id for t in named.backlog.tasks] == ["1.1", "1.2"]
    assert named.backlog.config is not None and named.backlog.config.defaults.runner == "codex"


def test_no_tasks_is_a_warning_with_exit_1(tmp_path: Path) -> None:
    (tmp_path / "wavefront.yaml").write_text("version: 1\ndefaults:\n  runner: codex\n")
    result = run("validate", "-C", tmp_path)
    assert result.exit_code == 1
    assert "warning: no tasks found in" in result.stderr
    assert "ok:" not in result.stdout


def test_bmad_sub_stories_are_distinct_tasks(tmp_path: Path) -> None:
    for number in ("4.3.1", "4.3.2", "4.3.3"):
        write_story(tmp_path, number, title=f"Part {number}")
    stories_dir = tmp_path / "docs" / "stories"
    (stories_dir / "4.3.1-course-correction-request.md").write_text("# Story 4.3.1: notes\n")
    result = run("validate", "-C", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 3 tasks in 3 files")


def test_next_lists_the_ready_tasks_with_the_one_to_start_first(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1.1 is done: 1.2, 2.1 and 2.2 are ready; 1.2 heads the longest remaining path
    as_json = run("next", "-C", repo, "-o", "json")
    assert as_json.exit_code == 0
    rows = json.loads(as_json.stdout)
    assert [row["id"] for row in rows] == ["1.2", "2.1", "2.2"]
    assert [row["next"] for row in rows] == [True, False, False]
    assert "3 tasks ready; first by the longest remaining critical path" in as_json.stderr
    table = run("next", "-C", repo)
    assert "1.2 (next)" in table.stdout and "2.2" in table.stdout
    assert run("next", "-C", repo, "-o", "id").stdout == "1.2\n"
    monkeypatch.chdir(repo)  # files named from where the user is
    narrow = CliRunner().invoke(wavefront, ["next"], env={"COLUMNS": "80"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    for row in rows:  # the id, the agent and the file each whole, on a line
        assert row["id"] in narrow.stdout and row["agent"] in narrow.stdout
        assert Path(row["source"]).relative_to(repo).as_posix() in narrow.stdout, row


def test_validate_lists_every_unreadable_file_of_every_backlog(tmp_path: Path) -> None:
    stories = tmp_path / "docs" / "stories"
    stories.mkdir(parents=True)
    (stories / "1.1.login.md").write_text("# Story 1.1: Login\n\n## Story\n\nLog in.\n")
    (stories / "1.2.broken.md").write_bytes(b"\xff\xfe not text\n")
    (stories / "1.3.export.md").write_bytes(b"# Story 1.3: Export\n\n\xff\n")
    tasks = tmp_path / ".tmp" / "tasks"
    for feature in ("auth", "billing"):
        (tasks / feature).mkdir(parents=True)
    (tasks / "auth" / "task.json").write_text('{"id": "auth", "name": "Auth",\n "x": 1\n')
    (tasks / "billing" / "task.json").write_text(
        '{"id": "billing", "name": "Billing", "status": "active", "objective": "Bill"}')
    (tasks / "billing" / "subtask_01.json").write_text(
        '{"id": "billing-01", "seq": "01", "title": "T", "status": "pending",\n'
        ' "depends_on": 5}')
    args = ["validate", "docs/stories", ".tmp/tasks", "-C", str(tmp_path)]
    shown = CliRunner().invoke(wavefront, args)
    assert shown.exit_code == 2
    listed = [line.strip() for line in shown.stderr.splitlines() if line.startswith("  ")]
    assert listed == [
        f"{stories}/1.2.broken.md:1: expected UTF-8 text (found undecodable bytes)",
        f"{stories}/1.3.export.md:3: expected UTF-8 text (found undecodable bytes)",
        f"{tasks}/auth/task.json:3: invalid JSON: Expecting ',' delimiter",
        f"{tasks}/billing/subtask_01.json:2: depends_on: expected a valid list, got 5",
    ]
    assert shown.stderr.rstrip().endswith("4 problems in 4 files")
    assert "Traceback" not in shown.output
    as_json = CliRunner().invoke(wavefront, [*args, "-o", "json"])
    assert as_json.exit_code == 2
    report = json.loads(as_json.stdout)
    assert [(Path(p["file"]).name, p["line"]) for p in report["problems"]] == [
        ("1.2.broken.md", 1), ("1.3.export.md", 3), ("task.json", 3), ("subtask_01.json", 2)]
    assert report["tasks"] == 1  # the one story that could be read is still counted
