"""The scripted model: what it answers, whatever the wire protocol.

A coding agent's main loop offers tools; the script answers turn by turn, counting the tool
results already in the conversation: first (in the `shell` scenario) a shell command, then
one write per file it was told to write, then a final text. A request without tools is one
of the CLI's side calls (a title, a router, a next-speaker check) and gets plain text or a
JSON object shaped by the schema it asked for. In `maxturns` the script never stops
calling tools.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Words naming the working directory in the CLIs' system prompts.
_WORKDIR = re.compile(
    r"(?:Primary working directory|Working directory|working directory is|current working "
    r"directory(?: is)?|I'm currently working in the directory|cwd)[:\s]+`?(/[^\s<\"'`]+)",
    re.IGNORECASE,
)

# opencode's step limit is an instruction in the conversation, not a cut-off: a model that
# obeys it (as this one does, even in `maxturns`) answers in text from then on.
TOOLS_WITHDRAWN = "MAXIMUM STEPS REACHED"

WRITE_TOOLS = ("Write", "write", "write_file", "apply_patch")
# Qwen Code offers MCP tools only once a tool search has revealed them; the search's
# result lists the revealed tools in a <functions> block.
SEARCH_TOOLS = ("tool_search", "ToolSearch")
_SEARCH_RESULT = "<functions>"
# How wavefront's review gate starts the prompt it sends a reviewer.
REVIEW_PROMPT = "# Review of task "
SHELL_TOOLS = ("Bash", "bash", "run_shell_command", "exec_command", "shell")


@dataclass(frozen=True)
class Tool:
    """One tool the CLI offered: its name, `function` or `custom` (freeform text input),
    and its parameters' JSON schemas."""

    name: str
    kind: str = "function"
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Conversation:
    """What the script needs from a request, read by each protocol module."""

    tools: tuple[Tool, ...]
    tool_results: int
    text: str  # all text of the request (system prompt and messages), for the workdir
    schema: Mapping[str, Any] | None = None  # a side call's requested JSON schema


@dataclass(frozen=True)
class Reply:
    """The script's answer: final text, or a call of `tool` with `args` (a function) or
    `raw` (a custom tool's freeform input)."""

    text: str = ""
    tool: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    raw: str | None = None
    kind: str = "function"

    @property
    def is_tool_call(self) -> bool:
        return self.tool is not None


@dataclass(frozen=True)
class Script:
    """What the model is told to do: files to write (relative path -> content), the shell
    command of the `shell` scenario (or its `commands`, one tool call each, in order), the
    final text, a question to ask first through an MCP tool named `ask_human` (whatever
    prefix the CLI gives its MCP tools), and a reviewer's answer."""

    files: Mapping[str, str] = field(default_factory=lambda: {"hello.txt": "hello\n"})
    command: str = "echo scripted > shell-ran.txt"
    final: str = "Done: the requested files are written."
    ask: str | None = None
    commands: tuple[str, ...] = ()
    # What a reviewer is answered (a request holding wavefront's review prompt).
    review: str = 'Looks right.\n```json\n{"verdict": "approve", "findings": []}\n```'

    def answer(self, conversation: Conversation, scenario: str) -> Reply:
        if not conversation.tools:
            return self._side_call(conversation)
        if REVIEW_PROMPT in conversation.text:
            return Reply(text=self.review)
        if TOOLS_WITHDRAWN in conversation.text:
            return Reply(text=self.final)
        steps: list[tuple[str, str, str]] = []  # (what, path or command, content)
        if self.ask is not None:
            steps.append(("ask", self.ask, ""))
        if scenario == "shell":
            steps += [("shell", command, "") for command in self.commands or (self.command,)]
        steps += [("write", path, content) for path, content in self.files.items()]
        index = conversation.tool_results
        if self.ask is not None and _find(conversation, SEARCH_TOOLS) and \
                _SEARCH_RESULT in conversation.text:
            index -= 1  # one result was the search that revealed the MCP tool
        if scenario == "maxturns" and steps:
            index %= len(steps)
        if index >= len(steps):
            return Reply(text=self.final)
        what, target, content = steps[index]
        if what == "ask":
            return _ask_call(conversation, target)
        if what == "shell":
            return _shell_call(conversation, target) or Reply(text=self.final)
        return _write_call(conversation, target, content) or Reply(text=self.final)

    def aider_reply(self, conversation: Conversation, scenario: str) -> str:
        """aider's answer in the edit format its prompt asks for: each file's name, then
        its content fenced ("whole") or a SEARCH/REPLACE block that creates it ("diff");
        in `shell`, the commands in a bash block, as aider asks a model to suggest them."""
        if "SEARCH/REPLACE" in conversation.text:
            blocks = [f"{path}\n```\n<<<<<<< SEARCH\n=======\n{content}>>>>>>> REPLACE\n```\n"
                      for path, content in self.files.items()]
        else:
            blocks = [f"{path}\n```\n{content}```\n" for path, content in self.files.items()]
        if scenario == "shell":
            blocks.append("```bash\n" + "\n".join(self.commands or (self.command,)) + "\n```\n")
        return "\n".join(blocks) + "\n" + self.final

    def _side_call(self, conversation: Conversation) -> Reply:
        if conversation.schema is not None:
            return Reply(text=json.dumps(fill_schema(conversation.schema)))
        return Reply(text="Scripted title")


def fill_schema(schema: Mapping[str, Any]) -> Any:
    """A small value that satisfies `schema` (minimums honoured, first enum choice)."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    kind = str(kind).lower() if kind else ("object" if "properties" in schema else "string")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: fill_schema(sub) for name, sub in properties.items()
                if isinstance(sub, dict)}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "scripted"


def workdir(text: str) -> str | None:
    match = _WORKDIR.search(text)
    return match.group(1).rstrip(".,:;)") if match else None


def _find(conversation: Conversation, names: tuple[str, ...]) -> Tool | None:
    by_name = {tool.name: tool for tool in conversation.tools}
    return next((by_name[name] for name in names if name in by_name), None)


def _write_call(conversation: Conversation, path: str, content: str) -> Reply | None:
    tool = _find(conversation, WRITE_TOOLS)
    if tool is None:
        shell = f"mkdir -p \"$(dirname '{path}')\" && printf '%s' '{content}' > '{path}'"
        return _shell_call(conversation, shell)
    if tool.name == "apply_patch":
        added = "".join(f"+{line}\n" for line in content.splitlines())
        patch = f"*** Begin Patch\n*** Add File: {path}\n{added}*** End Patch\n"
        if tool.kind == "custom":
            return Reply(tool=tool.name, raw=patch, kind="custom")
        return Reply(tool=tool.name, args={"input": patch})
    base = workdir(conversation.text)
    full = f"{base}/{path}" if base else path
    key = next((k for k in ("file_path", "filePath", "path") if k in tool.properties),
               "file_path")
    return Reply(tool=tool.name, args={key: full, "content": content})


def _ask_call(conversation: Conversation, question: str) -> Reply:
    # Claude Code offers `mcp__wavefront__ask_human`, others a prefix of their own or none.
    tool = next((t for t in conversation.tools if t.name.endswith("ask_human")), None)
    search = _find(conversation, SEARCH_TOOLS)
    if tool is None and search is not None:
        named = re.search(r"[\w.-]*ask_human", conversation.text)
        query = f"select:{named.group(0)}" if named else "ask human"
        return Reply(tool=search.name, args={"query": query})
    if tool is None:
        return Reply(text="No ask_human tool was offered.")
    return Reply(tool=tool.name, args={"question": question})


def _shell_call(conversation: Conversation, command: str) -> Reply | None:
    tool = _find(conversation, SHELL_TOOLS)
    if tool is None:
        return None
    key = "cmd" if "cmd" in tool.properties else "command"
    value: Any = command
    if (tool.properties.get(key) or {}).get("type") == "array":
        value = ["bash", "-lc", command]
    return Reply(tool=tool.name, args={key: value})
