"""wavefront as an MCP server (the `[mcp]` extra): the backlog, runs and decisions as tools.

`planning`, `runtools` and `agenttools` hold the tools as plain typed functions over the
library (what `wavefront.runs` and the backlog loaders offer the CLI too), returning JSON
values and raising `WavefrontError` with the CLI's own messages. `server` registers them on
the SDK's FastMCP in tiers, with annotations and the resources; how a run hands the server
to each agent CLI is `wavefront.agents.runners.mcpwiring`. Only `server` imports the SDK,
so nothing else here needs the extra.
"""

from __future__ import annotations

__all__: list[str] = []
