"""Validation sign-offs are read for their verdict: a FAIL refuses the gate, and a report
with no verdict is never a pass. The gate reads real files; the standard workflow's use
of it (a FAIL fixed inside the run) is in test_workflow_runs.py.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from wavefront.gates.base import GateContext
from wavefront.gates.signoff import SignoffGate
from wavefront.model import GateResult, SourceLocation, Task

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


def test_a_fix_by_that_names_no_agent_is_bad_input(git_repo: Path) -> None:
    (git_repo / "wavefront.yaml").write_text(
        "version: 1\ndefaults: {runner: script}\ntasks:\n  - id: a\n    title: A\n"
        "    gates:\n      - {kind: signoff, paths: [r.md], fix_by: nobody}\n")
    done = subprocess.run([sys.executable, "-m", "wavefront", "run", "--no-progress", "-C",
                           str(git_repo)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "wavefront.yaml:" in done.stderr and "'fix_by' must name an agent profile" in (
        done.stderr)
    assert "Traceback" not in done.stderr
