"""The task CLI of the multi-stage workflow: `complete`, feature names, `validate`'s rules.

Real files in a temporary repository, the real `wavefront` command in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import git

FEATURE = {"id": "auth", "name": "Auth", "status": "active", "objective": "Users log in",
           "subtask_count": 2, "completed_count": 0, "created_at": "2026-02-14T00:00:00Z"}


def subtask(seq: str, deps: list[str]) -> dict[str, object]:
    return {"id": f"auth-{seq}", "seq": seq, "title": f"Step {seq}", "status": "pending",
            "depends_on": deps, "parallel": True, "suggested_agent": "CoderAgent",
            "agent_id": None, "started_at": None, "completed_at": None,
            "completion_summary": None}


def feature(repo: Path, header: dict[str, object] | None = None) -> Path:
    folder = repo / ".tmp" / "tasks" / "auth"
    folder.mkdir(parents=True)
    (folder / "task.json").write_text(json.dumps(header or FEATURE, indent=2))
    (folder / "subtask_01.json").write_text(json.dumps(subtask("01", []), indent=2))
    (folder / "subtask_02.json").write_text(json.dumps(subtask("02", ["01"]), indent=2))
    return folder


def wavefront(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wavefront", *args, "-C", str(repo)],
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_complete_writes_the_fields_and_next_moves_on(git_repo: Path) -> None:
    folder = feature(git_repo)
    assert "01" in wavefront(git_repo, "next", "auth").stdout

    done = wavefront(git_repo, "complete", "auth", "01", "Added the login form")

    assert done.returncode == 0, done.stderr
    assert "auth 01 completed" in done.stdout
    sub = json.loads((folder / "subtask_01.json").read_text())
    assert sub["status"] == "completed"
    assert sub["completion_summary"] == "Added the login form"
    assert sub["completed_at"].endswith("Z") and sub["started_at"]
    header = json.loads((folder / "task.json").read_text())
    assert header["completed_count"] == 1 and header["status"] == "active"
    after = wavefront(git_repo, "next", "auth")
    assert after.returncode == 0 and "auth-02" in after.stdout and "auth-01" not in after.stdout
    assert wavefront(git_repo, "validate", "auth").returncode == 0
    assert git(git_repo, "status", "--porcelain")  # written in the working tree


def test_complete_on_an_unknown_feature_or_seq_says_what_exists(git_repo: Path) -> None:
    feature(git_repo)
    unknown = wavefront(git_repo, "complete", "billing", "01", "x")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no feature 'billing'" in unknown.stderr and "features: auth" in unknown.stderr
    missing = wavefront(git_repo, "complete", "auth", "7", "x")
    assert missing.returncode == 2
    assert "subtask_07.json" in missing.stderr and "seqs: 01, 02" in missing.stderr


def test_validate_checks_the_workflow_rules(git_repo: Path) -> None:
    header = {**FEATURE, "status": "done-ish", "subtask_count": 3, "objective": "x" * 201}
    folder = feature(git_repo, header)
    sub = json.loads((folder / "subtask_02.json").read_text())
    (folder / "subtask_02.json").write_text(json.dumps({**sub, "status": "finished"}, indent=2))

    done = wavefront(git_repo, "validate", "auth")

    assert done.returncode == 2
    errors = done.stderr.splitlines()
    assert any("task.json:4: status 'done-ish' is not one of active" in e for e in errors)
    assert any("objective has 201 characters; keep it to 200" in e for e in errors)
    assert any("subtask_count is 3 but the folder has 2 subtask files" in e for e in errors)
    assert any("subtask_02.json:5: status 'finished'" in e for e in errors)


def test_a_long_summary_is_kept_to_the_schema_limit(git_repo: Path) -> None:
    folder = feature(git_repo)
    done = wavefront(git_repo, "complete", "auth", "1", "word " * 100)
    assert done.returncode == 0, done.stderr
    summary = json.loads((folder / "subtask_01.json").read_text())["completion_summary"]
    assert len(summary) == 200 and summary.endswith("…")


def test_status_of_a_feature_before_and_during_a_run(git_repo: Path) -> None:
    feature(git_repo)
    other = git_repo / ".tmp" / "tasks" / "billing"
    other.mkdir()
    (other / "task.json").write_text(json.dumps({**FEATURE, "id": "billing",
                                                 "subtask_count": 1}))
    (other / "subtask_01.json").write_text(json.dumps({**subtask("01", []),
                                                       "id": "billing-01"}))
    wavefront(git_repo, "complete", "auth", "01", "Added the login form")

    before = wavefront(git_repo, "status", "auth")

    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("feature auth: 1 of 2 tasks done (no run has taken it")
    assert "completed" in before.stdout and "billing" not in before.stdout

    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "features")
    agent = "import sys; open('out.txt', 'w').write(sys.argv[1]); print('Summary: ok')"
    (git_repo / "wavefront.yaml").write_text(json.dumps({
        "version": 1, "defaults": {"runner": "command", "retries": 0},
        "runners": {"command": {"argv_template": [sys.executable, "-c", agent,
                                                  "{task_id}"]}}}))
    ran = wavefront(git_repo, "run", "--no-progress", ".tmp/tasks/auth", ".tmp/tasks/billing")
    assert ran.returncode == 0, ran.stderr[-2000:]

    during = wavefront(git_repo, "status", "auth", "--json")

    assert during.returncode == 0, during.stderr
    shown = {t["id"]: t["status"] for t in json.loads(during.stdout)["tasks"]}
    # Only the feature's tasks of the run: the one done before it, the one it merged.
    assert shown == {"auth-01": "skipped", "auth-02": "done"}
    whole = wavefront(git_repo, "status", "--json")
    assert "billing-01" in {t["id"] for t in json.loads(whole.stdout)["tasks"]}
