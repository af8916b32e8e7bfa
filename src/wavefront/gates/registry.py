"""Every gate kind by name, and the order and rules by which a task's gates are checked.

A new gate kind is one module with a class that has `kind`, `from_options` and `check`, and
one line in `GATES`. `check_gates` runs a task's gates cheapest first and stops at the first
that does not pass, so a reviewer is never paid to read work that fails its tests.

A task that declares deliverables (a story's Deliverables section, `deliverables` in task
JSON or `wavefront.yaml`) gets a `deliverables` gate without asking, unless one is already
configured for it (`auto_deliverables=False` turns this off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wavefront.gates.base import Gate, GateContext
from wavefront.gates.command import CommandGate
from wavefront.gates.contract import ContractGate
from wavefront.gates.deliverables import DeliverablesGate
from wavefront.gates.human import HumanGate
from wavefront.gates.review import ReviewGate
from wavefront.gates.signoff import SignoffGate
from wavefront.model import GateResult, GateSpec, Task

__all__ = ["GATES", "check_gates", "effective_gates", "make_gate", "spec_key"]

GATES: dict[str, Callable[[Mapping[str, Any]], Gate]] = {
    "command": CommandGate.from_options,
    "deliverables": DeliverablesGate.from_options,
    "contract": ContractGate.from_options,
    "review": ReviewGate.from_options,
    "human": HumanGate.from_options,
    "signoff": SignoffGate.from_options,
}

# Cheap, local checks first; then the reviewer (money and time); the person last.
_ORDER = {"command": 0, "deliverables": 0, "contract": 0, "signoff": 0, "review": 1,
          "human": 2}


def make_gate(spec: GateSpec) -> Gate:
    return GATES[spec.kind](spec.options)


def effective_gates(
    specs: Sequence[GateSpec], task: Task, *, stage: str = "branch", auto_deliverables: bool = True
) -> list[GateSpec]:
    """The gates to check for `task` at `stage`, without duplicates, in checking order.

    On the merged tree only command gates run: the other kinds judge the task's own change,
    which merging does not alter.
    """
    chosen: list[GateSpec] = []
    seen: set[str] = set()
    candidates = list(specs)
    if auto_deliverables and task.deliverables and not any(s.kind == "deliverables" for s in specs):
        candidates.append(GateSpec("deliverables", {"name": "deliverables (declared)"}))
    for spec in candidates:
        key = spec_key(spec)
        if key in seen:
            continue
        seen.add(key)
        on = str(spec.options.get("on", "both"))
        if stage == "merged" and (spec.kind != "command" or on == "branch"):
            continue
        if stage == "branch" and spec.kind == "command" and on == "merged":
            continue
        chosen.append(spec)
    return sorted(chosen, key=lambda s: _ORDER.get(s.kind, 1))


async def check_gates(
    specs: Sequence[GateSpec], context: GateContext, *, auto_deliverables: bool = True,
    known: Mapping[str, GateResult] | None = None,
) -> list[GateResult]:
    """Check gates in order; stop at the first that does not pass (later ones would only
    repeat the failure or spend a reviewer's money on broken work). `known` holds results
    already checked on the same commit elsewhere (a worker's), by `spec_key`."""
    results: list[GateResult] = []
    for spec in effective_gates(
        specs, context.task, stage=context.stage, auto_deliverables=auto_deliverables
    ):
        result = (known or {}).get(spec_key(spec)) or await make_gate(spec).check(context)
        results.append(result)
        if not result.passed:
            break
    return results


def spec_key(spec: GateSpec) -> str:
    """A gate's identity: its kind and options."""
    return repr((spec.kind, sorted((k, repr(v)) for k, v in spec.options.items())))
