"""The prompt builder and the deviation parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavefront.agents.prompt import (
    PROMPT_TEMPLATE,
    DependencyDelivery,
    build_prompt,
    parse_deviations,
)
from wavefront.model import AgentProfile, GateSpec, SourceLocation, Task

TASK = Task(
    id="2.1",
    title="Order API",
    source=SourceLocation(Path("docs/stories/2.1.order-api.md"), 1),
    body="Expose POST /orders.",
    acceptance_criteria=("returns 201 with the order id", "rejects an empty cart with 422"),
    context_files=("docs/ARCHITECTURE.md",),
    reference_files=("docs/ARCHITECTURE.md", "api/openapi.yaml"),
    deliverables=("src/orders/api.py",),
    gates=(GateSpec("command", {"run": "pytest -q tests/orders"}),),
)
PROFILE = AgentProfile(
    name="backend-developer",
    description="Builds server-side features",
    prompt="You are a senior backend engineer. Prefer small functions.",
    origin="builtin",
)


def test_prompt_has_every_section_in_order() -> None:
    prompt = build_prompt(
        TASK,
        PROFILE,
        dependencies=[
            DependencyDelivery("1.1", "Data model", "Added the Order table.", ("src/db.py",))
        ],
        extra="The reviewer asked for input validation.",
    )
    order = [
        "## Your role: backend-developer",
        "You are a senior backend engineer.",
        "# Task 2.1: Order API",
        "Expose POST /orders.",
        "## Acceptance criteria",
        "- rejects an empty cart with 422",
        "## Read first",
        "Read these before you change anything:",
        "- api/openapi.yaml",
        "## Deliverables",
        "- src/orders/api.py",
        "## What your dependencies delivered",
        "- 1.1 (Data model): Added the Order table.\n  changed: src/db.py",
        "## Checks your work must pass",
        "- command: pytest -q tests/orders",
        "## Notes",
        "The reviewer asked for input validation.",
        "Deviations:",
    ]
    positions = [prompt.index(piece) for piece in order]
    assert positions == sorted(positions)
    assert prompt.count("docs/ARCHITECTURE.md") == 1  # listed once though named twice
    assert not prompt.startswith("-")  # CLIs would read it as a flag


def test_empty_sections_are_left_out() -> None:
    bare = Task(id="7", title="Tidy", source=SourceLocation(Path("wavefront.yaml"), 3))
    prompt = build_prompt(bare, None)
    assert prompt.startswith("# Task 7: Tidy")
    for heading in (
        "## Your role",
        "## Acceptance",
        "## Read first",
        "## Deliverables",
        "## What your",
        "## Checks",
        "## Notes",
    ):
        assert heading not in prompt
    assert "(no description beyond the title)" in prompt


def test_persona_can_be_left_to_the_cli() -> None:
    prompt = build_prompt(TASK, PROFILE, persona=False)
    assert "## Your role: backend-developer" in prompt
    assert "senior backend engineer" not in prompt
    assert "Builds server-side features" in prompt


def test_gates_argument_overrides_task_gates() -> None:
    prompt = build_prompt(TASK, None, gates=[GateSpec("contract", {"documents": ["docs/API.md"]})])
    assert "- contract: docs/API.md" in prompt
    assert "pytest -q tests/orders" not in prompt


def test_template_is_readable_text_with_named_slots() -> None:
    for slot in ("{role}", "{title}", "{criteria}", "{reading}", "{dependencies}", "{gates}"):
        assert slot in PROMPT_TEMPLATE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Summary: done.\nDeviations: none", []),
        ("Deviations: None.", []),
        (
            "Deviations: renamed `total` to `amount` to match the schema",
            ["renamed `total` to `amount` to match the schema"],
        ),
        (
            "Summary: ok\n\n## Deviations\n\n- used SQLite instead of Postgres\n"
            "- skipped the cache layer\n  because it is not needed yet\n\nThanks!",
            [
                "used SQLite instead of Postgres",
                "skipped the cache layer because it is not needed yet",
            ],
        ),
        (
            "**Deviations**:\n1. changed the route to /v2/orders\n2) added a header\n",
            ["changed the route to /v2/orders", "added a header"],
        ),
        ("Deviations:\n- none\n", []),
        ("Deviations: x\nlater text\nDeviations:\n- final one\n", ["final one"]),
        ("No report at all.", []),
        ("Deviations:\n- one\nFiles changed: a.py\n", ["one"]),
    ],
)
def test_parse_deviations(text: str, expected: list[str]) -> None:
    assert parse_deviations(text) == expected


def test_an_agent_with_the_mcp_server_is_told_to_ask_through_ask_human() -> None:
    with_tool = build_prompt(TASK, None, ask_tool=True)
    without = build_prompt(TASK, None)
    assert "`ask_human` tool of the\n`wavefront` MCP server" in with_tool
    assert "ask_human" not in without
    # The QUESTION: line stays the way out for an agent that cannot call the tool.
    assert 'starts with "QUESTION:"' in with_tool and 'starts with "QUESTION:"' in without
