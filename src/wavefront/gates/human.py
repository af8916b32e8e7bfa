"""The `human` gate: a person decides, from any process, while the task holds no slot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wavefront.gates.base import GateContext
from wavefront.model import GateAction, GateResult

__all__ = ["HumanGate"]


class HumanGate:
    """Waits for a person: `wavefront approve ID` merges, `wavefront reject ID` fails.

    The task waits in `needs-human` without holding a slot; the engine applies decisions
    recorded in the journal by any process, also after a resume.
    """

    kind = "human"

    def __init__(self, prompt: str | None = None, name: str | None = None) -> None:
        self.prompt = prompt
        self.name = name or "human approval"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HumanGate:
        return cls(options.get("prompt"), options.get("name"))

    async def check(self, context: GateContext) -> GateResult:
        ask = self.prompt or f"a person must approve task {context.task.id}"
        return GateResult(self.name, False, ask, action=GateAction.WAIT)
