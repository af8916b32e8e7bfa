"""The scripted runner: every behaviour, against a real git repository and worktree."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.script import BEHAVIOURS, ScriptRunner
from wavefront.errors import ConfigError
from wavefront.model import AgentResult, FailureKind, SourceLocation, Task


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """A worktree of a fresh repository holding `README.md` and `src/app.py`."""
    repo = tmp_path / "repo"
    _git(tmp_path, "init", "-q", "-b", "main", str(repo))
    (repo / "src").mkdir()
    (repo / "README.md").write_text("# demo\n")
    (repo / "src" / "app.py").write_text("def main():\n    return 0\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    tree = tmp_path / "worktrees" / "1.2"
    _git(repo, "worktree", "add", "-q", "-b", "wavefront/run/1.2", str(tree))
    return tree


def _status(tree: Path) -> list[str]:
    return sorted(_git(tree, "status", "--porcelain", "-uall").splitlines())


def _run(tree: Path, timeout_s: float | None = None, **options: Any) -> AgentResult:
    task = Task(id="1.2", title="Greeting", source=SourceLocation(Path("docs/1.2.md"), 1))
    request = AgentRequest(
        task=task,
        prompt="do it",
        workspace=tree,
        log_path=tree.parent.parent / "logs" / "1.2.log",
        timeout_s=timeout_s,
        options=options,
    )
    return asyncio.run(ScriptRunner().run(request))


@pytest.fixture
def solutions(tmp_path: Path) -> Path:
    """A solutions directory for task 1.2 with two files to copy."""
    root = tmp_path / "solutions"
    files = root / "1.2" / "files"
    (files / "src").mkdir(parents=True)
    (files / "src" / "greet.py").write_text("def greet():\n    return 'hi'\n")
    (files / "tests").mkdir()
    (files / "tests" / "test_greet.py").write_text("def test_greet():\n    pass\n")
    return root


def test_ok_copies_the_solution_files_and_reports(worktree: Path, solutions: Path) -> None:
    result = _run(worktree, solutions_dir=str(solutions))
    assert result.ok, result.reason
    assert (worktree / "src" / "greet.py").read_text() == "def greet():\n    return 'hi'\n"
    assert _status(worktree) == ["?? src/greet.py", "?? tests/test_greet.py"]
    assert result.text.startswith("Implemented 1.2")
    assert "src/greet.py" in result.text and "tests/test_greet.py" in result.text
    assert result.text.splitlines()[-1] == "Deviations: none"
    assert result.log_path is not None
    log = result.log_path.read_text()
    assert "task 1.2" in log and "finished: ok" in log


def test_patch_is_applied_with_git_apply(worktree: Path, tmp_path: Path) -> None:
    (worktree / "src" / "app.py").write_text("def main():\n    return 42\n")
    patch = _git(worktree, "diff")
    _git(worktree, "checkout", "--", "src/app.py")
    task_dir = tmp_path / "solutions" / "1.2"
    task_dir.mkdir(parents=True)
    (task_dir / "change.patch").write_text(patch)

    result = _run(worktree, solutions_dir=str(tmp_path / "solutions"))
    assert result.ok, result.reason
    assert (worktree / "src" / "app.py").read_text() == "def main():\n    return 42\n"
    assert "src/app.py" in result.text
    assert "git apply" in (result.log_path or Path()).read_text()


def test_a_patch_that_does_not_apply_is_an_error(worktree: Path) -> None:
    bad = "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,2 +1,2 @@\n-nothing\n+like this\n"
    result = _run(worktree, script={"patch": bad})
    assert not result.ok
    assert result.failure is FailureKind.ERROR
    assert "git apply failed" in result.reason
    assert _status(worktree) == []


def test_inline_files_write_and_delete(worktree: Path) -> None:
    result = _run(worktree, script={"files": {"docs/new.md": "# new\n", "README.md": None}})
    assert result.ok
    assert (worktree / "docs" / "new.md").read_text() == "# new\n"
    assert _status(worktree) == [" D README.md", "?? docs/new.md"]


def test_inline_files_may_not_leave_the_workspace(worktree: Path) -> None:
    with pytest.raises(ConfigError, match="outside the workspace"):
        _run(worktree, script={"files": {"../escape.txt": "x"}})
    assert not (worktree.parent / "escape.txt").exists()


@pytest.mark.parametrize(
    ("attempt", "ok", "failure"),
    [
        (1, False, FailureKind.ERROR),
        (2, False, FailureKind.BAD_OUTPUT),
        (3, True, None),
        (7, True, None),
    ],
)
def test_attempts_pick_the_behaviour_and_the_last_repeats(
    worktree: Path, attempt: int, ok: bool, failure: FailureKind | None
) -> None:
    script = {
        "files": {"src/greet.py": "x = 1\n"},
        "attempts": [{"behaviour": "fail"}, {"behaviour": "bad-output"}, {"behaviour": "ok"}],
    }
    result = _run(worktree, script=script, attempt=attempt)
    assert result.ok is ok
    assert result.failure is failure
    assert (worktree / "src" / "greet.py").exists() is ok


@pytest.mark.parametrize(
    ("behaviour", "failure", "text_part"),
    [
        ("fail", FailureKind.ERROR, "could not complete 1.2"),
        ("bad-output", FailureKind.BAD_OUTPUT, '{"type"'),
        ("crash", FailureKind.CRASHED, ""),
        ("rate-limit", FailureKind.RATE_LIMITED, "Usage limit"),
    ],
)
def test_failing_behaviours_change_nothing(
    worktree: Path, behaviour: str, failure: FailureKind, text_part: str
) -> None:
    result = _run(worktree, script={"behaviour": behaviour, "files": {"a.py": "x\n"}})
    assert not result.ok
    assert result.failure is failure
    assert text_part in result.text
    assert result.reason
    assert _status(worktree) == []


def test_crash_is_a_real_child_killed_by_a_signal(worktree: Path) -> None:
    result = _run(worktree, script={"behaviour": "crash"})
    assert result.failure is FailureKind.CRASHED
    assert "SIGKILL" in result.reason
    assert "[exit -9" in (result.log_path or Path()).read_text()


def test_hang_times_out_through_a_real_child(worktree: Path) -> None:
    result = _run(worktree, timeout_s=0.5, script={"behaviour": "hang"})
    assert not result.ok
    assert result.failure is FailureKind.TIMEOUT
    assert "[timed out after" in (result.log_path or Path()).read_text()


def test_hang_without_timeout_ends_on_cancel(worktree: Path) -> None:
    task = Task(id="1.2", title="Greeting", source=SourceLocation(Path("b.md"), 1))
    log = worktree.parent / "hang.log"
    request = AgentRequest(
        task=task,
        prompt="p",
        workspace=worktree,
        log_path=log,
        options={"script": {"behaviour": "hang"}},
    )

    async def scenario() -> None:
        running = asyncio.create_task(ScriptRunner().run(request))
        while "$ " not in (log.read_text() if log.exists() else ""):
            await asyncio.sleep(0.02)
        running.cancel()
        await running

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())
    assert "[cancelled: process group killed]" in log.read_text()


def test_rate_limit_says_when_to_retry(worktree: Path) -> None:
    before = time.time()
    result = _run(worktree, script={"behaviour": "rate-limit", "reset_after": 120})
    after = time.time()
    assert result.failure is FailureKind.RATE_LIMITED
    assert result.retry_at is not None
    assert before + 120 <= result.retry_at <= after + 120


def test_no_change_succeeds_without_touching_anything(worktree: Path, solutions: Path) -> None:
    result = _run(worktree, solutions_dir=str(solutions), script={"behaviour": "no-change"})
    assert result.ok
    assert _status(worktree) == []
    assert "Deviations: none" in result.text


@pytest.mark.parametrize(
    ("only", "expected"),
    [(None, ["?? src/greet.py"]), (["tests/test_greet.py"], ["?? tests/test_greet.py"])],
)
def test_partial_applies_some_files(
    worktree: Path, solutions: Path, only: list[str] | None, expected: list[str]
) -> None:
    script: dict[str, Any] = {"behaviour": "partial"}
    if only is not None:
        script["only"] = only
    result = _run(worktree, solutions_dir=str(solutions), script=script)
    assert result.ok
    assert _status(worktree) == expected


def test_rounds_let_a_fix_round_finish_the_work(worktree: Path, solutions: Path) -> None:
    script = {"behaviour": "partial", "rounds": [{}, {"behaviour": "ok"}]}
    first = _run(worktree, solutions_dir=str(solutions), script=script, round=1)
    assert first.ok and _status(worktree) == ["?? src/greet.py"]
    second = _run(worktree, solutions_dir=str(solutions), script=script, round=2)
    assert second.ok
    assert _status(worktree) == ["?? src/greet.py", "?? tests/test_greet.py"]


REVIEW_SCRIPT = {
    "review": [
        {"verdict": "request_changes", "findings": ["tests/test_greet.py is missing"]},
        "approve",
    ]
}


@pytest.mark.parametrize(
    ("round_", "verdict", "findings"),
    [
        (1, "request_changes", ["tests/test_greet.py is missing"]),
        (2, "approve", []),
        (5, "approve", []),
    ],
)
def test_review_verdicts_follow_the_rounds(
    worktree: Path, round_: int, verdict: str, findings: list[str]
) -> None:
    result = _run(worktree, script=REVIEW_SCRIPT, role="review", round=round_)
    assert result.ok
    assert json.loads(result.text) == {"verdict": verdict, "findings": findings}
    assert _status(worktree) == []


def test_review_defaults_to_approve_and_garbage_is_unparseable(worktree: Path) -> None:
    default = _run(worktree, script={"files": {"a.py": "x\n"}}, role="review")
    assert json.loads(default.text)["verdict"] == "approve"
    assert _status(worktree) == []  # a reviewer never applies the implementer's files
    garbage = _run(worktree, script={"review": ["garbage"]}, role="review")
    assert garbage.ok
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbage.text)


def test_a_reviewer_can_be_rate_limited(worktree: Path) -> None:
    script = {"review": [{"behaviour": "rate-limit", "reset_after": 30}]}
    result = _run(worktree, script=script, role="review")
    assert result.failure is FailureKind.RATE_LIMITED


def test_script_yaml_in_the_solutions_dir(worktree: Path, solutions: Path) -> None:
    (solutions / "1.2" / "script.yaml").write_text(
        "attempts:\n  - behaviour: fail\n    exit_code: 5\n  - behaviour: ok\n"
        "deviations: used a helper module\ncost_usd: 0.25\ntokens_in: 100\n"
    )
    first = _run(worktree, solutions_dir=str(solutions), attempt=1)
    assert first.failure is FailureKind.ERROR and "exit code 5" in first.reason
    second = _run(worktree, solutions_dir=str(solutions), attempt=2)
    assert second.ok
    assert second.text.splitlines()[-1] == "Deviations: used a helper module"
    assert (second.cost_usd, second.tokens_in) == (0.25, 100)


def test_a_bad_script_yaml_names_file_and_line(worktree: Path, solutions: Path) -> None:
    path = solutions / "1.2" / "script.yaml"
    path.write_text("sleep: 0\nbehaviour: explode\n")
    with pytest.raises(ConfigError) as caught:
        _run(worktree, solutions_dir=str(solutions))
    assert str(caught.value).startswith(f"{path}:2: ")
    assert "behaviour" in str(caught.value)


def test_a_bad_inline_script_is_a_config_error(worktree: Path) -> None:
    with pytest.raises(ConfigError, match="unknown_key"):
        _run(worktree, script={"unknown_key": 1})


def test_inline_script_per_task_overrides_the_top(worktree: Path) -> None:
    script = {"behaviour": "fail", "tasks": {"1.2": {"behaviour": "ok", "files": {"b.py": ""}}}}
    result = _run(worktree, script=script)
    assert result.ok
    assert _status(worktree) == ["?? b.py"]


def test_missing_solution_for_a_task_changes_nothing(worktree: Path, tmp_path: Path) -> None:
    (tmp_path / "solutions" / "9.9").mkdir(parents=True)
    result = _run(worktree, solutions_dir=str(tmp_path / "solutions"))
    assert result.ok
    assert _status(worktree) == []


def test_commit_makes_a_commit_in_the_worktree(worktree: Path, solutions: Path) -> None:
    result = _run(worktree, solutions_dir=str(solutions), script={"commit": True})
    assert result.ok, result.reason
    assert _status(worktree) == []
    assert _git(worktree, "log", "-1", "--format=%s").strip() == "1.2: Greeting"
    changed = _git(worktree, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == ["src/greet.py", "tests/test_greet.py"]


@pytest.mark.parametrize("sleep", [0.01, [0.0, 0.02]])
def test_sleep_then_act(worktree: Path, sleep: Any) -> None:
    result = _run(worktree, script={"sleep": sleep, "seed": 7, "files": {"c.py": ""}})
    assert result.ok
    assert _status(worktree) == ["?? c.py"]


def test_sleep_past_the_timeout_is_a_timeout(worktree: Path) -> None:
    result = _run(worktree, timeout_s=0.1, script={"sleep": 100, "files": {"c.py": ""}})
    assert result.failure is FailureKind.TIMEOUT
    assert _status(worktree) == []


def test_every_behaviour_is_covered_here() -> None:
    covered = {"ok", "fail", "hang", "crash", "no-change", "bad-output", "rate-limit", "partial"}
    assert set(BEHAVIOURS) == covered
