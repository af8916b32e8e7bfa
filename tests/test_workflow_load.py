"""Workflow files at load time: bad input named by file, line and step; seed 004's shapes
compile to the same graph as the native syntax; templates load; `plan` marks growth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from wavefront.backlog import load_backlog
from wavefront.cli import wavefront
from wavefront.errors import ConfigError
from wavefront.model import Task
from wavefront.workflow.init import list_templates, template_path

BAD_STEPS = [
    # (what, workflow text, line, step named, words in the message)
    ("unknown agent", """\
steps:
  - id: build
    agent: wizard
""", 6, "build", "unknown agent 'wizard'"),
    ("artifact nothing produces", """\
steps:
  - id: a
    agent: architect
    outputs: [docs/a.md]
  - id: b
    agent: architect
    inputs: [docs/missing.md]
""", 10, "b", "'docs/missing.md' is produced by no step"),
    ("fan-in with no fan-out", """\
steps:
  - id: a
    agent: architect
  - id: gather
    agent: sdet
    fan_in: a
""", 9, "gather", "fan_in names a step that does not fan out"),
    ("branch label used twice", """\
steps:
  - id: analyze
    agent: architect
    analyzer: {labels: [big, small, Big]}
""", 7, "analyze", "branch label 'Big' is used twice"),
    ("loop without a bound", """\
steps:
  - id: build
    agent: architect
  - id: again
    agent: product-manager
    after: [build]
    analyzer: {labels: ["yes", "no"]}
    loop: {back_to: build, on_answer: "yes"}
""", 11, "again", "the loop has no bound"),
    ("cycle across steps", """\
steps:
  - id: a
    agent: architect
    after: [c]
  - id: b
    agent: architect
    after: [a]
  - id: c
    agent: architect
    after: [b]
""", 5, "a", "cycle: a -> b -> c -> a"),
    ("unknown key", """\
steps:
  - id: a
    agent: architect
    dependson: [b]
""", 7, "a", "unknown key 'dependson'"),
    ("when names no analyzer", """\
steps:
  - id: a
    agent: architect
  - id: b
    agent: architect
    when: {a: big}
""", 9, "b", "'a' is not an analyzer step"),
]

BAD_SEED_SHAPES = [
    ("fan-in with no fan-out", """\
fan_in:
  agent: sdet
  task: integration_testing
""", 1, "fan_in with no fan_out"),
    ("branch label used twice", """\
conditional_logic:
  analyzer: architect
  branches:
    - condition: high_complexity
      agent: full-stack-engineer
    - condition: high_complexity
      agent: documentation-writer
""", 6, "branch label 'high_complexity' is used twice"),
    ("unknown agent in a phase", """\
phases:
  - name: users_module
    agent: fastapi-backend-expert
    validator: sdet
""", 3, "unknown agent 'fastapi-backend-expert'"),
]


def write_config(root: Path, workflow_text: str) -> Path:
    body = "\n".join("  " + line if line else line for line in workflow_text.splitlines())
    path = root / "wavefront.yaml"
    path.write_text(f"version: 1\ndefaults: {{runner: script}}\nworkflow:\n{body}\n")
    return path


@pytest.mark.parametrize(("what", "text", "line", "step", "words"), BAD_STEPS,
                         ids=[case[0] for case in BAD_STEPS])
def test_bad_steps_are_named_by_file_line_and_step(tmp_path: Path, what: str, text: str,
                                                   line: int, step: str, words: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_backlog(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: step '{step}': "), message
    assert words in message


@pytest.mark.parametrize(("what", "text", "line", "words"), BAD_SEED_SHAPES,
                         ids=[case[0] for case in BAD_SEED_SHAPES])
def test_bad_seed_shapes_name_the_users_own_line(tmp_path: Path, what: str, text: str,
                                                 line: int, words: str) -> None:
    path = tmp_path / "pattern.workflow.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_backlog(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert words in str(caught.value)


def graph(tasks: tuple[Task, ...]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each task's dependencies and gate kinds: the shape a workflow compiles to."""
    return {t.id: (tuple(sorted(t.dependencies)), tuple(sorted(g.kind for g in t.gates)))
            for t in tasks}


SEED_AND_NATIVE = [
    ("parallel", """\
parallel_execution: true
max_concurrent: 2
steps:
  - {id: backend, agent: full-stack-engineer}
  - {id: frontend, agent: ux-designer}
""", """\
max_concurrent: 2
steps:
  - {id: backend, agent: full-stack-engineer}
  - {id: frontend, agent: ux-designer}
"""),
    ("handoff", """\
parallel_execution: false
handoff_artifacts: [migration_script, api_contract]
steps:
  - {id: migrate, agent: full-stack-engineer}
  - {id: api, agent: full-stack-engineer}
  - {id: ui, agent: ux-designer}
""", """\
steps:
  - {id: migrate, agent: full-stack-engineer, outputs: [.work/handoff/migration_script.md]}
  - {id: api, agent: full-stack-engineer, inputs: [.work/handoff/migration_script.md],
     outputs: [.work/handoff/api_contract.md]}
  - {id: ui, agent: ux-designer, inputs: [.work/handoff/api_contract.md]}
"""),
    ("sync points", """\
parallel_execution: true
sync_points: ["API contract definition", {name: Integration testing, gates: [deliverables]}]
steps:
  - {id: contract, agent: architect}
  - {id: backend, agent: full-stack-engineer, after: [API contract definition]}
  - {id: frontend, agent: ux-designer, after: [API contract definition]}
""", """\
steps:
  - {id: contract, agent: architect}
  - {id: api-contract-definition, sync: true, after: [contract]}
  - {id: backend, agent: full-stack-engineer, after: [api-contract-definition]}
  - {id: frontend, agent: ux-designer, after: [api-contract-definition]}
  - {id: integration-testing, sync: true, after: [backend, frontend, api-contract-definition],
     gates: [deliverables]}
"""),
    ("reviewers", """\
primary_agent: full-stack-engineer
reviewer_agents: [architect, sdet]
parallel_execution: true
""", """\
steps:
  - {id: primary, agent: full-stack-engineer, reviewers: [architect, sdet]}
"""),
    ("phases", """\
phases:
  - {name: users_module, agent: full-stack-engineer, validator: sdet}
  - {name: tasks_module, agent: full-stack-engineer, validator: sdet}
sequential: true
""", """\
steps:
  - {id: users_module, agent: full-stack-engineer, validator: sdet}
  - {id: tasks_module, agent: full-stack-engineer, validator: sdet, after: [users_module]}
"""),
    ("fan-out", """\
fan_out:
  agent: full-stack-engineer
  tasks: [api_gateway, user_service, task_service]
  parallel: true
fan_in:
  agent: sdet
  task: integration_testing
""", """\
steps:
  - {id: fan_out, agent: full-stack-engineer,
     for_each: [api_gateway, user_service, task_service]}
  - {id: integration_testing, agent: sdet, fan_in: fan_out}
"""),
    ("branching", """\
conditional_logic:
  analyzer: architect
  branches:
    - {condition: high_complexity, agent: full-stack-engineer}
    - {condition: simple_cleanup, agent: documentation-writer}
""", """\
steps:
  - {id: analyze, agent: architect, analyzer: {labels: [high_complexity, simple_cleanup]}}
  - {id: high-complexity, agent: full-stack-engineer, when: {analyze: high_complexity}}
  - {id: simple-cleanup, agent: documentation-writer, when: {analyze: simple_cleanup}}
"""),
]


@pytest.mark.parametrize(("pattern", "seed", "native"), SEED_AND_NATIVE,
                         ids=[case[0] for case in SEED_AND_NATIVE])
def test_seed_shapes_compile_like_the_native_syntax(tmp_path: Path, pattern: str, seed: str,
                                                    native: str) -> None:
    (tmp_path / "seed").mkdir()
    (tmp_path / "native").mkdir()
    seed_tasks = load_backlog(write_config(tmp_path / "seed", seed)).tasks
    native_tasks = load_backlog(write_config(tmp_path / "native", native)).tasks
    assert graph(seed_tasks) == graph(native_tasks)
    assert len(seed_tasks) >= 1


def test_a_fixed_fan_out_is_one_task_per_item_and_the_fan_in_waits_for_all(
        tmp_path: Path) -> None:
    path = tmp_path / "services.workflow.yaml"
    path.write_text(SEED_AND_NATIVE[5][1])
    tasks = {t.id: t for t in load_backlog(path).tasks}
    items = {"fan_out:api_gateway", "fan_out:user_service", "fan_out:task_service"}
    assert set(tasks) == {*items, "integration_testing"}
    assert set(tasks["integration_testing"].dependencies) == items
    assert tasks["fan_out:user_service"].source.line == 1


def test_every_template_loads_and_plans(tmp_path: Path) -> None:
    names = {t.name for t in list_templates()}
    assert {"standard", "multistage", "fullstack", "parallel", "handoff", "sync-points",
            "reviewers", "phases", "fan-out", "branching"} <= names
    for name in sorted(names):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "wavefront.yaml").write_text(template_path(name).read_text())
        backlog = load_backlog(folder)
        assert backlog.tasks, name
        assert all(t.options.workflow is not None for t in backlog.tasks)
        assert yaml.safe_load(template_path(name).read_text())["workflow"]["steps"]


def test_plan_marks_what_grows_at_run_time(tmp_path: Path) -> None:
    runner = CliRunner()
    written = runner.invoke(wavefront, ["init", "--template", "standard", "-C", str(tmp_path)])
    assert written.exit_code == 0, written.output
    shown = runner.invoke(wavefront, ["plan", "-C", str(tmp_path), "-o", "json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout[shown.stdout.index("{"):])
    growing = {t["id"] for t in data["tasks"] if t["grows_at_run_time"]}
    assert growing == {"implement", "tests"}
    table = runner.invoke(wavefront, ["plan", "-C", str(tmp_path)])
    assert re.search(r"grows at run time.*implement, tests", table.stdout)
    again = runner.invoke(wavefront, ["init", "--template", "standard", "-C", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    unknown = runner.invoke(wavefront, ["init", "--template", "nope", "-C", str(tmp_path)])
    assert unknown.exit_code == 2 and "standard" in unknown.output


def test_fan_out_tasks_are_named_by_their_item(tmp_path: Path) -> None:
    (tmp_path / "wavefront.yaml").write_text(template_path("standard").read_text())
    tasks = {t.id: t for t in load_backlog(tmp_path).tasks}
    # The placeholder that grows at run time stands for every story, not for "{item}".
    titles = [t.title for t in tasks.values()]
    assert not [t for t in titles if "{item" in t], titles
    assert tasks["implement"].title.startswith("Phase 2, implementation of each story.")
    assert tasks["implement"].title.endswith("(one task per story in docs/stories)")
    # A title taken from a prompt is its first line, never cut inside a word.
    assert all(len(t.split(" (one task per")[0]) <= 72 for t in titles)
    cut = [t.split(" (one task per")[0] for t in titles if "…" in t]
    assert cut and all(t.endswith("…") and not t[:-1].endswith((",", " ")) for t in cut)
    for task in tasks.values():
        shown = task.title.split(" (one task per")[0]
        if shown.endswith("…"):
            last = shown[:-1].split()[-1]
            assert re.search(rf"(^|\s){re.escape(last)}(\s|[,.;:]|$)", task.body), \
                "a title was cut inside a word"


def test_a_fixed_fan_out_names_each_task_by_its_item(tmp_path: Path) -> None:
    path = tmp_path / "wavefront.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "workflow": {"steps": [
        {"id": "svc", "agent": "architect", "title": "Build the {item} service",
         "for_each": {"items": ["billing", "search"]}},
        {"id": "doc", "agent": "architect", "title": "Document {item_title}",
         "for_each": {"items": ["api"]}},
        {"id": "plain", "agent": "architect", "for_each": {"items": ["x"]},
         "prompt": "Check the item thoroughly and report every problem found with it."}]}}))
    titles = {t.id: t.title for t in load_backlog(path).tasks}
    assert titles["svc:billing"] == "Build the billing service"
    assert titles["svc:search"] == "Build the search service"
    assert titles["doc:api"] == "Document api"
    assert titles["plain:x"] == ("Check the item thoroughly and report every problem found "
                                 "with it.")
