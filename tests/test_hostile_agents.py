"""Agents that attack the repository, by mistake or on purpose, and the promise kept.

One test per thing an agent (or the world around a run) was seen to do. Each agent is a
real shell script run by the `command` runner in its attempt's repository; wavefront runs
as a real process; the checks read git and the journal directly. The promise: the user's
refs, config, hooks, stash, ignored files and checkout are as they were (or the attempt
that changed them fails, naming what changed), the integration branch moves only by
wavefront's merges of checked commits, and no process of an attempt outlives it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from chaos.harness import (
    WavefrontProcess,
    git,
    journal_rows,
    make_repo,
    run_cli,
    wavefront_env,
    write_backlog,
)
from chaos.invariants import check_invariants
from components import need
from wavefront.lifetime import kill_tagged, run_tag, tagged_processes
from wavefront.workspace.git import GitRepo
from wavefront.workspace.guard import DEFAULT_PROTECTED, CheckoutGuard
from wavefront.workspace.sandbox import unavailable as sandbox_unavailable

# Most tests here show what the guard detects without a sandbox; the last ones what the
# sandboxes prevent.
RUN = ("run", "--no-progress", "--sandbox", "none")
DEFAULT_RUN = ("run", "--no-progress")
# The user's repository, seen from an attempt's workspace (.wavefront/worktrees/<run>/<task>).
USER = 'U="$PWD/../../../.."; '


def agent(script: str) -> dict[str, Any]:
    """A `command` runner whose agent is a shell script (the prompt arrives as $1)."""
    return {"kind": "command", "argv_template": ["sh", "-c", USER + script, "agent"]}


def files(task_id: str, **extra: Any) -> dict[str, Any]:
    """A well-behaved scripted task writing one file."""
    return {"id": task_id, "title": task_id, "script": {"files": {f"{task_id}.txt": "ok\n"}},
            **extra}


def statuses(repo: Path) -> dict[str, tuple[str, str]]:
    return {r["task_id"]: (r["status"], r["reason"])
            for r in journal_rows(repo, "SELECT * FROM tasks")}


def run_id_of(repo: Path) -> str:
    return str(journal_rows(repo, "SELECT id FROM runs ORDER BY created_at DESC")[0]["id"])


def _run_tag(repo: Path) -> str:
    """The tag prefix of the latest run's attempts (the journaled tags start with it)."""
    prefix = run_tag(run_id_of(repo), repo / ".wavefront" / "journal.db")
    tags = [json.loads(row["data"])["tag"] for row in journal_rows(
        repo, "SELECT data FROM events WHERE kind = 'agent_processes'")]
    assert tags and all(tag.startswith(prefix) for tag in tags), (prefix, tags)
    return prefix


def user_side(repo: Path) -> dict[str, str]:
    """Everything of the user's that an agent must not change, as text to compare."""
    refs = [line for line in git(repo, "for-each-ref").splitlines()
            if "refs/heads/wavefront" not in line]
    git_dir = repo / ".git"
    digests = {}
    for path in sorted([git_dir / "config", *(git_dir / "hooks").glob("*"),
                        *repo.glob(".env*"), repo / "README.md"]):
        if path.is_file():
            digests[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    # wavefront's own folder: git lists it as ignored (despite the pathspec) once it holds a
    # repository, as it does while released workspaces are kept for reuse.
    status = [line for line in git(repo, "status", "--porcelain", "--ignored", "--",
                                   ":!.wavefront").splitlines() if line != "!! .wavefront/"]
    return {"refs": "\n".join(refs), "stash": git(repo, "stash", "list"),
            "status": "\n".join(status), "files": repr(digests)}


def wait_for_file(path: Path, process: WavefrontProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.alive(), f"wavefront ended first: {process.stderr()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent, pytest or init, reaps it later).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def integration_only_by_merges(repo: Path, run_id: str, expected: dict[str, str]) -> None:
    assert check_invariants(repo, run_id, expected) == []


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "repo")
    (path / ".gitignore").write_text(".env*\n")
    (path / ".env").write_text("SECRET=1\n")
    git(path, "add", ".gitignore")
    git(path, "commit", "-q", "-m", "ignore .env")
    return path


# -- agents that outlive their attempt ---------------------------------------------------


LINGERING = (
    # First attempt: note the pid, then work on long after the engine is gone. The retry
    # after resume (the marker exists) just does the work.
    'if [ -e "$U/../second" ]; then echo ok > ok.txt; exit 0; fi; touch "$U/../second";'
    ' echo $$ > "$U/../agent.pid"; sleep 3; echo late > late.txt; sleep 100'
)


def test_resume_kills_the_agent_a_killed_engine_left_running(repo: Path) -> None:
    write_backlog(repo, [{"id": "slow", "title": "slow", "runner": "lingering"}],
                  runners={"lingering": agent(LINGERING)})
    process = WavefrontProcess(repo, RUN)
    pid_file = repo.parent / "agent.pid"
    wait_for_file(pid_file, process)
    process.kill9()
    pid = int(pid_file.read_text())
    assert alive(pid)  # a SIGKILLed engine kills nothing: resume has to
    events = journal_rows(repo, "SELECT data FROM events WHERE kind = 'agent_processes'")
    assert events, "the agent's tag is journaled before it starts"

    finished = run_cli(repo, "resume", "--no-progress")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert not alive(pid)
    run_id = run_id_of(repo)
    # Nothing the old attempt wrote is merged: only the new attempt's file.
    tree = git(repo, "ls-tree", "-r", "--name-only", f"wavefront/{run_id}").split()
    assert "ok.txt" in tree and "late.txt" not in tree
    integration_only_by_merges(repo, run_id, {"slow": "done"})


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_closed_terminal_or_sigterm_stops_the_run_and_its_agents(
    repo: Path, signum: int
) -> None:
    script = 'echo $$ > "$U/../agent.pid"; sleep 100'
    write_backlog(repo, [{"id": "slow", "title": "slow", "runner": "sleeper"}],
                  runners={"sleeper": agent(script)})
    process = WavefrontProcess(repo, RUN)
    pid_file = repo.parent / "agent.pid"
    wait_for_file(pid_file, process)
    process.send(signum)
    finished = process.wait(60.0)
    assert finished.returncode == 3, finished.stderr
    assert "Traceback" not in finished.stderr
    assert not alive(int(pid_file.read_text()))
    assert tagged_processes(_run_tag(repo)) == []


def test_a_background_child_holding_the_pipes_does_not_hold_the_attempt(repo: Path) -> None:
    # It used to wait for the timeout (the pipes stay open) and fail the task.
    write_backlog(repo, [{"id": "bg", "title": "bg", "runner": "bg", "timeout": 60}],
                  runners={"bg": agent("echo x > x.txt; sleep 1000 & exit 0")})
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "timed out" not in (repo / ".wavefront" / "logs").joinpath(
        run_id_of(repo), "bg", "attempt-1.log").read_text()
    assert tagged_processes(_run_tag(repo)) == []


def test_a_setsid_child_is_killed_with_its_attempt(repo: Path) -> None:
    script = ('setsid sh -c \'sleep 2; echo late >> "$0/README.md"\' "$U" '
              "</dev/null >/dev/null 2>&1 & echo x > x.txt; exit 0")
    write_backlog(repo, [{"id": "daemon", "title": "daemon", "runner": "daemon"}],
                  runners={"daemon": agent(script)})
    before = user_side(repo)
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    time.sleep(3)  # past the moment the child would have written
    assert user_side(repo) == before
    assert tagged_processes(_run_tag(repo)) == []


# -- agents that move branches -------------------------------------------------------------


def test_checking_out_the_integration_branch_in_a_workspace_changes_nothing(
    repo: Path,
) -> None:
    script = ('git checkout -q "$(git -C "$U" for-each-ref --format="%(refname:short)"'
              ' refs/heads/wavefront/ | head -n 1)"; echo mine > mine.txt')
    write_backlog(repo, [{"id": "hostile", "title": "hostile", "runner": "hostile"},
                         files("other")],
                  runners={"hostile": agent(script)})
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    run_id = run_id_of(repo)
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    integration_only_by_merges(repo, run_id, {"hostile": "done", "other": "done"})


def test_moving_the_integration_branch_back_loses_nothing(repo: Path) -> None:
    # In its own repository the update-ref is harmless; done to the user's repository, the
    # merge queue puts the branch back before it merges again.
    root = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    script = (f'git update-ref refs/heads/wavefront/x {root}; '
              'b=$(git -C "$U" for-each-ref --format="%(refname)" refs/heads/wavefront/ |'
              f' head -n 1); git -C "$U" update-ref "$b" {root}; exit 1')
    write_backlog(repo, [files("first"),
                         {"id": "vandal", "title": "vandal", "runner": "vandal",
                          "depends_on": ["first"]},
                         files("last", depends_on=["first"])],
                  runners={"vandal": agent(script)}, limits={"max_parallel": 1})
    user_commit = git(repo, "rev-parse", "HEAD").strip()
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 1
    status, why = statuses(repo)["vandal"]
    assert status == "failed" and "wavefront/" in why, why
    run_id = run_id_of(repo)
    branch = f"wavefront/{run_id}"
    tree = git(repo, "ls-tree", "-r", "--name-only", branch).split()
    assert "first.txt" in tree and "last.txt" in tree
    assert git(repo, "merge-base", "--is-ancestor", user_commit, branch) == ""
    moved = journal_rows(repo, "SELECT data FROM events WHERE kind = 'integration_moved'")
    assert len(moved) == 1 and "outside wavefront" in moved[0]["data"]
    integration_only_by_merges(repo, run_id, {"first": "done", "vandal": "failed",
                                              "last": "done"})


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("git checkout -q --detach", "changed no files"),
        ("git reset -q --hard HEAD~1; echo x > x.txt", "no longer descends"),
        ("git checkout -q --detach HEAD~1", "no longer descends"),
    ],
    ids=["detach", "reset-hard", "detach-at-an-older-commit"],
)
def test_a_head_moved_off_its_base_is_never_done_with_another_tasks_merge(
    repo: Path, script: str, reason: str
) -> None:
    write_backlog(repo, [files("first"),
                         {"id": "mover", "title": "mover", "runner": "mover",
                          "depends_on": ["first"]}],
                  runners={"mover": agent(script)})
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 1, finished.stdout + finished.stderr
    status, why = statuses(repo)["mover"]
    assert status == "failed" and reason in why, why
    run_id = run_id_of(repo)
    rows = journal_rows(repo, "SELECT merge_commit FROM tasks WHERE task_id = 'mover'")
    assert not rows[0]["merge_commit"]
    integration_only_by_merges(repo, run_id, {"first": "done", "mover": "failed"})


def test_an_intruder_cannot_change_what_a_person_approves(repo: Path) -> None:
    # While `waiting` waits for a person, another agent commits in its workspace and points
    # its task branch in the user's repository at that commit.
    intruder = (
        'w="$PWD/../waiting"; while [ ! -e "$w/waiting.txt" ]; do sleep 0.05; done; sleep 0.5;'
        ' cd "$w" && echo evil > evil.txt && git add -A'
        ' && git -c user.name=e -c user.email=e@e commit -qm evil'
        ' && git -C "$U" fetch -q "$w" HEAD'
        ' && b=$(git -C "$U" for-each-ref --format="%(refname)" refs/heads/wavefront-tasks/'
        ' | grep /waiting) && git -C "$U" update-ref "$b" FETCH_HEAD;'
        ' cd "$OLDPWD" && echo i > intruder.txt'
    )
    write_backlog(repo, [files("waiting", gates=[{"kind": "human"}]),
                         {"id": "intruder", "title": "intruder", "runner": "intruder"}],
                  runners={"intruder": agent(intruder)})
    first = run_cli(repo, *RUN)
    assert first.returncode == 3, first.stdout + first.stderr
    assert statuses(repo)["waiting"][0] == "needs-human"
    assert run_cli(repo, "approve", "waiting").returncode == 0
    finished = run_cli(repo, "resume", "--no-progress")
    assert finished.returncode == 1, finished.stdout + finished.stderr
    status, why = statuses(repo)["waiting"]
    assert status == "failed" and "moved since its gates checked" in why, why
    run_id = run_id_of(repo)
    tree = git(repo, "ls-tree", "-r", "--name-only", f"wavefront/{run_id}").split()
    assert "evil.txt" not in tree
    integration_only_by_merges(repo, run_id, {"waiting": "failed", "intruder": "done"})


# -- agents that plant things in the user's repository --------------------------------------


PLANTED = {
    "overwrites the ignored .env": ('echo STOLEN > "$U/.env"', ".env"),
    "writes a hook": ('printf "#!/bin/sh\\ntouch $U/../hook-ran\\n" > "$U/.git/hooks/'
                      'post-checkout"; chmod +x "$U/.git/hooks/post-checkout"',
                      ".git/hooks/post-checkout"),
    "sets core.hooksPath": ('git -C "$U" config core.hooksPath /tmp', ".git/config"),
    "sets core.fsmonitor": ('git -C "$U" config core.fsmonitor "touch $U/../hook-ran"',
                            ".git/config"),
    "adds an alias": ('git -C "$U" config alias.st "!touch $U/../hook-ran"', ".git/config"),
    "clears the stash": ('git -C "$U" stash clear', "stash"),
}


@pytest.mark.parametrize("case", list(PLANTED), ids=list(PLANTED))
def test_a_planted_change_fails_the_attempt_and_never_runs_in_wavefronts_git(
    repo: Path, case: str
) -> None:
    (repo / "README.md").write_text("work in progress\n")
    git(repo, "stash", "-q")  # the user has a stash
    script, named = PLANTED[case]
    write_backlog(repo, [{"id": "planter", "title": "planter", "runner": "planter"},
                         files("after", depends_on=["planter"])],
                  runners={"planter": agent(script + "; echo x > x.txt")})
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 1, finished.stdout + finished.stderr
    status, why = statuses(repo)["planter"]
    assert status == "failed" and "wrote outside its worktree" in why and named in why, why
    assert not (repo.parent / "hook-ran").exists()  # nothing planted ran in wavefront's git


def test_a_push_from_the_workspace_reaches_no_remote(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    before = git(remote, "for-each-ref")
    write_backlog(repo, [{"id": "pusher", "title": "pusher", "runner": "pusher"}],
                  runners={"pusher": agent("echo x > x.txt; git add -A;"
                                           " git push -q origin HEAD:refs/heads/evil;"
                                           " git push -q --all; true")})
    user_before = user_side(repo)
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert git(remote, "for-each-ref") == before
    assert user_side(repo) == user_before


# -- the world around a run -----------------------------------------------------------------


def test_deleting_the_run_lock_lets_no_second_engine_in(repo: Path) -> None:
    script = ('rm -f "$U/.wavefront/run.lock"; touch "$U/../lock-gone";'
              ' while [ ! -e "$U/../go-on" ]; do sleep 0.05; done; echo x > x.txt')
    write_backlog(repo, [{"id": "unlocker", "title": "unlocker", "runner": "unlocker"}],
                  runners={"unlocker": agent(script)})
    process = WavefrontProcess(repo, RUN)
    wait_for_file(repo.parent / "lock-gone", process)
    second = run_cli(repo, "resume", "--no-progress")
    (repo.parent / "go-on").touch()
    assert second.returncode == 2, second.stdout + second.stderr
    assert "another wavefront run" in second.stderr and "Traceback" not in second.stderr
    assert process.wait(60.0).returncode == 0


def test_a_report_during_a_run_fails_no_agent(repo: Path) -> None:
    script = ('touch "$U/../working"; while [ ! -e "$U/../go-on" ]; do sleep 0.05; done;'
              " echo x > x.txt")
    write_backlog(repo, [{"id": "busy", "title": "busy", "runner": "busy"}],
                  runners={"busy": agent(script)})
    process = WavefrontProcess(repo, RUN)
    wait_for_file(repo.parent / "working", process)
    report = run_cli(repo, "report")
    (repo.parent / "go-on").touch()
    assert report.returncode == 0, report.stderr
    assert process.wait(60.0).returncode == 0
    assert (repo / ".wavefront" / "report.md").is_file()
    assert not (repo / "report.md").exists()
    assert statuses(repo)["busy"][0] == "done"


def test_output_redirected_into_the_checkout_is_not_an_agents_write(repo: Path) -> None:
    tasks = [files(f"t{i}", script={"sleep": 0.2, "files": {f"t{i}.txt": "ok\n"}})
             for i in range(8)]
    write_backlog(repo, tasks)
    # The process's stdout and stderr are files in the repository (`wavefront run > run.out`).
    finished = WavefrontProcess(repo, RUN, logs=repo).wait(180.0)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert {s for s, _ in statuses(repo).values()} == {"done"}


def test_a_lost_journal_under_an_existing_run_branch_is_not_a_new_run(repo: Path) -> None:
    write_backlog(repo, [files("once")])
    assert run_cli(repo, *RUN, "--run-id", "same").returncode == 0
    (repo / ".wavefront" / "journal.db").unlink()
    for leftover in (repo / ".wavefront").glob("journal.db-*"):
        leftover.unlink()
    again = run_cli(repo, *RUN, "--run-id", "same")
    assert again.returncode == 2, again.stdout + again.stderr
    assert "branch wavefront/same exists" in again.stderr
    assert git(repo, "rev-list", "--count", "--merges", "main..wavefront/same").strip() == "1"


def test_the_journal_records_each_agents_process_group(repo: Path) -> None:
    write_backlog(repo, [{"id": "one", "title": "one", "runner": "one"}],
                  runners={"one": agent("echo x > x.txt")})
    assert run_cli(repo, *RUN).returncode == 0
    kinds = [r["kind"] for r in journal_rows(
        repo, "SELECT kind FROM events WHERE kind IN ('agent_processes', 'agent_started')"
        " ORDER BY id")]
    assert kinds == ["agent_processes", "agent_started"]


# -- the bubblewrap sandbox -----------------------------------------------------------------


def test_in_the_sandbox_a_write_to_the_users_repository_is_denied(repo: Path) -> None:
    need(sandbox_unavailable() is None, f"{sandbox_unavailable()}")
    script = ('echo mine > mine.txt; if echo hacked >> "$U/README.md"; then'
              ' echo WROTE > wrote.txt; fi; echo x > "$U/../outside.txt" || true;'
              " setsid sh -c 'sleep 2; echo late > late.txt' </dev/null >/dev/null 2>&1 &")
    write_backlog(repo, [{"id": "boxed", "title": "boxed", "runner": "boxed"}],
                  runners={"boxed": agent(script)})
    before = user_side(repo)
    finished = run_cli(repo, *RUN, "--sandbox", "bwrap", "--no-sandbox-network")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert user_side(repo) == before  # denied, not merely detected afterwards
    assert not (repo.parent / "outside.txt").exists()
    tree = git(repo, "ls-tree", "-r", "--name-only", f"wavefront/{run_id_of(repo)}").split()
    assert "mine.txt" in tree and "wrote.txt" not in tree and "late.txt" not in tree
    assert tagged_processes(_run_tag(repo)) == []


def test_asking_for_a_sandbox_that_is_missing_stops_before_any_agent(
    repo: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin-without-bwrap"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    write_backlog(repo, [{"id": "never", "title": "never", "runner": "never"}],
                  runners={"never": agent('touch "$U/../agent-ran"')})
    finished = run_cli(repo, *RUN, "--sandbox", "bwrap",
                       env=wavefront_env(PATH=str(bin_dir)))
    assert finished.returncode == 2, finished.stdout + finished.stderr
    last = finished.stderr.strip().splitlines()[-1]
    assert "bubblewrap" in last and "not installed" in last and "Traceback" not in finished.stderr
    assert not (repo.parent / "agent-ran").exists()
    assert not (repo / ".wavefront" / "journal.db").exists()


PERSON_AND_AGENT = (
    # The agent tries the user's checkout, then waits while the person edits it (the
    # signals are in its own git directory: the sandbox lets it write nowhere else).
    'echo agent >> "$U/README.md" 2>/dev/null; echo mine > mine.txt;'
    " touch .git/working; while [ ! -e .git/go-on ]; do sleep 0.05; done"
)


PERSON_CASES = {
    # case: (wavefront.yaml settings, extra arguments of `run`)
    "by default": ({}, ()),
    "bwrap from wavefront.yaml": ({"sandbox": "bwrap", "sandbox_network": False}, ()),
    "turned off by --sandbox none": ({"sandbox": "bwrap"}, ("--sandbox", "none")),
}


@pytest.mark.parametrize("case", list(PERSON_CASES), ids=list(PERSON_CASES))
def test_a_persons_edit_during_a_run_fails_no_agent_in_a_sandbox(repo: Path, case: str) -> None:
    need(sandbox_unavailable() is None, f"{sandbox_unavailable()}")
    settings, extra = PERSON_CASES[case]
    write_backlog(repo, [{"id": "busy", "title": "busy", "runner": "busy"}],
                  runners={"busy": agent(PERSON_AND_AGENT)}, **settings)
    process = WavefrontProcess(repo, (*DEFAULT_RUN, *extra))
    deadline = time.monotonic() + 60
    while not (signals := list((repo / ".wavefront").glob("worktrees/*/busy/.git/working"))):
        assert process.alive() and time.monotonic() < deadline, process.stderr()
        time.sleep(0.02)
    (repo / "README.md").write_text("the person's edit\n")
    signals[0].with_name("go-on").touch()
    finished = process.wait(60.0)
    status, why = statuses(repo)["busy"]
    if not extra:
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert status == "done", why
        # The agent's own write was denied; the person's edit is there, and recorded.
        assert (repo / "README.md").read_text() == "the person's edit\n"
        events = journal_rows(repo, "SELECT data FROM events WHERE kind = 'outside_writes'")
        assert len(events) == 1 and "README.md" in events[0]["data"]
    else:
        # Without one wavefront cannot tell who wrote, and says so.
        assert finished.returncode == 1, finished.stdout + finished.stderr
        assert status == "failed" and "if you made that change yourself" in why, why


def test_by_default_the_users_repository_is_read_only_for_agents(repo: Path) -> None:
    need(sandbox_unavailable() is None, f"{sandbox_unavailable()}")
    (repo / "README.md").write_text("work in progress\n")
    git(repo, "stash", "-q")
    planted = "; ".join(script for script, _ in PLANTED.values())
    script = (f'{planted}; git -C "$U" update-ref refs/heads/main HEAD~0;'
              ' echo late >> "$U/README.md"; echo beside > "$U/../beside.txt"; echo x > x.txt')
    write_backlog(repo, [{"id": "planter", "title": "planter", "runner": "planter"}],
                  runners={"planter": agent(script)})
    before = user_side(repo)
    finished = run_cli(repo, *DEFAULT_RUN)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert statuses(repo)["planter"][0] == "done"
    assert user_side(repo) == before  # prevented, not detected afterwards
    assert not (repo.parent / "hook-ran").exists()
    # Only the repository is protected: the rest of the machine is as without a sandbox.
    assert (repo.parent / "beside.txt").is_file()


def test_the_protected_ignored_files_are_set_in_wavefront_yaml(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env*\nsecrets/\n")
    (repo / "secrets").mkdir()
    (repo / "secrets" / "app.key").write_text("key\n")
    write_backlog(repo, [{"id": "thief", "title": "thief", "runner": "thief"}],
                  runners={"thief": agent('echo x > "$U/secrets/app.key"; echo x > x.txt')},
                  protected=["secrets/*.key"])
    finished = run_cli(repo, *RUN)
    assert finished.returncode == 1, finished.stdout + finished.stderr
    status, why = statuses(repo)["thief"]
    assert status == "failed" and "secrets/app.key" in why, why


def test_the_guard_finds_protected_files_in_every_folder_but_wavefronts_own(
        repo: Path) -> None:
    # A workspace being removed is a plain folder for a moment; git stopped with "Invalid
    # path" when one went while it walked the state folder, and failed an attempt.
    for folder in ("src/deep", "we[i]rd*?", ".wavefront/pool/0a1b.resetting"):
        (repo / folder).mkdir(parents=True)
        (repo / folder / ".env").write_text("secret\n")
    (repo / ".env.local").write_text("secret\n")
    found = CheckoutGuard(GitRepo(repo), DEFAULT_PROTECTED).snapshot().entries
    ignored = sorted(path for path, (record, *_) in found.items() if record == "ignored")
    assert ignored == [".env", ".env.local", "src/deep/.env", "we[i]rd*?/.env"]


def test_doctor_says_whether_the_sandbox_works_and_is_used(repo: Path) -> None:
    write_backlog(repo, [files("a")], sandbox="auto", sandbox_network=False)
    found = run_cli(repo, "doctor", "--json")
    assert found.returncode == 0, found.stderr
    sandbox = json.loads(found.stdout)["sandbox"]
    missing = sandbox_unavailable()
    assert sandbox["available"] is (missing is None) and sandbox["reason"] == missing
    assert sandbox["configured"] == "auto" and sandbox["network"] is False
    assert sandbox["used"] == ("bwrap" if missing is None else "none")


HALF_MADE = {
    # What a SIGKILL while a workspace was being made can leave (an old `git worktree
    # add` left a `.git` file whose admin folder has no commondir).
    "a worktree link without commondir": lambda path: (
        path.mkdir(parents=True), (path / ".git").write_text("gitdir: /nonexistent/wt\n")),
    "git init without a checkout": lambda path: (
        git(path.parent, "init", "-q", "--template=", str(path)),
        (path / ".git" / "index.lock").write_text("")),
}


@pytest.mark.parametrize("shape", list(HALF_MADE), ids=list(HALF_MADE))
def test_resume_copes_with_a_workspace_a_kill_left_half_made(repo: Path, shape: str) -> None:
    script = ('if [ -e "$U/../second" ]; then echo ok > ok.txt; exit 0; fi;'
              ' touch "$U/../second"; sleep 100')
    write_backlog(repo, [{"id": "slow", "title": "slow", "runner": "slow"}],
                  runners={"slow": agent(script)})
    process = WavefrontProcess(repo, RUN)
    wait_for_file(repo.parent / "second", process)
    process.kill9()
    workspace = next((repo / ".wavefront" / "worktrees").glob("*/slow"))
    kill_tagged(_run_tag(repo))  # as resume would; the folder is then replaced
    shutil.rmtree(workspace)
    HALF_MADE[shape](workspace)
    finished = run_cli(repo, "resume", "--no-progress")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    run_id = run_id_of(repo)
    assert "ok.txt" in git(repo, "ls-tree", "-r", "--name-only", f"wavefront/{run_id}")
    integration_only_by_merges(repo, run_id, {"slow": "done"})
