"""Command gates keep red work out, and the merge queue checks the merged tree.

Real git repositories, a real checker program run as the gate, the script runner as the
agent. "Each side passes alone, the merge fails" is a semantic conflict: with `verify:
merged` it never reaches the integration branch; with `verify: branch` it does, which is
what the merged check is for.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.model import TaskStatus
from wavefront.runs import RunOptions, RunResult, open_journal, start_run

# Imports every module in mods/ and calls its run(); any error fails the gate.
CHECKER = """\
import importlib, pathlib, sys
failed = 0
for path in sorted(pathlib.Path("mods").glob("*.py")):
    try:
        module = importlib.import_module("mods." + path.stem)
        if hasattr(module, "run"):
            module.run()
        print("ok", path.name)
    except Exception as exc:
        failed += 1
        print("FAIL", path.name, repr(exc))
sys.exit(1 if failed else 0)
"""
GATE = {"kind": "command", "run": [sys.executable, "check.py"], "timeout": 60}
LIB = 'def greet():\n    return "hi"\n'
RENAMED = 'def hello():\n    return "hi"\n'
USES_GREET = 'from mods.lib import greet\n\n\ndef run():\n    assert greet() == "hi"\n'
USES_HELLO = 'from mods.lib import hello\n\n\ndef run():\n    assert hello() == "hi"\n'


@pytest.fixture
def checked_repo(git_repo: Path) -> Path:
    (git_repo / "check.py").write_text(CHECKER)
    (git_repo / "mods").mkdir()
    (git_repo / "mods" / "__init__.py").write_text("")
    (git_repo / "mods" / "lib.py").write_text(LIB)
    git(git_repo, "add", "check.py", "mods")
    git(git_repo, "commit", "-q", "-m", "checker")
    return git_repo


def run(repo: Path, **options: Any) -> RunResult:
    loaded = load_and_plan([], root=repo)
    return start_run(repo, loaded.backlog, loaded.plan, RunOptions(**options))


def passes_check(repo: Path, commit: str, where: Path) -> bool:
    git(repo, "worktree", "add", "-q", "--detach", str(where), commit)
    try:
        done = subprocess.run([sys.executable, "check.py"], cwd=where, capture_output=True)
        return done.returncode == 0
    finally:
        git(repo, "worktree", "remove", "--force", str(where))


def first_parent_history(repo: Path, branch: str) -> list[str]:
    """The integration branch's states, newest first, since the checker was committed."""
    return git(repo, "rev-list", "--first-parent", branch).split()[:-1]


def semantic_conflict(fix: dict[str, Any]) -> list[dict[str, Any]]:
    """`rename` renames greet(); `caller` (based before the rename) still calls it."""
    return [
        {
            "id": "rename",
            "title": "rename greet to hello",
            "script": {"files": {"mods/lib.py": RENAMED}},
        },
        {
            "id": "caller",
            "title": "add a caller",
            "script": {"sleep": 0.6, "attempts": [{"files": {"mods/caller.py": USES_GREET}}, fix]},
        },
        {
            "id": "after",
            "title": "after the caller",
            "depends_on": ["caller"],
            "script": {"files": {"after.txt": "x\n"}},
        },
    ]


@pytest.mark.parametrize("verify", ["branch", "merged"])
def test_a_failing_test_gate_keeps_the_task_out(
    checked_repo: Path, write_backlog: WriteBacklog, verify: str
) -> None:
    write_backlog(
        [
            {"id": "good", "title": "good", "script": {"files": {"mods/good.py": USES_GREET}}},
            {
                "id": "bad",
                "title": "bad",
                "script": {
                    "files": {"mods/bad.py": "def run():\n    raise ValueError('broken')\n"}
                },
            },
            {
                "id": "later",
                "title": "later",
                "depends_on": ["bad"],
                "script": {"files": {"later.txt": "x\n"}},
            },
        ],
        gates=[GATE],
        verify=verify,
    )

    result = run(checked_repo)

    assert result.exit_code == 1
    with open_journal(checked_repo) as journal:
        records = {r.task_id: r for r in journal.tasks(result.run_id)}
        bad_attempt = journal.attempts(result.run_id, "bad")[-1]
        gate_results = journal.gate_results(bad_attempt.id)
    assert records["good"].status == TaskStatus.DONE
    assert records["bad"].status == TaskStatus.FAILED
    assert "exit 1" in records["bad"].reason
    assert records["later"].status == TaskStatus.BLOCKED
    assert [g.passed for g in gate_results] == [False]
    assert "FAIL bad.py" in gate_results[0].details
    tree = git(checked_repo, "ls-tree", "-r", "--name-only", result.branch).split()
    assert "mods/good.py" in tree and "mods/bad.py" not in tree


def test_a_semantic_conflict_is_caught_and_sent_back(
    checked_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    write_backlog(
        semantic_conflict({"files": {"mods/caller.py": USES_HELLO}}),
        gates=[GATE],
        verify="merged",
        limits={"max_parallel": 2},
    )

    result = run(checked_repo)

    assert result.exit_code == 0
    with open_journal(checked_repo) as journal:
        attempts = journal.attempts(result.run_id, "caller")
        first_gates = journal.gate_results(attempts[0].id)
        fix_gates = journal.gate_results(attempts[1].id)
        fix_rounds = [e.data for e in journal.events(result.run_id, kind="fix_round")
                      if e.task_id == "caller"]
    assert [a.kind for a in attempts] == ["agent", "merged-fix"]
    # A counted fix round, journaled like the others, naming the task it collided with.
    assert [(f["round"], f["limit"], f["merged_since"]) for f in fix_rounds] == [
        (1, 2, ["rename"])]
    prompt = Path(attempts[1].log_path or "").with_suffix(".prompt.md").read_text()
    assert "- rename (rename greet to hello; changed mods/lib.py)" in prompt
    assert "fix round 1 of 2" in prompt
    assert "FAIL caller.py" in prompt
    # The branch passed alone, the merged tree did not; the fix passed both.
    assert [(g.gate.endswith("(merged tree)"), g.passed) for g in first_gates] == [
        (False, True),
        (True, False),
    ]
    assert "FAIL caller.py" in first_gates[1].details
    assert [(g.gate.endswith("(merged tree)"), g.passed) for g in fix_gates] == [
        (False, True),
        (True, True),
    ]
    assert git(checked_repo, "show", f"{result.branch}:mods/caller.py") == USES_HELLO
    # Every state the integration branch ever had passes the gate.
    history = first_parent_history(checked_repo, result.branch)
    assert len(history) == 4  # the checker, then rename, caller and after merged
    assert all(
        passes_check(checked_repo, commit, tmp_path / f"check-{n}")
        for n, commit in enumerate(history)
    )


def test_an_unfixed_semantic_conflict_ends_in_conflict_and_stays_out(
    checked_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    write_backlog(
        semantic_conflict({"files": {"mods/note.txt": "tried\n"}}),
        gates=[GATE],
        verify="merged",
        limits={"max_parallel": 2},
    )

    result = run(checked_repo)

    assert result.exit_code == 1
    with open_journal(checked_repo) as journal:
        records = {r.task_id: r for r in journal.tasks(result.run_id)}
        kinds = [a.kind for a in journal.attempts(result.run_id, "caller")]
    # Two fix rounds (the default `fix_rounds`), then the last failure is the reason.
    assert kinds == ["agent", "merged-fix", "merged-fix"]
    assert records["caller"].status == TaskStatus.CONFLICT
    assert "check.py" in records["caller"].reason
    assert "after 2 fix rounds" in records["caller"].reason
    assert records["after"].status == TaskStatus.BLOCKED
    tree = git(checked_repo, "ls-tree", "-r", "--name-only", result.branch).split()
    assert "mods/caller.py" not in tree
    assert all(
        passes_check(checked_repo, commit, tmp_path / f"check-{n}")
        for n, commit in enumerate(first_parent_history(checked_repo, result.branch))
    )


def test_without_merged_verification_the_semantic_conflict_gets_in(
    checked_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    write_backlog(
        semantic_conflict({"files": {"mods/caller.py": USES_HELLO}}),
        gates=[GATE],
        verify="branch",
        limits={"max_parallel": 2},
    )

    result = run(checked_repo)

    # The caller passed on its own branch and was merged; the branch turned red, and the
    # next task, based on it, failed for a break it did not make.
    with open_journal(checked_repo) as journal:
        records = {r.task_id: r for r in journal.tasks(result.run_id)}
    assert records["caller"].status == TaskStatus.DONE
    assert records["after"].status == TaskStatus.FAILED
    head = first_parent_history(checked_repo, result.branch)[0]
    assert not passes_check(checked_repo, head, tmp_path / "check-head")


def test_a_gate_only_for_the_merged_tree_is_not_run_on_the_branch(
    checked_repo: Path, write_backlog: WriteBacklog
) -> None:
    merged_only = {**GATE, "on": "merged", "name": "merged check"}
    write_backlog(
        [{"id": "a", "title": "A", "script": {"files": {"mods/a.py": USES_GREET}}}],
        gates=[merged_only],
        verify="merged",
    )

    result = run(checked_repo)

    assert result.exit_code == 0
    with open_journal(checked_repo) as journal:
        attempt = journal.attempts(result.run_id, "a")[-1]
        names = [g.gate for g in journal.gate_results(attempt.id)]
    assert names == ["merged check (merged tree)"]


def test_tasks_finishing_together_share_one_check_of_the_merged_tree(
        checked_repo: Path, write_backlog: WriteBacklog, tmp_path: Path) -> None:
    runs = tmp_path / "gate-runs"
    count = f"open({str(runs)!r}, 'a').write('ran\\n')"
    gate = {"kind": "command", "run": [sys.executable, "-c", count], "on": "merged",
            "timeout": 60}
    write_backlog([{"id": f"t{n}", "title": f"task {n}",
                    "script": {"files": {f"work/t{n}.txt": f"{n}\n"}}} for n in range(5)],
                  limits={"max_parallel": 5}, verify="merged", gates=[gate])
    result = run(checked_repo)
    assert result.exit_code == 0 and result.counts == {"done": 5}
    # The queue was idle when the first came: it waited for the other four, whose agents
    # had finished, and checked all five merged together once.
    assert runs.read_text().count("ran") == 1
    with open_journal(checked_repo) as journal:
        assert len(journal.events(result.run_id, kind="merge_candidate")) == 1
