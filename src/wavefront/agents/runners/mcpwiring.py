"""wavefront's MCP server configured into one agent CLI for one task (`mcp: true`).

Each run gives an agent `wavefront mcp --task ID --run RUN`: the agent-facing tools bound to
its own task. Each CLI is told of it the way it accepts without a file in the worktree
(where it would be committed) or in the user's home: Claude Code and Qwen Code take
`--mcp-config` JSON, Codex `-c mcp_servers.<name>.*` TOML values, OpenCode an `mcp` entry in
the inline configuration of `OPENCODE_CONFIG_CONTENT`, Gemini CLI the settings of a home of
its own beside the attempt's log (`GEMINI_CLI_HOME`), the `command` runner the
`WAVEFRONT_MCP_*` environment.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

__all__ = ["SERVER_NAME", "TOOLS", "McpServer"]

SERVER_NAME = "wavefront"
TOOLS = ("ask_human", "report_deviation", "task_context")


@dataclass(frozen=True)
class McpServer:
    """How to start the task's MCP server (a stdio command), and how long its tools may
    take (`ask_human` waits for a person)."""

    command: str
    args: tuple[str, ...]
    tool_timeout_s: float = 660.0

    def mcp_servers_json(self) -> str:
        """`{"mcpServers": {...}}`, as Claude Code's and Qwen Code's --mcp-config take it."""
        entry = {"command": self.command, "args": list(self.args),
                 "timeout": int(self.tool_timeout_s * 1000)}
        return json.dumps({"mcpServers": {SERVER_NAME: entry}})

    def gemini_servers(self) -> dict[str, Any]:
        """Gemini CLI's `mcpServers` settings entry; its `timeout` is in milliseconds.
        Trusted: its tools need no approval, which headless `auto_edit` would deny."""
        return {SERVER_NAME: {"command": self.command, "args": list(self.args),
                              "timeout": int(self.tool_timeout_s * 1000), "trust": True}}

    def opencode_servers(self) -> dict[str, Any]:
        """OpenCode's `mcp` configuration entry: a local server is one argument list; its
        `timeout` (milliseconds, 5 s unless set) bounds each tool call."""
        return {SERVER_NAME: {"type": "local", "command": [self.command, *self.args],
                              "enabled": True, "timeout": int(self.tool_timeout_s * 1000)}}

    def claude_allowed_tools(self) -> list[str]:
        """Claude Code's names of the tools (headless mode runs only allowed ones)."""
        return [f"mcp__{SERVER_NAME}__{tool}" for tool in TOOLS]

    def codex_config(self) -> list[str]:
        """`-c` overrides for `codex exec` (values are TOML; JSON strings and arrays are
        valid TOML)."""
        key = f"mcp_servers.{SERVER_NAME}"
        return ["-c", f"{key}.command={json.dumps(self.command)}",
                "-c", f"{key}.args={json.dumps(list(self.args))}",
                "-c", f"{key}.tool_timeout_sec={int(self.tool_timeout_s)}"]

    def env(self) -> dict[str, str]:
        """For the `command` runner: the server's command line, and the same as JSON."""
        return {"WAVEFRONT_MCP_COMMAND": shlex.join([self.command, *self.args]),
                "WAVEFRONT_MCP_CONFIG": self.mcp_servers_json()}
