"""`wavefront demo`: the bundled example project, run end to end with scripted agents.

The example (`examples/bookshelf/`) is a small real program whose stories each come with an
example solution; the `script` runner applies them, so the whole engine (worktrees, gates,
review rounds, the merge queue) runs without a model service.

`prepare_demo(workflow="standard")` prepares the second demo: the same project without its
stories, driven by the `standard` workflow template (the phased workflow's phases and gates). The
scripted product manager writes the bookshelf stories, the implementation phase fans out
over them (code by the engineers, tests by the SDETs, from the same example solutions), and
the integration gate runs the project's tests on the integrated tree.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from wavefront.errors import WavefrontError
from wavefront.workspace.git import run_git

__all__ = ["DemoProject", "prepare_demo"]

EXAMPLE = "bookshelf"


@dataclass(frozen=True)
class DemoProject:
    root: Path
    solutions_dir: Path


def _example_dir() -> Path:
    return Path(str(resources.files("wavefront") / "examples" / EXAMPLE))


def prepare_demo(directory: Path | None = None, workflow: str | None = None) -> DemoProject:
    """Copy the example into a new git repository (`directory`, or a temporary one);
    with `workflow` ("standard"), set it up to run that workflow template instead."""
    source = _example_dir()
    if workflow is not None and workflow != "standard":
        raise WavefrontError(f"the demo runs the 'standard' workflow, not {workflow!r}")
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="wavefront-demo-"))
    elif directory.exists() and any(directory.iterdir()):
        raise WavefrontError(f"{directory} is not empty; give a new directory to --dir")
    leave_out = ("__pycache__", "*.pyc") + (("stories",) if workflow else ())
    shutil.copytree(source / "project", directory, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*leave_out))
    solutions = source / "solutions"
    if workflow is not None:
        solutions = _workflow_solutions(source, Path(tempfile.mkdtemp(
            prefix="wavefront-demo-solutions-")))
        (directory / "wavefront.yaml").write_text(_workflow_config(), encoding="utf-8")
    identity = ["-c", "user.name=wavefront demo", "-c", "user.email=demo@wavefront.invalid"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 [*identity, "commit", "-q", "-m", "bookshelf: starting point"]):
        done = run_git(directory, *args, check=False)
        if done.returncode != 0:
            raise WavefrontError(f"git {' '.join(args)} failed in {directory}: "
                                 f"{done.stderr.strip()}")
    return DemoProject(root=directory, solutions_dir=solutions)


_INTEGRATION_GATE = "        - {kind: contract, paths: [.work/integration/INTEGRATION-REPORT.md]}\n"
_TEST_COMMAND = "python -m unittest discover -s tests -t ."


def _workflow_config() -> str:
    """The standard template, plus the bookshelf's test suite on the integration gate."""
    from wavefront.workflow.init import template_path

    text = template_path("standard").read_text(encoding="utf-8")
    if _INTEGRATION_GATE not in text:
        raise WavefrontError("the standard template changed: the demo cannot find its "
                             "integration gate")
    text = text.replace(_INTEGRATION_GATE, _INTEGRATION_GATE + (
        f"        - {{kind: command, run: {_TEST_COMMAND}, timeout: 300}}\n"))
    return ("# The bookshelf run through wavefront's standard workflow (demo --workflow "
            "standard).\n" + text + "\ndefaults: {agent: full-stack-engineer, runner: script, "
            "retries: 0}\nlimits: {max_parallel: 3}\n")


def _workflow_solutions(source: Path, target: Path) -> Path:
    """Scripted outputs for the standard workflow on the bookshelf: the template's own
    for the documents, the bookshelf's stories and its example solutions split into the
    engineers' code and the SDETs' tests."""
    from wavefront.workflow.init import solutions_dir

    shutil.copytree(solutions_dir("standard"), target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("implement:*", "tests:*"))
    requirements = target / "requirements" / "files"
    shutil.rmtree(requirements / "docs" / "stories")
    shutil.copytree(source / "project" / "docs" / "stories", requirements / "docs" / "stories")
    titles = []
    for story_file in sorted((requirements / "docs" / "stories").glob("*.md")):
        heading = story_file.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
        titles.append(f"- {heading}")
    interfaces = target / "architecture" / "files" / ".work/foundation/architecture"
    for story_file in sorted((requirements / "docs" / "stories").glob("*.md")):
        # The architect's interface per feature, which the foundation gate asks for.
        feature = story_file.stem.split(".", 2)[-1]
        (interfaces / f"INTERFACE-{feature}.md").write_text(
            f"# Interface: {feature}\n\n## Contract\n\nAs ARCHITECTURE.md defines it.\n",
            encoding="utf-8")
    (requirements / ".work/foundation/product/user-stories.md").write_text(
        "# User stories\n\n## Bookshelf\n\n" + "\n".join(titles) + "\n", encoding="utf-8")
    for story_dir in sorted((source / "solutions").iterdir()):
        story = story_dir.name
        if not re.fullmatch(r"\d+\.\d+", story):
            continue
        files = story_dir / "files"
        code = target / f"implement:{story}" / "files"
        tests = target / f"tests:{story}" / "files"
        shutil.copytree(files, code, ignore=shutil.ignore_patterns("tests", "__pycache__"))
        if (files / "tests").is_dir():
            shutil.copytree(files / "tests", tests / "tests")
        for folder, who in ((code / ".work/implementation" / story, "Implemented"),
                            (tests / ".work/tests" / story, "Tests written")):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "EVIDENCE.md").write_text(
                f"# Evidence {story}\n\n## {who}\n\nPer ARCHITECTURE.md.\n\n"
                "## Deviations\n\nNone.\n", encoding="utf-8")
        # The suite the integration phase runs: the bookshelf's tests as one command.
        (tests / ".work/tests" / story / "run-tests.sh").write_text(
            f"{_TEST_COMMAND}\n", encoding="utf-8")
    return target
