"""`wavefront demo` end to end, as the README's first command runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import git


def test_the_demo_merges_every_story_and_its_tests_pass_on_the_branch(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "wavefront", "demo", "--dir", str(demo),
                           "--no-progress"], capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout[done.stdout.index("Run complete"):].splitlines()
    assert summary[1] == "Total tasks: 10   ✅ Done: 10   ❌ Failed: 0"  # no counts of 0 more
    assert all(len(line) <= 80 for line in summary if str(demo) not in line), summary
    assert f"wavefront status -C {demo}" in done.stdout  # next steps work from where we are
    branch = next(line.split()[-1] for line in git(demo, "branch", "--list", "wavefront/*")
                  .splitlines())
    # Every story's merge commit is on the integration branch, each exactly once.
    merges = git(demo, "log", "--merges", "--format=%s", branch).splitlines()
    assert sorted(m.split(":")[0] for m in merges) == sorted(
        f"Merge {i}" for i in ("0.1", "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "3.1",
                               "3.2"))
    # The user's checkout is where the demo left it; the work is on the branch.
    assert git(demo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    checkout = tmp_path / "check"
    git(demo, "worktree", "add", "-q", str(checkout), branch)
    tests = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t",
                            "."], cwd=checkout, capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stderr
    assert "Ran 46 tests" in tests.stderr
    # Story 2.2 was sent back by review once and approved on the second round.
    status = subprocess.run([sys.executable, "-m", "wavefront", "report", "-C", str(demo),
                             "-o", str(tmp_path / "report.md")], capture_output=True,
                            text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    report = (tmp_path / "report.md").read_text()
    assert "changes requested" in report
    shown = subprocess.run([sys.executable, "-m", "wavefront", "show", "2.2", "-C", str(demo)],
                           capture_output=True, text=True, timeout=120, check=True)
    assert "\n2 attempts and 2 reviews:\n" in shown.stdout
    assert "changes requested (1 finding, round 1)" in shown.stdout
