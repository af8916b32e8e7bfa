"""Settings files a CLI gets for one attempt: the user's and the machine's own, plus the few
keys wavefront needs (no client retries, a turn limit), written beside the attempt's log.

Gemini CLI and Qwen Code read settings in layers (system defaults, the user's, the
project's, system settings), and an environment variable may name the system files: an
attempt gets a copy of the machine's file with the keys added, and the variable pointing at
it. Nothing is written into a home folder and no one's settings change.

aider: the OpenAI client inside it (through litellm) waits out a rate limit's
`retry-after` twice before aider hears of it, a minute in all; `max_retries: 0` in the
`extra_params` that aider adds to every model call (the entry named `aider/extra_params`)
turns that off. aider loads `.aider.model.settings.yml` from the home folder, the
repository and the working folder, then the file named by `--model-settings-file` (the same
entry name replaces the earlier one), so the file written here keeps what the user had: the
entries of the file their `.aider.conf.yml` names, and their `aider/extra_params` with only
`max_retries` added when they set none.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["EXTRA_PARAMS", "machine_settings_path", "merged_settings", "write_model_settings"]


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

    With `override` false a value the machine already sets is kept; a list the machine
    sets gets the values' items it lacks, whatever `override`. None, and nothing
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
        present = node.get(path[-1])
        if isinstance(present, list) and isinstance(value, list):
            # A list is a set of rules: the machine's are kept and ours added.
            node[path[-1]] = [*present, *(item for item in value if item not in present)]
        elif override or path[-1] not in node:
            node[path[-1]] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return target


# --- aider ---------------------------------------------------------------------------

EXTRA_PARAMS = "aider/extra_params"
_DEFAULT_NAME = ".aider.model.settings.yml"


def write_model_settings(target: Path, workspace: Path, home: Path) -> Path:
    """Write the attempt's model settings to `target` and return it."""
    configured = _configured_file(workspace, home)
    entries: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for path in (home / _DEFAULT_NAME, workspace / _DEFAULT_NAME, configured):
        if path is None:
            continue
        loaded = _entries(path)
        for entry in loaded:
            if entry.get("name") == EXTRA_PARAMS and isinstance(entry.get("extra_params"),
                                                                dict):
                extra = dict(entry["extra_params"])
        if path == configured:
            entries = [entry for entry in loaded if entry.get("name") != EXTRA_PARAMS]
    extra.setdefault("max_retries", 0)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = [*entries, {"name": EXTRA_PARAMS, "extra_params": extra}]
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


def _configured_file(workspace: Path, home: Path) -> Path | None:
    """The `model-settings-file` of the user's `.aider.conf.yml` (the last one wins, as
    aider reads home, then the repository)."""
    found: Path | None = None
    for config in (home / ".aider.conf.yml", workspace / ".aider.conf.yml"):
        try:
            loaded = yaml.safe_load(config.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        value = loaded.get("model-settings-file") if isinstance(loaded, dict) else None
        if isinstance(value, str) and value:
            path = Path(value).expanduser()
            found = path if path.is_absolute() else workspace / path
    return found


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(loaded, list):
        return []
    return [entry for entry in loaded if isinstance(entry, dict)]
