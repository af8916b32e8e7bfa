"""What `plan` does not import: the parsers of formats that are not there, the runner
adapters that are not configured, markdown-it when the block scanner needs no help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from wavefront.agents.runners import RUNNERS
from wavefront.backlog import FORMATS

PROBE = """\
import json, sys
from wavefront.cli import main
sys.argv = ["wavefront", "plan", "-C", sys.argv[1]]
try:
    main()
except SystemExit:
    pass
names = ("wavefront.backlog.speckit", "markdown_it",
         "wavefront.agents.runners.claude", "wavefront.agents.runners.script",
         "wavefront.backlog.stories")
print(json.dumps({name: name in sys.modules for name in names}))
"""


def test_each_registered_format_and_runner_is_what_its_module_says() -> None:
    for name, module in FORMATS.items():
        assert name == module.NAME
    for name in RUNNERS:
        assert callable(getattr(RUNNERS[name], "run", None)), name


def test_plan_imports_only_what_the_backlog_uses(tmp_path: Path) -> None:
    stories = tmp_path / "docs" / "stories"
    stories.mkdir(parents=True)
    (stories / "1.1.first.md").write_text(
        "# Story 1.1: First\n\n## Status\n\nDraft\n\n## Story\n\nAs a user, I want x.\n")
    (stories / "1.2.second.md").write_text(
        "# Story 1.2: Second\n\n**Dependencies**: 1.1\n\n## Status\n\nDraft\n")
    (tmp_path / "wavefront.yaml").write_text(
        "version: 1\nbacklog: [docs/stories]\ndefaults: {runner: script}\n")
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True,
                          text=True, check=True)
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert "1.2" in done.stdout
    assert imported == {
        "wavefront.backlog.speckit": False, "markdown_it": False,
        "wavefront.agents.runners.claude": False, "wavefront.agents.runners.script": True,
        "wavefront.backlog.stories": True}
