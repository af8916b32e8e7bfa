"""Keep secrets out of what wavefront writes: the journal, agent logs and reports.

A secret is the value of an environment variable whose name looks like a credential
(`OPENAI_API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`, ...). Agents
get a controlled environment (`runners.process.child_environment`), but a runner passes an
API key on purpose, and an agent or a test may print it; so every text that is stored is
passed through `redact`, which replaces each secret value with `[redacted:NAME]`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["SECRET_NAME", "redact", "redact_data", "secret_values"]

# Names that hold credentials: a word of the name is one of these (or ends in one).
SECRET_NAME = re.compile(
    r"(?:^|_)(?:[A-Z0-9]*KEY|KEYS|TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PWD"
    r"|CREDENTIALS?|AUTH|AUTHORIZATION|COOKIE|SESSION|PRIVATE|SIGNATURE|DSN)(?:_|$)",
    re.IGNORECASE,
)
# Names that match the pattern but never hold a secret (paths, prompts, flags).
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "GPG_AGENT_INFO", "SSH_AUTH_SOCK", "KEYTIMEOUT"})
# Shorter values are too likely to occur by chance ("1", "true", "dev") to be replaced.
MIN_SECRET_LENGTH = 6


def secret_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Credential-looking variables of `environ` (default: this process's) -> value."""
    env = os.environ if environ is None else environ
    return {
        name: value
        for name, value in env.items()
        if name not in _NOT_SECRET
        and SECRET_NAME.search(name)
        and len(value.strip()) >= MIN_SECRET_LENGTH
    }


@lru_cache(maxsize=8)
def _pattern(items: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    if not items:
        return None
    names: dict[str, str] = {}
    for name, value in sorted(items, key=lambda item: -len(item[1])):
        names.setdefault(value, name)  # the longest first, so no secret is cut in half
    alternatives = "|".join(re.escape(value) for value in names)
    return re.compile(alternatives), names


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with every secret value replaced by `[redacted:NAME]`."""
    if not text:
        return text
    compiled = _pattern(tuple(sorted(secret_values(environ).items())))
    if compiled is None:
        return text
    pattern, names = compiled
    return pattern.sub(lambda match: f"[redacted:{names[match.group(0)]}]", text)


def redact_data(data: Any, environ: Mapping[str, str] | None = None) -> Any:
    """`redact` over every string in a JSON-like structure (keys included)."""
    if isinstance(data, str):
        return redact(data, environ)
    if isinstance(data, Mapping):
        return {redact_data(k, environ): redact_data(v, environ) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_data(item, environ) for item in data]
    return data
