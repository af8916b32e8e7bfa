"""Commits carried as git bundles and a worker's cached clone, on real repositories."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from chaos.harness import git, make_repo
from wavefront.workspace.bundles import WorkerCache, bundle_of, fetch_bundle, has_commit


def _commit(repo: Path, name: str) -> str:
    (repo / name).write_text(f"{name}\n")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", name)
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_worker_fetches_the_whole_history_once_then_only_what_is_new(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    anchor = git(repo, "rev-parse", "HEAD").strip()
    whole = bundle_of(repo)
    assert whole is not None
    cache = WorkerCache(tmp_path / "worker")
    asked: list[str] = []

    def anchor_bundle() -> bytes:
        asked.append("anchor")
        return whole

    def delta_bundle() -> bytes | None:
        asked.append("delta")
        return bundle_of(repo, exclude=anchor)

    assert cache.ensure("project", anchor, anchor, anchor_bundle, delta_bundle) == "anchor"
    assert cache.ensure("project", anchor, anchor, anchor_bundle, delta_bundle) == "none"
    later = _commit(repo, "second.txt")
    assert cache.ensure("project", later, anchor, anchor_bundle, delta_bundle) == "delta"
    assert asked == ["anchor", "delta"]
    assert bundle_of(repo, exclude=later) is None  # nothing new: no bundle

    # The worker's workspace starts at `later`; its commit travels back as a bundle.
    workspace = cache.workspace("project", "attempt-1", later)
    assert (workspace / "second.txt").read_text() == "second.txt\n"
    result = _commit(workspace, "work.txt")
    back = bundle_of(workspace, exclude=later)
    assert back is not None and len(back) < len(whole) + 1024
    fetch_bundle(repo, back, result)
    assert has_commit(repo, result)
    cache.remove(workspace)
    assert cache.workspaces() == []


def test_a_workspace_whose_process_was_killed_is_removed_by_the_next_attempt(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD").strip()
    whole = bundle_of(repo)
    assert whole is not None
    cache = WorkerCache(tmp_path / "worker")
    cache.ensure("project", base, base, lambda: whole, lambda: None)
    holder = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from wavefront.workspace.bundles import WorkerCache
        cache = WorkerCache(Path({str(tmp_path / "worker")!r}))
        cache.workspace("project", "killed", {base!r})
        print("ready", flush=True)
        time.sleep(600)
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    # While its process lives, another attempt leaves it alone.
    alive = cache.workspace("project", "other", base)
    assert [p.name for p in cache.workspaces()] == ["killed", "other"]
    cache.remove(alive)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    fresh = cache.workspace("project", "next", base)
    assert [p.name for p in cache.workspaces()] == ["next"]
    cache.remove(fresh)
