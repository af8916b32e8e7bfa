"""Keep secrets out of what wavefront writes: the journal, agent logs and reports.

A secret is the value of an environment variable whose name looks like a credential
(`OPENAI_API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`, ...). Agents
get a controlled environment (`runners.process.child_environment`), but a runner passes an
API key on purpose, and an agent or a test may print it; so every text that is stored is
passed through `redact`, which replaces each secret value with `[redacted:NAME]`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["SECRET_NAME", "Redactor", "redact", "redact_data", "redactor_for",
           "secret_values"]

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
        if _is_secret_name(name) and len(value.strip()) >= MIN_SECRET_LENGTH
    }


@lru_cache(maxsize=4096)
def _is_secret_name(name: str) -> bool:
    # Cached: the same few dozen names are asked about for every process an attempt starts.
    return name not in _NOT_SECRET and SECRET_NAME.search(name) is not None


class Redactor:
    """The secrets of one environment, compiled once: redacting a text is one regex pass.

    The journal and each agent process build one when they start; secrets do not change
    while a run goes on, and scanning the environment per write would cost more than the
    write itself.
    """

    def __init__(self, environ: Mapping[str, str] | None = None,
                 secrets: Mapping[str, str] | None = None) -> None:
        names: dict[str, str] = {}
        found = secret_values(environ) if secrets is None else secrets
        # The longest value first, so no secret is cut in half by a shorter one inside it.
        for name, value in sorted(found.items(), key=lambda i: -len(i[1])):
            names.setdefault(value, name)
            # The same value as it appears inside a JSON string, where it is stored so.
            names.setdefault(json.dumps(value, ensure_ascii=False)[1:-1], name)
        self._names = names
        self._pattern = (re.compile("|".join(re.escape(v) for v in names)) if names
                         else None)

    def text(self, text: str) -> str:
        """`text` with every secret value replaced by `[redacted:NAME]`."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda match: f"[redacted:{self._names[match.group(0)]}]",
                                 text)

    def data(self, data: Any) -> Any:
        """`text` over every string in a JSON-like structure (keys included)."""
        if self._pattern is None:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, Mapping):
            return {self.data(k): self.data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.data(item) for item in data]
        return data


def redactor_for(environ: Mapping[str, str] | None = None) -> Redactor:
    """The `Redactor` of `environ`'s secrets (default: this process's), compiled once for
    each set of secrets: every process an attempt starts sees the same few."""
    return _compiled(frozenset(secret_values(environ).items()))


@lru_cache(maxsize=64)
def _compiled(secrets: frozenset[tuple[str, str]]) -> Redactor:
    return Redactor(secrets=dict(secrets))


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with every secret value of `environ` (default: this process's) replaced."""
    return redactor_for(environ).text(text)


def redact_data(data: Any, environ: Mapping[str, str] | None = None) -> Any:
    """`redact` over every string in a JSON-like structure (keys included)."""
    return redactor_for(environ).data(data)
