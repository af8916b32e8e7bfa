"""The bundled demo project (`wavefront demo`): its stories, scripted solutions and settings.

The example must hold together on its own: every story well formed, the graph wide enough to
show parallel work and a file overlap, and every solution real code whose tests pass when
the stories are applied the way the engine applies them (each on top of its dependencies,
and all of them in dependency order). The stories are read here with a few regexes on
purpose: this checks the example, the real loaders have their own tests.
"""

from __future__ import annotations

import asyncio
import graphlib
import itertools
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

import wavefront
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.script import ScriptRunner
from wavefront.model import AgentResult, SourceLocation, Task

EXAMPLE = Path(wavefront.__file__).parent / "examples" / "bookshelf"
PROJECT = EXAMPLE / "project"
SOLUTIONS = EXAMPLE / "solutions"
TEST_COMMAND = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
MIN_FINAL_TESTS = 25

_HEADING = re.compile(r"^# Story (?P<id>\d+\.\d+): (?P<title>\S.*)$", re.MULTILINE)
_DEPENDENCIES = re.compile(r"^\*\*Dependencies\*\*:\s*(?P<value>.*)$", re.MULTILINE)
_EPIC = re.compile(r"^\*\*Epic\*\*:\s*\S", re.MULTILINE)
_SECTION = re.compile(r"^## (?P<name>.+)$", re.MULTILINE)
_CRITERION = re.compile(r"^\d+\.\s+\S", re.MULTILINE)
_BACKTICKED = re.compile(r"^-\s+`(?P<path>[^`]+)`", re.MULTILINE)
_RAN = re.compile(r"^Ran (?P<count>\d+) tests? in ", re.MULTILINE)


@dataclass(frozen=True)
class Story:
    id: str
    path: Path
    title: str
    dependencies: tuple[str, ...]
    sections: dict[str, str]

    @property
    def criteria(self) -> list[str]:
        return _CRITERION.findall(self.sections.get("Acceptance Criteria", ""))

    @property
    def files(self) -> set[str]:
        return set(_BACKTICKED.findall(self.sections.get("Files", "")))


def _parse_story(path: Path) -> Story:
    text = path.read_text(encoding="utf-8")
    heading = _HEADING.search(text)
    assert heading is not None, f"{path.name}: no '# Story X.Y: Title' heading"
    deps = _DEPENDENCIES.search(text)
    assert deps is not None, f"{path.name}: no **Dependencies** line"
    value = deps["value"].strip()
    dependencies = () if value.lower() == "none" else tuple(d.strip() for d in value.split(","))
    marks = list(_SECTION.finditer(text))
    sections = {
        mark["name"].strip(): text[
            mark.end() : marks[i + 1].start() if i + 1 < len(marks) else None
        ]
        for i, mark in enumerate(marks)
    }
    return Story(heading["id"], path, heading["title"], dependencies, sections)


@cache
def _stories() -> dict[str, Story]:
    parsed = [_parse_story(p) for p in sorted((PROJECT / "docs" / "stories").glob("*.md"))]
    return {story.id: story for story in parsed}


def _order() -> list[str]:
    """A topological order of the stories (graphlib keeps it the same on every run)."""
    graph = {story.id: story.dependencies for story in _stories().values()}
    return list(graphlib.TopologicalSorter(graph).static_order())


def _ancestors(story_id: str) -> set[str]:
    seen: set[str] = set()
    pending = list(_stories()[story_id].dependencies)
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(_stories()[current].dependencies)
    return seen


def _solution_files(story_id: str) -> list[str]:
    root = SOLUTIONS / story_id / "files"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _script(story_id: str) -> dict[str, Any] | None:
    path = SOLUTIONS / story_id / "script.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def _fresh_project(tmp_path: Path) -> Path:
    target = tmp_path / "bookshelf"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _apply(project: Path, story_id: str, only: list[str] | None = None) -> None:
    """Write a story's solution files over the project, as the scripted agent does."""
    root = SOLUTIONS / story_id / "files"
    for relative in only if only is not None else _solution_files(story_id):
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)


def _run_tests(project: Path) -> int:
    """Run the project's own test command; return how many tests ran (all must pass)."""
    result = subprocess.run(
        TEST_COMMAND,
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ran = _RAN.search(result.stderr)
    assert ran is not None, result.stderr[-2000:]
    return int(ran["count"])


# ------------------------------------------------------------------------------ stories


def test_ten_stories_named_by_their_ids() -> None:
    stories = _stories()
    assert len(stories) == 10
    for story in stories.values():
        assert story.path.name.startswith(f"{story.id}."), story.path.name


@pytest.mark.parametrize("story_id", sorted(_stories()))
def test_story_has_the_seed_sections(story_id: str) -> None:
    story = _stories()[story_id]
    text = story.path.read_text(encoding="utf-8")
    assert _EPIC.search(text), f"{story_id}: no **Epic** line"
    assert list(story.sections) == [
        "Status",
        "Story",
        "Acceptance Criteria",
        "Files",
        "Dev Notes",
    ]
    assert story.sections["Status"].strip() == "Not Started"
    narrative = story.sections["Story"]
    for part in ("**As a**", "**I want**", "**so that**"):
        assert part in narrative, f"{story_id}: story lacks {part}"
    assert len(story.criteria) >= 3
    assert story.files, f"{story_id}: Files lists no paths"
    assert story.sections["Dev Notes"].strip()


def test_dependency_graph_shows_parallel_work() -> None:
    stories = _stories()
    for story in stories.values():
        for dependency in story.dependencies:
            assert dependency in stories, f"{story.id}: unknown dependency {dependency}"
    order = _order()  # raises graphlib.CycleError on a cycle
    wave: dict[str, int] = {}
    for story_id in order:
        deps = stories[story_id].dependencies
        wave[story_id] = 1 + max((wave[d] for d in deps), default=-1)
    widths = [list(wave.values()).count(n) for n in range(max(wave.values()) + 1)]
    assert widths[0] == 1, "one foundation story first"
    assert sum(width >= 3 for width in widths) >= 2, f"waves too narrow: {widths}"
    assert max(wave.values()) + 1 in (4, 5), "the critical path is 4-5 stories"
    dependents = {d for story in stories.values() for d in story.dependencies}
    beside = [
        s.id for s in stories.values() if s.dependencies == ("0.1",) and s.id not in dependents
    ]
    assert beside, "a story that needs only 0.1 runs beside the long chain"


def test_two_independent_stories_share_a_file() -> None:
    stories = _stories()
    pairs = [
        (a, b)
        for a in stories
        for b in stories
        if a < b
        and a not in _ancestors(b)
        and b not in _ancestors(a)
        and stories[a].files & stories[b].files
    ]
    assert pairs == [("3.1", "3.2")]
    assert stories["3.1"].files & stories["3.2"].files == {"bookshelf/cli.py"}


# ---------------------------------------------------------------------------- solutions


def test_every_story_has_a_solution_and_no_solution_lacks_a_story() -> None:
    folders = {p.name for p in SOLUTIONS.iterdir() if p.is_dir()}
    assert folders == set(_stories())


@pytest.mark.parametrize("story_id", sorted(_stories()))
def test_solution_files_are_declared_in_the_story(story_id: str) -> None:
    written = set(_solution_files(story_id))
    assert written, f"{story_id}: empty solution"
    undeclared = written - _stories()[story_id].files
    assert not undeclared, f"{story_id}: Files section lacks {sorted(undeclared)}"
    assert any(path.startswith("tests/test_") for path in written), f"{story_id}: no tests"


def test_only_earlier_stories_files_are_rewritten() -> None:
    """A solution may overwrite a file only if a story it depends on wrote it."""
    writers: dict[str, list[str]] = {}
    for story_id in _order():
        for path in _solution_files(story_id):
            writers.setdefault(path, []).append(story_id)
    for path, ids in writers.items():
        for earlier, later in itertools.pairwise(ids):
            assert earlier in _ancestors(later), f"{path}: {later} rewrites {earlier}'s file"
    starting = {p.relative_to(PROJECT).as_posix() for p in PROJECT.rglob("*") if p.is_file()}
    assert not starting & set(writers), "solutions must not overwrite the starting files"


@pytest.mark.slow
def test_all_stories_in_dependency_order_keep_the_suite_green(tmp_path: Path) -> None:
    project = _fresh_project(tmp_path)
    counts = []
    for story_id in _order():
        _apply(project, story_id)
        counts.append(_run_tests(project))
    assert counts == sorted(set(counts)), f"every story adds tests: {counts}"
    assert counts[-1] >= MIN_FINAL_TESTS


@pytest.mark.slow
@pytest.mark.parametrize("story_id", sorted(_stories()))
def test_each_solution_passes_on_its_dependencies_alone(story_id: str, tmp_path: Path) -> None:
    """What the engine's test gate sees on the story's own branch."""
    project = _fresh_project(tmp_path)
    for dependency in (s for s in _order() if s in _ancestors(story_id)):
        _apply(project, dependency)
    before = _run_tests(project) if _ancestors(story_id) else 0
    _apply(project, story_id)
    assert _run_tests(project) > before


# ------------------------------------------------------------------------ scripted review


def test_exactly_one_story_is_sent_back_by_review_once() -> None:
    found = {story_id: _script(story_id) for story_id in _stories()}
    scripted = {k: v for k, v in found.items() if v is not None}
    assert list(scripted) == ["2.2"]
    script = scripted["2.2"]
    verdicts = [entry["verdict"] for entry in script["review"]]
    assert verdicts == ["request_changes", "approve"]
    assert script["review"][0]["findings"]
    assert [r["behaviour"] for r in script["rounds"]] == ["partial", "ok"]


@pytest.mark.slow
def test_first_round_passes_the_tests_but_lacks_what_review_names(tmp_path: Path) -> None:
    script = _script("2.2")
    assert script is not None
    partial = script["rounds"][0]["only"]
    full = _solution_files("2.2")
    missing = sorted(set(full) - set(partial))
    assert set(partial) < set(full) and missing
    finding = " ".join(script["review"][0]["findings"])
    for path in missing:
        assert path in finding, f"the finding should name {path}"
    # Round 1 must get through the test gate, so that it is the review that sends it back.
    project = _fresh_project(tmp_path)
    for dependency in (s for s in _order() if s in _ancestors("2.2")):
        _apply(project, dependency)
    _apply(project, "2.2", only=partial)
    first = _run_tests(project)
    _apply(project, "2.2")
    assert _run_tests(project) > first


def _script_runner(project: Path, story_id: str, role: str, round_: int) -> AgentResult:
    story = _stories()[story_id]
    task = Task(id=story_id, title=story.title, source=SourceLocation(story.path, 1))
    request = AgentRequest(
        task=task,
        prompt=f"implement story {story_id}",
        workspace=project,
        log_path=project.parent / "logs" / f"{story_id}-{role}-{round_}.log",
        options={"solutions_dir": str(SOLUTIONS), "role": role, "round": round_},
    )
    return asyncio.run(ScriptRunner().run(request))


@pytest.mark.slow
def test_the_script_runner_plays_the_review_round_trip(tmp_path: Path) -> None:
    """The real scripted runner reads script.yaml: partial work, changes asked, then done."""
    project = _fresh_project(tmp_path)
    for dependency in (s for s in _order() if s in _ancestors("2.2")):
        _apply(project, dependency)
    before = {p for p in project.rglob("*") if p.is_file()}

    first = _script_runner(project, "2.2", "implement", 1)
    assert first.ok, first.reason
    written = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    written -= {p.relative_to(project).as_posix() for p in before}
    script = _script("2.2")
    assert script is not None
    assert written == set(script["rounds"][0]["only"])

    review = _script_runner(project, "2.2", "review", 1)
    assert json.loads(review.text)["verdict"] == "request_changes"

    second = _script_runner(project, "2.2", "implement", 2)
    assert second.ok, second.reason
    assert (project / "bookshelf" / "csvimport.py").is_file()
    assert json.loads(_script_runner(project, "2.2", "review", 2).text)["verdict"] == "approve"
    _run_tests(project)


# -------------------------------------------------------------------------- settings, data


def test_wavefront_yaml_runs_the_stories_with_the_scripted_runner() -> None:
    config = yaml.safe_load((PROJECT / "wavefront.yaml").read_text(encoding="utf-8"))
    assert config["version"] == 1
    assert config["backlog"] == ["docs/stories"]
    assert config["defaults"]["runner"] == "script"
    assert config["limits"] == {"max_parallel": 3}
    command, review = config["gates"]
    assert command == {
        "kind": "command",
        "run": "python -m unittest discover -s tests -t .",
        "timeout": 300,
    }
    assert review == {"kind": "review", "agents": ["code-reviewer"]}
    assert config["review"] == {"max_rounds": 2, "on_limit": "needs-human"}
    assert config["verify"] == "merged"


def test_example_is_package_data() -> None:
    root = resources.files("wavefront").joinpath("examples", "bookshelf")
    assert root.joinpath("project", "wavefront.yaml").is_file()
    assert root.joinpath("solutions", "2.2", "script.yaml").is_file()
    stories = root.joinpath("project", "docs", "stories")
    assert len([p for p in stories.iterdir() if p.name.endswith(".md")]) == 10
