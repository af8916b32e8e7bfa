"""The Ray executor on a real local cluster: a head and two worker nodes (raylets) on
127.0.0.1, started once for the module; `wavefront` runs as the coordinator in a
subprocess, its agents (the script runner) in Ray tasks on the workers.

- the demo backlog: every story merged once, the example's tests green on the branch;
- a worker node's raylet SIGKILLed mid-run: its attempts are lost and run again on the
  other node without spending a retry, nothing is merged twice, and the surviving node
  keeps no workspace;
- the coordinator SIGKILLed mid-run, then `resume --executor ray`: done exactly once;
- an agent on a worker in the run's sandbox, with the workspace's copied files;
- placement by runner resource, a worker's rate limit pausing the runner, doctor.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.harness import (
    JournalWatch,
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
from raycluster import RAY_AVAILABLE, LocalCluster
from wavefront.workspace.sandbox import unavailable as sandbox_unavailable

pytestmark = pytest.mark.slow


# One cluster for each process of the suite that runs these tests, for the whole session:
# the suite's processes take tests one by one from every file, and a module's fixtures
# would end (and the cluster be made again) whenever another module's test came between.
@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    need(RAY_AVAILABLE, "Ray is not installed: pip install -e '.[ray]'")
    started = LocalCluster(tmp_path_factory.mktemp("ray-workers"))
    try:
        yield started
    finally:
        started.shutdown()


def _sleepy_backlog(repo: Path, count: int, sleep: float) -> dict[str, str]:
    """`count` independent tasks, each writing its own file after `sleep` seconds."""
    tasks = [{"id": f"t{i}", "title": f"task {i}",
              "script": {"sleep": sleep, "files": {f"out/t{i}.txt": f"work of t{i}\n"}}}
             for i in range(count)]
    write_backlog(repo, tasks, limits={"max_parallel": 4})
    return {task["id"]: "done" for task in tasks}


def _merged_once(repo: Path, run_id: str) -> list[str]:
    """The task ids of the merge commits on the run's branch (one each if all is well)."""
    subjects = git(repo, "log", "--merges", "--format=%s", f"wavefront/{run_id}").splitlines()
    return sorted(s.split(":")[0].removeprefix("Merge ") for s in subjects)


def _run_id(repo: Path) -> str:
    return str(journal_rows(repo, "SELECT id FROM runs ORDER BY created_at DESC")[0]["id"])


def test_the_demo_runs_on_the_cluster_and_its_tests_pass_on_the_branch(
        cluster: LocalCluster, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "wavefront", "demo", "--dir", str(demo), "--no-progress",
         "--executor", "ray", "--address", cluster.address],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        env=wavefront_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Done: 10" in done.stdout
    run_id = _run_id(demo)
    assert _merged_once(demo, run_id) == sorted(
        ["0.1", "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "3.1", "3.2"])
    checkout = tmp_path / "check"
    git(demo, "worktree", "add", "-q", str(checkout), f"wavefront/{run_id}")
    tests = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t",
                            "."], cwd=checkout, capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stderr
    # The test gate of every story's own branch was checked where its agent ran.
    gates = journal_rows(demo, "SELECT g.details FROM gate_results g JOIN attempts a ON "
                               "a.id = g.attempt_id WHERE a.run_id = ? AND g.gate LIKE "
                               "'command:%'", run_id)
    branch = [row["details"] for row in gates if "-merged-" not in row["details"]]
    assert branch and all(d.startswith("checked on worker node ") for d in branch)
    # The agents ran on the workers: their clones hold the run's commits, their
    # workspaces are gone.
    used = [d for d in cluster.node_dirs().values() if (d / "repos").is_dir()]
    assert used, "no worker node made a clone"
    assert all(not any((d / "workspaces").iterdir()) for d in used
               if (d / "workspaces").is_dir())


def test_a_worker_node_killed_mid_run_loses_its_attempts_and_they_run_again(
        cluster: LocalCluster, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    expected = _sleepy_backlog(repo, 6, 3.0)
    victim = cluster.workers[0].node_id
    workspaces = cluster.node_dirs()[victim] / "workspaces"
    # What an earlier test may have left there is not this run's work.
    before = set(workspaces.iterdir()) if workspaces.is_dir() else set()
    process = WavefrontProcess(repo, ["run", "--no-progress", "--executor", "ray",
                                      "--address", cluster.address])
    watch = JournalWatch(repo)
    # Wait until the victim node is working on an attempt of this run (a new workspace).
    assert watch.wait_for(
        lambda *_: workspaces.is_dir() and bool(set(workspaces.iterdir()) - before),
        process, timeout=90)
    cluster.kill_node(victim)
    finished = process.wait(240)
    assert finished.returncode == 0, finished.stderr
    run_id = _run_id(repo)
    assert check_invariants(repo, run_id, expected) == []
    assert _merged_once(repo, run_id) == sorted(expected)
    lost = journal_rows(repo, "SELECT task_id FROM attempts WHERE run_id = ? AND "
                              "failure = 'lost'", run_id)
    assert lost, "no attempt was lost with the node"
    retried = journal_rows(repo, "SELECT task_id, retries_used FROM tasks WHERE run_id = ?"
                                 " AND retries_used > 0", run_id)
    assert retried == []
    survivor = cluster.node_dirs()[cluster.workers[1].node_id]
    assert list((survivor / "workspaces").iterdir()) == []


def test_the_coordinator_killed_mid_run_resumes_on_the_cluster_exactly_once(
        cluster: LocalCluster, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    expected = _sleepy_backlog(repo, 4, 1.5)
    process = WavefrontProcess(repo, ["run", "--no-progress", "--executor", "ray",
                                      "--address", cluster.address])
    watch = JournalWatch(repo)
    merged = lambda kind, task, data: kind == "task_status" and '"done"' in data  # noqa: E731
    assert watch.wait_for(merged, process, timeout=90)
    process.kill9()
    done = run_cli(repo, "resume", "--no-progress", "--executor", "ray", "--address",
                   cluster.address, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    run_id = _run_id(repo)
    assert check_invariants(repo, run_id, expected) == []
    assert _merged_once(repo, run_id) == sorted(expected)
    settings = json.loads(journal_rows(repo, "SELECT options FROM runs WHERE id = ?",
                                       run_id)[0]["options"])["settings"]
    assert settings["executor"] == "ray"


def test_the_workers_agents_get_the_runs_sandbox_and_copied_files(
        cluster: LocalCluster, tmp_path: Path) -> None:
    need(sandbox_unavailable() is None, f"{sandbox_unavailable()}")
    repo = make_repo(tmp_path / "repo")
    (repo / ".gitignore").write_text(".env\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore .env")
    (repo / ".env").write_text("SECRET=on the coordinator\n")
    outside = tmp_path / "outside.txt"
    # The nodes offer the `script` resource: this `script` runner is a shell agent that
    # reads the copied file, then tries to write outside its workspace.
    agent = f"cat .env > seen.txt; echo escaped > {outside} || echo refused > refused.txt"
    write_backlog(repo, [{"id": "boxed", "title": "boxed"}], runners={"script": {
        "kind": "command", "argv_template": ["sh", "-c", agent, "agent"]}},
        workspace={"copy": [".env"]})
    done = run_cli(repo, "run", "--no-progress", "--executor", "ray", "--address",
                   cluster.address, "--sandbox", "bwrap", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not outside.exists()
    branch = f"wavefront/{_run_id(repo)}"
    tree = git(repo, "ls-tree", "-r", "--name-only", branch).split()
    assert "refused.txt" in tree and ".env" not in tree
    assert git(repo, "show", f"{branch}:seen.txt") == "SECRET=on the coordinator\n"


def test_the_checkout_sandbox_keeps_the_users_repository_from_agents_on_workers(
        cluster: LocalCluster, tmp_path: Path) -> None:
    need(sandbox_unavailable() is None, f"{sandbox_unavailable()}")
    repo = make_repo(tmp_path / "repo")
    # The cluster's workers are on this machine, where the user's repository is.
    agent = (f"echo mine > mine.txt; echo hacked >> {repo}/README.md"
             " || echo refused > refused.txt")
    write_backlog(repo, [{"id": "boxed", "title": "boxed"}], runners={"script": {
        "kind": "command", "argv_template": ["sh", "-c", agent, "agent"]}})
    done = run_cli(repo, "run", "--no-progress", "--executor", "ray", "--address",
                   cluster.address, "--sandbox", "checkout", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "README.md").read_text() == "hello\n"
    tree = git(repo, "ls-tree", "-r", "--name-only", f"wavefront/{_run_id(repo)}").split()
    assert "mine.txt" in tree and "refused.txt" in tree


def test_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path: Path) -> None:
    need(RAY_AVAILABLE, "Ray is not installed: pip install -e '.[ray]'")
    repo = make_repo(tmp_path / "repo")
    _sleepy_backlog(repo, 1, 0.0)
    done = run_cli(repo, "run", "--no-progress", "--executor", "ray", "--address",
                   "127.0.0.1:9", timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "error: cannot reach the Ray cluster at 127.0.0.1:9")


def test_doctor_lists_each_node_with_its_resources_and_agent_clis(
        cluster: LocalCluster, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wavefront", "doctor", "--executor", "ray",
                           "--address", cluster.address], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, env=wavefront_env())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    alive = [node for node in cluster.workers if node.node_id not in cluster.killed]
    assert lines[0] == f"Ray cluster at {cluster.address}: {len(alive) + 1} nodes alive"
    for node in alive:
        block = lines[lines.index(next(line for line in lines
                                       if line.startswith(f"node {node.node_id[:12]}"))):]
        assert block[1] == "  resources: CPU 2, script 2"
        assert block[2].startswith("  agent CLIs: ")
        assert block[3].startswith("  git version ")
    assert all(len(line) <= 80 for line in lines)
    as_json = subprocess.run([sys.executable, "-m", "wavefront", "doctor", "--executor", "ray",
                              "--address", cluster.address, "--json"], capture_output=True,
                             text=True, timeout=120, stdin=subprocess.DEVNULL,
                             env=wavefront_env())
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["address"] == cluster.address
    by_id = {node["node_id"]: node for node in report["nodes"]}
    for node in alive:
        assert by_id[node.node_id]["resources"].get("script") == 2


def test_help_does_not_import_ray() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys; from wavefront.cli import main; "
                           "sys.argv = ['wavefront', '--help']\ntry:\n    main()\n"
                           "except SystemExit:\n    pass\nprint('ray' in sys.modules)"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr


def test_without_ray_installed_the_ray_executor_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The same interpreter with every installed package but Ray (`-S`: no site folder)."""
    import site

    packages = tmp_path / "packages"
    packages.mkdir()
    for folder in site.getsitepackages():
        for entry in Path(folder).iterdir():
            if not entry.name.lower().startswith("ray"):
                (packages / entry.name).symlink_to(entry)
    repo = make_repo(tmp_path / "repo")
    _sleepy_backlog(repo, 1, 0.0)
    source = Path(__file__).resolve().parent.parent / "src"
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import sys; sys.path[:0] = sys.argv[1:3]; "
         "sys.argv = ['wavefront', 'run', '--no-progress', '--executor', 'ray', "
         "'--address', '127.0.0.1:9']; from wavefront.cli import main; main()",
         str(source), str(packages)],
        cwd=repo, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: the Ray executor needs Ray, which is not installed: "
        "pip install 'wavefront[ray]'")


def test_a_runner_that_no_node_offers_never_runs_and_says_which_resource(
        cluster: LocalCluster, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_backlog(repo, [
        {"id": "here", "title": "offered", "script": {"files": {"here.txt": "h\n"}}},
        {"id": "nowhere", "title": "not offered", "runner": "nowhere",
         "script": {"files": {"nowhere.txt": "n\n"}}},
    ], runners={"nowhere": {"kind": "script"}})
    done = run_cli(repo, "run", "--no-progress", "--executor", "ray", "--address",
                   cluster.address, timeout=180)
    assert done.returncode == 1, done.stderr
    run_id = _run_id(repo)
    rows = {row["task_id"]: row for row in journal_rows(
        repo, "SELECT task_id, status, reason FROM tasks WHERE run_id = ?", run_id)}
    assert rows["here"]["status"] == "done"
    assert rows["nowhere"]["status"] == "failed"
    assert "no node of the Ray cluster offers resource 'nowhere'" in rows["nowhere"]["reason"]
    assert _merged_once(repo, run_id) == ["here"]


def test_a_rate_limit_on_a_worker_pauses_the_runner_at_the_coordinator(
        cluster: LocalCluster, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_backlog(repo, [{"id": "r", "title": "limited", "script": {
        "files": {"r.txt": "r\n"},
        "attempts": [{"behaviour": "rate-limit", "reset_after": 1}, {"behaviour": "ok"}]}}])
    done = run_cli(repo, "run", "--no-progress", "--executor", "ray", "--address",
                   cluster.address, timeout=180)
    assert done.returncode == 0, done.stderr
    run_id = _run_id(repo)
    task = journal_rows(repo, "SELECT retries_used FROM tasks WHERE run_id = ?", run_id)[0]
    assert task["retries_used"] == 0
    reasons = [json.loads(row["data"]).get("reason", "") for row in journal_rows(
        repo, "SELECT data FROM events WHERE run_id = ? AND kind = 'task_status'", run_id)]
    assert any("runner script rate limited until" in reason for reason in reasons)
