"""An agent asking a person: the `QUESTION:` block at the end of its reply.

The prompt tells every agent how to ask (see `agents.prompt`): a line that starts with
`QUESTION:`, its text going on over the following lines up to a blank line. A plain text
block works with every CLI, since each hands back the agent's final message.
"""

from __future__ import annotations

import re

__all__ = ["BadQuestion", "parse_question"]

_QUESTION = re.compile(
    r"^[ \t]*(?:#+[ \t]*|\*\*)?QUESTION(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*(?P<rest>.*)$", re.MULTILINE
)
_NONE = re.compile(r"^(?:none|no questions?|n/?a|nothing)\b[.!]?$", re.IGNORECASE)


class BadQuestion(ValueError):
    """A `QUESTION:` block with no question in it."""


def parse_question(text: str) -> str | None:
    """The question in the last `QUESTION:` block of `text`, or None when there is none.

    `QUESTION: none` is no question. A block with nothing after the colon and no lines
    under it raises `BadQuestion`, so the agent is told rather than left waiting forever.
    """
    matches = list(_QUESTION.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    lines = [last.group("rest").strip()]
    for line in text[last.end():].splitlines()[1:]:
        if not line.strip():
            if any(lines):
                break
            continue
        lines.append(line.rstrip())
    question = "\n".join(line for line in lines if line).strip()
    if _NONE.match(question):
        return None
    if not question:
        raise BadQuestion("the reply ends with a QUESTION: line but asks nothing; write the "
                          "question after `QUESTION:`")
    return question
