"""`wavefront mcp`: the MCP server over stdio, or streamable HTTP on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from wavefront.cli.group import wavefront
from wavefront.errors import WavefrontError

__all__: list[str] = []

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@wavefront.command()
@click.option("-C", "--dir", "root", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default="current directory",
              help="The repository whose backlog and runs the tools act on.")
@click.option("--tools", "tier", type=click.Choice(["core", "standard", "all"]),
              default="core", show_default=True,
              help="Which tools: core (read the backlog and runs, answer), standard (also "
                   "plan, logs, approve, reject, retry), all (also start and cancel runs, "
                   "complete subtasks).")
@click.option("--http", "port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Serve streamable HTTP on PORT (path /mcp) instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address for --http; anything but loopback needs --allow-remote.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a --host that is not loopback (the tools have no authentication).")
@click.option("--task", "task_id", metavar="ID",
              help="Serve only the agent tools (ask_human, report_deviation, task_context), "
                   "bound to this task of the run: what a run gives each agent.")
@click.option("--run", "run_id", metavar="RUN", help="With --task: the run (default: latest).")
@click.option("--answer-wait", type=click.FloatRange(min=0), default=600.0, show_default=True,
              metavar="SECONDS",
              help="With --task: how long ask_human waits for an answer before the agent is "
                   "told to end its round.")
def mcp(root: Path, tier: str, port: int | None, host: str, allow_remote: bool,
        task_id: str | None, run_id: str | None, answer_wait: float) -> None:
    """Serve wavefront's backlog, runs and decisions as MCP tools (needs wavefront[mcp])."""
    if host not in LOOPBACK and not allow_remote:
        raise WavefrontError(f"--host {host} is not loopback; the tools have no "
                             "authentication: pass --allow-remote if you mean it")
    if run_id and not task_id:
        raise click.UsageError("--run goes with --task (the other tools take a run_id)")
    try:
        from wavefront.mcp.agenttools import TaskScope
        from wavefront.mcp.server import Tier, build_server
    except ImportError as error:
        if error.name is None or not error.name.startswith("mcp"):
            raise
        raise WavefrontError("the MCP server needs the mcp extra: "
                             "pip install 'wavefront[mcp]'") from error
    scope = (TaskScope(root.resolve(), task_id, run_id, answer_wait) if task_id else None)
    server = build_server(root, cast(Tier, tier), scope, host=host, port=port or 8000)
    server.run("streamable-http" if port else "stdio")
