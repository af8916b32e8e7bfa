"""`wavefront init`: write one of the shipped workflow templates into a repository.

Registered on the `wavefront` group in `cli.py`; the templates and the writing live in
`wavefront.workflow.init`.
"""

from __future__ import annotations

from pathlib import Path

import click

from wavefront.cli.group import wavefront

__all__: list[str] = []


@wavefront.command()
@click.option("-t", "--template", "name", metavar="NAME",
              help="The template to write (see --list).")
@click.option("--list", "list_only", is_flag=True, help="List the templates and exit.")
@click.option("-C", "--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default="current directory",
              help="The repository to write wavefront.yaml into.")
@click.option("--scripted", is_flag=True,
              help="Also set the script runner with the template's example outputs, so "
                   "`wavefront run` goes through every step without a model.")
@click.option("--force", is_flag=True, help="Replace an existing wavefront.yaml.")
def init(name: str | None, list_only: bool, directory: Path, scripted: bool,
         force: bool) -> None:
    """Write a wavefront.yaml for this repository: the backlogs found, the agent CLI
    installed, a test gate guessed from the project, each with a comment.

    With --template NAME, write a workflow template instead: standard (phases from
    requirements to release, each behind a gate), multistage, fullstack, or one example per
    orchestration pattern (`wavefront init --list` shows them all).
    """
    from wavefront.workflow.init import init_template, list_templates

    if list_only:
        templates = list_templates()
        width = max(len(t.name) for t in templates)
        for template in templates:
            click.echo(f"{template.name:<{width}}  {template.description}")
        return
    if name is None:
        _init_project(directory, force)
        return
    path = init_template(name, directory, scripted=scripted, force=force)
    click.echo(f"wrote {path}", err=True)
    next_step = "wavefront run" if scripted else "wavefront run --runner NAME"
    click.echo(f"next: wavefront plan -C {directory} && {next_step} -C {directory}", err=True)


def _init_project(directory: Path, force: bool) -> None:
    from wavefront.projectinit import init_project

    path, found = init_project(directory, force=force)
    click.echo(f"wrote {path}", err=True)
    if found.backlogs:
        shown = ", ".join(f"{p} ({fmt})" for fmt, p in found.backlogs)
        click.echo(f"backlog: {shown}", err=True)
    else:
        click.echo("backlog: none found; the file shows how to name one", err=True)
    agent = found.agents[0] if found.agents else None
    click.echo(f"agent: {agent}" if agent else
               "agent: no agent CLI found; set runners.command.argv_template to yours",
               err=True)
    gate = found.test_command or "none guessed (see gates: in the file)"
    click.echo(f"test gate: {gate}", err=True)
    where = "" if directory == Path(".") else f" -C {directory}"
    click.echo(f"next: wavefront validate{where} && wavefront plan{where} && "
               f"wavefront run{where}", err=True)
