"""The model settings file aider gets for one attempt: the user's own, with the model
client's retries off.

The OpenAI client inside aider (through litellm) waits out a rate limit's `retry-after`
twice before aider hears of it, a minute in all; only then does aider say "Retrying in"
and wavefront can stop it. `max_retries: 0` in the `extra_params` that aider adds to every
model call (the entry named `aider/extra_params`) turns that off. aider loads
`.aider.model.settings.yml` from the home folder, the repository and the working folder,
then the file named by `--model-settings-file` (the same entry name replaces the earlier
one), so the file written here keeps what the user had: the entries of the file their
`.aider.conf.yml` names, and their `aider/extra_params` with only `max_retries` added
when they set none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["EXTRA_PARAMS", "write_model_settings"]

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
