"""The task flow's link to `workspace.setup`: its settings, its log, its process runner."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from wavefront.agents.runners.process import run_process
from wavefront.workspace.setup import (
    Prepared,
    WorkspaceSetup,
    prepare_workspace,
    teardown_workspace,
)

__all__ = ["WorkspacePreparer"]


async def _run_command(
    command: str, cwd: Path, env: Mapping[str, str], log_path: Path, timeout_s: float
) -> tuple[bool, str]:
    """A setup command contained like an agent: own process group, logged, killed on
    timeout. The workspace's variables come on top of the usual allow-listed ones."""
    # The log's folder is made at its first write: a run without setup commands makes none.
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {command}\n")
    outcome = await run_process(["sh", "-c", command], cwd=cwd, log_path=log_path,
                                timeout_s=timeout_s, env=env, kill_grace_s=1.0)
    output = (outcome.stdout + outcome.stderr).strip()
    if outcome.timed_out:
        return False, f"timed out after {timeout_s:g}s: {output}"
    if outcome.returncode != 0:
        return False, f"exited {outcome.returncode}: {output}"
    return True, output


class WorkspacePreparer:
    """Prepares each new workspace of a run and tidies it when the task's work ends."""

    def __init__(self, setup: WorkspaceSetup, checkout: Path | None, logs_dir: Path) -> None:
        self.setup = setup
        self.checkout = checkout
        self.logs_dir = logs_dir

    def log_path(self, task_dir: str) -> Path:
        return self.logs_dir / task_dir / "setup.log"

    async def prepare(self, task_id: str, task_dir: str, workspace: Path) -> Prepared:
        log = self.log_path(task_dir)
        return await prepare_workspace(self.setup, self.checkout or workspace, workspace,
                                       task_id, log, _run_command)

    async def teardown(self, task_dir: str, workspace: Path, prepared: Prepared) -> None:
        await teardown_workspace(self.setup, workspace, prepared.env, self.log_path(task_dir),
                                 _run_command)
