"""`wavefront demo --workflow standard`: the bookshelf example through seed 000's phases."""

from __future__ import annotations

from pathlib import Path

from conftest import git
from wavefront.backlog.load import load_and_plan
from wavefront.demo import prepare_demo
from wavefront.runs import RunOptions, open_journal, start_run


def test_the_workflow_demo_goes_through_every_phase_and_fans_out_over_its_stories(
        tmp_path: Path) -> None:
    project = prepare_demo(tmp_path / "demo", "standard")
    assert not (project.root / "docs" / "stories").exists()  # the requirements phase writes them
    loaded = load_and_plan([], root=project.root)
    result = start_run(project.root, loaded.backlog, loaded.plan, RunOptions(
        runner_settings={"script": {"solutions_dir": str(project.solutions_dir)}}))
    assert result.exit_code == 0
    stories = sorted(p.name.split(".")[0] + "." + p.name.split(".")[1] for p in
                     (project.solutions_dir / "requirements/files/docs/stories").glob("*.md"))
    assert len(stories) == 10
    with open_journal(project.root) as journal:
        found = {r.task_id: r.status.value for r in journal.tasks(result.run_id)}
        gates = [(e.task_id, e.data["gate"], e.data["passed"])
                 for e in journal.events(result.run_id, kind="gate_checked")]
    assert set(found.values()) == {"done"}
    assert {t for t in found if t.startswith("implement:")} == {f"implement:{s}"
                                                               for s in stories}
    assert {t for t in found if t.startswith("tests:")} == {f"tests:{s}" for s in stories}
    # The integration gate ran the project's own tests on the integrated tree, and passed.
    assert any(task == "integration-gate" and gate.startswith("command") and passed
               for task, gate, passed in gates)
    assert ("foundation-gate", "contract", True) in gates
    tree = git(project.root, "ls-tree", "-r", "--name-only", result.branch).split()
    assert {"bookshelf/csvimport.py", "tests/test_cli_transfer.py",
            ".work/deployment/RELEASE-NOTES.md"} <= set(tree)
