"""A CLI's machine-wide settings file for one attempt: the machine's own, plus a few keys.

Gemini CLI and Qwen Code read settings from layers (system defaults, the user's, the
project's, system settings) and let an environment variable name the system files. An
attempt that needs a setting wavefront chooses (a turn limit, no client retries) gets a
copy of the machine's file with those keys added, written beside the attempt's log, and the
variable pointing at it: the user's and the machine's settings stay as they are, and
nothing is written into a home folder.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["machine_settings_path", "merged_settings"]


def machine_settings_path(environ: Mapping[str, str], variable: str, folder: str,
                          mac_folder: str) -> Path:
    """Where a CLI reads its system settings: `variable` when set, else the platform's
    place (`/etc/<folder>/settings.json`, or under `/Library/Application Support`)."""
    if environ.get(variable):
        return Path(environ[variable])
    if sys.platform == "darwin":
        return Path("/Library/Application Support") / mac_folder / "settings.json"
    return Path("/etc") / folder / "settings.json"


def merged_settings(source: Path, target: Path, values: Mapping[tuple[str, ...], Any], *,
                    override: bool) -> Path | None:
    """Write `source`'s settings with `values` (key path -> value) set to `target`.

    With `override` false a value the machine already sets is kept. None, and nothing
    written, when `source` exists but is not a JSON object (comments, say) or a key path
    runs into something that is not an object: not ours to rewrite.
    """
    settings: dict[str, Any] = {}
    if source.is_file():
        try:
            loaded = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(loaded, dict):
            return None
        settings = loaded
    for path, value in values.items():
        node = settings
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                return None
            node = child
        if override or path[-1] not in node:
            node[path[-1]] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return target
