"""Shared fixtures: real git repositories in temporary directories."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

# Real backlog and agent files from public projects live beside the repository, in
# `../shared/fixtures` (or $WAVEFRONT_FIXTURES). Tests that read them skip where they are
# absent (a bare clone), except in CI, which always has them: there, absence is a failure.
FIXTURES = Path(os.environ.get("WAVEFRONT_FIXTURES") or REPO_ROOT.parent / "shared" / "fixtures")
if os.environ.get("CI") and not FIXTURES.is_dir():
    raise RuntimeError(f"CI run without the shared fixtures at {FIXTURES}")

# Mark for a test that reads the shared fixtures: it skips on a clone with nothing beside it.
needs_shared_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"real-project fixtures not found at {FIXTURES}"
)

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *GIT_IDENTITY, *args], check=True,
                          capture_output=True, text=True)
    return done.stdout


@pytest.fixture
def isolated_git_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The test sees no user or system git config: wavefront must work without any."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A repository with one commit on `main`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("hello\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


WriteBacklog = Callable[..., Path]


@pytest.fixture
def write_backlog(git_repo: Path) -> WriteBacklog:
    """Write a `wavefront.yaml` with scripted tasks into the repository (not committed)."""

    def write(tasks: list[dict[str, Any]], **settings: Any) -> Path:
        document: dict[str, Any] = {"version": 1, "defaults": {"runner": "script",
                                                               "retries": 0}}
        for key, value in settings.items():
            if isinstance(value, dict) and isinstance(document.get(key), dict):
                document[key].update(value)
            else:
                document[key] = value
        document["tasks"] = tasks
        path = git_repo / "wavefront.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    return write
