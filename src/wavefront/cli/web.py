"""`wavefront serve`: the dashboard. Its dependencies are the `[web]` extra, imported only
when the command runs, so the rest of the CLI starts without them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from wavefront.cli.group import wavefront
from wavefront.errors import WavefrontError

if TYPE_CHECKING:
    import socket

__all__: list[str] = []

MISSING = ("the dashboard needs the web extra: pip install 'wavefront[web]' "
           "(Starlette, uvicorn and Jinja2)")


@wavefront.command()
@click.option("-C", "--dir", "root", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default="current directory",
              help="The git repository whose runs to show.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but loopback needs the token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8421, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--token", metavar="TOKEN",
              help="Required on every request (default beyond loopback: a new one, printed).")
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in a browser.")
def serve(root: Path, host: str, port: int, token: str | None, open_browser: bool) -> None:
    """Show the repository's runs live in a browser: the task graph, each agent's log,
    diffs, gates, cost, and a queue of what waits for you (approve, reject, retry).

    It only reads the journal: start and stop it at any time without touching a run.
    """
    try:
        import uvicorn

        from wavefront.web import create_app
        from wavefront.web.security import access_rule
    except ImportError as error:
        raise WavefrontError(f"{MISSING} ({error.name} is missing)") from None
    from wavefront.workspace.git import GitRepo

    repo = GitRepo(root).root
    token, hosts = access_rule(host, token)
    app = create_app(repo, token=token, hosts=hosts)
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    click.echo(f"wavefront dashboard: {address}", err=True)
    click.echo(f"showing the runs of {repo}", err=True)
    click.echo("Ctrl-C stops the dashboard; runs go on", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(address)
    # Open event streams would hold a graceful shutdown forever; a second is enough.
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """The bound socket, so the address printed is the real one (port 0 picks a free one)."""
    import socket  # here, not at the top: `wavefront --help` need not pay for it

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        raise WavefrontError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                             " (pick another with --host or --port)") from None
    return sock
