"""The seven configuration blocks of the orchestration-patterns document, as written.

Each block is taken from the document itself (tests skip where the shared documents are
absent) and loaded with the workflow loader: the blocks that describe steps compile, once
the agents they name exist; the ones that only say how steps run tell the user what to add.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES
from wavefront.backlog import load_backlog
from wavefront.errors import ConfigError

SEED = FIXTURES.parent / "seeds" / "004_3caa0b081afa48c5.txt"
AGENTS = ("fastapi-backend-expert", "react-frontend-architect", "architecture-guardian",
          "pytest-test-master", "codebase-cleaner", "comment-cleaner")


def blocks() -> list[str]:
    if not SEED.is_file():
        pytest.skip("the shared seed documents are not beside this repository")
    return re.findall(r"```yaml\n(.*?)```", SEED.read_text(encoding="utf-8"), re.S)


def with_agents(root: Path) -> None:
    """The seed's agents as Claude Code agent files, as a user of the document has them."""
    folder = root / ".claude" / "agents"
    folder.mkdir(parents=True)
    for name in AGENTS:
        (folder / f"{name}.md").write_text(
            f"---\nname: {name}\ndescription: {name}\n---\nYou are {name}.\n")


def load(root: Path, text: str) -> list[str]:
    path = root / "workflow.yaml"
    path.write_text(text)
    return [task.id for task in load_backlog(path, format="workflow").tasks]


def test_there_are_seven_blocks() -> None:
    assert len(blocks()) == 7


@pytest.mark.parametrize("index", [2, 3, 4, 5, 6])
def test_the_blocks_that_describe_steps_load_as_written(tmp_path: Path, index: int) -> None:
    with_agents(tmp_path)
    assert load(tmp_path, blocks()[index])


def test_the_bare_parallel_block_says_to_add_steps(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, blocks()[0])
    message = str(caught.value)
    assert "workflow.yaml:1:" in message
    assert "(parallel_execution, max_concurrent) but names no steps: add `steps:`" in message


def test_the_handoff_block_needs_its_steps_and_takes_one_artifact_per_step(
    tmp_path: Path,
) -> None:
    handoff = blocks()[1]
    with pytest.raises(ConfigError, match=r"workflow.yaml:2: .*add the 3 steps under `steps:`"):
        load(tmp_path, handoff)
    # The document's three steps (migration, API, frontend), one artifact each.
    with_agents(tmp_path)
    steps = ("steps:\n"
             "  - {id: migration, agent: fastapi-backend-expert, prompt: Create the migration}\n"
             "  - {id: api, agent: fastapi-backend-expert, prompt: Update the API}\n"
             "  - {id: frontend, agent: react-frontend-architect, prompt: Update the UI}\n")
    assert load(tmp_path, handoff + steps) == ["migration", "api", "frontend"]
    path = tmp_path / "workflow.yaml"
    tasks = {t.id: t for t in load_backlog(path, format="workflow").tasks}
    assert tasks["frontend"].dependencies == ("api",)
    assert ".work/handoff/api_contract.md" in tasks["frontend"].deliverables
