"""Validation sign-offs are read for their verdict: a FAIL refuses the validation gate and
comes back as a fix task inside the run; a report with no verdict is never a pass.

The standard template runs with scripted agents in a real git repository; the gate reads
real files.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from conftest import git
from wavefront.backlog.load import load_and_plan
from wavefront.gates.base import GateContext
from wavefront.gates.signoff import SignoffGate
from wavefront.model import GateResult, SourceLocation, Task
from wavefront.runs import RunOptions, open_journal, start_run
from wavefront.workflow.init import init_template

SECURITY = ".work/validation/security-report.md"


def check(workspace: Path, report: str = "") -> GateResult:
    gate = SignoffGate(["reports/*.md"])
    task = Task(id="v", title="validate", source=SourceLocation(Path("wavefront.yaml")))
    context = GateContext(task=task, workspace=workspace, log_dir=workspace, report=report)
    return asyncio.run(gate.check(context))


@pytest.mark.parametrize(("text", "passed"), [
    ("# Security\n\nResult: PASS\n", True),
    ("# Security\n\n**Verdict**: Approved\n", True),
    ("# Sign-off\n\n## Decision\n\nApproved.\n", True),
    ("# Security\n\nResult: FAIL - SQL injection in /login\n", False),
    ("# Security\n\nResult: PASS\n\nOn second thought: do not ship.\n", False),
    ("# Security\n\n## Verdict\n\nRejected: tokens never expire.\n", False),
    ("# Security\n\nLooked at everything.\n", False),  # no verdict at all
])
def test_a_report_passes_only_with_a_pass_verdict(tmp_path: Path, text: str,
                                                  passed: bool) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "security.md").write_text(text)
    result = check(tmp_path)
    assert result.passed is passed, result.details
    if not passed:
        assert result.findings[0].startswith("reports/security.md")


def test_a_fail_in_the_agents_own_report_refuses_too(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "security.md").write_text("Result: PASS\n")
    result = check(tmp_path, report="Audit done.\nVerdict: FAIL, the admin page is open")
    assert not result.passed
    assert "the agent's report: Verdict: FAIL" in result.findings[0]


def test_a_failed_sign_off_is_fixed_inside_the_run(git_repo: Path) -> None:
    init_template("standard", git_repo, scripted=True)
    loaded = load_and_plan([], root=git_repo)
    failed = "# Security report\n\nResult: FAIL - passwords stored in clear. Do not ship.\n"
    fixed = "# Security report\n\nPasswords are hashed now.\n\nResult: PASS\n"
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(runner_settings={
        "script": {"script": {"tasks": {
            "security": {"files": {SECURITY: failed}},
            "validation-gate-fix-1": {"files": {SECURITY: fixed}}}}}}))

    assert result.exit_code == 0
    with open_journal(git_repo) as journal:
        found = {r.task_id: r for r in journal.tasks(result.run_id)}
        checks = [(e.data["gate"], e.data["passed"])
                  for e in journal.events(result.run_id, kind="gate_checked")
                  if e.task_id == "validation-gate"]
    fix = found["validation-gate-fix-1"]
    # The validator found the problem; the engineer the gate names fixes it.
    assert fix.status.value == "done" and fix.agent == "integration-engineer"
    assert f"{SECURITY}:3: Result: FAIL" in fix.task.body
    assert ("signoff", False) in checks and checks[-1] == ("signoff", True)
    assert found["documentation"].status.value == "done"  # phase 4 ran after the fix
    assert "Result: PASS" in git(git_repo, "show", f"{result.branch}:{SECURITY}")
