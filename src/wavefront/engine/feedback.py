"""What goes back to an agent for another round: a refused check, a reviewer's findings, a
person's answer or change request.

Each text says what happened and what to do, so the agent fixes the exact failure in its
own worktree instead of starting over. Command output is cut to its tail and stripped of
secret values before it enters a prompt (prompts are stored with the attempt's log).
"""

from __future__ import annotations

from wavefront.model import GateResult
from wavefront.redact import redact

__all__ = [
    "CONTINUE_AFTER_ANSWER",
    "OUTPUT_LINES",
    "answer_note",
    "change_request",
    "fix_request",
    "output_tail",
    "phase_fix_request",
    "revision_request",
]

# The tail of a failing command that is shown: what a person would read to find the error.
OUTPUT_LINES = 80
_OUTPUT_CHARS = 6000


def fix_request(verdict: GateResult, round_: int, limit: int) -> str:
    """The prompt section for a fix round after `verdict` refused the attempt."""
    lines = [
        f"Your previous attempt did not pass the check `{verdict.gate}`: {verdict.summary}.",
        "Your changes are still in this worktree. Fix exactly what failed below, keep what "
        "already works, and report again "
        f"(fix round {round_} of {limit}; after that the task fails).",
    ]
    return redact("\n".join([*lines, "", *_what_failed(verdict)]))


def phase_fix_request(verdict: GateResult, gate_step: str, producers: list[str],
                      round_: int, limit: int) -> str:
    """The body of a fix task made when a phase gate (a step with no agent of its own)
    refuses what the steps before it produced."""
    lines = [
        f"The phase gate `{gate_step}` refused the work of "
        f"{', '.join(producers) or 'the steps before it'}: `{verdict.gate}` says "
        f"{verdict.summary}.",
        "Fix exactly what failed below in the files those steps wrote; the gate checks "
        f"again when you are done (fix {round_} of {limit}; after that the gate fails).",
    ]
    return redact("\n".join([*lines, "", *_what_failed(verdict)]))


def revision_request(verdict: GateResult) -> str:
    findings = "\n".join(f"- {finding}" for finding in verdict.findings) or verdict.summary
    return (f"The reviewer ({verdict.gate}) requested changes. Address every finding, "
            f"then report what you changed:\n{findings}")


def answer_note(question: str, answer: str, who: str) -> str:
    """One question the agent asked and a person's answer; every later round gets them."""
    quoted = "\n".join(f"> {line}" for line in question.strip().splitlines())
    return f"You asked:\n{quoted}\n\n{who} answered:\n{answer.strip()}"


CONTINUE_AFTER_ANSWER = (
    "A person answered your question (above). Your earlier changes are still in this "
    "worktree. Continue the task with that answer.")


def change_request(note: str, who: str) -> str:
    """A person's change request (`wavefront reject --note`), for another round."""
    return (f"{who} reviewed your work and asked for a change:\n{note.strip()}\n\n"
            "Your earlier changes are still in this worktree. Make this change, then report "
            "again.")


def _what_failed(verdict: GateResult) -> list[str]:
    """The findings of a refusing check, or else the tail of its output."""
    if verdict.findings:
        return ["What is wrong:", *(f"- {finding}" for finding in verdict.findings)]
    if verdict.details:
        return ["Output (last lines):", "```", output_tail(verdict.details), "```"]
    return []


def output_tail(text: str) -> str:
    """The last lines of a gate's output, bounded, as a fix round shows them."""
    kept = text.strip().splitlines()[-OUTPUT_LINES:]
    joined = "\n".join(kept)
    return joined[-_OUTPUT_CHARS:]
