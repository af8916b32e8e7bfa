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
    """Write a workflow template as wavefront.yaml: standard (phases from requirements to
    release, each behind a gate), multistage, fullstack, or one example per orchestration
    pattern (`wavefront init --list` shows them all).

    Then `wavefront plan` shows its graph (steps that grow at run time are marked) and
    `wavefront run --runner NAME` runs it.
    """
    from wavefront.workflow.init import init_template, list_templates

    if list_only or name is None:
        templates = list_templates()
        width = max(len(t.name) for t in templates)
        for template in templates:
            click.echo(f"{template.name:<{width}}  {template.description}")
        if name is None and not list_only:
            click.echo("\nchoose one with --template NAME", err=True)
        return
    path = init_template(name, directory, scripted=scripted, force=force)
    click.echo(f"wrote {path}", err=True)
    next_step = "wavefront run" if scripted else "wavefront run --runner NAME"
    click.echo(f"next: wavefront plan -C {directory} && {next_step} -C {directory}", err=True)
