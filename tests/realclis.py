"""Where the real agent CLIs are (installed by scripts/setup.d/30-agent-clis.sh) and the
runner settings that point each one at the scripted model server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("WAVEFRONT_AGENT_CLIS") or Path.home() / ".cache"
             / "wavefront-agent-clis")
REAL_CLIS = ("claude", "codex", "gemini", "opencode", "aider", "qwen")
KEY_VARIABLE = "WAVEFRONT_TEST_MODEL_KEY"  # what `api_key_env` names in these tests
INSTALL_HINT = "run scripts/setup.d/30-agent-clis.sh to install the real agent CLIs"


def real_cli(name: str) -> str | None:
    """The real CLI's executable: the set-up's cache first, then PATH."""
    candidates = [CACHE / "aider" / "bin" / "aider"] if name == "aider" else [
        CACHE / "npm" / "node_modules" / ".bin" / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def settings_for(cli: str, base: str, executable: str) -> dict[str, Any]:
    """Runner settings that send `cli` to the scripted server at `base` (a scenario's URL),
    only through the provider settings a user would write."""
    settings: dict[str, Any] = {"executable": executable, "api_key_env": KEY_VARIABLE}
    if cli in ("claude", "gemini"):
        settings["base_url"] = base
    else:
        settings["base_url"] = base + "/v1"
    settings["model"] = {"codex": "gpt-5.5", "aider": "gpt-4o-mini", "opencode": "scripted",
                         "qwen": "scripted"}.get(cli)
    if settings["model"] is None:
        del settings["model"]
    return settings
