"""Whole workflows through the CLI and the library: the standard template end to end, a
phase gate that stops the next phase, a kill during the fan-out and the resume, bounded
iterations, and a done-hook that runs twice adding nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from conftest import WriteBacklog, git
from wavefront.backlog import stories
from wavefront.backlog.load import load_and_plan
from wavefront.engine.taskflow import DoneContext
from wavefront.journal.database import Journal
from wavefront.runs import RunOptions, open_journal, start_run
from wavefront.workflow.init import init_template
from wavefront.workflow.runtime import WorkflowHook, parse_answer
from wavefront.workspace.worktrees import GitRepo, GitWorkspaces

PHASES = ["requirements", "requirements-gate", "architecture", "ux", "foundation-gate",
          "implement", "tests", "implementation-gate", "integration", "integration-gate",
          "e2e", "product-signoff", "performance", "security", "validation-gate",
          "documentation", "devops", "smoke", "final-gate", "more-features"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=600, check=False)


def done_at(journal: Journal, run_id: str, task_id: str) -> int:
    return next(e.id for e in journal.events(run_id, kind="task_status")
                if e.task_id == task_id and e.data["status"] == "done")


def started_at(journal: Journal, run_id: str, task_id: str) -> int:
    return next(e.id for e in journal.events(run_id, kind="task_status")
                if e.task_id == task_id and e.data["status"] == "running")


def test_init_standard_then_run_completes_every_phase(git_repo: Path) -> None:
    written = cli("init", "--template", "standard", "--scripted", cwd=git_repo)
    assert written.returncode == 0, written.stderr
    ran = cli("run", "--no-progress", cwd=git_repo)
    assert ran.returncode == 0, ran.stderr[-2000:]
    with open_journal(git_repo) as journal:
        run = journal.latest_run()
        assert run is not None
        found = {r.task_id: r.status.value for r in journal.tasks(run.id)}
        stories = {"1.1", "1.2"}
        assert found == {**{p: "done" for p in PHASES},
                         **{f"{step}:{s}": "done" for step in ("implement", "tests")
                            for s in stories}}
        # Each phase starts only after the gate before it passed.
        for gate, phase in (("requirements-gate", "architecture"),
                            ("foundation-gate", "implement:1.1"),
                            ("implementation-gate", "integration"),
                            ("integration-gate", "security"),
                            ("validation-gate", "devops")):
            assert done_at(journal, run.id, gate) < started_at(journal, run.id, phase)
        # Story 1.2 depends on 1.1 in its file; the fan-out keeps that order.
        assert done_at(journal, run.id, "implement:1.1") < started_at(
            journal, run.id, "implement:1.2")
        gated = {e.task_id for e in journal.events(run.id, kind="gate_checked")
                 if e.data["gate"] == "contract" and e.data["passed"]}
    assert {"requirements-gate", "foundation-gate", "integration-gate",
            "validation-gate"} <= gated
    tree = git(git_repo, "ls-tree", "-r", "--name-only", run.branch).split()
    assert ".work/integration/INTEGRATION-REPORT.md" in tree
    assert ".work/validation/sign-offs/product-manager.md" in tree
    assert "docs/stories/1.2.todo-list.md" in tree


def test_a_gate_failure_in_phase_1_stops_phase_2(git_repo: Path) -> None:
    init_template("standard", git_repo, scripted=True)
    loaded = load_and_plan([], root=git_repo)
    tbd = "# System architecture\n\n## Feature boundaries\n\nTBD\n"
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(
        fix_rounds=0, runner_settings={"script": {"script": {"tasks": {"architecture": {
            "files": {".work/foundation/architecture/ARCHITECTURE.md": tbd}}}}}}))
    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        found = {r.task_id: r for r in journal.tasks(result.run_id)}
        started = {e.task_id for e in journal.events(result.run_id, kind="task_status")
                   if e.data["status"] == "running"}
    assert found["architecture"].status.value == "done"
    assert found["foundation-gate"].status.value == "failed"
    assert "TBD" in found["foundation-gate"].reason or "contract" in found["foundation-gate"].reason
    assert started == {"requirements", "requirements-gate", "architecture", "ux",
                       "foundation-gate"}
    assert found["implement"].status.value == "blocked"
    assert not any(":" in task_id for task_id in found)  # the fan-out never grew


def test_a_failed_phase_gate_is_fixed_inside_the_run(git_repo: Path) -> None:
    init_template("standard", git_repo, scripted=True)
    loaded = load_and_plan([], root=git_repo)
    architecture = ".work/foundation/architecture/ARCHITECTURE.md"
    tbd = "# System architecture\n\n## Feature boundaries\n\nTBD\n"
    good = "# System architecture\n\n## Feature boundaries\n\nOne module per feature.\n"
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(runner_settings={
        "script": {"script": {"tasks": {
            "architecture": {"files": {architecture: tbd}},
            "foundation-gate-fix-1": {"files": {architecture: good}}}}}}))

    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        found = {r.task_id: r for r in journal.tasks(result.run_id)}
        checks = [e.data["passed"] for e in journal.events(result.run_id, kind="gate_checked")
                  if e.task_id == "foundation-gate"]
    fix = found["foundation-gate-fix-1"]
    assert fix.status.value == "done" and fix.agent == "architect"
    assert f"{architecture}:5: placeholder 'TBD'" in fix.task.body
    # Refused; fixed; on the second check the contract and the interface check pass.
    assert checks == [False, True, True]
    assert found["implement:1.1"].status.value == "done"
    assert "One module per feature." in git(git_repo, "show", f"{result.branch}:{architecture}")


def test_killed_during_the_fan_out_resumes_with_the_same_graph(git_repo: Path) -> None:
    init_template("fan-out", git_repo, scripted=True)
    config = yaml.safe_load((git_repo / "wavefront.yaml").read_text())
    config["runners"]["script"]["script"] = {"tasks": {
        f"update:1.{n}": {"sleep": 3} for n in (1, 2, 3)}}
    (git_repo / "wavefront.yaml").write_text(yaml.safe_dump(config))
    child = subprocess.Popen([sys.executable, "-m", "wavefront", "run", "--no-progress"],
                             cwd=git_repo, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        run_id = None
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if not (git_repo / ".wavefront" / "journal.db").exists():
                continue
            with open_journal(git_repo) as journal:
                run = journal.latest_run()
                if run is None:
                    continue
                running = [r for r in journal.tasks(run.id)
                           if r.task_id.startswith("update:") and r.status.value == "running"]
                if running:
                    run_id = run.id
                    break
        assert run_id is not None, "the fan-out never started"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    with open_journal(git_repo) as journal:
        before = [(r.task_id, r.task.dependencies) for r in journal.tasks(run_id)]
    resumed = cli("resume", run_id, "--no-progress", cwd=git_repo)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    with open_journal(git_repo) as journal:
        after = [(r.task_id, r.task.dependencies) for r in journal.tasks(run_id)]
        grown = journal.events(run_id, kind="graph_grown")
        statuses = {r.task_id: r.status.value for r in journal.tasks(run_id)}
    assert after == before  # the same graph: nothing added or changed by the resume
    assert len(grown) == 1
    assert set(statuses.values()) == {"done"}
    merges = git(git_repo, "log", "--format=%s", f"wavefront/{run_id}").splitlines()
    for item in ("update:1.1", "update:1.2", "update:1.3"):
        assert sum(line.startswith(f"Merge {item}:") for line in merges) == 1


def test_the_fan_out_hook_run_again_adds_nothing(git_repo: Path) -> None:
    init_template("fan-out", git_repo, scripted=True)
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        record = journal.task(result.run_id, "update")
        assert record is not None and record.merge_commit
        tasks_before = journal.tasks(result.run_id)
        context = DoneContext(journal=journal, run_id=result.run_id, task=record.task,
                              final_text="", commit=record.merge_commit,
                              workspaces=GitWorkspaces(GitRepo(git_repo), result.run_id))
        hook = WorkflowHook({"stories": lambda path: stories.load(path).tasks})
        asyncio.run(hook(context))
        assert journal.tasks(result.run_id) == tasks_before
        assert len(journal.events(result.run_id, kind="graph_grown")) == 1


LOOP = """\
version: 1
defaults: {runner: script, retries: 0}
workflow:
  steps:
    - id: build
      agent: full-stack-engineer
      prompt: Build the next batch of features.
      script:
        tasks:
          build: {files: {batch.txt: "batch 1\\n"}}
          build@2: {files: {batch.txt: "batch 2\\n"}}
          build@3: {files: {batch.txt: "batch 3\\n"}}
    - id: more
      agent: product-manager
      after: [build]
      prompt: More features needed?
      analyzer: {labels: ["yes", "no"]}
      loop: {back_to: build, on_answer: "yes", max_iterations: 2}
      script: {behaviour: no-change, say: "ANSWER: yes"}
    - id: ship
      agent: devops-engineer
      after: [more]
      prompt: Ship it.
      script: {files: {SHIPPED: "yes\\n"}}
"""


def test_an_iteration_stops_at_its_maximum_count(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text(LOOP)
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        found = {r.task_id: r.status.value for r in journal.tasks(result.run_id)}
        ship = journal.task(result.run_id, "ship")
        limit = journal.events(result.run_id, kind="iteration_limit")
        order = [done_at(journal, result.run_id, t) for t in ("more", "build@2", "more@2")]
        shipped = started_at(journal, result.run_id, "ship")
    assert found == {"build": "done", "more": "done", "build@2": "done", "more@2": "done",
                     "ship": "done"}
    assert ship is not None and "more@2" in ship.task.dependencies
    assert order == sorted(order) and order[-1] < shipped
    assert [e.task_id for e in limit] == ["more@2"]
    assert git(git_repo, "show", f"{result.branch}:batch.txt") == "batch 2\n"


def test_answers_are_read_exactly_never_guessed() -> None:
    labels = ["high_complexity", "simple_cleanup"]
    table = [
        ("Looked around.\nANSWER: high_complexity", "high_complexity"),
        ("**Answer**: `Simple_Cleanup`.", "simple_cleanup"),
        ("simple_cleanup\n", "simple_cleanup"),
        ("ANSWER: high\nANSWER: simple_cleanup", "simple_cleanup"),
        ("I think high_complexity is likely", None),
        ("ANSWER: medium", None),
        ("", None),
    ]
    for text, expected in table:
        assert parse_answer(text, labels)[0] == expected, text


def test_a_task_skipped_at_the_start_releases_its_dependents(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    # Engine rule added with workflows: skipped (a branch not taken, or already done in
    # the backlog file) lets dependents start, as done does.
    write_backlog([
        {"id": "a", "title": "A", "status": "done", "script": {"files": {"a.txt": "A\n"}}},
        {"id": "b", "title": "B", "depends_on": ["a"], "script": {"files": {"b.txt": "B\n"}}},
    ])
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        assert {r.task_id: r.status.value for r in journal.tasks(result.run_id)} == {
            "a": "skipped", "b": "done"}


STORY = "# Story {id}: {title}\n\n## Status\n\nNot Started\n\n## Acceptance Criteria\n\n- works\n"
ITERATIONS = """\
version: 1
defaults: {runner: script, retries: 0}
workflow:
  steps:
    - id: stories
      agent: product-manager
      prompt: Write the stories of the next batch.
      outputs: [docs/stories/]
      script:
        tasks:
          stories: {files: {docs/stories/1.1.login.md: LOGIN, docs/stories/1.2.logout.md: LOGOUT}}
          stories@2: {files: {docs/stories/1.3.profile.md: PROFILE}}
    - id: implement
      agent: full-stack-engineer
      after: [stories]
      for_each: {stories: docs/stories}
      prompt: Implement story {item}.
      script:
        tasks:
          "implement:1.1": {files: {login.txt: "in\\n"}}
          "implement:1.2": {files: {logout.txt: "out\\n"}}
          "implement@2:1.3": {files: {profile.txt: "me\\n"}}
    - id: more
      agent: product-manager
      after: [implement]
      prompt: More features needed?
      analyzer: {labels: ["yes", "no"]}
      loop: {back_to: stories, on_answer: "yes", max_iterations: 2}
      script: {behaviour: no-change, say: "ANSWER: yes"}
"""
for _word, _id in (("LOGIN", "1.1"), ("LOGOUT", "1.2"), ("PROFILE", "1.3")):
    ITERATIONS = ITERATIONS.replace(
        f" {_word}", " " + repr(STORY.format(id=_id, title=_word.title())), 1)


def test_the_next_iteration_takes_only_the_stories_not_done(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text(ITERATIONS)
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        found = {r.task_id: r.status.value for r in journal.tasks(result.run_id)}
    implemented = sorted(t for t in found if t.startswith("implement") and ":" in t)
    # Iteration 2 implements only the story it added, not 1.1 and 1.2 again.
    assert implemented == ["implement:1.1", "implement:1.2", "implement@2:1.3"]
    assert all(found[t] == "done" for t in implemented)


def test_the_standard_workflow_sends_each_refusal_back_and_ends_done(git_repo: Path) -> None:
    """One run of the standard template, four refusals fixed inside it: a story with no
    interface (a fix task for the architect), a failing SDET suite (a fix round for the
    integration engineer, who also gets the engineers' deviations), a security sign-off
    saying FAIL (a fix task for the integration engineer)."""
    init_template("standard", git_repo, scripted=True)
    loaded = load_and_plan([], root=git_repo)
    interface = ".work/foundation/architecture/INTERFACE-profile.md"
    suite = ".work/tests/1.1/run-tests.sh"
    check = ("grep -q hashed src/auth.ts || "
             "{ echo 'auth suite: passwords kept in clear'; exit 1; }\n")
    report = ".work/integration/INTEGRATION-REPORT.md"
    evidence = ".work/implementation/1.1/EVIDENCE.md"
    security = ".work/validation/security-report.md"
    failed = "# Security report\n\nResult: FAIL - sessions never expire. Do not ship.\n"
    fixed = "# Security report\n\nSessions expire after an hour.\n\nResult: PASS\n"
    story = "# Story 1.3: Profile\n\n## Status\n\nNot Started\n\n## Acceptance Criteria\n\n- a\n"
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(runner_settings={
        "script": {"script": {"tasks": {
            "requirements": {"files": {"docs/stories/1.3.profile.md": story}},
            "foundation-gate-fix-1": {"files": {interface: "# Profile\n\n## API\n\nGET /me\n"}},
            "implement:1.3": {"files": {"src/profile.ts": "// profile\n",
                                        ".work/implementation/1.3/EVIDENCE.md": "# 1.3\n"}},
            "tests:1.3": {"files": {".work/tests/1.3/EVIDENCE.md": "# 1.3\n",
                                    ".work/tests/1.3/run-tests.sh": "true\n"}},
            "tests:1.1": {"files": {suite: check}},
            "implement:1.1": {"files": {"src/auth.ts": "// auth\n", evidence: (
                "# Evidence 1.1\n\n## Deviations\n\nLogin answers 201, not 200: the "
                "session is created.\n\n## Notes\n\nNothing else.\n")}},
            "integration": {"attempts": [
                {"files": {report: "# Integration report\n\n## Test results\n\nRun.\n"}},
                {"files": {"src/auth.ts": "// passwords hashed\n"}}]},
            "security": {"files": {security: failed}},
            "validation-gate-fix-1": {"files": {security: fixed}}}}}}))

    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        found = {r.task_id: r for r in journal.tasks(result.run_id)}
        rounds = [e.data for e in journal.events(result.run_id, kind="fix_round")
                  if e.task_id == "integration"]
        attempts = journal.attempts(result.run_id, "integration")
        checks = [(e.data["gate"], e.data["passed"])
                  for e in journal.events(result.run_id, kind="gate_checked")
                  if e.task_id == "validation-gate"]
    assert all(r.status.value == "done" for r in found.values())
    # The missing interface went to the architect, who wrote it.
    interface_fix = found["foundation-gate-fix-1"]
    assert interface_fix.agent == "architect"
    assert "docs/stories/1.3.profile.md has no interface" in interface_fix.task.body
    # The SDET suite's failure went back to the integration engineer as a fix round,
    # whose first prompt held the deviation an engineer reported (and only that one).
    assert [(r["gate"], r["round"]) for r in rounds] == [("SDET suites", 1)]
    first, last = (Path(a.log_path or "").with_suffix(".prompt.md").read_text()
                   for a in (attempts[0], attempts[-1]))
    deviations = first.split("## Deviations the engineers reported")[1].split("\n## ")[0]
    assert f"- {evidence}:\nLogin answers 201, not 200" in deviations
    assert "Nothing else" not in deviations and "1.2" not in deviations
    assert "auth suite: passwords kept in clear" in last
    assert "hashed" in git(git_repo, "show", f"{result.branch}:src/auth.ts")
    # The security FAIL became a fix task for the integration engineer; then PASS.
    signoff_fix = found["validation-gate-fix-1"]
    assert signoff_fix.agent == "integration-engineer"
    assert f"{security}:3: Result: FAIL" in signoff_fix.task.body
    assert ("signoff", False) in checks and checks[-1] == ("signoff", True)
    assert "Result: PASS" in git(git_repo, "show", f"{result.branch}:{security}")


def test_a_workflow_file_runs_with_the_repositorys_runners_and_limits(
        git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text(
        "version: 1\ndefaults: {runner: script, retries: 0}\nlimits: {max_parallel: 1}\n")
    (git_repo / "pair.workflow.yaml").write_text(
        "workflow:\n  steps:\n"
        "    - {id: left, prompt: Left., script: {files: {left.txt: \"l\\n\"}}}\n"
        "    - {id: right, prompt: Right., script: {files: {right.txt: \"r\\n\"}}}\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "workflow")

    ran = cli("run", "--no-progress", "--workflow", "pair.workflow.yaml", cwd=git_repo)

    assert ran.returncode == 0, ran.stderr[-2000:]
    with open_journal(git_repo) as journal:
        run = journal.latest_run()
        assert run is not None
        found = {r.task_id: r.status.value for r in journal.tasks(run.id)}
    assert found == {"left": "done", "right": "done"}
    # The runner and the limits are wavefront.yaml's.
    settings = run.options["settings"]
    assert settings["default_runner"] == "script" and settings["max_parallel"] == 1
    assert settings["retries"] == 0


def test_the_fullstack_template_uses_the_specialists_and_writes_the_records(
        git_repo: Path) -> None:
    written = cli("init", "--template", "fullstack", "--scripted", cwd=git_repo)
    assert written.returncode == 0, written.stderr
    ran = cli("run", "--no-progress", cwd=git_repo)
    assert ran.returncode == 0, ran.stderr[-2000:]
    with open_journal(git_repo) as journal:
        run = journal.latest_run()
        assert run is not None
        agents = {r.task_id: r.agent for r in journal.tasks(run.id)}
    assert (agents["database"], agents["backend"], agents["frontend"]) == (
        "database-developer", "backend-api-developer", "frontend-ui-architect")
    tree = git(git_repo, "ls-tree", "-r", "--name-only", run.branch).split()
    assert {"history/prompts/feature.md", "docs/adr/suggestions.md"} <= set(tree)


ORDERED = """\
version: 1
defaults: {runner: script, retries: 0}
workflow:
  steps:
    - id: design
      agent: architect
      prompt: Write the stories and the order to build them in.
      outputs: [docs/stories/, DEPENDENCIES.md]
      script:
        files:
          docs/stories/1.1.api.md: "# Story 1.1: API\\n\\n## Status\\n\\nNot Started\\n"
          docs/stories/1.2.ui.md: "# Story 1.2: UI\\n\\n## Status\\n\\nNot Started\\n"
          DEPENDENCIES.md: "# Order\\n\\n- 1.2 (the UI) depends on 1.1, the API.\\n"
    - id: implement
      agent: full-stack-engineer
      after: [design]
      for_each: {stories: docs/stories, order_from: DEPENDENCIES.md}
      prompt: Implement story {item}.
      script:
        tasks:
          "implement:1.1": {files: {api.txt: "api\\n"}}
          "implement:1.2": {files: {ui.txt: "ui\\n"}}
"""


def test_the_fan_out_follows_the_order_in_dependencies_md(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text(ORDERED)
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        ui = journal.task(result.run_id, "implement:1.2")
        assert ui is not None and "implement:1.1" in ui.task.dependencies
        assert done_at(journal, result.run_id, "implement:1.1") < started_at(
            journal, result.run_id, "implement:1.2")


def test_the_order_is_read_from_rules_and_arrows_only() -> None:
    from wavefront.workflow.order import read_order

    text = ("# Plan\n\nBuild 1.1 first; it is the base.\n- 1.3: after 1.1, 1.2\n"
            "1.10 needs 1.1\nThen 1.4 -> 1.5 -> 1.6\n")
    assert read_order(text, ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.10"]) == {
        "1.3": ("1.1", "1.2"), "1.10": ("1.1",), "1.5": ("1.4",), "1.6": ("1.5",)}
